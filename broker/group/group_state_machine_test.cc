#include "broker/group/group_state_machine.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/group/test_requests.h"
#include "common/random.h"
#include "gtest/gtest.h"

namespace fjord::group {
namespace {

using HeartbeatRequest = v1::ConsumerGroupHeartbeatRequest;
using HeartbeatResponse = v1::ConsumerGroupHeartbeatResponse;

// Drives one state machine with a test-controlled clock, keeps every record
// it emits (the "log"), and after each step checks the invariants and that
// replaying the log from scratch yields the same groups.
class Harness {
 public:
  explicit Harness(GroupConfig config = {}, uint64_t seed = 1)
      : config_(config), random_(seed), sm_(config, random_) {}

  void SetTopic(const std::string& t, int32_t n) { topics_[t] = n; }
  TopicLookup topics() {
    return [this](const std::string& t) -> std::optional<int32_t> {
      auto it = topics_.find(t);
      return it == topics_.end() ? std::nullopt : std::optional(it->second);
    };
  }

  HeartbeatResponse Heartbeat(const HeartbeatRequest& req) {
    GroupStateMachine::Records out;
    HeartbeatResponse r = sm_.Heartbeat(req, topics(), now_, &out);
    Record(out);
    return r;
  }
  HeartbeatResponse Join(const std::string& group, std::vector<std::string> topics,
                         std::optional<std::string> instance = std::nullopt,
                         const std::string& assignor = "") {
    HeartbeatRequest req = testing::JoinRequest(group, topics);
    if (instance) req.set_instance_id(*instance);
    req.set_server_assignor(assignor);
    return Heartbeat(req);
  }
  // A heartbeat at `epoch`; `owned` (if given) is reported.
  HeartbeatResponse Beat(const std::string& group, const std::string& member, int32_t epoch,
                         std::optional<TopicPartitionSet> owned = std::nullopt) {
    HeartbeatRequest req;
    req.set_group_id(group);
    req.set_member_id(member);
    req.set_member_epoch(epoch);
    req.set_rebalance_timeout_ms(-1);
    if (owned) {
      req.set_has_owned(true);
      owned->ToProto(req.mutable_owned_topic_partitions());
    }
    return Heartbeat(req);
  }
  HeartbeatResponse Leave(const std::string& group, const std::string& member, int32_t epoch,
                          std::optional<std::string> instance = std::nullopt) {
    HeartbeatRequest req;
    req.set_group_id(group);
    req.set_member_id(member);
    req.set_member_epoch(epoch);
    if (instance) req.set_instance_id(*instance);
    return Heartbeat(req);
  }
  v1::OffsetCommitResponse Commit(const std::string& group, const std::string& member,
                                  int32_t epoch, const std::string& topic, int32_t p,
                                  int64_t offset, std::string metadata = "") {
    const v1::OffsetCommitRequest req =
        testing::CommitRequest(group, member, epoch, topic, p, offset, std::move(metadata));
    GroupStateMachine::Records out;
    v1::OffsetCommitResponse r = sm_.OffsetCommit(req, topics(), wall(), &out);
    Record(out);
    return r;
  }
  int64_t Fetch(const std::string& group, const std::string& topic, int32_t p) {
    v1::OffsetFetchRequest req;
    req.set_group_id(group);
    req.set_member_epoch(-1);
    auto* t = req.add_topics();
    t->set_name(topic);
    t->add_partitions(p);
    v1::OffsetFetchResponse r = sm_.OffsetFetch(req);
    EXPECT_EQ(r.error_code(), v1::NONE) << r.error_message();
    return r.topics(0).partitions(0).committed_offset();
  }
  void Advance(absl::Duration d) {
    now_ += d;
    GroupStateMachine::Records out;
    sm_.Tick(topics(), now_, wall(), &out);
    Record(out);
  }
  // Replaying the whole log after every step is quadratic: long random
  // schedules check it every `n` steps.
  void set_replay_check_every(int n) { replay_check_every_ = n; }
  void Record(const GroupStateMachine::Records& out) {
    log_.insert(log_.end(), out.begin(), out.end());
    absl::Status inv = sm_.CheckInvariants();
    ASSERT_TRUE(inv.ok()) << inv;
    if (++steps_ % replay_check_every_ != 0) return;
    SeededRandom r(0);
    GroupStateMachine replayed(config_, r);
    for (const GroupRecord& rec : log_) ASSERT_TRUE(replayed.Replay(rec).ok());
    ASSERT_TRUE(replayed.groups() == sm_.groups()) << "replaying the records diverges";
  }

