// AlterPartition (declared in replication_control.h).
#include <set>

#include "absl/strings/str_cat.h"
#include "controller/partition_change_builder.h"
#include "controller/replication_control.h"

namespace fjord::controller {

namespace {

using PartitionReq = v1::AlterPartitionRequest::PartitionData;
using PartitionResp = v1::AlterPartitionResponse::PartitionData;

void FillState(const PartitionRegistration& p, PartitionResp* out) {
  out->set_leader_id(p.leader.value());
  out->set_leader_epoch(p.leader_epoch.value());
  out->clear_isr();
  for (BrokerId b : p.isr) out->add_isr(b.value());
  out->set_leader_recovery_state(p.leader_recovery_state);
  out->set_partition_epoch(p.partition_epoch.value());
}

// The error for one partition change, or NONE when it may proceed.
v1::ErrorCode Validate(const MetadataImage& image, BrokerId requester,
                       const PartitionRegistration& p, const PartitionReq& req) {
  if (req.leader_epoch() != p.leader_epoch.value()) return v1::FENCED_LEADER_EPOCH;
  if (requester != p.leader) return v1::NOT_LEADER_OR_FOLLOWER;
  if (req.partition_epoch() != p.partition_epoch.value()) return v1::INVALID_UPDATE_VERSION;
  if (req.new_isr_with_epochs_size() == 0) return v1::INVALID_REQUEST;
  std::set<BrokerId> seen;
  bool has_leader = false;
  for (const auto& member : req.new_isr_with_epochs()) {
    BrokerId b(member.broker_id());
    if (!seen.insert(b).second || !p.IsReplica(b)) return v1::INVALID_REQUEST;
    has_leader |= b == p.leader;
  }
  if (!has_leader) return v1::INVALID_REQUEST;
  // Recovery may only end (RECOVERING -> RECOVERED), and a recovering
  // leader's ISR is just itself.
  if (req.leader_recovery_state() == v1::RECOVERING &&
      (p.leader_recovery_state == v1::RECOVERED || req.new_isr_with_epochs_size() > 1)) {
    return v1::INVALID_REQUEST;
  }
  for (const auto& member : req.new_isr_with_epochs()) {
    const BrokerRegistration* b = image.broker(BrokerId(member.broker_id()));
    if (b == nullptr || !b->active()) return v1::INELIGIBLE_REPLICA;
    if (member.broker_epoch() != -1 && BrokerEpoch(member.broker_epoch()) != b->epoch) {
      return v1::INELIGIBLE_REPLICA;
    }
  }
  return v1::NONE;
}

}  // namespace

ControllerResult<v1::AlterPartitionResponse> AlterPartition(const MetadataImage& image,
                                                            const v1::AlterPartitionRequest& req) {
  ControllerResult<v1::AlterPartitionResponse> result;
  auto& response = result.response;
  const BrokerId requester(req.broker_id());
  const BrokerRegistration* broker = image.broker(requester);
  if (broker == nullptr) {
    SetError(&response, v1::BROKER_ID_NOT_REGISTERED,
             absl::StrCat("broker ", req.broker_id(), " is not registered"));
    return result;
  }
  if (broker->epoch != BrokerEpoch(req.broker_epoch())) {
    SetError(&response, v1::STALE_BROKER_EPOCH,
             absl::StrCat("broker epoch ", req.broker_epoch(), " is not the current ",
                          broker->epoch.value()));
    return result;
  }
  auto eligible = [&](BrokerId b) { return BrokerIsActive(image, b); };
  for (const auto& topic_req : req.topics()) {
    auto* topic_resp = response.add_topics();
    *topic_resp->mutable_topic_id() = topic_req.topic_id();
    const TopicImage* topic = image.topic(Uuid::FromProto(topic_req.topic_id()));
    std::set<int32_t> seen;
    for (const auto& part_req : topic_req.partitions()) {
      auto* part_resp = topic_resp->add_partitions();
      part_resp->set_partition(part_req.partition());
      part_resp->set_leader_id(-1);
      if (topic == nullptr) {
        part_resp->set_error_code(v1::UNKNOWN_TOPIC_ID);
        continue;
      }
      const PartitionRegistration* p = topic->partition(PartitionId(part_req.partition()));
      if (p == nullptr) {
        part_resp->set_error_code(v1::UNKNOWN_TOPIC_OR_PARTITION);
        continue;
      }
      if (!seen.insert(part_req.partition()).second) {
        part_resp->set_error_code(v1::INVALID_REQUEST);  // same partition twice
        continue;
      }
      v1::ErrorCode error = Validate(image, requester, *p, part_req);
      if (error != v1::NONE) {
        part_resp->set_error_code(error);
        FillState(*p, part_resp);
        continue;
      }
      std::vector<BrokerId> isr;
      for (const auto& member : part_req.new_isr_with_epochs()) {
        isr.push_back(BrokerId(member.broker_id()));
      }
      auto record = PartitionChangeBuilder(*p, topic->id, PartitionId(part_req.partition()),
                                           eligible, /*unclean_allowed=*/false)
                        .SetTargetIsr(std::move(isr))
                        .SetTargetRecoveryState(part_req.leader_recovery_state())
                        .Build();
      if (!record.has_value()) {  // nothing to change: report the current state
        FillState(*p, part_resp);
        continue;
      }
      auto next = p->Merge(record->partition_change());
      if (!next.ok()) {  // unreachable if Validate is right; never write a bad record
        part_resp->set_error_code(v1::INVALID_REQUEST);
        FillState(*p, part_resp);
        continue;
      }
      if (next->leader != requester) part_resp->set_error_code(v1::NEW_LEADER_ELECTED);
      FillState(*next, part_resp);
      result.records.push_back(std::move(*record));
    }
  }
  return result;
}

}  // namespace fjord::controller
