#include "controller/partition_registration.h"

#include <set>

#include "absl/strings/str_cat.h"

namespace fjord::controller {

std::vector<BrokerId> ToBrokerIds(const google::protobuf::RepeatedField<int32_t>& ids) {
  std::vector<BrokerId> out;
  out.reserve(ids.size());
  for (int32_t id : ids) out.push_back(BrokerId(id));
  return out;
}

void FromBrokerIds(const std::vector<BrokerId>& ids,
                   google::protobuf::RepeatedField<int32_t>* out) {
  out->Reserve(static_cast<int>(ids.size()));
  for (BrokerId id : ids) out->Add(id.value());
}

absl::StatusOr<PartitionRegistration> PartitionRegistration::FromRecord(
    const v1::PartitionRecord& record) {
  PartitionRegistration p;
  p.replicas = ToBrokerIds(record.replicas());
  p.isr = ToBrokerIds(record.isr());
  p.removing_replicas = ToBrokerIds(record.removing_replicas());
  p.adding_replicas = ToBrokerIds(record.adding_replicas());
  p.leader = BrokerId(record.leader());
  p.leader_epoch = LeaderEpoch(record.leader_epoch());
  p.partition_epoch = PartitionEpoch(record.partition_epoch());
  p.leader_recovery_state = record.leader_recovery_state();
  absl::Status status = p.Validate();
  if (!status.ok()) return status;
  return p;
}

absl::StatusOr<PartitionRegistration> PartitionRegistration::Merge(
    const v1::PartitionChangeRecord& change) const {
  PartitionRegistration next = *this;
  if (change.has_isr()) next.isr = ToBrokerIds(change.isr().broker_ids());
  if (change.has_replicas()) next.replicas = ToBrokerIds(change.replicas().broker_ids());
  if (change.has_removing_replicas()) {
    next.removing_replicas = ToBrokerIds(change.removing_replicas().broker_ids());
  }
  if (change.has_adding_replicas()) {
    next.adding_replicas = ToBrokerIds(change.adding_replicas().broker_ids());
  }
  if (change.has_leader()) {
    next.leader = BrokerId(change.leader());
    ++next.leader_epoch;
  }
  if (change.has_leader_recovery_state()) {
    next.leader_recovery_state = change.leader_recovery_state();
  }
  ++next.partition_epoch;
  absl::Status status = next.Validate();
  if (!status.ok()) return status;
  return next;
}

v1::PartitionRecord PartitionRegistration::ToRecord(const Uuid& topic_id, PartitionId id) const {
  v1::PartitionRecord r;
  r.set_partition_id(id.value());
  topic_id.ToProto(r.mutable_topic_id());
  FromBrokerIds(replicas, r.mutable_replicas());
  FromBrokerIds(isr, r.mutable_isr());
  FromBrokerIds(removing_replicas, r.mutable_removing_replicas());
  FromBrokerIds(adding_replicas, r.mutable_adding_replicas());
  r.set_leader(leader.value());
  r.set_leader_epoch(leader_epoch.value());
  r.set_partition_epoch(partition_epoch.value());
  r.set_leader_recovery_state(leader_recovery_state);
  return r;
}

absl::Status PartitionRegistration::Validate() const {
  auto unique = [](const std::vector<BrokerId>& v) {
    return std::set<BrokerId>(v.begin(), v.end()).size() == v.size();
  };
  if (replicas.empty()) return absl::InvalidArgumentError("partition has no replicas");
  if (!unique(replicas)) return absl::InvalidArgumentError("duplicate broker in replicas");
  if (!unique(isr)) return absl::InvalidArgumentError("duplicate broker in isr");
  for (const auto* list : {&isr, &removing_replicas, &adding_replicas}) {
    for (BrokerId b : *list) {
      if (!IsReplica(b)) {
        return absl::InvalidArgumentError(absl::StrCat("broker ", b.value(), " not a replica"));
      }
    }
  }
  if (has_leader() && !IsReplica(leader)) {
    return absl::InvalidArgumentError(absl::StrCat("leader ", leader.value(), " not a replica"));
  }
  if (leader_epoch.value() < 0 || partition_epoch.value() < 0) {
    return absl::InvalidArgumentError("negative epoch");
  }
  return absl::OkStatus();
}

}  // namespace fjord::controller
