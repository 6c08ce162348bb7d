#include "raft/core/raft_log.h"

#include "gtest/gtest.h"

namespace fjord::raft {
namespace {

std::vector<Entry> Entries(uint64_t first, std::initializer_list<uint64_t> terms) {
  std::vector<Entry> out;
  for (uint64_t t : terms) out.push_back(Entry{Term(t), LogIndex(first++)});
  return out;
}

TEST(RaftLogTest, AppendEntriesRejectsAMismatchedPreviousEntry) {
  // "If log doesn't contain an entry at prevLogIndex whose term matches
  // prevLogTerm, reply false" (Figure 2).
  RaftLog log(SnapshotMeta{}, Entries(1, {1, 1, 2}), LogIndex(0));
  std::optional<LogIndex> truncated;
  EXPECT_FALSE(log.MaybeAppend(LogIndex(3), Term(1), Entries(4, {2}), &truncated));
  EXPECT_FALSE(log.MaybeAppend(LogIndex(5), Term(2), Entries(6, {2}), &truncated));
  EXPECT_EQ(log.MaybeAppend(LogIndex(3), Term(2), Entries(4, {3}), &truncated), LogIndex(4));
  EXPECT_FALSE(truncated.has_value());
}

TEST(RaftLogTest, ConflictingSuffixIsDeletedButMatchingEntriesKept) {
  // "If an existing entry conflicts with a new one (same index but different
  // terms), delete the existing entry and all that follow it" (Figure 2).
  RaftLog log(SnapshotMeta{}, Entries(1, {1, 1, 1, 1}), LogIndex(1));
  log.StableTo(LogIndex(4));
  std::optional<LogIndex> truncated;
  EXPECT_EQ(log.MaybeAppend(LogIndex(1), Term(1), Entries(2, {1, 2}), &truncated), LogIndex(3));
  EXPECT_EQ(truncated, LogIndex(3));
  EXPECT_EQ(log.last_index(), LogIndex(3));
  EXPECT_EQ(log.stable(), LogIndex(2));
  ASSERT_EQ(log.Unstable().size(), 1u);
  EXPECT_EQ(log.Unstable()[0].term, Term(2));
  // A stale, shorter append does not truncate what is already there.
  EXPECT_EQ(log.MaybeAppend(LogIndex(1), Term(1), Entries(2, {1}), &truncated), LogIndex(2));
  EXPECT_FALSE(truncated.has_value());
  EXPECT_EQ(log.last_index(), LogIndex(3));
}

TEST(RaftLogTest, UpToDateComparesLastTermThenLength) {
  // "If the logs have last entries with different terms, then the log with
  // the later term is more up-to-date. If the logs end with the same term,
  // then whichever log is longer is more up-to-date" (5.4.1).
  RaftLog log(SnapshotMeta{}, Entries(1, {1, 2, 2}), LogIndex(0));
  EXPECT_TRUE(log.IsUpToDate(LogIndex(1), Term(3)));
  EXPECT_TRUE(log.IsUpToDate(LogIndex(3), Term(2)));
  EXPECT_FALSE(log.IsUpToDate(LogIndex(2), Term(2)));
  EXPECT_FALSE(log.IsUpToDate(LogIndex(9), Term(1)));
}

TEST(RaftLogTest, CompactionKeepsTermOfSnapshotIndex) {
  RaftLog log(SnapshotMeta{}, Entries(1, {1, 1, 2, 3}), LogIndex(3));
  log.AppliedTo(LogIndex(3));
  log.CompactTo(SnapshotMeta{LogIndex(3), Term(2)});
  EXPECT_EQ(log.first_index(), LogIndex(4));
  EXPECT_EQ(log.TermAt(LogIndex(3)), Term(2));
  EXPECT_FALSE(log.TermAt(LogIndex(2)).has_value());
  EXPECT_EQ(log.At(LogIndex(4)).term, Term(3));
}

TEST(RaftLogDeathTest, NeverTruncatesCommittedEntries) {
  RaftLog log(SnapshotMeta{}, Entries(1, {1, 1, 1}), LogIndex(3));
  std::optional<LogIndex> truncated;
  EXPECT_DEATH(log.MaybeAppend(LogIndex(1), Term(1), Entries(2, {2}), &truncated),
               "would truncate committed");
}

}  // namespace
}  // namespace fjord::raft
