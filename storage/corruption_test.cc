// Damaged files on open, one case each, with the expected outcome:
//   bit flip in the last unflushed batch  -> that batch cut off, warning, open OK
//   torn (partial) last batch             -> cut off with a warning naming file
//                                            and byte; earlier batches intact
//   bit flip in an unflushed batch with   -> DataLoss naming file, byte and the
//     valid batches after it                 valid batches; nothing cut
//   zeros (unwritten) in the unflushed    -> cut there, as a torn tail: a
//     part, valid batches after them         zeroed header gives no length to
//                                            skip (a power cut leaves this)
//   bit flip below the recovery point     -> DataLoss naming file and byte
//   log file shorter than recovery point  -> DataLoss
//   missing / garbage / partial index     -> rebuilt from the log, open OK
//   missing middle segment (flushed)      -> DataLoss
//   garbled checkpoint file               -> DataLoss naming the checkpoint
//   bit flip in an older, closed segment  -> open OK (not rescanned, as in
//                                            Kafka); the batch fails
//                                            ValidateBatch when read
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"
#include "storage/fault_file_system.h"
#include "storage/partition_log.h"
#include "storage/test_util.h"

namespace fjord::storage {
namespace {

using testing::MakeBatch;
constexpr char kDir[] = "/data/p";

std::string SegPath(int64_t base, const char* ext) {
  return absl::StrCat(kDir, "/", Segment::FileName(Offset(base), ext));
}

class CorruptionTest : public ::testing::Test {
 protected:
  // Writes `batches` batches of 4 records (offsets 4i..4i+3) in segments of
  // ~1 KB; flushes and checkpoints the first `flushed` batches only.
  void Write(int batches, int flushed) {
    auto log = *PartitionLog::Open(fs_, clock_, kDir, config_);
    for (int i = 0; i < batches; ++i) {
      std::string batch = MakeBatch(4, 1000 + i, "c", 40);
      ASSERT_TRUE(log->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(1)).ok());
      batch_size_ = batch.size();
      if (i + 1 == flushed) {
        ASSERT_TRUE(log->Flush().ok());
        ASSERT_TRUE(log->Checkpoint().ok());
      }
    }
  }
  void FlipByte(const std::string& path, size_t position) {
    std::string bytes = *fs_.Contents(path);
    ASSERT_LT(position, bytes.size());
    bytes[position] ^= 0x40;
    ASSERT_TRUE(fs_.SetContents(path, bytes).ok());
  }
  absl::StatusOr<std::unique_ptr<PartitionLog>> Reopen() {
    return PartitionLog::Open(fs_, clock_, kDir, config_);
  }

  FaultFileSystem fs_;
  ManualClock clock_;
  LogConfig config_{.segment_bytes = 1000, .flush_policy = FlushPolicy::kNever};
  size_t batch_size_ = 0;
};

// Captures what spdlog's default logger prints while it lives.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "capture", std::make_shared<spdlog::sinks::ostream_sink_st>(out_)));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST_F(CorruptionTest, BitFlipInLastUnflushedBatchCutsThatBatchWithAWarning) {
  config_.segment_bytes = 1 << 20;
  Write(10, 4);                                        // Recovery point 16; batches 4..9 unflushed.
  FlipByte(SegPath(0, ".log"), 9 * batch_size_ + 70);  // Inside batch 9's records.
  LogCapture logs;
  auto log = Reopen();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->log_end_offset(), Offset(36));
  EXPECT_EQ(fs_.Contents(SegPath(0, ".log"))->size(), 9 * batch_size_);
  EXPECT_NE(logs.text().find(absl::StrCat(SegPath(0, ".log"), ": recovery cut a torn tail at byte ",
                                          9 * batch_size_, " (offset 36)")),
            std::string::npos)
      << logs.text();
}

TEST_F(CorruptionTest, TornLastBatchIsCutWithAWarningAndEarlierBatchesKept) {
  config_.segment_bytes = 1 << 20;
  Write(8, 2);
  const std::string before = *fs_.Contents(SegPath(0, ".log"));
  std::string bytes = before;
  bytes.resize(7 * batch_size_ + batch_size_ / 2);  // Batch 7 torn inside its records.
  ASSERT_TRUE(fs_.SetContents(SegPath(0, ".log"), bytes).ok());
  LogCapture logs;
  auto log = Reopen();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->log_end_offset(), Offset(28));
  auto kept = (*log)->Read(Offset(0), 1 << 20);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(*kept, before.substr(0, 7 * batch_size_)) << "batches before the torn one changed";
  const std::string text = logs.text();
  EXPECT_NE(text.find(absl::StrCat(SegPath(0, ".log"), ": recovery cut a torn tail at byte ",
                                   7 * batch_size_, " (offset 28)")),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(absl::StrCat(batch_size_ / 2, " unflushed bytes dropped")), std::string::npos)
      << text;
}

TEST_F(CorruptionTest, BitFlipBeforeValidUnflushedBatchesIsDataLossAndNothingIsCut) {
  config_.segment_bytes = 1 << 20;
  Write(10, 4);                                        // Recovery point 16; batches 4..9 unflushed.
  FlipByte(SegPath(0, ".log"), 6 * batch_size_ + 70);  // Inside batch 6's records.
  absl::Status s = Reopen().status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find(absl::StrCat(SegPath(0, ".log"), ": corrupt batch at byte ",
                                          6 * batch_size_, " (offset 24)")),
            std::string::npos)
      << s;
  EXPECT_NE(s.message().find("3 valid batches (offsets 28..39) follow it"), std::string::npos) << s;
  EXPECT_EQ(fs_.Contents(SegPath(0, ".log"))->size(), 10 * batch_size_) << "evidence kept";
}

