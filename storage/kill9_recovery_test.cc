// kill -9 durability with the real file system: a child process appends to
// a PartitionLog (as a broker's partition does), reads each batch back the
// way a follower fetch would, and reports it to the parent over a pipe; the
// parent SIGKILLs it at a random point and reopens the log. A SIGKILL keeps
// the page cache, so every batch the child had written and read back must
// be in the reopened log, byte for byte, with a valid CRC; whatever it
// wrote after that may be there too (whole batches only) or cut off as a
// torn tail. Several rounds per run: each child reopens (recovers) the log
// its predecessor left and appends on.
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/random.h"
#include "gtest/gtest.h"
#include "storage/partition_log.h"
#include "storage/posix_file_system.h"
#include "storage/test_util.h"

namespace fjord::storage {
namespace {

constexpr LeaderEpoch kEpoch(3);

// How the child makes its appends durable: log.flush.policy=always as the
// broker runs it (AppendWait::kWritten, a flusher thread calls Flush, like
// broker/log_flusher.h), always with a durable wait per append, the
// interval policy, and relaxed (kNever: only rolls fsync).
struct Mode {
  const char* name;
  FlushPolicy policy;
  AppendWait wait;
  bool flusher_thread;
  // The follower path instead: AppendAsFollower with offsets stamped as a
  // leader would, and now and then a TruncateTo a little below the end (a
  // divergence), as a broker's follower does before it leads again.
  bool follower = false;
};

constexpr Mode kModes[] = {
    {"AlwaysWithFlusher", FlushPolicy::kAlways, AppendWait::kWritten, true},
    {"AlwaysDurable", FlushPolicy::kAlways, AppendWait::kDurable, false},
    {"Interval", FlushPolicy::kInterval, AppendWait::kDurable, false},
    {"Relaxed", FlushPolicy::kNever, AppendWait::kDurable, false},
    {"FollowerWithTruncation", FlushPolicy::kInterval, AppendWait::kDurable, false, true},
};

LogConfig ConfigFor(const Mode& mode) {
  LogConfig config;
  config.segment_bytes = 24 << 10;  // Rolls every few dozen batches.
  config.index_interval_bytes = 1024;
  config.flush_policy = mode.policy;
  config.flush_messages = 50;
  return config;
}

// What the child tells the parent about each batch it appended and read
// back (a pipe write of this size is atomic).
struct Report {
  int64_t index;  // Which batch (BatchFor) it was; kTruncated: see below.
  int64_t base_offset;
  int64_t last_offset;
};

// A Report with this index says the log is about to be truncated to
// base_offset (sent before the truncation).
constexpr int64_t kTruncated = -1;

// Batch number `index` of a run, before the log stamps offset and epoch:
// 1-8 records of up to ~3 KB, so some appends take several pages and a
// kill can land inside one.
std::string BatchFor(uint64_t seed, int64_t index) {
  SeededRandom rng(seed * 1000003 + static_cast<uint64_t>(index));
  return testing::MakeBatch(static_cast<int>(1 + rng.Uniform(8)), 1000 + index,
                            absl::StrCat("b", index), rng.Uniform(3000));
}

bool WriteAll(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// The child: appends until killed. Exits with 2 on any failure (the parent
// fails the test when it sees the child exit by itself).
[[noreturn]] void RunChild(const std::string& dir, const Mode& mode, uint64_t seed,
                           int64_t first_index, int report_fd) {
  ManualClock clock;
  absl::StatusOr<std::unique_ptr<PartitionLog>> opened =
      PartitionLog::Open(PosixFileSystem::Get(), clock, dir, ConfigFor(mode));
  if (!opened.ok()) _exit(2);
  PartitionLog& log = **opened;
  std::atomic<bool> stop{false};
  std::thread flusher;
  if (mode.flusher_thread) {
    flusher = std::thread([&] {
      while (!stop) {
        if (!log.Flush().ok()) _exit(2);
      }
    });
  }
  SeededRandom rng(seed * 7919 + static_cast<uint64_t>(first_index));
  for (int64_t index = first_index;; ++index) {
    std::string batch = BatchFor(seed, index);
    absl::StatusOr<AppendResult> r;
    if (mode.follower) {
      if (rng.OneIn(25)) {
        const Offset end = log.log_end_offset();
        const Offset to = std::max(log.log_start_offset(), end - rng.Uniform(100));
        // Announced before it happens: a kill between the truncation and
        // a report after it would leave the parent expecting batches the
        // child had itself removed.
        const Report report{kTruncated, to.value(), 0};
        if (!WriteAll(report_fd, &report, sizeof(report))) _exit(2);
        if (!log.TruncateTo(to).ok()) _exit(2);
      }
      RewriteBaseOffset(batch.data(), log.log_end_offset(), kEpoch);
      r = log.AppendAsFollower(batch);
    } else {
      r = log.AppendAsLeader(absl::MakeSpan(batch), kEpoch, mode.wait);
    }
    if (!r.ok()) _exit(2);
    // Served as a follower fetch serves it: from the file.
    absl::StatusOr<std::string> served = log.Read(r->first_offset, 1);
    if (!served.ok() || *served != batch) _exit(2);
    if (index % 40 == 0 && !log.Checkpoint().ok()) _exit(2);  // Moves the recovery point.
    const Report report{index, r->first_offset.value(), r->last_offset.value()};
    if (!WriteAll(report_fd, &report, sizeof(report))) _exit(2);
  }
}

// Reads whole reports from `fd` into `out` until `want` are there or the
// pipe ends; returns false at the end of the pipe.
bool ReadReports(int fd, size_t want, std::vector<Report>& out) {
  while (out.size() < want) {
    Report r;
    size_t got = 0;
    while (got < sizeof(r)) {
      const ssize_t n = ::read(fd, reinterpret_cast<char*>(&r) + got, sizeof(r) - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      got += static_cast<size_t>(n);
    }
    out.push_back(r);
  }
  return true;
}

class Kill9RecoveryTest : public ::testing::TestWithParam<int> {};

TEST_P(Kill9RecoveryTest, EveryBatchWrittenAndReadBeforeSigkillSurvivesReopen) {
  const Mode& mode = kModes[GetParam()];
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::filesystem::path root =
      std::filesystem::path(tmp ? tmp : "/tmp") / absl::StrCat("kill9_", mode.name);
  int kills = 0, torn_tails = 0, truncations = 0;
  size_t batches_checked = 0, max_segments = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE(absl::StrCat(mode.name, " seed ", seed));
    const std::string dir = (root / absl::StrCat("s", seed)).string();
    std::filesystem::remove_all(dir);
    SeededRandom rng(seed);
    std::map<int64_t, Report> reported;  // by base offset
    int64_t next_index = 0;
    Offset reported_end(0);
    for (int round = 0; round < 5; ++round) {
      SCOPED_TRACE(absl::StrCat("round ", round));
      int fds[2];
      ASSERT_EQ(::pipe(fds), 0);
      const pid_t pid = ::fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        ::close(fds[0]);
        RunChild(dir, mode, seed, next_index, fds[1]);
      }
      ::close(fds[1]);
      // Kill after a random number of reports, while the child goes on
      // appending (so the kill lands at any point of an append).
      const size_t kill_after =
          5 + rng.Uniform(mode.wait == AppendWait::kDurable && mode.policy == FlushPolicy::kAlways
                              ? 40
                              : 150);
      std::vector<Report> reports;
      const bool alive = ReadReports(fds[0], kill_after, reports);
      ::kill(pid, SIGKILL);
      int status = 0;
      ASSERT_EQ(::waitpid(pid, &status, 0), pid);
      ReadReports(fds[0], SIZE_MAX, reports);  // What it wrote before dying.
      ::close(fds[0]);
      ASSERT_TRUE(alive && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
          << "the child stopped by itself (status " << status << ") after " << reports.size()
          << " batches";
      for (const Report& r : reports) {
        if (r.index == kTruncated) {
          // Announced truncation to base_offset (it may not have happened if
          // the kill came first): a batch reaching it or beyond is no longer
          // expected (the log keeps whole batches, so one that straddles the
          // point goes too); the rest must all be there.
          ++truncations;
          std::erase_if(reported,
                        [&](const auto& kv) { return kv.second.last_offset >= r.base_offset; });
          reported_end =
              reported.empty() ? Offset(0) : Offset(reported.rbegin()->second.last_offset + 1);
          continue;
        }
        reported[r.base_offset] = r;
        next_index = std::max(next_index, r.index + 1);
        reported_end = std::max(reported_end, Offset(r.last_offset + 1));
      }

      ++kills;
      uint64_t bytes_on_disk = 0;
      for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() == ".log") bytes_on_disk += e.file_size();
      }
      ManualClock clock;
      absl::StatusOr<std::unique_ptr<PartitionLog>> log =
          PartitionLog::Open(PosixFileSystem::Get(), clock, dir, ConfigFor(mode));
      ASSERT_TRUE(log.ok()) << log.status();
      ASSERT_GE((*log)->log_end_offset(), reported_end)
          << "the reopened log ends before batches the killed process had written and read";
      // Every batch from the start: whole, valid CRC, and each reported
      // one exactly as it was written.
      Offset at(0);
      size_t found = 0;
      while (at < (*log)->log_end_offset()) {
        absl::StatusOr<std::string> bytes = (*log)->Read(at, 1);
        ASSERT_TRUE(bytes.ok()) << bytes.status();
        BatchIterator it(*bytes);
        ASSERT_TRUE(it.Next()) << "no batch at " << at.value();
        ASSERT_EQ(it.header().base_offset, at);
        ASSERT_EQ(ComputeBatchCrc(it.batch()), it.header().crc) << "CRC at " << at.value();
        auto r = reported.find(at.value());
        if (r != reported.end()) {
          std::string expected = BatchFor(seed, r->second.index);
          RewriteBaseOffset(expected.data(), at, kEpoch);
          ASSERT_EQ(it.batch(), expected) << "batch at " << at.value() << " differs";
          ASSERT_EQ(it.header().last_offset().value(), r->second.last_offset);
          ++found;
        }
        at = it.header().next_offset();
      }
      EXPECT_EQ(found, reported.size()) << "reported batches missing from the reopened log";
      batches_checked += found;
      max_segments = std::max(max_segments, (*log)->segment_count());
      if (static_cast<uint64_t>((*log)->size_bytes()) != bytes_on_disk) ++torn_tails;
      // Unreported batches the child wrote stay; the next child's first
      // batch follows them, so nothing reported is ever overwritten.
      ASSERT_TRUE((*log)->Close().ok());
    }
  }
  std::cout << mode.name << ": " << kills << " kills, " << batches_checked
            << " checks of reported batches, " << torn_tails << " torn tails cut on reopen, "
            << truncations << " TruncateTo calls, up to " << max_segments << " segments"
            << std::endl;
  std::filesystem::remove_all(root);
}

INSTANTIATE_TEST_SUITE_P(Modes, Kill9RecoveryTest, ::testing::Range(0, 5),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(kModes[info.param].name);
                         });

}  // namespace
}  // namespace fjord::storage
