// Unit tests of single-node behaviour; whole-group behaviour is covered by
// raft/testdata scenarios and the seeded simulation.
#include "raft/core/raft.h"

#include <algorithm>

#include "gtest/gtest.h"

namespace fjord::raft {
namespace {

PersistedState Fresh(std::initializer_list<int> voters) {
  PersistedState s;
  for (int v : voters) s.snapshot.meta.membership.voters.push_back(NodeId(v));
  return s;
}

class RaftTest : public ::testing::Test {
 protected:
  Raft Make(int id, PersistedState state) {
    return Raft(RaftConfig{.id = NodeId(id)}, std::move(state), &random_);
  }
  // Makes node 1 leader of term 1 (a TimeoutNow from node 2, then node 2's
  // vote), draining the election's Readies.
  static void Elect(Raft& r) {
    r.Step({.type = MessageType::kTimeoutNow, .from = NodeId(2), .to = NodeId(1), .term = Term(0)});
    Drain(r);
    r.Step(
        {.type = MessageType::kVoteResponse, .from = NodeId(2), .to = NodeId(1), .term = Term(1)});
    Drain(r);
  }
  static std::vector<Message> Drain(Raft& r) {
    Ready rd = r.GetReady();
    r.Advance(rd);
    return rd.messages;
  }
  SeededRandom random_{7};
};

TEST_F(RaftTest, EachServerVotesForAtMostOneCandidateInATerm) {
  // "Each server will vote for at most one candidate in a given term, on a
  // first-come-first-served basis" (5.2).
  Raft r = Make(1, Fresh({1, 2, 3}));
  r.Step({.type = MessageType::kVote, .from = NodeId(2), .to = NodeId(1), .term = Term(1)});
  r.Step({.type = MessageType::kVote, .from = NodeId(3), .to = NodeId(1), .term = Term(1)});
  std::vector<Message> out = Drain(r);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FALSE(out[0].reject);
  EXPECT_TRUE(out[1].reject);
  EXPECT_EQ(r.vote(), NodeId(2));
}

TEST_F(RaftTest, VoteIsInTheHardStateOfTheSameReady) {
  // "Updated on stable storage before responding to RPCs" (Figure 2): the
  // grant and the vote that must be persisted before it leave together.
  Raft r = Make(1, Fresh({1, 2, 3}));
  r.Step({.type = MessageType::kVote, .from = NodeId(2), .to = NodeId(1), .term = Term(4)});
  Ready rd = r.GetReady();
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->term, Term(4));
  EXPECT_EQ(rd.hard_state->vote, NodeId(2));
  ASSERT_EQ(rd.messages.size(), 1u);
  r.Advance(rd);
}

TEST_F(RaftTest, PreVoteChangesNoTerm) {
  Raft r = Make(1, Fresh({1, 2, 3}));
  r.Step({.type = MessageType::kPreVote, .from = NodeId(2), .to = NodeId(1), .term = Term(6)});
  std::vector<Message> out = Drain(r);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type, MessageType::kPreVoteResponse);
  EXPECT_FALSE(out[0].reject);
  EXPECT_EQ(r.term(), Term(0));
  EXPECT_EQ(r.vote(), kNoNode);
}

TEST_F(RaftTest, SingleVoterElectsItselfAndCommitsAlone) {
  Raft r = Make(1, Fresh({1}));
  for (int i = 0; i < 40 && r.role() != Role::kLeader; ++i) r.Tick();
  ASSERT_EQ(r.role(), Role::kLeader);
  // The Ready that elected it changed the term and vote: nothing in it may
  // be sent before they are durable.
  Ready election = r.GetReady();
  EXPECT_FALSE(election.may_send_before_persist);
  r.Advance(election);
  Drain(r);
  absl::StatusOr<LogIndex> index = r.Propose("x");
  ASSERT_TRUE(index.ok());
  // The leader counts its own copy only once persisted, i.e. after Advance.
  EXPECT_LT(r.log().committed(), *index);
  Ready rd = r.GetReady();
  EXPECT_TRUE(rd.may_send_before_persist);
  ASSERT_FALSE(rd.entries.empty());
  EXPECT_EQ(rd.entries.back().index, *index);
  r.Advance(rd);
  EXPECT_EQ(r.log().committed(), *index);
  rd = r.GetReady();
  ASSERT_FALSE(rd.committed_entries.empty());
  EXPECT_EQ(rd.committed_entries.back().index, *index);
  // Those entries were persisted by the previous Ready: they may be applied
  // before this one's sync.
  EXPECT_LT(rd.committed_entries.back().index, rd.StableBefore());
  r.Advance(rd);
}

