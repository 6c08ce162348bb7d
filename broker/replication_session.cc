#include "broker/replication_session.h"

#include <algorithm>
#include <utility>

#include "broker/replication_service.h"
#include "common/kafka_error.h"
#include "spdlog/spdlog.h"

namespace fjord::broker {
namespace {

// Safety net only: answers are pushed on replica changes; this bounds how
// long a missed wakeup could delay one.
constexpr absl::Duration kIdleRecheck = absl::Milliseconds(200);

// Kafka's replica.fetch.wait.max.ms (500): a credit is answered within this
// long even when there is nothing new, so the follower re-credits and reports
// its position again. This bounds any stall of the follower's progress as
// the leader sees it (a 30 s stall until the ISR shrink was observed in about
// one RF 3 benchmark run in five before this bound; cause not yet found).
constexpr absl::Duration kMaxCreditWait = absl::Milliseconds(500);

int32_t Capped(int32_t requested, int32_t current) {
  if (requested <= 0) return current;
  return std::min(requested, ReplicationServiceImpl::kMaxResponseBytes);
}

}  // namespace

ReplicationSession::ReplicationSession(ReplicaManager& replicas, Stream& stream,
                                       const v1::ReplicaFetchRequest& first,
                                       RequestObserver* observer)
    : replicas_(replicas),
      stream_(stream),
      observer_(observer),
      follower_(first.replica_id()),
      broker_epoch_(first.broker_epoch()),
      max_bytes_(Capped(first.max_bytes(), ReplicationServiceImpl::kMaxResponseBytes)),
      partition_max_bytes_(Capped(first.partition_max_bytes(), 1 << 20)) {
  listener_id_ = replicas_.AddListener([this](const Replica& r) {
    absl::MutexLock lock(&mu_);
    if (credits_.count({r.topic_id(), r.partition().value()}) == 0) return;
    dirty_ = true;
    wake_.Signal();
  });
}

ReplicationSession::~ReplicationSession() { replicas_.RemoveListener(listener_id_); }

std::vector<std::shared_ptr<Replica>> ReplicationSession::Run(
    const v1::ReplicaFetchRequest& first) {
  spdlog::info("replica fetch stream from broker {} (epoch {}) opened", follower_.value(),
               broker_epoch_.value());
  Receive(first);
  std::thread sender([this] { SendLoop(); });
  v1::ReplicaFetchRequest request;
  while (stream_.Read(&request)) Receive(request);
  std::set<Key> seen;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    wake_.Signal();
    seen = seen_;
  }
  sender.join();
  std::vector<std::shared_ptr<Replica>> fetched;
  for (const Key& key : seen) {
    std::shared_ptr<Replica> r = replicas_.Get(key.first, PartitionId(key.second));
    if (r) fetched.push_back(std::move(r));
  }
  spdlog::info("replica fetch stream from broker {} closed", follower_.value());
  return fetched;
}

void ReplicationSession::Receive(const v1::ReplicaFetchRequest& request) {
  std::vector<std::pair<std::shared_ptr<Replica>, v1::ReplicaFetchPartition>> progress;
  {
    absl::MutexLock lock(&mu_);
    max_bytes_ = Capped(request.max_bytes(), max_bytes_);
    partition_max_bytes_ = Capped(request.partition_max_bytes(), partition_max_bytes_);
    for (const auto& removed : request.removed_partitions()) {
      const Key key{controller::Uuid::FromProto(removed.topic_id()), removed.partition()};
      credits_.erase(key);
      hw_sent_.erase(key);
    }
    for (const auto& p : request.partitions()) {
      const Key key{controller::Uuid::FromProto(p.topic_id()), p.partition()};
      Credit credit{p, replicas_.Get(key.first, PartitionId(key.second)), absl::Now(),
                    ++next_generation_};
      if (credit.replica) progress.emplace_back(credit.replica, p);
      seen_.insert(key);
      credits_[key] = std::move(credit);
    }
    dirty_ = true;
    wake_.Signal();
  }
  // Follower progress moves the HW and the ISR; outside mu_, since it wakes
  // listeners (including this session).
  for (const auto& [replica, p] : progress) {
    if (replica->CheckLeader(LeaderEpoch(p.current_leader_epoch())).ok()) {
      replica->UpdateFollower(follower_, broker_epoch_, Offset(p.fetch_offset()),
                              Offset(p.flushed_offset()));
    }
  }
  for (const auto& f : request.flush_progress()) {
    std::shared_ptr<Replica> r =
        replicas_.Get(controller::Uuid::FromProto(f.topic_id()), PartitionId(f.partition()));
    if (r) r->UpdateFollowerFlushed(follower_, Offset(f.flushed_offset()));
  }
}

