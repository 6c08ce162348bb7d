// BrokerServiceImpl::Fetch: read below the high watermark, long-polling in
// the purgatory for fetch.min.bytes.
#include <algorithm>
#include <memory>
#include <vector>

#include "broker/broker_service.h"
#include "common/kafka_error.h"

namespace fjord::broker {

int64_t BrokerServiceImpl::ReadFetch(const v1::FetchRequest& request, v1::FetchResponse* response,
                                     bool* error) const {
  response->clear_responses();
  response->clear_node_endpoints();
  *error = false;
  int64_t total = 0;
  int64_t remaining = request.max_bytes();
  for (const auto& topic : request.topics()) {
    auto* tr = response->add_responses();
    tr->set_topic(topic.topic());
    for (const auto& p : topic.partitions()) {
      auto* out = tr->add_partitions();
      out->set_partition(p.partition());
      out->set_high_watermark(-1);
      out->set_last_stable_offset(-1);
      out->set_log_start_offset(-1);
      v1::LeaderIdAndEpoch leader;
      absl::StatusOr<std::shared_ptr<Replica>> replica = LeaderReplica(
          topic.topic(), p.partition(), LeaderEpoch(p.current_leader_epoch()), &leader);
      // The first non-empty partition may exceed the limits by one batch
      // (storage returns at least one); later ones stop at `remaining`.
      const int64_t limit =
          std::min<int64_t>(std::max(p.partition_max_bytes(), 1), std::max<int64_t>(remaining, 1));
      absl::StatusOr<ReadResult> read =
          replica.ok()
              ? (*replica)->ReadCommitted(Offset(p.fetch_offset()), static_cast<size_t>(limit))
              : absl::StatusOr<ReadResult>(replica.status());
      if (!read.ok()) {
        *error = true;
        out->set_error_code(ToErrorCode(read.status()));
        const v1::ErrorCode code = out->error_code();
        if (code == v1::NOT_LEADER_OR_FOLLOWER || code == v1::FENCED_LEADER_EPOCH) {
          *out->mutable_current_leader() = leader;
          AddNodeEndpoint(leader.leader_id(), response->mutable_node_endpoints());
        }
        continue;
      }
      out->set_high_watermark(read->high_watermark.value());
      out->set_last_stable_offset(read->high_watermark.value());
      out->set_log_start_offset(read->log_start_offset.value());
      const int64_t size = static_cast<int64_t>(read->records.size());
      if (size == 0 || (total > 0 && size > remaining)) continue;
      total += size;
      remaining -= size;
      *out->mutable_records() = std::move(read->records);
    }
  }
  return total;
}

grpc::Status BrokerServiceImpl::Fetch(grpc::ServerContext* ctx, const v1::FetchRequest* request,
                                      v1::FetchResponse* response) {
  const absl::Time start = absl::Now();
  grpc::Status status = DoFetch(ctx, request, response);
  if (options_.observer != nullptr) {
    int64_t bytes = 0;
    for (const auto& t : response->responses()) {
      for (const auto& p : t.partitions()) bytes += static_cast<int64_t>(p.records().size());
    }
    options_.observer->OnRequest(Rpc::kFetch, absl::Now() - start, 0, bytes);
  }
  return status;
}

grpc::Status BrokerServiceImpl::DoFetch(grpc::ServerContext*, const v1::FetchRequest* request,
                                        v1::FetchResponse* response) {
  if (request->replica_id() != -1) {
    response->set_error_code(v1::INVALID_REQUEST);
    return grpc::Status::OK;
  }
  if (request->max_bytes() <= 0) {
    response->set_error_code(v1::INVALID_FETCH_SIZE);
    return grpc::Status::OK;
  }
  bool error = false;
  const int64_t min_bytes = std::max(request->min_bytes(), 1);
  const absl::Duration wait = std::min(absl::Milliseconds(std::max(request->max_wait_ms(), 0)),
                                       options_.fetch_max_wait_max);
  if (ReadFetch(*request, response, &error) >= min_bytes || error || wait == absl::ZeroDuration()) {
    return grpc::Status::OK;
  }
  std::vector<std::shared_ptr<Replica>> held;
  std::vector<const Replica*> watched;
  for (const auto& topic : request->topics()) {
    for (const auto& p : topic.partitions()) {
      std::shared_ptr<Replica> r = replicas_.Get(topic.topic(), PartitionId(p.partition()));
      if (r == nullptr) continue;
      watched.push_back(r.get());
      held.push_back(std::move(r));
    }
  }
  auto op = std::make_shared<WaitingRequest>([&](bool expired) {
    bool err = false;
    return ReadFetch(*request, response, &err) >= min_bytes || err || expired;
  });
  if (!purgatory_.Watch(op, watched, clock_.Monotonic() + wait)) op->Expire();
  op->Wait(wait + absl::Seconds(1));
  return grpc::Status::OK;
}

}  // namespace fjord::broker
