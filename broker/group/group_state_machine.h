// GroupStateMachine: the consumer groups of one __consumer_offsets partition
// (one coordinator "shard"), as a deterministic state machine: requests and
// ticks go in with the time, a response and the records to persist come out.
// No threads, clocks, I/O or global randomness inside (the caller passes
// `now`, and member ids come from an injected Random), so tests drive it
// step by step and replay it from a seed.
//
// One mutation path: every persisted change is a GroupRecord that the
// handler both appends to `out` and applies with Replay(), the same function
// a new coordinator uses to rebuild the state from the log. So the state
// after a handler equals the state a replay of its records yields. The
// caller must append `out` to the partition in order, and answer the request
// only once those records (and all earlier ones) are committed. If the
// append fails the state is ahead of the log: the caller must discard this
// state machine and rebuild it from the log.
//
// In-memory only (as in Kafka): session and revocation deadlines, whether a
// member has been sent its current assignment, when a group became empty.
// OnLoaded() starts them afresh after a rebuild.
//
// KIP-848 rules implemented here:
// - Join (epoch 0), heartbeat (current epoch; the previous epoch is also
//   accepted when the member's owned partitions, reported or as last
//   reported, are a subset of its assignment: a lost or late response, so
//   the answer carries the assignment again), leave (-1), static leave (-2:
//   partitions stay reserved for the session timeout; a member with the
//   same instance id takes them over with no rebalance).
// - A join, leave, fencing, subscription change or partition-count change of
//   a subscribed topic bumps the group epoch, and the target assignment is
//   recomputed at once (the assignor most members ask for; uniform default).
// - A member is asked to revoke partitions that left its target before any
//   other member is given them; a partition is given only once no member
//   holds it as assigned or pending revocation. Invariant (CheckInvariants):
//   no partition is in two members' assigned + pending sets.
// - Fencing: no heartbeat for session.timeout.ms, or partitions not revoked
//   within the member's rebalance timeout (max.poll.interval.ms): the member
//   is removed (its next heartbeat gets UNKNOWN_MEMBER_ID).
//
// Threading: not thread-safe; the coordinator serializes access per shard.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "broker/group/consumer_group.h"
#include "broker/group/group_record.h"
#include "common/random.h"
#include "proto/fjord/v1/group.pb.h"

namespace fjord::group {

// Kafka-named settings of the group coordinator.
struct GroupConfig {
  // group.consumer.session.timeout.ms
  absl::Duration session_timeout = absl::Milliseconds(45000);
  // group.consumer.heartbeat.interval.ms
  absl::Duration heartbeat_interval = absl::Milliseconds(5000);
  // group.consumer.max.size
  int32_t max_size = std::numeric_limits<int32_t>::max();
  // offset.metadata.max.bytes
  size_t offset_metadata_max_bytes = 4096;
  // offsets.retention.minutes
  absl::Duration offsets_retention = absl::Minutes(10080);
  // offsets.retention.check.interval.ms
  absl::Duration offsets_retention_check_interval = absl::Milliseconds(600000);
  // Used when a joining member sends no rebalance_timeout_ms (Kafka's
  // max.poll.interval.ms default).
  absl::Duration default_rebalance_timeout = absl::Minutes(5);
};

// Partition count of an existing topic, or nullopt (a view of the metadata).
using TopicLookup = std::function<std::optional<int32_t>(const std::string& topic)>;

// Error answers in each RPC's shape (the state machine's, and the
// coordinator's when it cannot run a request).
v1::ConsumerGroupHeartbeatResponse HeartbeatError(v1::ErrorCode code, std::string message);
// Every partition of the request gets the error too.
v1::OffsetCommitResponse OffsetCommitError(const v1::OffsetCommitRequest& request,
                                           v1::ErrorCode code, const std::string& message);

class GroupStateMachine {
 public:
  using Records = std::vector<GroupRecord>;

  // `random` makes member ids; it must outlive the state machine.
  GroupStateMachine(GroupConfig config, Random& random);

