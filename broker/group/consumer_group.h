// ConsumerGroup: the persisted state of one KIP-848 consumer group, exactly
// what replaying its records yields (GroupStateMachine owns the groups and is
// the only writer). Plain data: the rules live in the state machine.
//
// Group state (derived, never stored):
//
//            first member joins              target computed
//   Empty ----------------------> Assigning ----------------> Reconciling
//     ^                                ^                           |
//     | last member leaves /           | epoch bump (join, leave,  | every member at the
//     | is fenced                      | subscription or topic     | assignment epoch
//     |                                | change)                   v
//     +------------------------------- + ----------------------- Stable
//   Dead: deleted (DeleteGroups, or expired offsets of an empty group); the
//   group is then gone from the state machine.
//
// Member reconciliation (MemberState), per member toward its target:
//
//   Stable --target drops owned partitions--> UnrevokedPartitions
//     |      (epoch kept: revoke first)            | member reports them
//     |                                            v revoked
//     +--target adds partitions still owned by--> UnreleasedPartitions
//        another member (epoch advanced; each       | previous owner released
//        heartbeat takes those freed since)         v them: Stable
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "broker/group/topic_partitions.h"

namespace fjord::group {

enum class MemberState : int32_t {
  kStable = 0,
  kUnrevokedPartitions = 1,
  kUnreleasedPartitions = 2,
};

enum class GroupState { kEmpty, kAssigning, kReconciling, kStable, kDead };

// Kafka's names: "Empty", "Assigning", "Reconciling", "Stable", "Dead".
const char* GroupStateName(GroupState state);

// Member epochs with a meaning (ConsumerGroupHeartbeat's member_epoch).
inline constexpr int32_t kJoinEpoch = 0;
inline constexpr int32_t kLeaveEpoch = -1;
inline constexpr int32_t kStaticLeaveEpoch = -2;

struct Member {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::optional<std::string> rack_id;
  std::string client_id;
  std::string client_host;
  std::vector<std::string> subscribed_topics;  // sorted, unique
  int32_t rebalance_timeout_ms = 0;
  std::string server_assignor;  // "" = the group's choice

  int32_t member_epoch = 0;
  int32_t previous_member_epoch = 0;
  MemberState state = MemberState::kStable;
  // What the member may own now, and what it must still give up.
  TopicPartitionSet assigned;
  TopicPartitionSet pending_revocation;
  // What the member held when it moved from previous_member_epoch to
  // member_epoch. A heartbeat still at the previous epoch that reports no
  // owned partitions ("as before") is judged as if it reported these.
  TopicPartitionSet held_at_previous_epoch;

  friend bool operator==(const Member&, const Member&) = default;
};

struct CommittedOffset {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
  int64_t commit_timestamp_ms = 0;
  friend bool operator==(const CommittedOffset&, const CommittedOffset&) = default;
};

struct ConsumerGroup {
  std::string group_id;
  int32_t group_epoch = 0;
  // Partition counts of the subscribed topics as of group_epoch.
  std::map<std::string, int32_t> subscribed_topics;
  int32_t assignment_epoch = 0;
  std::map<std::string, Member> members;
  // Member id -> the partitions the coordinator wants it to own.
  std::map<std::string, TopicPartitionSet> target;
  std::map<TopicPartition, CommittedOffset> offsets;

  GroupState state() const;
  // The member with this id / group.instance.id, or nullptr.
  const Member* FindMember(const std::string& member_id) const;
  const Member* FindByInstance(const std::string& instance_id) const;
  // Union of the members' subscriptions, sorted.
  std::vector<std::string> SubscribedTopicNames() const;

  friend bool operator==(const ConsumerGroup&, const ConsumerGroup&) = default;
};

}  // namespace fjord::group