TEST_F(RaftTest, ALeaderNeverSendsACommitBeforeItsOwnCopyIsDurable) {
  // Parallel write: a lone voter's appends to an observer leave before its
  // sync. Were it to count its unsynced copy, that append would announce a
  // commit that a crash before the sync could undo.
  PersistedState state = Fresh({1});
  state.snapshot.meta.membership.learners.push_back(NodeId(2));
  Raft r = Make(1, std::move(state));
  for (int i = 0; i < 40 && r.role() != Role::kLeader; ++i) r.Tick();
  ASSERT_EQ(r.role(), Role::kLeader);
  Drain(r);
  Drain(r);
  r.Step({.type = MessageType::kAppendResponse,
          .from = NodeId(2),
          .to = NodeId(1),
          .term = r.term(),
          .index = r.log().last_index()});
  Drain(r);
  ASSERT_TRUE(r.Propose("x").ok());
  const LogIndex x = r.log().last_index();
  Ready rd = r.GetReady();
  ASSERT_TRUE(rd.may_send_before_persist);
  ASSERT_FALSE(rd.messages.empty());
  for (const Message& m : rd.messages) EXPECT_LT(m.commit, x) << Describe(m);
  EXPECT_TRUE(rd.committed_entries.empty() || rd.committed_entries.back().index < x);
  r.Advance(rd);
  EXPECT_EQ(r.log().committed(), x);
}

TEST_F(RaftTest, ALostAcknowledgementOfTheLastEntryIsAskedForAgain) {
  // The follower stored the entry but its acknowledgement was lost, and
  // nothing new is proposed: the next heartbeat round must still find out.
  Raft r = Make(1, Fresh({1, 2, 3}));
  Elect(r);
  ASSERT_EQ(r.role(), Role::kLeader);
  for (int peer : {2, 3}) {
    r.Step({.type = MessageType::kAppendResponse,
            .from = NodeId(peer),
            .to = NodeId(1),
            .term = Term(1),
            .index = r.log().last_index()});
  }
  Drain(r);
  ASSERT_TRUE(r.Propose("x").ok());
  const LogIndex x = r.log().last_index();
  Drain(r);  // The appends carrying x go out; both acknowledgements are lost.
  ASSERT_LT(r.log().committed(), x);
  r.Step({.type = MessageType::kHeartbeatResponse,
          .from = NodeId(2),
          .to = NodeId(1),
          .term = Term(1),
          .index = x});
  std::vector<Message> out = Drain(r);
  auto append = std::find_if(out.begin(), out.end(), [](const Message& m) {
    return m.type == MessageType::kAppend && m.to == NodeId(2);
  });
  ASSERT_NE(append, out.end()) << "the leader did not ask node 2 again";
  r.Step({.type = MessageType::kAppendResponse,
          .from = NodeId(2),
          .to = NodeId(1),
          .term = Term(1),
          .index = x});
  EXPECT_EQ(r.log().committed(), x);
}

