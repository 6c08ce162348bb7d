// PartitionChangeBuilder: decides the next leader and ISR of one partition
// and states the change as a PartitionChangeRecord (after Kafka's
// PartitionChangeBuilder). Every controller path that changes a partition's
// leadership goes through it, so the election rules live in one place:
//
//   * Leaders come from the target ISR, among eligible brokers (registered,
//     unfenced, not in controlled shutdown: the caller's `eligible`), in
//     replica order, so the preferred leader wins when it can.
//   * A current leader that is still eligible and in the ISR is kept, unless
//     a preferred election moves it to the eligible preferred replica.
//   * An empty target ISR keeps the current ISR (the last member of an ISR
//     is never removed; the partition goes leaderless instead, as KRaft).
//   * With no eligible ISR member: if unclean election is allowed (the
//     topic's unclean.leader.election.enable), the first eligible replica
//     leads, the ISR becomes just it and the recovery state RECOVERING;
//     otherwise the partition has no leader (-1).
//
// Pure: reads only its arguments.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "common/types.h"
#include "controller/partition_registration.h"
#include "controller/uuid.h"
#include "proto/fjord/v1/records.pb.h"

namespace fjord::controller {

enum class Election {
  // Elect only if the current leader can no longer lead.
  kIfLeaderIneligible,
  // Move leadership to the preferred (first) replica when it is eligible.
  kPreferred,
};

class PartitionChangeBuilder {
 public:
  using BrokerFilter = std::function<bool(BrokerId)>;

  PartitionChangeBuilder(const PartitionRegistration& current, const Uuid& topic_id,
                         PartitionId partition, BrokerFilter eligible, bool unclean_allowed)
      : current_(current),
        topic_id_(topic_id),
        partition_(partition),
        eligible_(std::move(eligible)),
        unclean_allowed_(unclean_allowed),
        target_isr_(current.isr) {}

  PartitionChangeBuilder& SetTargetIsr(std::vector<BrokerId> isr) {
    target_isr_ = std::move(isr);
    return *this;
  }
  PartitionChangeBuilder& SetElection(Election election) {
    election_ = election;
    return *this;
  }
  PartitionChangeBuilder& SetTargetRecoveryState(v1::LeaderRecoveryState state) {
    target_recovery_ = state;
    return *this;
  }

  // The change as a MetadataRecord, or nullopt if nothing would change.
  std::optional<v1::MetadataRecord> Build() const;

 private:
  const PartitionRegistration& current_;
  const Uuid topic_id_;
  const PartitionId partition_;
  const BrokerFilter eligible_;
  const bool unclean_allowed_;
  std::vector<BrokerId> target_isr_;
  Election election_ = Election::kIfLeaderIneligible;
  std::optional<v1::LeaderRecoveryState> target_recovery_;
};

}  // namespace fjord::controller
