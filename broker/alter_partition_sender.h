// AlterPartitionSender: how a partition leader asks the controller to change
// its ISR (Kafka's AlterPartitionManager). The production implementation
// sends ControllerService.AlterPartition; tests record proposals and answer
// them by hand.
#pragma once

#include <functional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/types.h"
#include "controller/uuid.h"

namespace fjord::broker {

// What the controller says about a partition (from the image or an
// AlterPartition answer).
struct PartitionState {
  LeaderEpoch leader_epoch{0};
  PartitionEpoch partition_epoch{0};
  BrokerId leader = kNoBroker;
  std::vector<BrokerId> replicas;
  std::vector<BrokerId> isr;
};

// One ISR change, based on `partition_epoch` (compare-and-set).
struct IsrProposal {
  controller::Uuid topic_id;
  PartitionId partition{0};
  LeaderEpoch leader_epoch{0};
  PartitionEpoch partition_epoch{0};
  // The proposed ISR, leader included, with the broker epoch the leader saw
  // in each follower's fetch stream (-1 if unknown).
  std::vector<std::pair<BrokerId, BrokerEpoch>> isr;
};

class AlterPartitionSender {
 public:
  // The controller's answer: the partition's state after the change, or an
  // error (with its Kafka code, e.g. INVALID_UPDATE_VERSION).
  using Done = std::function<void(absl::StatusOr<PartitionState>)>;

  virtual ~AlterPartitionSender() = default;
  // Sends `proposal`; calls `done` exactly once, on any thread, possibly
  // before Send returns. Must not block on the replica.
  virtual void Send(IsrProposal proposal, Done done) = 0;
};

}  // namespace fjord::broker
