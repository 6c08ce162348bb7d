#include "raft/core/progress.h"

#include "gtest/gtest.h"

namespace fjord::raft {
namespace {

TEST(ProgressTest, ProbeSendsOneAppendAtATime) {
  Progress pr(LogIndex(10));
  EXPECT_FALSE(pr.IsPaused());
  pr.SentEntries(LogIndex(12), true);
  EXPECT_TRUE(pr.IsPaused());
  pr.OnHeartbeatResponse();
  EXPECT_FALSE(pr.IsPaused());
}

TEST(ProgressTest, ReplicateWindowIsBounded) {
  Progress pr(LogIndex(1));
  pr.MaybeUpdate(LogIndex(0));
  pr.BecomeReplicate();
  for (size_t i = 1; i <= kMaxInflightAppends; ++i) {
    ASSERT_FALSE(pr.IsPaused()) << i;
    pr.SentEntries(LogIndex(i), true);
  }
  EXPECT_TRUE(pr.IsPaused());
  EXPECT_EQ(pr.next(), LogIndex(kMaxInflightAppends + 1));
  // Acknowledging the first ten frees ten slots.
  EXPECT_TRUE(pr.MaybeUpdate(LogIndex(10)));
  EXPECT_FALSE(pr.IsPaused());
}

TEST(ProgressTest, RejectionMovesNextBackButNeverBelowMatch) {
  Progress pr(LogIndex(20));
  pr.MaybeUpdate(LogIndex(5));
  pr.BecomeProbe();
  EXPECT_EQ(pr.next(), LogIndex(6));
  pr.SentEntries(LogIndex(6), true);
  // A stale rejection (of an append with previous index 9) is ignored.
  EXPECT_FALSE(pr.MaybeDecrTo(LogIndex(9), LogIndex(3)));
  // The reply to the probe (previous index 5) with a hint below match stops at match + 1.
  EXPECT_TRUE(pr.MaybeDecrTo(LogIndex(5), LogIndex(2)));
  EXPECT_EQ(pr.next(), LogIndex(6));
}

TEST(ProgressTest, SnapshotStateResumesAfterTheSnapshot) {
  Progress pr(LogIndex(3));
  pr.BecomeSnapshot(LogIndex(50));
  EXPECT_TRUE(pr.IsPaused());
  pr.BecomeProbe();
  EXPECT_EQ(pr.next(), LogIndex(51));
}

}  // namespace
}  // namespace fjord::raft
