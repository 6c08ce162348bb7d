#include "storage/partition_log.h"

#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "storage/fault_file_system.h"
#include "storage/test_util.h"

namespace fjord::storage {
namespace {

using testing::MakeBatch;
constexpr char kDir[] = "/data/topic-0";

class PartitionLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<PartitionLog> OpenLog(LogConfig config = {}) {
    auto log = PartitionLog::Open(fs_, clock_, kDir, config);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }
  AppendResult Append(PartitionLog& log, int records, int64_t ts = 1000,
                      LeaderEpoch epoch = LeaderEpoch(1), size_t value_size = 16) {
    std::string batch = MakeBatch(records, ts, "v", value_size);
    auto r = log.AppendAsLeader(absl::MakeSpan(batch), epoch);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : AppendResult{};
  }
  std::vector<BatchHeader> Headers(const std::string& bytes) {
    std::vector<BatchHeader> out;
    BatchIterator it(bytes);
    while (it.Next()) {
      EXPECT_TRUE(ValidateBatch(it.batch(), {}).ok());
      out.push_back(it.header());
    }
    EXPECT_TRUE(it.status().ok());
    return out;
  }

  FaultFileSystem fs_;
  ManualClock clock_{absl::FromUnixMillis(1000)};
};

TEST_F(PartitionLogTest, AppendAssignsOffsetsAndStampsEpoch) {
  auto log = OpenLog();
  AppendResult a = Append(*log, 3);
  AppendResult b = Append(*log, 2, 1000, LeaderEpoch(4));
  EXPECT_EQ(a.first_offset, Offset(0));
  EXPECT_EQ(a.last_offset, Offset(2));
  EXPECT_EQ(b.first_offset, Offset(3));
  EXPECT_EQ(log->log_end_offset(), Offset(5));
  EXPECT_EQ(log->flushed_offset(), Offset(5));  // kAlways.
  auto bytes = log->Read(Offset(3), 1 << 20);
  ASSERT_TRUE(bytes.ok());
  auto headers = Headers(*bytes);
  ASSERT_EQ(headers.size(), 1u);
  EXPECT_EQ(headers[0].base_offset, Offset(3));
  EXPECT_EQ(headers[0].partition_leader_epoch, LeaderEpoch(4));
  EXPECT_TRUE(fs_.Contents("/data/topic-0/00000000000000000000.log").ok());
}

TEST_F(PartitionLogTest, ReadReturnsWholeBatchesFromTheContainingOne) {
  auto log = OpenLog();
  for (int i = 0; i < 5; ++i) Append(*log, 10);
  // Offset 25 lives in the batch [20, 29].
  auto headers = Headers(*log->Read(Offset(25), 1 << 20));
  ASSERT_EQ(headers.size(), 3u);
  EXPECT_EQ(headers[0].base_offset, Offset(20));
  // A tiny max_bytes still returns one whole batch.
  headers = Headers(*log->Read(Offset(25), 1));
  ASSERT_EQ(headers.size(), 1u);
  // max_offset stops before batches starting at or after it.
  headers = Headers(*log->Read(Offset(0), 1 << 20, Offset(30)));
  EXPECT_EQ(headers.size(), 3u);
  EXPECT_TRUE(log->Read(Offset(50), 100)->empty());
  EXPECT_EQ(log->Read(Offset(51), 100).status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(PartitionLogTest, RollsBySizeAndByTime) {
  LogConfig config;
  config.segment_bytes = 1000;
  config.segment_ms = absl::Hours(1);
  auto log = OpenLog(config);
  for (int i = 0; i < 10; ++i) Append(*log, 2, 1000, LeaderEpoch(1), 100);  // ~330 B each.
  EXPECT_GE(log->segment_count(), 4u);
  const size_t before = log->segment_count();
  clock_.Advance(absl::Hours(2));
  Append(*log, 1, absl::ToUnixMillis(clock_.Wall()));
  EXPECT_EQ(log->segment_count(), before + 1);
  // Every offset is still readable across segments.
  for (int64_t o = 0; o < log->log_end_offset().value(); ++o) {
    auto headers = Headers(*log->Read(Offset(o), 1));
    ASSERT_EQ(headers.size(), 1u);
    EXPECT_LE(headers[0].base_offset, Offset(o));
    EXPECT_GE(headers[0].last_offset(), Offset(o));
  }
}

TEST_F(PartitionLogTest, SparseIndexFindsEveryOffset) {
  LogConfig config;
  config.index_interval_bytes = 500;
  auto log = OpenLog(config);
  for (int i = 0; i < 200; ++i) Append(*log, 1 + i % 3);
  auto index = fs_.Contents("/data/topic-0/00000000000000000000.index");
  ASSERT_TRUE(index.ok());
  EXPECT_GT(index->size() / kOffsetIndexEntrySize, 10u);
  for (int64_t o = 0; o < log->log_end_offset().value(); o += 7) {
    auto headers = Headers(*log->Read(Offset(o), 1));
    ASSERT_EQ(headers.size(), 1u);
    EXPECT_LE(headers[0].base_offset, Offset(o));
    EXPECT_GE(headers[0].last_offset(), Offset(o));
  }
}

TEST_F(PartitionLogTest, OffsetForTimestamp) {
  LogConfig config;
  config.segment_bytes = 600;
  config.index_interval_bytes = 100;
  auto log = OpenLog(config);
  for (int i = 0; i < 20; ++i) Append(*log, 2, 1000 + 10 * i);  // batch i at offset 2i.
  EXPECT_EQ(**log->OffsetForTimestamp(0), Offset(0));
  EXPECT_EQ(**log->OffsetForTimestamp(1055), Offset(12));  // first ts >= 1055 is 1060.
  EXPECT_EQ(**log->OffsetForTimestamp(1190), Offset(38));
  EXPECT_FALSE(log->OffsetForTimestamp(1191)->has_value());
}

TEST_F(PartitionLogTest, TruncateToRemovesWholeBatchesAndEpochs) {
  LogConfig config;
  config.segment_bytes = 500;
  auto log = OpenLog(config);
  for (int i = 0; i < 10; ++i) Append(*log, 5, 1000, LeaderEpoch(1 + i / 4));  // epochs 1,2,3
  ASSERT_TRUE(log->SetHighWatermark(Offset(20)).ok());
  // 23 is inside batch [20, 24]: the batch goes whole.
  EXPECT_EQ(*log->TruncateTo(Offset(23)), Offset(20));
  EXPECT_EQ(log->log_end_offset(), Offset(20));
  // Epoch 2 began at offset 20, so nothing of it is left.
  EXPECT_EQ(log->latest_epoch(), LeaderEpoch(1));
  Append(*log, 1, 1000, LeaderEpoch(7));
  EXPECT_EQ(log->EndOffsetForEpoch(LeaderEpoch(1)), std::make_pair(LeaderEpoch(1), Offset(20)));
  EXPECT_EQ(log->EndOffsetForEpoch(LeaderEpoch(5)), std::make_pair(LeaderEpoch(1), Offset(20)));
  EXPECT_EQ(log->EndOffsetForEpoch(LeaderEpoch(7)), std::make_pair(LeaderEpoch(7), Offset(21)));
  EXPECT_EQ(log->TruncateTo(Offset(-1)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*log->TruncateTo(Offset(0)), Offset(0));
  EXPECT_EQ(log->segment_count(), 1u);
  EXPECT_EQ(log->high_watermark(), Offset(0));
}

TEST_F(PartitionLogTest, StaleLeaderEpochIsRejected) {
  auto log = OpenLog();
  Append(*log, 1, 1000, LeaderEpoch(5));
  std::string batch = MakeBatch(1, 1000);
  EXPECT_EQ(log->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(4)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log->log_end_offset(), Offset(1));
}

TEST_F(PartitionLogTest, RetentionDeletesClosedSegmentsBelowHighWatermark) {
  LogConfig config;
  config.segment_bytes = 400;
  config.retention_bytes = 1000;
  auto log = OpenLog(config);
  for (int i = 0; i < 12; ++i) Append(*log, 2, 1000, LeaderEpoch(1), 100);
  const size_t segments = log->segment_count();
  EXPECT_EQ(*log->ApplyRetention(), 0);  // High watermark 0 protects everything.
  ASSERT_TRUE(log->SetHighWatermark(log->log_end_offset()).ok());
  const int deleted = *log->ApplyRetention();
  EXPECT_GT(deleted, 0);
  EXPECT_EQ(log->segment_count(), segments - deleted);
  EXPECT_LT(log->size_bytes(), 1000 + 400);
  EXPECT_GT(log->log_start_offset(), Offset(0));
  EXPECT_EQ(log->Read(Offset(0), 100).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(log->Read(log->log_start_offset(), 100).ok());
}

TEST_F(PartitionLogTest, RetentionByTime) {
  LogConfig config;
  config.segment_bytes = 400;
  config.retention_ms = 60'000;
  auto log = OpenLog(config);
  for (int i = 0; i < 6; ++i) Append(*log, 2, 1000, LeaderEpoch(1), 100);
  for (int i = 0; i < 6; ++i) Append(*log, 2, 500'000, LeaderEpoch(1), 100);
  ASSERT_TRUE(log->SetHighWatermark(log->log_end_offset()).ok());
  clock_.Advance(absl::Seconds(500));  // now = 501'000 ms.
  ASSERT_GT(*log->ApplyRetention(), 0);
  auto headers = Headers(*log->Read(log->log_start_offset(), 1));
  EXPECT_EQ(headers[0].max_timestamp, 500'000);
}

TEST_F(PartitionLogTest, FollowerAppendKeepsOffsetsAndEpochs) {
  auto leader = OpenLog();
  Append(*leader, 3, 1000, LeaderEpoch(2));
  Append(*leader, 3, 1000, LeaderEpoch(3));
  const std::string data = *leader->Read(Offset(0), 1 << 20);

  FaultFileSystem follower_fs;
  auto follower = *PartitionLog::Open(follower_fs, clock_, kDir, {});
  auto r = follower->AppendAsFollower(data);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->last_offset, Offset(5));
  EXPECT_EQ(follower->EndOffsetForEpoch(LeaderEpoch(2)), std::make_pair(LeaderEpoch(2), Offset(3)));
  EXPECT_EQ(*follower->Read(Offset(0), 1 << 20), data);
  // Not at the log end: rejected.
  EXPECT_EQ(follower->AppendAsFollower(data).status().code(), absl::StatusCode::kInvalidArgument);
  std::string corrupt = MakeBatch(1, 1);
  RewriteBaseOffset(corrupt.data(), Offset(6));
  corrupt.back() ^= 1;
  EXPECT_EQ(follower->AppendAsFollower(corrupt).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(PartitionLogTest, ReopenLoadsIndexesAndCheckpoints) {
  LogConfig config;
  config.segment_bytes = 700;
  {
    auto log = OpenLog(config);
    for (int i = 0; i < 20; ++i) Append(*log, 3, 1000 + i, LeaderEpoch(1 + i / 10));
    ASSERT_TRUE(log->SetHighWatermark(Offset(42)).ok());
    ASSERT_TRUE(log->Close().ok());
  }
  auto log = OpenLog(config);
  EXPECT_EQ(log->log_end_offset(), Offset(60));
  EXPECT_EQ(log->high_watermark(), Offset(42));
  EXPECT_EQ(log->recovery_point(), Offset(60));
  EXPECT_EQ(log->latest_epoch(), LeaderEpoch(2));
  EXPECT_EQ(**log->OffsetForTimestamp(1015), Offset(45));
  Append(*log, 1, 1000, LeaderEpoch(2));
  EXPECT_EQ(log->log_end_offset(), Offset(61));
}

// Group commit, deterministically: the first flush is held in flight until
// every appender has written its batch; whatever it did not cover must then
// be covered by a single second fdatasync.
TEST_F(PartitionLogTest, GroupCommitSharesOneFsyncAmongConcurrentAppenders) {
  auto log = OpenLog();
  Append(*log, 1);  // Epoch 1 checkpointed now, so only data syncs follow.
  constexpr int kThreads = 16;
  absl::Notification all_appended;
  std::atomic<bool> first = true;
  fs_.SetSyncHook([&](const std::string&) {
    if (first.exchange(false)) all_appended.WaitForNotification();
  });
  const int64_t syncs_before = fs_.sync_count();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] { Append(*log, 1); });
  }
  while (log->log_end_offset() < Offset(kThreads + 1)) std::this_thread::yield();
  all_appended.Notify();
  for (auto& t : threads) t.join();
  EXPECT_EQ(log->flushed_offset(), Offset(kThreads + 1));
  // The held flush covers what was appended before it began (at least its
  // leader's batch); one more covers everyone else. Never 16.
  EXPECT_GE(fs_.sync_count() - syncs_before, 1);
  EXPECT_LE(fs_.sync_count() - syncs_before, 2);
}

TEST_F(PartitionLogTest, FailedFsyncFailsTheLogForGood) {
  auto log = OpenLog();
  Append(*log, 1);
  fs_.SetSyncFailure(true);
  std::string batch = MakeBatch(1, 1000);
  EXPECT_FALSE(log->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(1)).ok());
  fs_.SetSyncFailure(false);  // The disk "recovers"; the log must not.
  EXPECT_FALSE(log->health().ok());
  batch = MakeBatch(1, 1000);
  EXPECT_FALSE(log->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(1)).ok());
  EXPECT_FALSE(log->Flush().ok());
  EXPECT_FALSE(log->Read(Offset(0), 100).ok());
  EXPECT_EQ(log->flushed_offset(), Offset(1));
}

TEST_F(PartitionLogTest, EnospcFailsTheLogAndReopenKeepsFlushedData) {
  auto log = OpenLog();
  Append(*log, 2);
  fs_.SetWriteBudget(30);
  std::string batch = MakeBatch(2, 1000);
  EXPECT_EQ(log->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(1)).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(log->health().ok());
  log.reset();
  fs_.ClearWriteBudget();
  fs_.SimulateCrash();
  log = OpenLog();
  EXPECT_EQ(log->log_end_offset(), Offset(2));
  Append(*log, 1);
  EXPECT_EQ(log->log_end_offset(), Offset(3));
}

TEST_F(PartitionLogTest, DiskFullStopsWritesButKeepsServingReads) {
  auto log = OpenLog();
  Append(*log, 3);
  fs_.SetWriteBudget(30);
  std::string batch = MakeBatch(2, 1000);
  EXPECT_EQ(log->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(1)).status().code(),
            absl::StatusCode::kResourceExhausted);
  fs_.ClearWriteBudget();  // even with room again, the log stays failed for writes
  batch = MakeBatch(1, 1000);
  EXPECT_FALSE(log->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(1)).ok());
  EXPECT_EQ(log->health().code(), absl::StatusCode::kResourceExhausted);
  // What was in the log before the full disk is served whole; nothing of
  // the failed append is.
  auto read = log->Read(Offset(0), 1 << 20);
  ASSERT_TRUE(read.ok()) << read.status();
  BatchIterator it(*read);
  int64_t records = 0;
  while (it.Next()) records += it.header().record_count;
  ASSERT_TRUE(it.status().ok()) << it.status();
  EXPECT_EQ(records, 3);
  EXPECT_EQ(log->log_end_offset(), Offset(3));
  EXPECT_TRUE(log->OffsetForTimestamp(0).ok());
}

TEST_F(PartitionLogTest, IntervalPolicyFlushesByMessagesAndTime) {
  LogConfig config;
  config.flush_policy = FlushPolicy::kInterval;
  config.flush_messages = 5;
  config.flush_ms = 1000;
  auto log = OpenLog(config);
  Append(*log, 2);
  Append(*log, 2);
  EXPECT_EQ(log->flushed_offset(), Offset(0));
  Append(*log, 2);  // 6 >= 5 records.
  EXPECT_EQ(log->flushed_offset(), Offset(6));
  Append(*log, 1);
  ASSERT_TRUE(log->MaybeFlush().ok());
  EXPECT_EQ(log->flushed_offset(), Offset(6));
  clock_.Advance(absl::Seconds(2));
  ASSERT_TRUE(log->MaybeFlush().ok());
  EXPECT_EQ(log->flushed_offset(), Offset(7));
}

}  // namespace
}  // namespace fjord::storage

