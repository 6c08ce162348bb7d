// FileDeleter and the deletions built on it: files go in steps, off the
// caller's thread; leftovers of a crash are swept when a log reopens;
// retention and partition deletion leave no live name behind.
#include "storage/file_deleter.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "storage/partition_log.h"
#include "storage/posix_file_system.h"
#include "storage/test_util.h"

namespace fjord::storage {
namespace {

constexpr uint64_t kChunk = 1024;

class FileDeleterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = std::string(tmp != nullptr ? tmp : "/tmp") + "/deleter-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string MakeFile(const std::string& name, uint64_t size) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << std::string(size, 'x');
    return path;
  }
  static int64_t SizeOf(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
  }
  bool Exists(const std::string& name) { return std::filesystem::exists(dir_ + "/" + name); }

  std::string dir_;
};

TEST_F(FileDeleterTest, TruncatesInStepsThenUnlinks) {
  const std::string path = MakeFile("a.log.deleted", 10 * kChunk);
  std::vector<int64_t> sizes;
  std::vector<absl::Duration> pauses;
  FileDeleter deleter(
      {.chunk_bytes = kChunk, .bytes_per_second = 1000 * kChunk, .pause = [&](absl::Duration d) {
         sizes.push_back(SizeOf(path));
         pauses.push_back(d);
       }});
  deleter.DeleteFile(path);
  deleter.WaitIdle();
  EXPECT_FALSE(std::filesystem::exists(path));
  // 10 KiB in 1 KiB steps: 9 truncations, the last KiB goes with the unlink.
  ASSERT_EQ(sizes.size(), 9u);
  for (size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(sizes[i], static_cast<int64_t>((9 - i) * kChunk)) << "step " << i;
    EXPECT_EQ(pauses[i], absl::Milliseconds(1)) << "1 KiB at 1000 KiB/s";
  }
  EXPECT_EQ(deleter.truncations(), 9);
}

TEST_F(FileDeleterTest, NeverBlocksTheCaller) {
  const std::string a = MakeFile("a.log.deleted", 4 * kChunk);
  const std::string b = MakeFile("b.log.deleted", 4 * kChunk);
  absl::Notification entered, release;
  FileDeleter deleter({.chunk_bytes = kChunk, .pause = [&](absl::Duration) {
                         if (!entered.HasBeenNotified()) entered.Notify();
                         release.WaitForNotification();
                       }});
  deleter.DeleteFile(a);
  ASSERT_TRUE(entered.WaitForNotificationWithTimeout(absl::Seconds(30)))
      << "the deleter never started on a";
  // The deleter is stuck in its first pause; queuing more returns at once.
  deleter.DeleteFile(b);
  deleter.DeleteFile(a);  // Already queued: not twice.
  EXPECT_EQ(SizeOf(a), static_cast<int64_t>(3 * kChunk)) << "one step taken";
  EXPECT_EQ(SizeOf(b), static_cast<int64_t>(4 * kChunk)) << "b waits its turn";
  release.Notify();
  deleter.WaitIdle();
  EXPECT_FALSE(std::filesystem::exists(a));
  EXPECT_FALSE(std::filesystem::exists(b));
  EXPECT_EQ(deleter.truncations(), 6);
}

TEST_F(FileDeleterTest, StopsOnDestructionAndLeavesTheRestOnDisk) {
  const std::string a = MakeFile("a.log.deleted", 4 * kChunk);
  const std::string b = MakeFile("b.log.deleted", 4 * kChunk);
  absl::Notification entered, release;
  auto deleter = std::make_unique<FileDeleter>(
      FileDeleterOptions{.chunk_bytes = kChunk, .pause = [&](absl::Duration) {
                           if (!entered.HasBeenNotified()) entered.Notify();
                           release.WaitForNotification();
                         }});
  FileDeleter* raw = deleter.get();
  deleter->DeleteFile(a);
  deleter->DeleteFile(b);
  ASSERT_TRUE(entered.WaitForNotificationWithTimeout(absl::Seconds(30)));
  std::thread destroy([&] { deleter.reset(); });
  // The destructor cannot finish before the pause returns, so `raw` lives.
  for (int i = 0; i < 30000 && !raw->stopping(); ++i) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_TRUE(raw->stopping()) << "the destructor never began";
  release.Notify();
  destroy.join();
  EXPECT_EQ(SizeOf(a), static_cast<int64_t>(3 * kChunk)) << "stopped after the step in progress";
  EXPECT_EQ(SizeOf(b), static_cast<int64_t>(4 * kChunk)) << "not started";
}