  v1::ConsumerGroupHeartbeatResponse Heartbeat(const v1::ConsumerGroupHeartbeatRequest& request,
                                               const TopicLookup& topics, absl::Duration now,
                                               Records* out);
  v1::OffsetCommitResponse OffsetCommit(const v1::OffsetCommitRequest& request,
                                        const TopicLookup& topics, absl::Time wall, Records* out);
  v1::OffsetFetchResponse OffsetFetch(const v1::OffsetFetchRequest& request) const;
  v1::OffsetDeleteResponse OffsetDelete(const v1::OffsetDeleteRequest& request, Records* out);
  v1::DeleteGroupsResponse::Result DeleteGroup(const std::string& group_id, Records* out);
  v1::ConsumerGroupDescribeResponse::DescribedGroup Describe(const std::string& group_id) const;
  // Appends the groups whose state is in `states` (all when empty).
  void ListGroups(const std::set<std::string>& states, v1::ListGroupsResponse* out) const;

  // Timers: fences members past their session or revocation deadline, and
  // (every offsets.retention.check.interval.ms) expires offsets of empty
  // groups older than offsets.retention.minutes, deleting groups left with
  // nothing.
  void Tick(const TopicLookup& topics, absl::Duration now, absl::Time wall, Records* out);

  // The answer to the member's last heartbeat never reached it (the
  // coordinator answered with an error instead): its next answer carries
  // its assignment again.
  void AnswerLost(const std::string& group_id, const std::string& member_id);

  // Applies one record (the only mutation of persisted state). Errors only
  // for malformed records.
  absl::Status Replay(const GroupRecord& record);
  // After a rebuild from the log: every member's session starts now.
  void OnLoaded(absl::Duration now);

  // No partition in two members' assigned + pending-revocation sets, member
  // epochs never ahead of the assignment epoch, targets disjoint.
  absl::Status CheckInvariants() const;

  const std::map<std::string, ConsumerGroup>& groups() const { return groups_; }
  const ConsumerGroup* group(const std::string& id) const;
  const GroupConfig& config() const { return config_; }

 private:
  struct MemberTimers {
    absl::Duration session_deadline = absl::InfiniteDuration();
    std::optional<absl::Duration> revocation_deadline;
    // The member's current assignment was in a response.
    bool assignment_sent = false;
  };

  void Emit(GroupRecord record, Records* out);
  void WriteMember(const ConsumerGroup& g, const Member& m, Records* out);
  void WriteCurrentAssignment(const ConsumerGroup& g, const Member& m, Records* out);
  // Removes a member's records and timers (no epoch bump).
  void RemoveMemberRecords(const ConsumerGroup& g, const std::string& member_id, Records* out);
  // Bumps the group epoch (always when `force`, else only if the subscribed
  // topics' partition counts changed) and recomputes the target assignment.
  void MaybeBumpEpoch(const std::string& group_id, const TopicLookup& topics, bool force,
                      Records* out);
  // Removes a member and rebalances the rest.
  void FenceMember(const std::string& group_id, const std::string& member_id,
                   const TopicLookup& topics, absl::Duration now, Records* out);
  // Moves the member's current assignment toward its target.
  void Reconcile(const std::string& group_id, const std::string& member_id,
                 const std::optional<TopicPartitionSet>& owned, absl::Duration now, Records* out);
  // The group an administrative request names, or nullptr after setting
  // `response`'s error (INVALID_GROUP_ID, GROUP_ID_NOT_FOUND).
  template <typename Response>
  const ConsumerGroup* GroupOrError(const std::string& group_id, Response* response) const;
  std::string NewMemberId();
  MemberTimers& timers(const std::string& group_id, const std::string& member_id) {
    return timers_[group_id][member_id];
  }
  ConsumerGroup* mutable_group(const std::string& id);

  const GroupConfig config_;
  Random& random_;
  std::map<std::string, ConsumerGroup> groups_;
  std::map<std::string, std::map<std::string, MemberTimers>> timers_;
  // When each empty group became empty (monotonic; offsets retention).
  std::map<std::string, absl::Duration> empty_since_;
  absl::Duration next_retention_check_ = absl::ZeroDuration();
};

}  // namespace fjord::group