  // What log compaction leaves of the log: the latest record per key, in
  // log order, without tombstones (as after delete.retention.ms). Replaying
  // it must yield the same groups.
  void ExpectCompactedLogReplaysTheSame() {
    std::set<std::string> seen;
    std::vector<const GroupRecord*> kept;
    for (auto it = log_.rbegin(); it != log_.rend(); ++it) {
      if (!seen.insert(it->key.SerializeAsString()).second) continue;
      if (it->value.has_value()) kept.push_back(&*it);
    }
    SeededRandom r(0);
    GroupStateMachine compacted(config_, r);
    for (auto it = kept.rbegin(); it != kept.rend(); ++it) {
      ASSERT_TRUE(compacted.Replay(**it).ok());
    }
    EXPECT_TRUE(compacted.groups() == sm_.groups())
        << "the compacted log (" << kept.size() << " of " << log_.size()
        << " records) replays differently";
  }

  GroupStateMachine& sm() { return sm_; }
  const ConsumerGroup& group(const std::string& id) { return *sm_.group(id); }
  const Member& member(const std::string& g, const std::string& m) {
    return sm_.group(g)->members.at(m);
  }
  absl::Time wall() const { return absl::FromUnixSeconds(1'700'000'000) + now_; }
  const std::vector<GroupRecord>& log() const { return log_; }

 private:
  GroupConfig config_;
  SeededRandom random_;
  GroupStateMachine sm_;
  std::map<std::string, int32_t> topics_;
  absl::Duration now_ = absl::ZeroDuration();
  std::vector<GroupRecord> log_;
  int replay_check_every_ = 1;
  int steps_ = 0;
};

TopicPartitionSet Assigned(const HeartbeatResponse& r) {
  return TopicPartitionSet::FromProto(r.assigned_topic_partitions());
}

TEST(GroupStateMachineTest, FirstMemberJoinsAndGetsEveryPartition) {
  Harness h;
  h.SetTopic("t", 4);
  HeartbeatResponse r = h.Join("g", {"t"});
  ASSERT_EQ(r.error_code(), v1::NONE) << r.error_message();
  EXPECT_FALSE(r.member_id().empty());
  EXPECT_EQ(r.member_epoch(), 1);
  EXPECT_EQ(r.heartbeat_interval_ms(), 5000);
  ASSERT_TRUE(r.has_assignment());
  EXPECT_EQ(Assigned(r).ToString(), "t:[0,1,2,3]");
  EXPECT_EQ(h.group("g").state(), GroupState::kStable);
  // A plain heartbeat afterwards carries no assignment (unchanged).
  HeartbeatResponse again = h.Beat("g", r.member_id(), 1);
  EXPECT_EQ(again.error_code(), v1::NONE);
  EXPECT_FALSE(again.has_assignment());
}

TEST(GroupStateMachineTest, RevokesBeforeAssigningToTheNewMember) {
  Harness h;
  h.SetTopic("t", 4);
  HeartbeatResponse a = h.Join("g", {"t"});
  HeartbeatResponse b = h.Join("g", {"t"});
  ASSERT_EQ(b.error_code(), v1::NONE);
  // B is at the new epoch but gets nothing A still holds.
  EXPECT_EQ(b.member_epoch(), 2);
  EXPECT_TRUE(Assigned(b).empty());
  EXPECT_EQ(h.group("g").state(), GroupState::kReconciling);

  // A is asked to give up two partitions; its epoch stays until it does.
  HeartbeatResponse a2 = h.Beat("g", a.member_id(), 1);
  EXPECT_EQ(a2.member_epoch(), 1);
  ASSERT_TRUE(a2.has_assignment());
  const TopicPartitionSet keep = Assigned(a2);
  EXPECT_EQ(keep.size(), 2u);
  EXPECT_EQ(h.member("g", a.member_id()).state, MemberState::kUnrevokedPartitions);

  // B still waits: nothing is free yet.
  EXPECT_TRUE(Assigned(h.Beat("g", b.member_id(), 2, TopicPartitionSet())).empty());

  // A reports the revocation done and moves to epoch 2.
  HeartbeatResponse a3 = h.Beat("g", a.member_id(), 1, keep);
  EXPECT_EQ(a3.member_epoch(), 2);
  // Now B gets the freed partitions.
  HeartbeatResponse b2 = h.Beat("g", b.member_id(), 2, TopicPartitionSet());
  ASSERT_TRUE(b2.has_assignment());
  EXPECT_EQ(Assigned(b2).size(), 2u);
  EXPECT_TRUE(Assigned(b2).Disjoint(keep));
  EXPECT_EQ(h.group("g").state(), GroupState::kStable);
}

TEST(GroupStateMachineTest, LeaveHandsPartitionsToTheRest) {
  Harness h;
  h.SetTopic("t", 2);
  HeartbeatResponse a = h.Join("g", {"t"});
  HeartbeatResponse b = h.Join("g", {"t"});
  HeartbeatResponse a2 = h.Beat("g", a.member_id(), 1);
  h.Beat("g", a.member_id(), 1, Assigned(a2));
  h.Beat("g", b.member_id(), 2, TopicPartitionSet());
  ASSERT_EQ(h.group("g").state(), GroupState::kStable);

  HeartbeatResponse left = h.Leave("g", b.member_id(), -1);
  EXPECT_EQ(left.error_code(), v1::NONE);
  EXPECT_EQ(left.member_epoch(), -1);
  EXPECT_EQ(h.group("g").group_epoch, 3);
  HeartbeatResponse a3 = h.Beat("g", a.member_id(), 2);
  EXPECT_EQ(a3.member_epoch(), 3);
  EXPECT_EQ(Assigned(a3).ToString(), "t:[0,1]");
  // The member that left is gone.
  EXPECT_EQ(h.Beat("g", b.member_id(), 2).error_code(), v1::UNKNOWN_MEMBER_ID);
}

TEST(GroupStateMachineTest, SessionTimeoutFencesASilentMember) {
  Harness h;
  h.SetTopic("t", 2);
  HeartbeatResponse a = h.Join("g", {"t"});
  HeartbeatResponse b = h.Join("g", {"t"});
  h.Advance(absl::Seconds(30));
  h.Beat("g", a.member_id(), 1);  // A stays alive; B is silent.
  h.Advance(absl::Seconds(20));   // 50 s > 45 s since B's last heartbeat.
  EXPECT_FALSE(h.group("g").members.contains(b.member_id()));
  EXPECT_TRUE(h.group("g").members.contains(a.member_id()));
  EXPECT_EQ(h.Beat("g", b.member_id(), 2).error_code(), v1::UNKNOWN_MEMBER_ID);
}

TEST(GroupStateMachineTest, MemberThatDoesNotRevokeWithinRebalanceTimeoutIsFenced) {
  Harness h;
  h.SetTopic("t", 2);
  HeartbeatResponse a = h.Join("g", {"t"});  // rebalance_timeout_ms 30000
  HeartbeatResponse b = h.Join("g", {"t"});
  h.Beat("g", a.member_id(), 1);  // asked to revoke one partition
  ASSERT_EQ(h.member("g", a.member_id()).state, MemberState::kUnrevokedPartitions);
  for (int i = 0; i < 7; ++i) {  // keeps heartbeating without revoking
    h.Advance(absl::Seconds(5));
    h.Beat("g", a.member_id(), 1);
    h.Beat("g", b.member_id(), 2);
  }
  EXPECT_FALSE(h.group("g").members.contains(a.member_id()));
  HeartbeatResponse b2 = h.Beat("g", b.member_id(), 2, TopicPartitionSet());
  EXPECT_EQ(Assigned(b2).ToString(), "t:[0,1]");
}

TEST(GroupStateMachineTest, WrongEpochIsFencedAndLostResponseIsTolerated) {
  Harness h;
  h.SetTopic("t", 2);
  HeartbeatResponse a = h.Join("g", {"t"});
  EXPECT_EQ(h.Beat("g", a.member_id(), 7).error_code(), v1::FENCED_MEMBER_EPOCH);
  HeartbeatResponse b = h.Join("g", {"t"});
  HeartbeatResponse a2 = h.Beat("g", a.member_id(), 1);
  HeartbeatResponse a3 = h.Beat("g", a.member_id(), 1, Assigned(a2));
  ASSERT_EQ(a3.member_epoch(), 2);
  // The response carrying epoch 2 was lost: A retries at epoch 1 with what
  // it owns, a subset of its assignment, and is accepted.
  HeartbeatResponse retry = h.Beat("g", a.member_id(), 1, Assigned(a2));
  EXPECT_EQ(retry.error_code(), v1::NONE);
  EXPECT_EQ(retry.member_epoch(), 2);
  // Claiming partitions it does not have at the old epoch is fenced.
  EXPECT_EQ(h.Beat("g", a.member_id(), 1, Assigned(a)).error_code(), v1::FENCED_MEMBER_EPOCH);
  (void)b;
}

// The Fjord client, like Kafka's, leaves owned partitions out of a
// heartbeat when they have not changed. A heartbeat that raced an epoch bump
// (its answer was lost or arrived after the retry left) comes back at the
// previous epoch without them, and is judged on what the member held then.
TEST(GroupStateMachineTest, PreviousEpochWithoutOwnedPartitionsIsJudgedOnWhatItHeld) {
  Harness h;
  h.SetTopic("t", 2);
  HeartbeatResponse a = h.Join("g", {"t"});
  ASSERT_EQ(Assigned(a).ToString(), "t:[0,1]");
  h.SetTopic("t", 4);
  h.Advance(absl::Milliseconds(100));  // Group epoch 2: two more partitions for A.
  HeartbeatResponse moved = h.Beat("g", a.member_id(), 1);
  ASSERT_EQ(moved.member_epoch(), 2);
  ASSERT_EQ(Assigned(moved).ToString(), "t:[0,1,2,3]");
  // That answer is lost: A asks again at epoch 1, owned partitions unchanged.
  HeartbeatResponse retry = h.Beat("g", a.member_id(), 1);
  ASSERT_EQ(retry.error_code(), v1::NONE) << retry.error_message();
  EXPECT_EQ(retry.member_epoch(), 2);
  ASSERT_TRUE(retry.has_assignment()) << "the lost answer's assignment is sent again";
  EXPECT_EQ(Assigned(retry).ToString(), "t:[0,1,2,3]");
  EXPECT_EQ(h.Beat("g", a.member_id(), 2).error_code(), v1::NONE);

  // A partition A held at epoch 1 is taken away at epoch 2 (A moves to
  // topic u only): a claim "as before" at epoch 1 would include it, so it
  // is fenced like an explicit claim would be.
  h.SetTopic("u", 1);
  HeartbeatRequest resubscribe;
  resubscribe.set_group_id("g");
  resubscribe.set_member_id(a.member_id());
  resubscribe.set_member_epoch(2);
  resubscribe.set_has_subscription(true);
  resubscribe.add_subscribed_topic_names("u");
  HeartbeatResponse revoking = h.Heartbeat(resubscribe);
  ASSERT_EQ(revoking.error_code(), v1::NONE);
  ASSERT_EQ(h.member("g", a.member_id()).state, MemberState::kUnrevokedPartitions);
  EXPECT_EQ(h.Beat("g", a.member_id(), 1).error_code(), v1::FENCED_MEMBER_EPOCH);
}

TEST(GroupStateMachineTest, AnAnswerLostToACoordinatorErrorIsSentAgain) {
  Harness h;
  h.SetTopic("t", 2);
  HeartbeatResponse a = h.Join("g", {"t"});
  h.Join("g", {"t"});
  // The answer asking A to revoke is replaced by an error (its records did
  // not commit in time): A never sees it.
  ASSERT_TRUE(h.Beat("g", a.member_id(), 1).has_assignment());
  EXPECT_FALSE(h.Beat("g", a.member_id(), 1).has_assignment()) << "sent once";
  h.sm().AnswerLost("g", a.member_id());
  HeartbeatResponse again = h.Beat("g", a.member_id(), 1);
  ASSERT_TRUE(again.has_assignment());
  EXPECT_EQ(Assigned(again).size(), 1u);
  h.sm().AnswerLost("g", "nobody");  // Unknown members are ignored.
}

TEST(GroupStateMachineTest, StaticMemberRestartKeepsItsAssignmentWithoutRebalance) {
  Harness h;
  h.SetTopic("t", 4);
  HeartbeatResponse a = h.Join("g", {"t"}, "instance-a");
  HeartbeatResponse b = h.Join("g", {"t"}, "instance-b");
  HeartbeatResponse a2 = h.Beat("g", a.member_id(), 1);
  h.Beat("g", a.member_id(), 1, Assigned(a2));
  HeartbeatResponse b2 = h.Beat("g", b.member_id(), 2, TopicPartitionSet());
  ASSERT_EQ(h.group("g").state(), GroupState::kStable);
  const int32_t epoch = h.group("g").group_epoch;
  const TopicPartitionSet a_parts = h.member("g", a.member_id()).assigned;

  // A shuts down with -2: its partitions stay reserved.
  HeartbeatResponse left = h.Leave("g", a.member_id(), -2, "instance-a");
  EXPECT_EQ(left.member_epoch(), -2);
  h.Advance(absl::Seconds(10));
  EXPECT_EQ(h.group("g").group_epoch, epoch);
  // While A is away the instance id is not free for anyone else... but the
  // same instance may take it over.
  HeartbeatResponse back = h.Join("g", {"t"}, "instance-a");
  ASSERT_EQ(back.error_code(), v1::NONE) << back.error_message();
  EXPECT_NE(back.member_id(), a.member_id());
  EXPECT_EQ(back.member_epoch(), epoch);
  EXPECT_EQ(Assigned(back), a_parts);
  EXPECT_EQ(h.group("g").group_epoch, epoch) << "a static restart must not rebalance";
  EXPECT_EQ(h.group("g").state(), GroupState::kStable);
  EXPECT_FALSE(h.group("g").members.contains(a.member_id()));
  (void)b2;
}

TEST(GroupStateMachineTest, StaticInstanceStillHeldIsUnreleased) {
  Harness h;
  h.SetTopic("t", 1);
  HeartbeatResponse a = h.Join("g", {"t"}, "i");
  EXPECT_EQ(h.Join("g", {"t"}, "i").error_code(), v1::UNRELEASED_INSTANCE_ID);
  // After the session expires the instance id is free again.
  h.Advance(absl::Seconds(46));
  HeartbeatResponse c = h.Join("g", {"t"}, "i");
  EXPECT_EQ(c.error_code(), v1::NONE);
  (void)a;
}

TEST(GroupStateMachineTest, StaticMemberAwayPastSessionTimeoutIsRemoved) {
  Harness h;
  h.SetTopic("t", 2);
  HeartbeatResponse a = h.Join("g", {"t"}, "i");
  HeartbeatResponse b = h.Join("g", {"t"});
  h.Leave("g", a.member_id(), -2, "i");
  const int32_t epoch = h.group("g").group_epoch;
  for (int i = 0; i < 10; ++i) {
    h.Advance(absl::Seconds(5));
    h.Beat("g", b.member_id(), h.member("g", b.member_id()).member_epoch, TopicPartitionSet());
  }
  EXPECT_FALSE(h.group("g").members.contains(a.member_id()));
  EXPECT_GT(h.group("g").group_epoch, epoch);
  EXPECT_EQ(h.member("g", b.member_id()).assigned.ToString(), "t:[0,1]");
}

TEST(GroupStateMachineTest, RequestValidation) {
  Harness h;
  h.SetTopic("t", 1);
  EXPECT_EQ(h.Join("", {"t"}).error_code(), v1::INVALID_GROUP_ID);
  EXPECT_EQ(h.Join("g", {"t"}, std::nullopt, "sticky").error_code(), v1::UNSUPPORTED_ASSIGNOR);
  HeartbeatRequest no_sub;
  no_sub.set_group_id("g");
  EXPECT_EQ(h.Heartbeat(no_sub).error_code(), v1::INVALID_REQUEST);
  EXPECT_EQ(h.Beat("g", "", 3).error_code(), v1::INVALID_REQUEST);
  EXPECT_EQ(h.Beat("g", "nobody", 3).error_code(), v1::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(h.Leave("g", "nobody", -1).error_code(), v1::UNKNOWN_MEMBER_ID);
}

TEST(GroupStateMachineTest, GroupMaxSize) {
  GroupConfig config;
  config.max_size = 1;
  Harness h(config);
  h.SetTopic("t", 1);
  EXPECT_EQ(h.Join("g", {"t"}).error_code(), v1::NONE);
  EXPECT_EQ(h.Join("g", {"t"}).error_code(), v1::GROUP_MAX_SIZE_REACHED);
}

TEST(GroupStateMachineTest, RangeAssignorWhenMembersAskForIt) {
  Harness h;
  h.SetTopic("t", 4);
  HeartbeatResponse a = h.Join("g", {"t"}, std::nullopt, "range");
  EXPECT_EQ(a.error_code(), v1::NONE);
  EXPECT_EQ(h.sm().Describe("g").assignor_name(), "range");
}

TEST(GroupStateMachineTest, PartitionCountChangeRebalances) {
  Harness h;
  h.SetTopic("t", 2);
  HeartbeatResponse a = h.Join("g", {"t"});
  h.SetTopic("t", 3);
  h.Advance(absl::Milliseconds(100));
  EXPECT_EQ(h.group("g").group_epoch, 2);
  HeartbeatResponse a2 = h.Beat("g", a.member_id(), 1);
  EXPECT_EQ(a2.member_epoch(), 2);
  EXPECT_EQ(Assigned(a2).ToString(), "t:[0,1,2]");
}

TEST(GroupStateMachineTest, SubscriptionToATopicCreatedLater) {
  Harness h;
  HeartbeatResponse a = h.Join("g", {"later"});
  EXPECT_TRUE(Assigned(a).empty());
  h.SetTopic("later", 2);
  h.Advance(absl::Milliseconds(100));
  EXPECT_EQ(Assigned(h.Beat("g", a.member_id(), 1)).ToString(), "later:[0,1]");
}

// --- Offsets ----------------------------------------------------------------

TEST(GroupStateMachineTest, CommitsAreFencedByMemberEpoch) {
  Harness h;
  h.SetTopic("t", 2);
  HeartbeatResponse a = h.Join("g", {"t"});
  auto ok = h.Commit("g", a.member_id(), 1, "t", 0, 42, "meta");
  EXPECT_EQ(ok.topics(0).partitions(0).error_code(), v1::NONE);
  EXPECT_EQ(h.Fetch("g", "t", 0), 42);
  EXPECT_EQ(h.Fetch("g", "t", 1), -1);

  // B joins: A moves to epoch 2 once it revokes; a commit at epoch 1 after
  // that is stale and changes nothing.
  HeartbeatResponse b = h.Join("g", {"t"});
  HeartbeatResponse a2 = h.Beat("g", a.member_id(), 1);
  EXPECT_EQ(h.Commit("g", a.member_id(), 1, "t", 0, 50).topics(0).partitions(0).error_code(),
            v1::NONE)
      << "a revoking member commits at its current epoch";
  h.Beat("g", a.member_id(), 1, Assigned(a2));
  auto stale = h.Commit("g", a.member_id(), 1, "t", 0, 7);
  EXPECT_EQ(stale.error_code(), v1::STALE_MEMBER_EPOCH);
  EXPECT_EQ(stale.topics(0).partitions(0).error_code(), v1::STALE_MEMBER_EPOCH);
  EXPECT_EQ(h.Fetch("g", "t", 0), 50);
  EXPECT_EQ(h.Commit("g", a.member_id(), 9, "t", 0, 7).error_code(), v1::FENCED_MEMBER_EPOCH);
  EXPECT_EQ(h.Commit("g", "zombie", 2, "t", 0, 7).error_code(), v1::UNKNOWN_MEMBER_ID);
  (void)b;
}

TEST(GroupStateMachineTest, AdminCommitOnlyWhenEmpty) {
  Harness h;
  h.SetTopic("t", 1);
  HeartbeatResponse a = h.Join("g", {"t"});
  EXPECT_EQ(h.Commit("g", "", -1, "t", 0, 5).error_code(), v1::NON_EMPTY_GROUP);
  h.Leave("g", a.member_id(), -1);
  EXPECT_EQ(h.group("g").state(), GroupState::kEmpty);
  EXPECT_EQ(h.Commit("g", "", -1, "t", 0, 5).topics(0).partitions(0).error_code(), v1::NONE);
  EXPECT_EQ(h.Fetch("g", "t", 0), 5);
  // A group that never had members takes admin commits too.
  EXPECT_EQ(h.Commit("fresh", "", -1, "t", 0, 3).topics(0).partitions(0).error_code(), v1::NONE);
  EXPECT_EQ(h.Fetch("fresh", "t", 0), 3);
}

TEST(GroupStateMachineTest, CommitValidation) {
  Harness h;
  h.SetTopic("t", 1);
  auto big = h.Commit("g", "", -1, "t", 0, 1, std::string(4097, 'x'));
  EXPECT_EQ(big.topics(0).partitions(0).error_code(), v1::OFFSET_METADATA_TOO_LARGE);
  auto edge = h.Commit("g", "", -1, "t", 0, 1, std::string(4096, 'x'));
  EXPECT_EQ(edge.topics(0).partitions(0).error_code(), v1::NONE);
  EXPECT_EQ(h.Commit("g", "", -1, "nope", 0, 1).topics(0).partitions(0).error_code(),
            v1::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(h.Commit("g", "", -1, "t", 1, 1).topics(0).partitions(0).error_code(),
            v1::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(h.Commit("g", "", -1, "t", 0, -5).topics(0).partitions(0).error_code(),
            v1::INVALID_REQUEST);
  EXPECT_EQ(h.Commit("", "", -1, "t", 0, 1).error_code(), v1::INVALID_GROUP_ID);
}

TEST(GroupStateMachineTest, OffsetFetchChecksTheMember) {
  Harness h;
  h.SetTopic("t", 1);
  HeartbeatResponse a = h.Join("g", {"t"});
  v1::OffsetFetchRequest req;
  req.set_group_id("g");
  req.set_member_id(a.member_id());
  req.set_member_epoch(0);
  EXPECT_EQ(h.sm().OffsetFetch(req).error_code(), v1::STALE_MEMBER_EPOCH);
  req.set_member_epoch(1);
  EXPECT_EQ(h.sm().OffsetFetch(req).error_code(), v1::NONE);
  req.set_member_id("x");
  EXPECT_EQ(h.sm().OffsetFetch(req).error_code(), v1::UNKNOWN_MEMBER_ID);
}

TEST(GroupStateMachineTest, OffsetDeleteRefusesSubscribedTopics) {
  Harness h;
  h.SetTopic("t", 1);
  h.SetTopic("old", 1);
  HeartbeatResponse a = h.Join("g", {"t"});
  h.Commit("g", a.member_id(), 1, "t", 0, 1);
  h.Commit("g", a.member_id(), 1, "old", 0, 2);
  v1::OffsetDeleteRequest req;
  req.set_group_id("g");
  auto* t1 = req.add_topics();
  t1->set_topic("t");
  t1->add_partitions(0);
  auto* t2 = req.add_topics();
  t2->set_topic("old");
  t2->add_partitions(0);
  GroupStateMachine::Records out;
  v1::OffsetDeleteResponse r = h.sm().OffsetDelete(req, &out);
  h.Record(out);
  EXPECT_EQ(r.error_code(), v1::GROUP_SUBSCRIBED_TO_TOPIC);
  EXPECT_EQ(r.topics(0).partitions(0).error_code(), v1::GROUP_SUBSCRIBED_TO_TOPIC);
  EXPECT_EQ(r.topics(1).partitions(0).error_code(), v1::NONE);
  EXPECT_EQ(h.Fetch("g", "t", 0), 1);
  EXPECT_EQ(h.Fetch("g", "old", 0), -1);
  req.set_group_id("missing");
  EXPECT_EQ(h.sm().OffsetDelete(req, &out).error_code(), v1::GROUP_ID_NOT_FOUND);
}

TEST(GroupStateMachineTest, DeleteGroupOnlyWhenEmptyAndWritesTombstones) {
  Harness h;
  h.SetTopic("t", 1);
  HeartbeatResponse a = h.Join("g", {"t"});
  h.Commit("g", a.member_id(), 1, "t", 0, 9);
  GroupStateMachine::Records out;
  EXPECT_EQ(h.sm().DeleteGroup("g", &out).error_code(), v1::NON_EMPTY_GROUP);
  EXPECT_EQ(h.sm().DeleteGroup("nope", &out).error_code(), v1::GROUP_ID_NOT_FOUND);
  h.Leave("g", a.member_id(), -1);
  out.clear();
  EXPECT_EQ(h.sm().DeleteGroup("g", &out).error_code(), v1::NONE);
  h.Record(out);
  EXPECT_EQ(h.sm().group("g"), nullptr);
  ASSERT_FALSE(out.empty());
  for (const GroupRecord& r : out) EXPECT_FALSE(r.value.has_value()) << "tombstones only";
  EXPECT_EQ(h.sm().Describe("g").error_code(), v1::GROUP_ID_NOT_FOUND);
  h.ExpectCompactedLogReplaysTheSame();
}

TEST(GroupStateMachineTest, OffsetsOfEmptyGroupsExpireAfterRetention) {
  GroupConfig config;
  config.offsets_retention = absl::Minutes(10);
  config.offsets_retention_check_interval = absl::Minutes(1);
  Harness h(config);
  h.SetTopic("t", 1);
  HeartbeatResponse a = h.Join("g", {"t"});
  h.Commit("g", a.member_id(), 1, "t", 0, 9);
  // Active groups keep their offsets however old.
  for (int i = 0; i < 15; ++i) {
    h.Advance(absl::Seconds(40));
    h.Beat("g", a.member_id(), 1);
  }
  EXPECT_EQ(h.Fetch("g", "t", 0), 9);
  h.Leave("g", a.member_id(), -1);
  h.Advance(absl::Minutes(5));
  EXPECT_EQ(h.Fetch("g", "t", 0), 9) << "empty for 5 of 10 minutes";
  h.Advance(absl::Minutes(7));
  EXPECT_EQ(h.sm().group("g"), nullptr) << "offsets expired and the empty group deleted";
}

TEST(GroupStateMachineTest, ListAndDescribe) {
  Harness h;
  h.SetTopic("t", 2);
  HeartbeatResponse a = h.Join("g1", {"t"});
  h.Commit("g2", "", -1, "t", 0, 1);
  v1::ListGroupsResponse all;
  h.sm().ListGroups({}, &all);
  ASSERT_EQ(all.groups_size(), 2);
  EXPECT_EQ(all.groups(0).group_state(), "Stable");
  EXPECT_EQ(all.groups(1).group_state(), "Empty");
  EXPECT_EQ(all.groups(0).group_type(), "consumer");
  v1::ListGroupsResponse empty;
  h.sm().ListGroups({"Empty"}, &empty);
  ASSERT_EQ(empty.groups_size(), 1);
  EXPECT_EQ(empty.groups(0).group_id(), "g2");

  auto d = h.sm().Describe("g1");
  EXPECT_EQ(d.error_code(), v1::NONE);
  EXPECT_EQ(d.group_epoch(), 1);
  EXPECT_EQ(d.assignment_epoch(), 1);
  EXPECT_EQ(d.assignor_name(), "uniform");
  ASSERT_EQ(d.members_size(), 1);
  EXPECT_EQ(d.members(0).member_id(), a.member_id());
  EXPECT_EQ(d.members(0).client_id(), "client");
  EXPECT_EQ(d.members(0).assignment_size(), 1);
  EXPECT_EQ(d.members(0).target_assignment_size(), 1);
}

TEST(GroupStateMachineTest, ReloadedStateStartsSessionsAfresh) {
  Harness h;
  h.SetTopic("t", 2);
  HeartbeatResponse a = h.Join("g", {"t"});
  h.Commit("g", a.member_id(), 1, "t", 1, 11);
  SeededRandom r(3);
  GroupStateMachine loaded(GroupConfig{}, r);
  for (const GroupRecord& rec : h.log()) ASSERT_TRUE(loaded.Replay(rec).ok());
  loaded.OnLoaded(absl::Hours(1));
  GroupStateMachine::Records out;
  loaded.Tick(h.topics(), absl::Hours(1) + absl::Seconds(44), absl::FromUnixSeconds(1'800'000'044),
              &out);
  EXPECT_TRUE(loaded.group("g")->members.contains(a.member_id()));
  loaded.Tick(h.topics(), absl::Hours(1) + absl::Seconds(46), absl::FromUnixSeconds(1'800'000'046),
              &out);
  EXPECT_FALSE(loaded.group("g")->members.contains(a.member_id()));
  EXPECT_EQ(loaded.group("g")->offsets.at({"t", 1}).offset, 11);
}

// --- Random schedules ---------------------------------------------------------

// Clients modelled faithfully: each owns exactly what its last response
// assigned (revoking at once), heartbeats report it, responses may be
// "lost" (the client keeps its old view), and clients may go silent. After
// every step: the coordinator's invariants hold (checked by the harness)
// and every live client owns only what the coordinator counts as its
// (assigned or pending revocation), so no two live clients own a partition.
// Then churn stops and everyone must converge to Stable with every
// partition owned.
void RunSchedule(uint64_t seed) {
  SCOPED_TRACE(absl::StrCat("reproduce with seed ", seed));
  SeededRandom rnd(seed);
  GroupConfig config;
  Harness h(config, seed);
  h.set_replay_check_every(97);
  h.SetTopic("a", 7);
  h.SetTopic("b", 5);
  struct Client {
    std::string id;
    int32_t epoch = 0;
    TopicPartitionSet owned;
    bool joined = false;
    bool silent = false;
  };
  std::vector<Client> clients(6);
  auto check_owners = [&] {
    const ConsumerGroup* g = h.sm().group("g");
    std::map<TopicPartition, int> owners;
    for (const Client& c : clients) {
      if (!c.joined || g == nullptr || !g->members.contains(c.id)) continue;
      const Member& m = g->members.at(c.id);
      ASSERT_TRUE(c.owned.Minus(m.assigned.Union(m.pending_revocation)).empty())
          << c.id << " owns " << c.owned.ToString() << " but the coordinator has "
          << m.assigned.ToString() << " + pending " << m.pending_revocation.ToString();
      for (const auto& [t, ps] : c.owned.map()) {
        for (int32_t p : ps)
          ASSERT_EQ(++owners[TopicPartition(t, p)], 1) << t << "-" << p << " has two owners";
      }
    }
  };
  auto apply = [&](Client& c, const HeartbeatResponse& r, bool lose) {
    if (r.error_code() == v1::UNKNOWN_MEMBER_ID || r.error_code() == v1::FENCED_MEMBER_EPOCH) {
      c = Client{};
      return;
    }
    ASSERT_EQ(r.error_code(), v1::NONE) << r.error_message();
    if (lose) return;
    c.id = r.member_id();
    c.epoch = r.member_epoch();
    if (r.has_assignment()) c.owned = Assigned(r);
  };
  for (int step = 0; step < 400; ++step) {
    Client& c = clients[rnd.Uniform(clients.size())];
    const uint64_t action = rnd.Uniform(100);
    if (!c.joined) {
      if (action < 30) {
        HeartbeatResponse r = h.Join(
            "g", rnd.OneIn(3) ? std::vector<std::string>{"a"} : std::vector<std::string>{"a", "b"});
        c.joined = true;
        apply(c, r, false);
      }
    } else if (action < 5) {
      if (!c.silent) {
        apply(c, h.Leave("g", c.id, -1), false);
        c = Client{};
      }
    } else if (action < 8) {
      c.silent = !c.silent;
    } else if (!c.silent) {
      apply(c, h.Beat("g", c.id, c.epoch, c.owned), /*lose=*/rnd.OneIn(10));
    }
    if (rnd.OneIn(4)) h.Advance(absl::Milliseconds(rnd.Uniform(8000)));
    check_owners();
    if (::testing::Test::HasFatalFailure()) return;
  }
  // Liveness: no more churn; silent clients are fenced by their sessions;
  // the rest converge.
  for (int round = 0; round < 40; ++round) {
    h.Advance(absl::Seconds(2));
    for (Client& c : clients) {
      if (c.joined && !c.silent) apply(c, h.Beat("g", c.id, c.epoch, c.owned), false);
      check_owners();
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  h.ExpectCompactedLogReplaysTheSame();
  const ConsumerGroup* g = h.sm().group("g");
  if (g == nullptr || g->members.empty()) return;
  EXPECT_EQ(g->state(), GroupState::kStable);
  TopicPartitionSet owned;
  for (const Client& c : clients) {
    if (c.joined && !c.silent) owned = owned.Union(c.owned);
  }
  const bool any_b = std::any_of(g->members.begin(), g->members.end(), [](const auto& m) {
    return m.second.subscribed_topics.size() == 2;
  });
  EXPECT_EQ(owned.size(), any_b ? 12u : 7u) << owned.ToString();
}

TEST(GroupStateMachineTest, NoPartitionEverHasTwoOwnersOverRandomSchedules) {
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    RunSchedule(seed);
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace fjord::group
