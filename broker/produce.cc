// BrokerServiceImpl::Produce: append, then (acks=all) wait in the purgatory.
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/broker_service.h"
#include "common/kafka_error.h"

namespace fjord::broker {
namespace {

void SetError(v1::ProduceResponse::PartitionProduceResponse* out, const absl::Status& status) {
  out->set_error_code(ToErrorCode(status));
  out->set_error_message(std::string(status.message()));
  out->set_base_offset(-1);
}

}  // namespace

grpc::Status BrokerServiceImpl::Produce(grpc::ServerContext* ctx, const v1::ProduceRequest* request,
                                        v1::ProduceResponse* response) {
  const absl::Time start = absl::Now();
  int64_t records_in = 0, bytes_in = 0;
  // gRPC's synchronous server deserializes the request for this call alone
  // and drops it when the handler returns: taking its records bytes instead
  // of copying them saves one copy of every batch.
  grpc::Status status =
      DoProduce(ctx, const_cast<v1::ProduceRequest&>(*request), response, &records_in, &bytes_in);
  if (options_.observer != nullptr) {
    options_.observer->OnRequest(Rpc::kProduce, absl::Now() - start, records_in, bytes_in);
  }
  return status;
}

std::vector<BrokerServiceImpl::PendingAck> BrokerServiceImpl::AppendProduce(
    v1::ProduceRequest& request, v1::ProduceResponse* response, int64_t* records_in,
    int64_t* bytes_in) {
  const int32_t acks = request.acks();
  const bool valid_acks = acks == 0 || acks == 1 || acks == -1;
  std::vector<PendingAck> pending;
  response->mutable_responses()->Reserve(request.topic_data_size());
  for (auto& topic : *request.mutable_topic_data()) {
    auto* tr = response->add_responses();
    tr->set_topic(topic.topic());
    tr->mutable_partition_responses()->Reserve(topic.partition_data_size());
    for (auto& p : *topic.mutable_partition_data()) {
      auto* out = tr->add_partition_responses();
      out->set_partition(p.partition());
      out->set_base_offset(-1);
      out->set_log_append_time_ms(-1);
      out->set_log_start_offset(-1);
      if (!valid_acks) {
        SetError(out, KafkaError(v1::INVALID_REQUIRED_ACKS, absl::StrCat("acks=", acks)));
        continue;
      }
      v1::LeaderIdAndEpoch leader;
      absl::StatusOr<std::shared_ptr<Replica>> replica =
          LeaderReplica(topic.topic(), p.partition(), kNoLeaderEpoch, &leader);
      const int64_t size = static_cast<int64_t>(p.records().size());
      absl::StatusOr<LeaderAppendResult> appended =
          replica.ok() ? (*replica)->AppendRecords(std::move(*p.mutable_records()), acks == -1)
                       : replica.status();
      if (!appended.ok()) {
        SetError(out, appended.status());
        if (ToErrorCode(appended.status()) == v1::NOT_LEADER_OR_FOLLOWER) {
          *out->mutable_current_leader() = leader;
          AddNodeEndpoint(leader.leader_id(), response->mutable_node_endpoints());
        }
        continue;
      }
      *records_in += appended->last_offset - appended->base_offset + 1;
      *bytes_in += size;
      out->set_base_offset(appended->base_offset.value());
      out->set_log_start_offset(appended->log_start_offset.value());
      if (acks == -1) {
        pending.push_back(
            {out, *std::move(replica), appended->last_offset, appended->leader_epoch});
      }
    }
  }
  if (acks == 0) {
    // acks=0: the producer hears nothing; every partition reports NONE.
    for (auto& tr : *response->mutable_responses()) {
      for (auto& pr : *tr.mutable_partition_responses()) {
        pr.Clear();
        pr.set_base_offset(-1);
        pr.set_log_append_time_ms(-1);
        pr.set_log_start_offset(-1);
      }
    }
    response->clear_node_endpoints();
  }
  return pending;
}

bool BrokerServiceImpl::ResolveAcks(std::vector<PendingAck>& pending, bool expired) {
  bool all = true;
  for (PendingAck& a : pending) {
    if (a.resolved) continue;
    absl::StatusOr<bool> done = a.replica->IsReplicated(a.last_offset, a.epoch);
    if (!done.ok()) {
      SetError(a.out, done.status());
      a.resolved = true;
    } else if (*done) {
      a.resolved = true;
    } else if (expired) {
      SetError(a.out, KafkaError(v1::REQUEST_TIMED_OUT,
                                 "in-sync replicas did not confirm within timeout_ms"));
      a.resolved = true;
    } else {
      all = false;
    }
  }
  return all;
}

absl::Duration BrokerServiceImpl::ProduceTimeout(const v1::ProduceRequest& request) const {
  return std::min(absl::Milliseconds(std::max(request.timeout_ms(), 0)),
                  options_.produce_timeout_max);
}

grpc::Status BrokerServiceImpl::DoProduce(grpc::ServerContext*, v1::ProduceRequest& request,
                                          v1::ProduceResponse* response, int64_t* records_in,
                                          int64_t* bytes_in) {
  std::vector<PendingAck> pending = AppendProduce(request, response, records_in, bytes_in);
  if (pending.empty()) return grpc::Status::OK;

  // Runs under the WaitingRequest's lock; `pending` lives until Wait returns.
  auto attempt = [&pending](bool expired) { return ResolveAcks(pending, expired); };
  const absl::Duration timeout = ProduceTimeout(request);
  auto op = std::make_shared<WaitingRequest>(attempt);
  std::vector<const Replica*> watched;
  for (const PendingAck& a : pending) watched.push_back(a.replica.get());
  if (!purgatory_.Watch(op, watched, clock_.Monotonic() + timeout)) op->Expire();
  // The ticker expires the operation at its deadline; the extra second only
  // bounds the wait if the ticker itself stalls.
  op->Wait(timeout + absl::Seconds(1));
  return grpc::Status::OK;
}

}  // namespace fjord::broker
