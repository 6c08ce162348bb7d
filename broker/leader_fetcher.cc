#include "broker/leader_fetcher.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "broker/replication_service.h"
#include "common/kafka_error.h"
#include "spdlog/spdlog.h"
#include "storage/record_batch.h"

namespace fjord::broker {
namespace {

// Where our log and the leader's part, given that the leader's epoch
// `epoch` (the largest it has <= our last one) ends at `leader_end`: the
// smaller of that and the end of our own largest epoch <= `epoch`.
Offset DivergencePoint(const Replica& r, LeaderEpoch epoch, Offset leader_end) {
  const auto [local_epoch, local_end] = r.log().EndOffsetForEpoch(epoch);
  return local_epoch == kNoLeaderEpoch ? leader_end : std::min(leader_end, local_end);
}

}  // namespace

LeaderFetcher::LeaderFetcher(const FetcherOptions& options,
                             std::function<BrokerEpoch()> broker_epoch, std::string address)
    : options_(options), broker_epoch_(std::move(broker_epoch)), address_(std::move(address)) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(ReplicationServiceImpl::kMaxMessageBytes);
  args.SetMaxSendMessageSize(ReplicationServiceImpl::kMaxMessageBytes);
  channel_ = grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), args);
  thread_ = std::thread([this] { Loop(); });
}

LeaderFetcher::~LeaderFetcher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  thread_.join();
}

void LeaderFetcher::Add(std::shared_ptr<Replica> replica) {
  v1::ReplicaFetchRequest credit;
  FillCredit(*replica, credit.add_partitions());
  {
    absl::MutexLock lock(&mu_);
    // Already followed: its credit is outstanding (a second one could bring a
    // duplicate answer); an epoch change is answered FENCED and re-credited.
    if (!partitions_
             .emplace(std::make_pair(replica->topic_id(), replica->partition().value()), replica)
             .second) {
      return;
    }
  }
  Write(credit);  // No-op until a stream is open; its first message covers it.
}

void LeaderFetcher::Remove(const Replica& replica) {
  {
    absl::MutexLock lock(&mu_);
    if (partitions_.erase({replica.topic_id(), replica.partition().value()}) == 0) return;
  }
  v1::ReplicaFetchRequest removal;
  auto* id = removal.add_removed_partitions();
  replica.topic_id().ToProto(id->mutable_topic_id());
  id->set_partition(replica.partition().value());
  Write(removal);
}

void LeaderFetcher::Reconnect() {
  absl::MutexLock lock(&mu_);
  if (context_ != nullptr) context_->TryCancel();
}

bool LeaderFetcher::empty() const {
  absl::MutexLock lock(&mu_);
  return partitions_.empty();
}

bool LeaderFetcher::Write(const v1::ReplicaFetchRequest& request) {
  absl::MutexLock lock(&write_mu_);
  return stream_ != nullptr && stream_->Write(request);
}

void LeaderFetcher::FillCredit(const Replica& r, v1::ReplicaFetchPartition* credit) {
  r.topic_id().ToProto(credit->mutable_topic_id());
  credit->set_partition(r.partition().value());
  credit->set_current_leader_epoch(r.leader_epoch().value());
  credit->set_fetch_offset(r.log_end_offset().value());
  const std::optional<LeaderEpoch> last = r.log().latest_epoch();
  credit->set_last_fetched_epoch(last ? last->value() : -1);
  credit->set_log_start_offset(r.log().log_start_offset().value());
  credit->set_flushed_offset(r.log().flushed_offset().value());
}

void LeaderFetcher::Loop() {
  auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
  while (true) {
    RunStream();
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.backoff)) return;
  }
}

void LeaderFetcher::RunStream() {
  // The leader reports the stream's broker epoch in ISR proposals; before
  // registration there is none the controller would accept.
  if (broker_epoch_() < BrokerEpoch(0)) return;
  grpc::ClientContext ctx;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    context_ = &ctx;
  }
  v1::ReplicationService::Stub stub(channel_);
  std::unique_ptr<Stream> stream = stub.ReplicaFetch(&ctx);
  {
    absl::MutexLock wlock(&write_mu_);
    v1::ReplicaFetchRequest first;
    first.set_replica_id(options_.local.value());
    first.set_broker_epoch(broker_epoch_().value());
    first.set_cluster_id(options_.cluster_id);
    first.set_max_bytes(options_.max_bytes);
    first.set_partition_max_bytes(options_.partition_max_bytes);
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [key, r] : partitions_) FillCredit(*r, first.add_partitions());
    }
    if (stream->Write(first)) stream_ = stream.get();
  }
  v1::ReplicaFetchResponse response;
  while (stream->Read(&response)) {
    if (response.error_code() != v1::NONE) {
      spdlog::warn("replica fetch from {} refused: {} {}", address_,
                   ErrorCodeName(response.error_code()), response.error_message());
      break;
    }
    v1::ReplicaFetchRequest next;
    bool retry = false;
    for (const auto& data : response.partitions()) Handle(data, &next, &retry);
    // One pause per response with errors, so a leader that is behind on
    // metadata is not asked in a tight loop.
    if (retry) absl::SleepFor(options_.backoff);
    if (next.partitions_size() > 0) Write(next);
  }
  {
    absl::MutexLock wlock(&write_mu_);
    stream_ = nullptr;
  }
  ctx.TryCancel();
  grpc::Status status = stream->Finish();
  absl::MutexLock lock(&mu_);
  context_ = nullptr;
  if (!stopping_) {
    spdlog::info("replica fetch stream to {} ended: {}", address_, status.error_message());
  }
}