TEST_F(FileDeleterTest, RemovesADirectoryAfterItsFiles) {
  std::filesystem::create_directories(dir_ + "/p-0.deleted");
  const std::string f = dir_ + "/p-0.deleted/00000000000000000000.log";
  std::ofstream(f) << std::string(3 * kChunk, 'x');
  FileDeleter deleter({.chunk_bytes = kChunk, .pause = [](absl::Duration) {}});
  deleter.DeleteFile(f);
  deleter.RemoveDir(dir_ + "/p-0.deleted");
  deleter.WaitIdle();
  EXPECT_FALSE(Exists("p-0.deleted"));
}

// PosixFileSystem::RemoveAll: the partition's name is free when it returns
// (even while an earlier deletion of the same name is still under way);
// the background deleter removes the rest.
TEST_F(FileDeleterTest, RemoveAllRenamesAsideAndDeletesInTheBackground) {
  PosixFileSystem& fs = PosixFileSystem::Get();
  for (int round = 0; round < 2; ++round) {
    std::filesystem::create_directories(dir_ + "/t-0");
    std::ofstream(dir_ + "/t-0/00000000000000000000.log") << std::string(3 * kChunk, 'x');
    ASSERT_TRUE(fs.RemoveAll(dir_ + "/t-0").ok());
    EXPECT_FALSE(Exists("t-0")) << "round " << round;
  }
  fs.deleter().WaitIdle();
  EXPECT_TRUE(std::filesystem::is_empty(dir_)) << "a renamed partition directory remains";
  EXPECT_TRUE(fs.RemoveAll(dir_ + "/missing").ok());
}

std::unique_ptr<PartitionLog> OpenLog(const std::string& dir, const Clock& clock) {
  LogConfig config;
  config.segment_bytes = 4096;
  absl::StatusOr<std::unique_ptr<PartitionLog>> log =
      PartitionLog::Open(PosixFileSystem::Get(), clock, dir, config);
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? *std::move(log) : nullptr;
}

// Retention renames the dropped segments' files at once and deletes them in
// the background; a reopened log sweeps what a crash left renamed.
TEST_F(FileDeleterTest, RetentionDeletesSegmentsAndRestartSweepsLeftovers) {
  ManualClock clock;
  const std::string log_dir = dir_ + "/t-0";
  {
    std::unique_ptr<PartitionLog> log = OpenLog(log_dir, clock);
    ASSERT_NE(log, nullptr);
    for (int i = 0; i < 40; ++i) {
      std::string batch = testing::MakeBatch(10, 1000, "v", 64);
      ASSERT_TRUE(log->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(0)).ok());
    }
    ASSERT_TRUE(log->SetHighWatermark(Offset(400)).ok());
    absl::StatusOr<int> deleted =
        log->ApplyRetention(RetentionLimits{.retention_ms = -1, .retention_bytes = 4096});
    ASSERT_TRUE(deleted.ok()) << deleted.status();
    ASSERT_GT(*deleted, 0);
    for (const auto& e : std::filesystem::directory_iterator(log_dir)) {
      const std::string name = e.path().filename().string();
      if (absl::EndsWith(name, ".log")) {
        EXPECT_GE(std::stoll(name.substr(0, 20)), log->log_start_offset().value())
            << name << " below the log start kept its live name";
      }
    }
    PosixFileSystem::Get().deleter().WaitIdle();
    for (const auto& e : std::filesystem::directory_iterator(log_dir)) {
      EXPECT_FALSE(absl::EndsWith(e.path().string(), kDeletedSuffix)) << e.path();
    }
    absl::StatusOr<std::string> read = log->Read(log->log_start_offset(), 1 << 20);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_FALSE(read->empty());
    ASSERT_TRUE(log->Close().ok());
  }
  // A crash after the renames, before the deleter finished.
  for (const char* ext : {".log", ".index", ".timeindex"}) {
    std::ofstream(log_dir + "/00000000000000000000" + ext + kDeletedSuffix)
        << std::string(3 * kChunk, 'x');
  }
  std::unique_ptr<PartitionLog> log = OpenLog(log_dir, clock);
  ASSERT_NE(log, nullptr);
  PosixFileSystem::Get().deleter().WaitIdle();
  for (const auto& e : std::filesystem::directory_iterator(log_dir)) {
    EXPECT_FALSE(absl::EndsWith(e.path().string(), kDeletedSuffix)) << e.path() << " leaked";
  }
  EXPECT_TRUE(log->Read(log->log_start_offset(), 1 << 20).ok());
}

}  // namespace
}  // namespace fjord::storage