TEST_F(RaftTest, AnAsynchronouslyWritingLeaderCountsItsCopyOnlyOncePersisted) {
  // Asynchronous storage writes: the leader hands its entries to storage and
  // keeps stepping. A lone voter (with an observer, so its appends leave)
  // must not commit before OnPersisted reports its own copy durable.
  PersistedState state = Fresh({1});
  state.snapshot.meta.membership.learners.push_back(NodeId(2));
  Raft r = Make(1, std::move(state));
  for (int i = 0; i < 40 && r.role() != Role::kLeader; ++i) r.Tick();
  ASSERT_EQ(r.role(), Role::kLeader);
  Drain(r);
  Drain(r);
  ASSERT_TRUE(r.Propose("x").ok());
  const LogIndex x = r.log().last_index();
  Ready rd = r.GetReady();
  ASSERT_TRUE(rd.may_send_before_persist);
  r.AdvanceAsync(rd);
  EXPECT_EQ(r.log().stable(), x);
  EXPECT_LT(r.log().persisted(), x);
  EXPECT_LT(r.log().committed(), x) << "committed before its only durable copy existed";
  // Another proposal is accepted while the first write is in flight.
  ASSERT_TRUE(r.Propose("y").ok());
  const LogIndex y = r.log().last_index();
  Ready next = r.GetReady();
  ASSERT_EQ(next.entries.size(), 1u);
  EXPECT_EQ(next.entries[0].index, y);
  r.AdvanceAsync(next);
  r.OnPersisted(x, rd.entries.back().term);
  EXPECT_EQ(r.log().committed(), x);
  r.OnPersisted(y, next.entries.back().term);
  EXPECT_EQ(r.log().committed(), y);
}

TEST_F(RaftTest, APersistenceReportForAReplacedEntryIsIgnored) {
  // A leader deposed while its write was in flight has the entry replaced by
  // the next leader's; the late report must not vouch for the new entry.
  Raft r = Make(1, Fresh({1, 2, 3}));
  Elect(r);
  ASSERT_EQ(r.role(), Role::kLeader);
  const LogIndex base = r.log().last_index();
  ASSERT_TRUE(r.Propose("x").ok());
  const LogIndex x = r.log().last_index();
  Ready rd = r.GetReady();
  ASSERT_TRUE(rd.may_send_before_persist);
  r.AdvanceAsync(rd);
  // Leader 2 of term 2 writes a different entry at x.
  r.Step({.type = MessageType::kAppend,
          .from = NodeId(2),
          .to = NodeId(1),
          .term = Term(2),
          .index = base,
          .log_term = Term(1),
          .entries = {Entry{Term(2), x, EntryType::kNormal, "other"}}});
  ASSERT_EQ(r.role(), Role::kFollower);
  EXPECT_LT(r.log().persisted(), x);
  r.OnPersisted(x, Term(1));  // The late report of the replaced entry.
  EXPECT_LT(r.log().persisted(), x);
  Ready follower = r.GetReady();
  EXPECT_FALSE(follower.may_send_before_persist);
  ASSERT_EQ(follower.entries.size(), 1u);
  EXPECT_EQ(follower.entries[0].data, "other");
  r.Advance(follower);
  EXPECT_EQ(r.log().persisted(), x);
}

TEST_F(RaftTest, LeaderWithoutQuorumStepsDown) {
  // CheckQuorum: a leader that hears from no majority within an election
  // timeout steps down rather than serve stale reads or accept writes.
  Raft r = Make(1, Fresh({1, 2, 3}));
  Elect(r);
  ASSERT_EQ(r.role(), Role::kLeader);
  for (int i = 0; i < 2 * 10; ++i) {
    r.Tick();
    Drain(r);
  }
  EXPECT_EQ(r.role(), Role::kFollower);
  EXPECT_EQ(r.term(), Term(1));
}

TEST_F(RaftTest, FollowersRefuseProposalsAndNameTheLeader) {
  Raft r = Make(2, Fresh({1, 2, 3}));
  r.Step({.type = MessageType::kHeartbeat, .from = NodeId(1), .to = NodeId(2), .term = Term(3)});
  absl::StatusOr<LogIndex> index = r.Propose("x");
  EXPECT_EQ(index.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(index.status().message().find("leader=1"), std::string::npos);
}

TEST_F(RaftTest, OneMembershipChangeAtATime) {
  Raft r = Make(1, Fresh({1}));
  for (int i = 0; i < 40 && r.role() != Role::kLeader; ++i) r.Tick();
  ASSERT_EQ(r.role(), Role::kLeader);
  Drain(r);
  // Node 2 is added but cannot acknowledge, so the change stays uncommitted.
  ASSERT_TRUE(r.ProposeConfigChange({ConfigChange::Kind::kAddVoter, NodeId(2)}).ok());
  EXPECT_EQ(r.membership().voters.size(), 2u);  // In effect once appended.
  EXPECT_EQ(r.ProposeConfigChange({ConfigChange::Kind::kAddVoter, NodeId(3)}).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace fjord::raft