TEST_F(CorruptionTest, ZerosInUnflushedPartAreCutAsATornTail) {
  config_.segment_bytes = 1 << 20;
  Write(10, 4);
  std::string bytes = *fs_.Contents(SegPath(0, ".log"));
  std::fill(bytes.begin() + 6 * batch_size_, bytes.begin() + 7 * batch_size_, '\0');
  ASSERT_TRUE(fs_.SetContents(SegPath(0, ".log"), bytes).ok());
  auto log = Reopen();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->log_end_offset(), Offset(24));
}

TEST_F(CorruptionTest, BitFlipBelowRecoveryPointIsDataLossNamingFileAndByte) {
  config_.segment_bytes = 1 << 20;
  Write(10, 8);
  const size_t position = 5 * batch_size_;
  FlipByte(SegPath(0, ".log"), position + 30);  // Batch 5's header (CRC-covered).
  absl::Status s = Reopen().status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find(SegPath(0, ".log")), std::string::npos) << s;
  EXPECT_NE(s.message().find(absl::StrCat("byte ", position)), std::string::npos) << s;
  // Nothing was cut: the evidence is kept for repair.
  EXPECT_EQ(fs_.Contents(SegPath(0, ".log"))->size(), 10 * batch_size_);
}

TEST_F(CorruptionTest, LogShorterThanRecoveryPointIsDataLoss) {
  config_.segment_bytes = 1 << 20;
  Write(10, 10);
  std::string bytes = *fs_.Contents(SegPath(0, ".log"));
  bytes.resize(7 * batch_size_);
  ASSERT_TRUE(fs_.SetContents(SegPath(0, ".log"), bytes).ok());
  absl::Status s = Reopen().status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("below the recovery point 40"), std::string::npos) << s;
}

TEST_F(CorruptionTest, TornHeaderInTailIsCut) {
  config_.segment_bytes = 1 << 20;
  Write(5, 2);
  std::string bytes = *fs_.Contents(SegPath(0, ".log"));
  bytes.resize(4 * batch_size_ + 20);  // Batch 4 torn inside its header.
  ASSERT_TRUE(fs_.SetContents(SegPath(0, ".log"), bytes).ok());
  auto log = Reopen();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->log_end_offset(), Offset(16));
}

TEST_F(CorruptionTest, MissingGarbageOrPartialIndexesAreRebuilt) {
  Write(30, 30);  // Several closed segments, all flushed.
  ASSERT_TRUE(fs_.Unlink(SegPath(0, ".index")).ok());
  ASSERT_TRUE(fs_.Unlink(SegPath(0, ".timeindex")).ok());
  auto names = *fs_.List(kDir);
  std::vector<std::string> indexes;
  for (const auto& n : names) {
    if (absl::EndsWith(n, ".index") && n != Segment::FileName(Offset(0), ".index")) {
      indexes.push_back(absl::StrCat(kDir, "/", n));
    }
  }
  ASSERT_GE(indexes.size(), 2u);
  ASSERT_TRUE(fs_.SetContents(indexes[0], "garbage!garbage!").ok());
  std::string partial = *fs_.Contents(indexes[1]);
  partial += "xyz";
  ASSERT_TRUE(fs_.SetContents(indexes[1], partial).ok());

  auto log = Reopen();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->log_end_offset(), Offset(120));
  for (int64_t o = 0; o < 120; o += 3) {
    auto bytes = (*log)->Read(Offset(o), 1);
    ASSERT_TRUE(bytes.ok());
    auto h = ValidateBatch(*bytes, {});
    ASSERT_TRUE(h.ok()) << h.status();
    EXPECT_LE(h->base_offset, Offset(o));
    EXPECT_GE(h->last_offset(), Offset(o));
  }
  EXPECT_EQ(fs_.Contents(SegPath(0, ".index"))->size() % kOffsetIndexEntrySize, 0u);
  EXPECT_GT(fs_.Contents(SegPath(0, ".index"))->size(), 0u);
  EXPECT_EQ(fs_.Contents(indexes[1])->size() % kOffsetIndexEntrySize, 0u);
}

TEST_F(CorruptionTest, MissingFlushedMiddleSegmentIsDataLoss) {
  Write(30, 30);
  std::vector<std::string> logs;
  const std::vector<std::string> names = *fs_.List(kDir);
  for (const auto& n : names) {
    if (absl::EndsWith(n, ".log")) logs.push_back(absl::StrCat(kDir, "/", n));
  }
  ASSERT_GE(logs.size(), 3u);
  ASSERT_TRUE(fs_.Unlink(logs[1]).ok());
  absl::Status s = Reopen().status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find(logs[2]), std::string::npos) << s;
}

TEST_F(CorruptionTest, GarbledCheckpointIsDataLoss) {
  Write(3, 3);
  ASSERT_TRUE(
      fs_.SetContents(absl::StrCat(kDir, "/recovery-point-offset-checkpoint"), "0\nx\n").ok());
  absl::Status s = Reopen().status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("recovery-point-offset-checkpoint"), std::string::npos) << s;
}

TEST_F(CorruptionTest, BitFlipInOlderClosedSegmentIsCaughtWhenRead) {
  Write(30, 30);
  FlipByte(SegPath(0, ".log"), 100);
  auto log = Reopen();
  ASSERT_TRUE(log.ok()) << log.status();
  auto bytes = (*log)->Read(Offset(0), 1);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(ValidateBatch(*bytes, {}).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace fjord::storage
