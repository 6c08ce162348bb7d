// BrokerServiceImpl::Produce: append, then (acks=all) wait in the purgatory.
#include <algorithm>
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
  // One partition of the request, from lookup to result.
  struct Slot {
    v1::ProduceRequest::PartitionProduceData* data;
    v1::ProduceResponse::PartitionProduceResponse* out;
    v1::LeaderIdAndEpoch leader;
    std::shared_ptr<Replica> replica;
    absl::StatusOr<LeaderAppendResult> appended = absl::UnknownError("not appended");
    int64_t size = 0;
  };
  std::vector<Slot> slots;
  response->mutable_responses()->Reserve(request.topic_data_size());
  for (auto& topic : *request.mutable_topic_data()) {
    auto* tr = response->add_responses();
    tr->set_topic(topic.topic());
    tr->mutable_partition_responses()->Reserve(topic.partition_data_size());
    for (auto& p : *topic.mutable_partition_data()) {
      Slot& slot = slots.emplace_back();
      slot.data = &p;
      slot.out = tr->add_partition_responses();
      slot.out->set_partition(p.partition());
      slot.out->set_base_offset(-1);
      slot.out->set_log_append_time_ms(-1);
      slot.out->set_log_start_offset(-1);
      slot.size = static_cast<int64_t>(p.records().size());
      if (!valid_acks) {
        slot.appended = KafkaError(v1::INVALID_REQUIRED_ACKS, absl::StrCat("acks=", acks));
        continue;
      }
      absl::StatusOr<std::shared_ptr<Replica>> replica =
          LeaderReplica(topic.topic(), p.partition(), kNoLeaderEpoch, &slot.leader);
      if (replica.ok()) {
        slot.replica = *std::move(replica);
      } else {
        slot.appended = replica.status();
      }
    }
  }
  // An append only writes: the fsync that log.flush.policy=always asks for
  // runs on the broker's LogFlusher, and acks=-1 waits for it below through
  // the high watermark. So the partitions are appended one after the other
  // on this thread, with no fsync in between.
  for (Slot& slot : slots) {
    if (slot.replica == nullptr) continue;
    slot.appended =
        slot.replica->AppendRecords(std::move(*slot.data->mutable_records()), acks == -1);
  }

  std::vector<PendingAck> pending;
  for (Slot& slot : slots) {
    if (!slot.appended.ok()) {
      SetError(slot.out, slot.appended.status());
      if (ToErrorCode(slot.appended.status()) == v1::NOT_LEADER_OR_FOLLOWER) {
        *slot.out->mutable_current_leader() = slot.leader;
        AddNodeEndpoint(slot.leader.leader_id(), response->mutable_node_endpoints());
      }
      continue;
    }
    const LeaderAppendResult& appended = *slot.appended;
    *records_in += appended.last_offset - appended.base_offset + 1;
    *bytes_in += slot.size;
    slot.out->set_base_offset(appended.base_offset.value());
    slot.out->set_log_start_offset(appended.log_start_offset.value());
    if (acks == -1) {
      pending.push_back(
          {slot.out, std::move(slot.replica), appended.last_offset, appended.leader_epoch});
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
