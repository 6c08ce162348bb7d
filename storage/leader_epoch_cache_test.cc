#include "storage/leader_epoch_cache.h"

#include "gtest/gtest.h"
#include "storage/fault_file_system.h"

namespace fjord::storage {
namespace {

using E = LeaderEpoch;
using O = Offset;

TEST(LeaderEpochCacheTest, EndOffsetForFindsWhereEachEpochEnded) {
  FaultFileSystem fs;
  auto cache = LeaderEpochCache::Load(fs, "/p");
  ASSERT_TRUE(cache.ok());
  ASSERT_TRUE(cache->Assign(E(1), O(0)).ok());
  ASSERT_TRUE(cache->Assign(E(3), O(10)).ok());
  ASSERT_TRUE(cache->Assign(E(3), O(15)).ok());  // Same epoch: no-op.
  ASSERT_TRUE(cache->Assign(E(5), O(20)).ok());
  const O end(25);
  EXPECT_EQ(cache->EndOffsetFor(E(0), end), std::make_pair(kNoLeaderEpoch, kInvalidOffset));
  EXPECT_EQ(cache->EndOffsetFor(E(1), end), std::make_pair(E(1), O(10)));
  // Epoch 2 never led here: answer for the largest epoch below it.
  EXPECT_EQ(cache->EndOffsetFor(E(2), end), std::make_pair(E(1), O(10)));
  EXPECT_EQ(cache->EndOffsetFor(E(3), end), std::make_pair(E(3), O(20)));
  EXPECT_EQ(cache->EndOffsetFor(E(5), end), std::make_pair(E(5), end));
  EXPECT_EQ(cache->EndOffsetFor(E(9), end), std::make_pair(E(5), end));
}

TEST(LeaderEpochCacheTest, RejectsOlderEpoch) {
  FaultFileSystem fs;
  auto cache = LeaderEpochCache::Load(fs, "/p");
  ASSERT_TRUE(cache->Assign(E(4), O(0)).ok());
  EXPECT_EQ(cache->Assign(E(3), O(5)).code(), absl::StatusCode::kInvalidArgument);
}

TEST(LeaderEpochCacheTest, PersistsAndTruncates) {
  FaultFileSystem fs;
  {
    auto cache = LeaderEpochCache::Load(fs, "/p");
    ASSERT_TRUE(cache->Assign(E(1), O(0)).ok());
    ASSERT_TRUE(cache->Assign(E(2), O(10)).ok());
    ASSERT_TRUE(cache->Assign(E(4), O(30)).ok());
  }
  fs.SimulateCrash();  // Each change was written atomically and durably.
  auto cache = LeaderEpochCache::Load(fs, "/p");
  ASSERT_TRUE(cache.ok()) << cache.status();
  EXPECT_EQ(cache->entries().size(), 3u);
  EXPECT_EQ(*fs.Contents("/p/leader-epoch-checkpoint"), "0\n3\n1 0\n2 10\n4 30\n");

  ASSERT_TRUE(cache->TruncateFromEnd(O(30)).ok());
  EXPECT_EQ(cache->latest_epoch(), E(2));
  ASSERT_TRUE(cache->TruncateFromStart(O(12)).ok());
  EXPECT_EQ(cache->entries(), (EpochEntries{{E(2), O(12)}}));
  auto reloaded = LeaderEpochCache::Load(fs, "/p");
  EXPECT_EQ(reloaded->entries(), cache->entries());
}

TEST(LeaderEpochCacheTest, CorruptCheckpointIsDataLoss) {
  FaultFileSystem fs;
  ASSERT_TRUE(WriteFileAtomically(fs, "/p", kLeaderEpochFile, "0\n2\n1 0\n").ok());
  absl::Status s = LeaderEpochCache::Load(fs, "/p").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("leader-epoch-checkpoint"), std::string::npos);
}

TEST(CheckpointFileTest, OffsetRoundTripAndMissing) {
  FaultFileSystem fs;
  EXPECT_FALSE(ReadOffsetCheckpoint(fs, "/p", kHighWatermarkFile)->has_value());
  ASSERT_TRUE(WriteOffsetCheckpoint(fs, "/p", kHighWatermarkFile, O(42)).ok());
  EXPECT_EQ(**ReadOffsetCheckpoint(fs, "/p", kHighWatermarkFile), O(42));
  ASSERT_TRUE(fs.SetContents("/p/replication-offset-checkpoint", "0\nforty\n").ok());
  EXPECT_EQ(ReadOffsetCheckpoint(fs, "/p", kHighWatermarkFile).status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace fjord::storage
