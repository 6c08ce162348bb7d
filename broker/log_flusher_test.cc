// The durable produce path under log.flush.policy=always: leader appends
// return once written, the LogFlusher fsyncs them (group commit), and the
// high watermark, which is what answers acks=all, never passes the bytes a
// crash would keep.
#include "broker/log_flusher.h"

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "broker/replica.h"
#include "broker/test_util.h"
#include "common/random.h"
#include "gtest/gtest.h"
#include "storage/fault_file_system.h"
#include "storage/record_batch.h"

namespace fjord::broker {
namespace {

using testing::MakeBatches;
using testing::RecordingSender;

const BrokerId kB1{1};
constexpr char kDir[] = "/p";
constexpr char kSegment[] = "/p/00000000000000000000.log";
constexpr absl::Duration kWaitMax = absl::Seconds(20);

// The end offset of the whole batches in `bytes`.
Offset EndOf(const std::string& bytes) {
  Offset end(0);
  storage::BatchIterator it(bytes);
  while (it.Next()) end = it.header().next_offset();
  return end;
}

class LogFlusherTest : public ::testing::Test {
 protected:
  // A single-replica leader whose log is fsynced by `flusher_`.
  std::shared_ptr<Replica> MakeLeader(std::function<void()> on_change = nullptr) {
    auto log = storage::PartitionLog::Open(fs_, clock_, kDir, {});  // log.flush.policy=always
    EXPECT_TRUE(log.ok()) << log.status();
    auto r = std::make_shared<Replica>(controller::Uuid{1, 2}, "t", PartitionId(0), kB1,
                                       *std::move(log), clock_, ReplicaConfig{.flusher = &flusher_},
                                       sender_, std::move(on_change));
    r->BecomeLeader({.leader_epoch = LeaderEpoch(1),
                     .partition_epoch = PartitionEpoch(1),
                     .leader = kB1,
                     .replicas = {kB1},
                     .isr = {kB1}});
    return r;
  }
  // Waits (bounded) until `done` holds; false on timeout.
  static bool WaitFor(const std::function<bool()>& done) {
    const absl::Time deadline = absl::Now() + kWaitMax;
    while (!done()) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(1));
    }
    return true;
  }

  storage::FaultFileSystem fs_;
  ManualClock clock_;
  RecordingSender sender_;
  LogFlusher flusher_{2};
};

TEST_F(LogFlusherTest, AppendsGoOnWhileAnFsyncRunsAndAcksAllWaitsForIt) {
  std::shared_ptr<Replica> r = MakeLeader();
  // Hold every segment fsync until the test opens the gate.
  absl::Mutex mu;
  bool open = false;
  int syncs_entered = 0;
  fs_.SetSyncHook([&](const std::string& path) {
    if (!absl::EndsWith(path, ".log")) return;
    absl::MutexLock lock(&mu);
    ++syncs_entered;
    mu.Await(absl::Condition(&open));
  });
  auto open_gate = [&] {
    absl::MutexLock lock(&mu);
    open = true;
  };

  absl::StatusOr<LeaderAppendResult> a = r->AppendRecords(MakeBatches(1, 1), /*acks_all=*/true);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return syncs_entered == 1;
  })) << "the flusher never started the fsync of the first append";

  // A second request is appended while that fsync is in flight (an append
  // that waited for it would block here: bounded, then the gate opens).
  absl::StatusOr<LeaderAppendResult> b;
  absl::Notification b_done;
  std::thread appender([&] {
    b = r->AppendRecords(MakeBatches(2, 1, "w"), /*acks_all=*/true);
    b_done.Notify();
  });
  const bool appended_during_fsync = b_done.WaitForNotificationWithTimeout(absl::Seconds(10));
  if (!appended_during_fsync) open_gate();
  appender.join();
  ASSERT_TRUE(appended_during_fsync) << "the append waited for the previous request's fsync";
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->base_offset, Offset(1));

  // Written (acks=1's promise), not durable: acks=all must not be answered.
  EXPECT_EQ(r->log_end_offset(), Offset(3));
  EXPECT_EQ(EndOf(*fs_.DurableContents(kSegment)), Offset(0));
  EXPECT_EQ(r->high_watermark(), Offset(0));
  EXPECT_FALSE(*r->IsReplicated(a->last_offset, LeaderEpoch(1)));
  EXPECT_FALSE(*r->IsReplicated(b->last_offset, LeaderEpoch(1)));

  open_gate();
  ASSERT_TRUE(WaitFor([&] { return *r->IsReplicated(b->last_offset, LeaderEpoch(1)); }))
      << "hw " << r->high_watermark().value();
  EXPECT_EQ(EndOf(*fs_.DurableContents(kSegment)), Offset(3));
  // One segment fsync for the first request, one shared by everything
  // appended while it ran (group commit).
  absl::MutexLock lock(&mu);
  EXPECT_EQ(syncs_entered, 2);
}