namespace fjord::storage {
namespace {

TEST_F(PartitionLogTest, ClosedSegmentsKeepNoIndexInMemory) {
  LogConfig config;
  config.segment_bytes = 64 << 10;
  config.index_interval_bytes = 0;  // An entry per batch: ~1.3 KB per segment.
  config.flush_policy = FlushPolicy::kNever;
  auto log = OpenLog(config);
  for (int i = 0; i < 400; ++i) Append(*log, 2, 1000, LeaderEpoch(1), 500);
  const size_t segments = log->segment_count();
  ASSERT_GE(segments, 5u);
  ASSERT_TRUE(log->Roll().ok());
  // Every segment but the new, empty active one is closed and released.
  EXPECT_LT(log->memory_bytes(), (segments + 1) * 600) << log->memory_bytes();
  ASSERT_TRUE(log->Close().ok());
  log = OpenLog(config);
  EXPECT_LT(log->memory_bytes(), (segments + 1) * 600) << log->memory_bytes();
  // And lookups still find everything through the index files.
  for (int64_t o = 0; o < log->log_end_offset().value(); o += 13) {
    auto headers = Headers(*log->Read(Offset(o), 1));
    ASSERT_EQ(headers.size(), 1u);
    EXPECT_LE(headers[0].base_offset, Offset(o));
    EXPECT_GE(headers[0].last_offset(), Offset(o));
  }
}

}  // namespace
}  // namespace fjord::storage