void LeaderFetcher::Handle(const v1::ReplicaFetchPartitionData& data, v1::ReplicaFetchRequest* next,
                           bool* retry) {
  std::shared_ptr<Replica> r;
  {
    absl::MutexLock lock(&mu_);
    auto it = partitions_.find({controller::Uuid::FromProto(data.topic_id()), data.partition()});
    if (it == partitions_.end()) return;
    r = it->second;
  }
  const std::string name = r->topic() + "-" + std::to_string(r->partition().value());
  switch (data.error_code()) {
    case v1::NONE:
      break;
    case v1::OFFSET_OUT_OF_RANGE: {
      // Kafka's handleOutOfRangeError. Below the leader's log start (its
      // retention deleted what we need next): start over there. Past the
      // leader's log end (the epoch check could not tell: our log holds no
      // epoch, or an unclean election gave the leader a shorter log): cut
      // back to its log end, even below our high watermark. Otherwise the
      // leader's log grew into range since it answered: just ask again.
      const Offset leader_start(data.log_start_offset());
      const Offset leader_end =
          data.has_log_end_offset() ? Offset(data.log_end_offset()) : Offset(data.high_watermark());
      const Offset ours = r->log_end_offset();
      absl::StatusOr<Offset> end = ours;
      if (ours < leader_start) {
        end = r->TruncateFullyAndStartAt(leader_start);
      } else if (ours > leader_end) {
        spdlog::warn("{}: log end {} is past the leader's log end {}: truncating to it", name,
                     ours.value(), leader_end.value());
        end = r->TruncateUnclean(leader_end);
      } else {
        *retry = true;
      }
      if (!end.ok()) {
        spdlog::error("{}: truncation failed: {}", name, end.status().ToString());
        return;
      }
      FillCredit(*r, next->add_partitions());
      return;
    }
    default:
      // NOT_LEADER_OR_FOLLOWER, FENCED/UNKNOWN_LEADER_EPOCH, storage errors:
      // one side's metadata is behind or the leader's disk failed. Ask again
      // after a pause; a newer image moves the partition if the leader
      // changed (ImageApplier -> Follow).
      spdlog::debug("{}: leader {} answered {}; retrying", name, address_,
                    ErrorCodeName(data.error_code()));
      *retry = true;
      FillCredit(*r, next->add_partitions());
      return;
  }
  if (data.has_diverging_epoch()) {
    // No epoch in common because the leader's retention deleted every
    // epoch we know of (kNoLeaderEpoch, ending at its log start): start
    // over at its log start, as for OFFSET_OUT_OF_RANGE. Otherwise truncate
    // where the histories part (Kafka's OffsetsForLeaderEpoch rule); that
    // is below our high watermark only after an unclean leader election,
    // and stopping at the HW there would ask the same question forever.
    const LeaderEpoch epoch(data.diverging_epoch().epoch());
    const Offset leader_end(data.diverging_epoch().end_offset());
    absl::StatusOr<Offset> end;
    if (r->log_end_offset() < Offset(data.log_start_offset())) {
      end = r->TruncateFullyAndStartAt(Offset(data.log_start_offset()));
    } else if (const Offset point = DivergencePoint(*r, epoch, leader_end);
               point < r->high_watermark()) {
      end = r->TruncateUnclean(point);
    } else {
      end = r->TruncateOnDivergence(epoch, leader_end);
    }
    if (!end.ok()) {
      spdlog::error("{}: truncation failed: {}", name, end.status().ToString());
      return;
    }
    FillCredit(*r, next->add_partitions());
    return;
  }
  // An answer to a credit we no longer stand by (a duplicate credit sent
  // while a stream opened): the current credit's answer follows. Records
  // past our log end are fine when they answer our current credit: the
  // leader's compaction left a gap there (the follower's log keeps it).
  if (data.has_fetch_offset()) {
    if (Offset(data.fetch_offset()) != r->log_end_offset()) {
      spdlog::warn("{}: answer for offset {} but log end is {}; ignored", name, data.fetch_offset(),
                   r->log_end_offset().value());
      return;
    }
  } else if (!data.records().empty()) {
    absl::StatusOr<storage::BatchHeader> first = storage::ParseBatchHeader(data.records());
    if (first.ok() && first->base_offset != r->log_end_offset()) {
      spdlog::warn("{}: answer at {} but log end is {}; ignored", name, first->base_offset.value(),
                   r->log_end_offset().value());
      return;
    }
  }
  absl::StatusOr<Offset> end = r->AppendFromLeader(data.records(), Offset(data.high_watermark()));
  if (!end.ok()) {
    spdlog::error("{}: append from leader failed: {}", name, end.status().ToString());
    return;
  }
  FillCredit(*r, next->add_partitions());
}

}  // namespace fjord::broker
