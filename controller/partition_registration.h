// PartitionRegistration: the controller's state of one partition (replicas,
// ISR, leader, epochs), after Kafka's PartitionRegistration. Immutable once in
// an image; a PartitionChangeRecord produces a new value through Merge().
//
// Invariants (checked by Validate() on every replay):
//   isr, removing_replicas, adding_replicas are subsets of replicas;
//   no duplicates in replicas or isr;
//   leader is NO_LEADER or a member of replicas.
#pragma once

#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/types.h"
#include "controller/uuid.h"
#include "proto/fjord/v1/records.pb.h"

namespace fjord::controller {

struct PartitionRegistration {
  std::vector<BrokerId> replicas;  // preferred leader first
  std::vector<BrokerId> isr;
  std::vector<BrokerId> removing_replicas;
  std::vector<BrokerId> adding_replicas;
  BrokerId leader = kNoBroker;
  LeaderEpoch leader_epoch{0};
  PartitionEpoch partition_epoch{0};
  v1::LeaderRecoveryState leader_recovery_state = v1::RECOVERED;

  static absl::StatusOr<PartitionRegistration> FromRecord(const v1::PartitionRecord& record);
  // The state after `change`: partition_epoch + 1, and leader_epoch + 1 when
  // the change names a leader (even the same one), as KRaft replays it.
  absl::StatusOr<PartitionRegistration> Merge(const v1::PartitionChangeRecord& change) const;
  v1::PartitionRecord ToRecord(const Uuid& topic_id, PartitionId id) const;
  absl::Status Validate() const;

  bool has_leader() const { return leader != kNoBroker; }
  bool IsReplica(BrokerId b) const { return Contains(replicas, b); }
  bool InIsr(BrokerId b) const { return Contains(isr, b); }
  BrokerId preferred_leader() const { return replicas.empty() ? kNoBroker : replicas.front(); }

  static bool Contains(const std::vector<BrokerId>& v, BrokerId b) {
    return std::find(v.begin(), v.end(), b) != v.end();
  }

  friend bool operator==(const PartitionRegistration&, const PartitionRegistration&) = default;
};

// Conversions between the wire's int32 lists and BrokerId vectors.
std::vector<BrokerId> ToBrokerIds(const google::protobuf::RepeatedField<int32_t>& ids);
void FromBrokerIds(const std::vector<BrokerId>& ids, google::protobuf::RepeatedField<int32_t>* out);

}  // namespace fjord::controller