namespace fjord::storage {
namespace {

// Readers run under the shared lock while a writer appends and rolls; every
// read sees whole, valid batches below the end it observed.
TEST_F(PartitionLogTest, ConcurrentReadsSeeWholeBatchesWhileAppending) {
  LogConfig config;
  config.segment_bytes = 4096;
  config.index_interval_bytes = 256;
  config.flush_policy = FlushPolicy::kNever;
  auto log = OpenLog(config);
  constexpr int kBatches = 300;
  std::atomic<bool> done = false;
  std::thread writer([&] {
    for (int i = 0; i < kBatches; ++i) Append(*log, 1 + i % 4, 1000, LeaderEpoch(1), 64);
    done = true;
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      SeededRandom rng(r);
      while (!done) {
        const int64_t end = log->log_end_offset().value();
        if (end == 0) continue;
        const Offset at(static_cast<int64_t>(rng.Uniform(end)));
        auto bytes = log->Read(at, 1000);
        ASSERT_TRUE(bytes.ok()) << bytes.status();
        BatchIterator it(*bytes);
        ASSERT_TRUE(it.Next());
        ASSERT_TRUE(ValidateBatch(it.batch(), {}).ok());
        ASSERT_LE(it.header().base_offset, at);
        ASSERT_GE(it.header().last_offset(), at);
      }
    });
  }
  writer.join();
  for (auto& t : readers) t.join();
  EXPECT_GT(log->segment_count(), 3u);
}

// The flush hook (broker metrics' flush-latency histogram): one call per
// flush round that synced something, none for a round with nothing to sync.
TEST_F(PartitionLogTest, FlushObserverHearsEachFlushRound) {
  struct Counter final : FlushObserver {
    void OnFlush(absl::Duration latency) override {
      EXPECT_GE(latency, absl::ZeroDuration());
      ++rounds;
    }
    int rounds = 0;
  } counter;
  LogConfig config;
  config.flush_policy = FlushPolicy::kNever;
  config.flush_observer = &counter;
  auto log = OpenLog(config);
  Append(*log, 2);
  EXPECT_EQ(counter.rounds, 0) << "kNever does not flush on append";
  ASSERT_TRUE(log->Flush().ok());
  EXPECT_EQ(counter.rounds, 1);
  ASSERT_TRUE(log->Flush().ok());
  EXPECT_EQ(counter.rounds, 1) << "nothing unsynced: no round";

  LogConfig always;
  always.flush_observer = &counter;
  log.reset();
  log = OpenLog(always);
  const int before = counter.rounds;
  Append(*log, 1);
  Append(*log, 1);
  EXPECT_EQ(counter.rounds, before + 2) << "kAlways: each lone append is its own round";
}

}  // namespace
}  // namespace fjord::storage
