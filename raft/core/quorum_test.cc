#include "raft/core/quorum.h"

#include <map>

#include "gtest/gtest.h"

namespace fjord::raft {
namespace {

std::vector<NodeId> Ids(std::initializer_list<int> ids) {
  std::vector<NodeId> out;
  for (int id : ids) out.push_back(NodeId(id));
  return out;
}

TEST(QuorumTest, MatchIndexIsHeldByAMajority) {
  std::map<NodeId, LogIndex> match{
      {NodeId(1), LogIndex(7)}, {NodeId(2), LogIndex(5)}, {NodeId(3), LogIndex(4)}};
  auto of = [&](NodeId id) { return match.count(id) ? match[id] : LogIndex(0); };
  EXPECT_EQ(QuorumMatchIndex(Ids({1, 2, 3}), of), LogIndex(5));
  EXPECT_EQ(QuorumMatchIndex(Ids({1}), of), LogIndex(7));
  // Four voters need three: 7, 5, 4, 0 -> 4.
  EXPECT_EQ(QuorumMatchIndex(Ids({1, 2, 3, 4}), of), LogIndex(4));
  EXPECT_EQ(QuorumMatchIndex({}, of), LogIndex(0));
}

TEST(QuorumTest, VotesWinLoseOrWait) {
  const auto voters = Ids({1, 2, 3, 4, 5});
  std::map<NodeId, bool> replies{{NodeId(1), true}, {NodeId(2), true}};
  EXPECT_EQ(TallyVotes(voters, replies), VoteResult::kPending);
  replies[NodeId(3)] = true;
  EXPECT_EQ(TallyVotes(voters, replies), VoteResult::kWon);
  std::map<NodeId, bool> rejected{
      {NodeId(1), true}, {NodeId(2), false}, {NodeId(3), false}, {NodeId(4), false}};
  EXPECT_EQ(TallyVotes(voters, rejected), VoteResult::kLost);
  // Replies from non-voters (learners) do not count.
  std::map<NodeId, bool> learners{{NodeId(1), true}, {NodeId(8), true}, {NodeId(9), true}};
  EXPECT_EQ(TallyVotes(Ids({1, 2, 3}), learners), VoteResult::kPending);
}

TEST(QuorumTest, HasQuorum) {
  EXPECT_TRUE(HasQuorum(Ids({1, 2, 3}), [](NodeId id) { return id != NodeId(3); }));
  EXPECT_FALSE(HasQuorum(Ids({1, 2, 3}), [](NodeId id) { return id == NodeId(3); }));
  EXPECT_FALSE(HasQuorum({}, [](NodeId) { return true; }));
}

}  // namespace
}  // namespace fjord::raft
