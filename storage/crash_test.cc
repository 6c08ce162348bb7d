// Crash safety with the fault-injecting file system: what was acknowledged
// as flushed survives any crash; an unflushed tail may vanish, but never
// half a batch, and the log always reopens.
#include <map>
#include <string>

#include "gtest/gtest.h"
#include "storage/fault_file_system.h"
#include "storage/partition_log.h"
#include "storage/test_util.h"

namespace fjord::storage {
namespace {

using testing::MakeBatch;
constexpr char kDir[] = "/data/p";

// Appended batch bytes by base offset, as the log stamped them.
using Written = std::map<int64_t, std::string>;

// Checks the reopened log holds exactly a prefix of `written` that ends on
// a batch boundary at or after `flushed`.
void ExpectPrefixOf(PartitionLog& log, const Written& written, Offset flushed) {
  const Offset end = log.log_end_offset();
  EXPECT_GE(end, flushed) << "acknowledged-as-flushed data was lost";
  Offset at = log.log_start_offset();
  while (at < end) {
    auto bytes = log.Read(at, 1);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    BatchIterator it(*bytes);
    ASSERT_TRUE(it.Next());
    ASSERT_TRUE(written.count(at.value())) << "no batch was written at " << at.value();
    EXPECT_EQ(it.batch(), written.at(at.value())) << "batch at " << at.value() << " differs";
    at = it.header().next_offset();
  }
  EXPECT_EQ(at, end);
}

class CrashTest : public ::testing::TestWithParam<int> {};

TEST_P(CrashTest, FlushedDataSurvivesTornCrash) {
  const uint64_t seed = GetParam();
  SeededRandom rng(seed);
  FaultFileSystem fs;
  ManualClock clock;
  LogConfig config;
  config.segment_bytes = 2000;
  config.flush_policy = FlushPolicy::kNever;
  Written written;
  Offset flushed(0);
  for (int round = 0; round < 5; ++round) {
    auto log = PartitionLog::Open(fs, clock, kDir, config);
    ASSERT_TRUE(log.ok()) << "seed " << seed << ": " << log.status();
    ExpectPrefixOf(**log, written, flushed);
    // Forget what the crash took.
    written.erase(written.lower_bound((*log)->log_end_offset().value()), written.end());
    const int appends = 1 + rng.Uniform(30);
    for (int i = 0; i < appends; ++i) {
      std::string batch = MakeBatch(1 + rng.Uniform(5), 1000 + i, "r", rng.Uniform(200));
      auto r = (*log)->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(1));
      ASSERT_TRUE(r.ok()) << r.status();
      written[r->first_offset.value()] = batch;
      if (rng.OneIn(6)) {
        auto f = (*log)->Flush();
        ASSERT_TRUE(f.ok());
        flushed = *f;
      }
      if (rng.OneIn(10)) {
        ASSERT_TRUE((*log)->Checkpoint().ok());
      }
    }
    flushed = std::max(flushed, (*log)->flushed_offset());  // Rolls flush too.
    log->reset();
    fs.SimulateCrash(&rng);
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, CrashTest, ::testing::Range(1, 41));

TEST(CrashTestFixed, EveryAcknowledgedAppendSurvivesUnderFlushAlways) {
  FaultFileSystem fs;
  ManualClock clock;
  SeededRandom rng(7);
  Written written;
  {
    auto log = *PartitionLog::Open(fs, clock, kDir, {});
    for (int i = 0; i < 50; ++i) {
      std::string batch = MakeBatch(3, 1000, "a");
      auto r = log->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(1));
      ASSERT_TRUE(r.ok());
      written[r->first_offset.value()] = batch;
    }
  }
  fs.SimulateCrash(&rng);
  auto log = *PartitionLog::Open(fs, clock, kDir, {});
  EXPECT_EQ(log->log_end_offset(), Offset(150));
  ExpectPrefixOf(*log, written, Offset(150));
}

TEST(CrashTestFixed, UnsyncedRollLosesOnlyTheUnflushedSegment) {
  FaultFileSystem fs;
  ManualClock clock;
  LogConfig config;
  config.flush_policy = FlushPolicy::kNever;
  {
    auto log = *PartitionLog::Open(fs, clock, kDir, config);
    std::string batch = MakeBatch(2, 1000);
    ASSERT_TRUE(log->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(1)).ok());
    ASSERT_TRUE(log->Roll().ok());  // Roll fsyncs the closed segment.
    batch = MakeBatch(2, 1000);
    ASSERT_TRUE(log->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(1)).ok());
  }
  fs.SimulateCrash();
  auto log = *PartitionLog::Open(fs, clock, kDir, config);
  EXPECT_EQ(log->log_end_offset(), Offset(2));
  EXPECT_EQ(log->segment_count(), 2u);  // The new, now empty, segment stays.
}

TEST(CrashTestFixed, LeftoverCheckpointTempFileIsRemoved) {
  FaultFileSystem fs;
  ManualClock clock;
  ASSERT_TRUE((*fs.Open("/data/p/replication-offset-checkpoint.tmp", OpenMode::kCreate))
                  ->Append("0\n")
                  .ok());
  auto log = PartitionLog::Open(fs, clock, kDir, {});
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(fs.Contents("/data/p/replication-offset-checkpoint.tmp").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace fjord::storage