TEST_F(LogFlusherTest, AnAcknowledgedOffsetIsAlwaysDurableAndSurvivesACrash) {
  // Slow fsyncs, so appends run ahead of them and an ack that jumped the
  // fsync would be seen.
  fs_.SetSyncHook([](const std::string& path) {
    if (absl::EndsWith(path, ".log")) absl::SleepFor(absl::Microseconds(700));
  });
  absl::Mutex mu;
  Offset max_hw_seen(0);
  std::string violation;  // Guarded by mu.
  Replica* raw = nullptr;
  // Runs after every append and high-watermark move: the high watermark
  // (what completes acks=all) must lie within the fsynced bytes.
  std::shared_ptr<Replica> r = MakeLeader([&] {
    const Offset hw = raw->high_watermark();
    const Offset durable = EndOf(*fs_.DurableContents(kSegment));
    absl::MutexLock lock(&mu);
    max_hw_seen = std::max(max_hw_seen, hw);
    if (hw > durable && violation.empty()) {
      violation = "high watermark " + std::to_string(hw.value()) + " > fsynced end " +
                  std::to_string(durable.value());
    }
  });
  raw = r.get();

  SeededRandom random(7);
  Offset acked(-1);             // Highest offset whose acks=all answer would be sent.
  std::vector<Offset> waiting;  // Appended, not yet acknowledged.
  size_t most_waiting = 0;
  for (int i = 0; i < 400; ++i) {
    const int batches = static_cast<int>(random.UniformRange(1, 4));
    absl::StatusOr<LeaderAppendResult> a =
        r->AppendRecords(MakeBatches(batches, 1 + static_cast<int>(random.Uniform(5))), true);
    ASSERT_TRUE(a.ok()) << a.status();
    waiting.push_back(a->last_offset);
    most_waiting = std::max(most_waiting, waiting.size());
    while (!waiting.empty() && *r->IsReplicated(waiting.front(), LeaderEpoch(1))) {
      acked = waiting.front();
      waiting.erase(waiting.begin());
    }
    if (random.OneIn(50)) absl::SleepFor(absl::Milliseconds(2));
  }
  ASSERT_GE(acked, Offset(0)) << "nothing was acknowledged while appending";
  EXPECT_GE(most_waiting, 2u) << "appends never ran ahead of the fsyncs";

  flusher_.Stop();  // No flush after this point.
  for (Offset o : waiting) {
    if (*r->IsReplicated(o, LeaderEpoch(1))) acked = o;
  }
  {
    absl::MutexLock lock(&mu);
    EXPECT_TRUE(violation.empty()) << violation;
    EXPECT_GT(max_hw_seen, Offset(0));
  }
  SeededRandom torn(11);
  fs_.SimulateCrash(&torn);
  auto reopened = storage::PartitionLog::Open(fs_, clock_, kDir, {});
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_GT((*reopened)->log_end_offset(), acked)
      << "an offset answered to acks=all was lost in the crash";
}

}  // namespace
}  // namespace fjord::broker