void ReplicationSession::SendLoop() {
  Round round;
  while (WaitForWork(&round)) {
    // The log reads happen here, outside mu_: replica listeners (produce
    // threads, the flusher, other sessions) take mu_ to mark this session
    // dirty and must not wait behind the disk.
    std::vector<std::pair<size_t, v1::ReplicaFetchPartitionData>> answers;
    int64_t remaining = round.max_bytes;
    for (size_t i = 0; i < round.credits.size(); ++i) {
      v1::ReplicaFetchPartitionData out;
      if (Answer(round.credits[i].second, round.hw_sent[i], round.partition_max_bytes, &remaining,
                 &out)) {
        answers.emplace_back(i, std::move(out));
      }
    }
    if (answers.empty()) continue;
    v1::ReplicaFetchResponse response;
    {
      absl::MutexLock lock(&mu_);
      if (closed_) return;
      response = PublishLocked(round, std::move(answers));
    }
    if (response.partitions_size() == 0) continue;
    // Only this thread writes, so answers leave in the order they were
    // published.
    if (!stream_.Write(response)) return;  // The follower went away.
  }
}

bool ReplicationSession::WaitForWork(Round* round) {
  absl::MutexLock lock(&mu_);
  while (!dirty_ && !closed_) {
    if (wake_.WaitWithTimeout(&mu_, kIdleRecheck)) dirty_ = true;
  }
  if (closed_) return false;
  dirty_ = false;
  round->credits.assign(credits_.begin(), credits_.end());
  round->hw_sent.clear();
  for (const auto& [key, credit] : round->credits) {
    auto sent = hw_sent_.find(key);
    round->hw_sent.push_back(sent == hw_sent_.end() ? std::nullopt
                                                    : std::optional<int64_t>(sent->second));
  }
  round->max_bytes = max_bytes_;
  round->partition_max_bytes = partition_max_bytes_;
  return true;
}

v1::ReplicaFetchResponse ReplicationSession::PublishLocked(
    const Round& round, std::vector<std::pair<size_t, v1::ReplicaFetchPartitionData>> answers) {
  v1::ReplicaFetchResponse response;
  for (auto& [i, out] : answers) {
    const auto& [key, answered] = round.credits[i];
    auto it = credits_.find(key);
    if (it == credits_.end() || it->second.generation != answered.generation) continue;
    hw_sent_[key] = out.high_watermark();
    if (observer_ != nullptr) {
      observer_->OnRequest(Rpc::kReplicaFetch, absl::Now() - answered.received, 0,
                           static_cast<int64_t>(out.records().size()));
    }
    *response.add_partitions() = std::move(out);
    credits_.erase(it);
  }
  return response;
}

bool ReplicationSession::Answer(const Credit& credit, std::optional<int64_t> hw_sent,
                                int32_t partition_max_bytes, int64_t* remaining,
                                v1::ReplicaFetchPartitionData* out) const {
  const v1::ReplicaFetchPartition& p = credit.request;
  *out->mutable_topic_id() = p.topic_id();
  out->set_partition(p.partition());
  out->set_fetch_offset(p.fetch_offset());
  out->set_high_watermark(-1);
  out->set_log_start_offset(-1);
  if (credit.replica == nullptr) {
    out->set_error_code(v1::NOT_LEADER_OR_FOLLOWER);
    return true;
  }
  Replica& r = *credit.replica;
  out->set_leader_epoch(r.leader_epoch().value());
  absl::Status leader = r.CheckLeader(LeaderEpoch(p.current_leader_epoch()));
  if (!leader.ok()) {
    out->set_error_code(ToErrorCode(leader));
    return true;
  }
  const Offset fetch(p.fetch_offset());
  const Offset hw = r.high_watermark();
  const Offset log_start = r.log().log_start_offset();
  const Offset log_end = r.log_end_offset();
  out->set_high_watermark(hw.value());
  out->set_log_start_offset(log_start.value());
  if (p.last_fetched_epoch() >= 0) {
    const auto [epoch, end] = r.log().EndOffsetForEpoch(LeaderEpoch(p.last_fetched_epoch()));
    if (epoch.value() != p.last_fetched_epoch() || end < fetch) {
      out->mutable_diverging_epoch()->set_epoch(epoch.value());
      out->mutable_diverging_epoch()->set_end_offset(epoch == kNoLeaderEpoch ? log_start.value()
                                                                             : end.value());
      out->set_log_end_offset(log_end.value());
      return true;
    }
  }
  if (fetch < log_start || fetch > log_end) {
    out->set_error_code(v1::OFFSET_OUT_OF_RANGE);
    out->set_log_end_offset(log_end.value());
    return true;
  }
  if (fetch<log_end&& * remaining> 0) {
    const int64_t limit = std::min<int64_t>(partition_max_bytes, *remaining);
    absl::StatusOr<std::string> bytes = r.ReadForFollower(fetch, static_cast<size_t>(limit));
    if (!bytes.ok()) {
      out->set_error_code(ToErrorCode(bytes.status()));
      if (out->error_code() == v1::UNKNOWN_SERVER_ERROR)
        out->set_error_code(v1::KAFKA_STORAGE_ERROR);
      return true;
    }
    *remaining -= static_cast<int64_t>(bytes->size());
    *out->mutable_records() = *std::move(bytes);
    return true;
  }
  // Caught up: answer with a high watermark the follower has not heard, or
  // empty once the credit has waited kMaxCreditWait.
  return !hw_sent.has_value() || *hw_sent != hw.value() ||
         absl::Now() - credit.received >= kMaxCreditWait;
}

}  // namespace fjord::broker
