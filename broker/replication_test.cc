// Brokers replicating over real ReplicaFetch streams on loopback, in one
// process, with the TestCluster's stand-in controller answering
// AlterPartition. Waits are bounded and name what they waited for.
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "broker/replica_manager.h"
#include "broker/replication_service.h"
#include "broker/test_cluster.h"
#include "broker/test_util.h"
#include "common/grpc_runtime.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "storage/fault_file_system.h"
#include "storage/record_batch_builder.h"

namespace fjord::broker {
namespace {

using testing::MakeBatches;
using testing::TestCluster;

constexpr absl::Duration kWaitLimit = absl::Seconds(30);

void WaitFor(const std::function<bool()>& condition, const std::string& what) {
  const absl::Time limit = absl::Now() + kWaitLimit;
  while (!condition()) {
    ASSERT_LT(absl::Now(), limit) << "timed out waiting for " << what;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

v1::ErrorCode Produce(v1::BrokerService::Stub& stub, const std::string& topic, std::string records,
                      int32_t acks, int64_t* base_offset = nullptr) {
  v1::ProduceRequest req;
  req.set_acks(acks);
  req.set_timeout_ms(20000);
  auto* t = req.add_topic_data();
  t->set_topic(topic);
  auto* pd = t->add_partition_data();
  pd->set_partition(0);
  pd->set_records(std::move(records));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::ProduceResponse resp;
  grpc::Status s = stub.Produce(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  if (!s.ok()) return v1::UNKNOWN_SERVER_ERROR;
  const auto& r = resp.responses(0).partition_responses(0);
  if (base_offset != nullptr) *base_offset = r.base_offset();
  return r.error_code();
}

// Every stored byte of `r`'s log from `from` to `end`.
std::string ReadRange(const Replica& r, Offset from, Offset end) {
  std::string out;
  Offset next = from;
  while (next < end) {
    absl::StatusOr<std::string> bytes = r.log().Read(next, 1 << 20, end);
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    if (!bytes.ok() || bytes->empty()) break;
    storage::BatchIterator it(*bytes);
    while (it.Next()) next = it.header().next_offset();
    out += *bytes;
  }
  return out;
}

// Every stored byte of `r`'s log from its start to `end`.
std::string ReadAll(const Replica& r, Offset end) {
  return ReadRange(r, r.log().log_start_offset(), end);
}

std::shared_ptr<Replica> ReplicaOf(TestCluster& c, int32_t broker, const std::string& topic) {
  return c.broker(broker).replicas().Get(topic, PartitionId(0));
}

std::vector<BrokerId> Isr(TestCluster& c, const std::string& topic) {
  return c.partition(topic, 0).isr;
}

TEST(ReplicationTest, AcksAllReachesEveryReplicaAndLogsAreIdentical) {
  TestCluster cluster(3);
  cluster.CreateTopic("t", {{1, 2, 3}});
  auto stub = cluster.Stub(1);
  int64_t expected_offset = 0;
  for (int i = 0; i < 50; ++i) {
    int64_t base = -1;
    ASSERT_EQ(Produce(*stub, "t", MakeBatches(1, 3, "r" + std::to_string(i)), -1, &base), v1::NONE);
    EXPECT_EQ(base, expected_offset);
    expected_offset += 3;
  }
  auto leader = ReplicaOf(cluster, 1, "t");
  EXPECT_EQ(leader->high_watermark(), Offset(150)) << "acks=all returned, so the HW passed";
  for (int32_t b : {2, 3}) {
    auto follower = ReplicaOf(cluster, b, "t");
    WaitFor([&] { return follower->high_watermark() == Offset(150); },
            "follower " + std::to_string(b) + " to learn the high watermark");
    EXPECT_EQ(follower->log().flushed_offset(), Offset(150));
    EXPECT_EQ(ReadAll(*follower, Offset(150)), ReadAll(*leader, Offset(150)));
  }
  EXPECT_EQ(Isr(cluster, "t").size(), 3u);
}

TEST(ReplicationTest, IsrShrinksWhenFollowersStopAndExpandsWhenTheyReturn) {
  BrokerServerOptions options;
  options.replica.min_insync_replicas = 2;
  options.replica.replica_lag_time_max = absl::Milliseconds(300);
  options.isr_check_interval = absl::Milliseconds(20);
  TestCluster cluster(3, options);
  cluster.CreateTopic("t", {{1, 2, 3}});
  auto stub = cluster.Stub(1);
  ASSERT_EQ(Produce(*stub, "t", MakeBatches(2, 1), -1), v1::NONE);

  cluster.StopBroker(3);
  // Waits for broker 3 to leave the ISR, then succeeds with 2 of 3.
  ASSERT_EQ(Produce(*stub, "t", MakeBatches(1, 1, "two-of-three"), -1), v1::NONE);
  EXPECT_EQ(Isr(cluster, "t"), (std::vector<BrokerId>{BrokerId(1), BrokerId(2)}));

  cluster.StopBroker(2);
  WaitFor([&] { return Isr(cluster, "t").size() == 1; }, "broker 2 to leave the ISR");
  const Offset end = ReplicaOf(cluster, 1, "t")->log_end_offset();
  EXPECT_EQ(Produce(*stub, "t", MakeBatches(1, 1, "refused"), -1), v1::NOT_ENOUGH_REPLICAS);
  EXPECT_EQ(ReplicaOf(cluster, 1, "t")->log_end_offset(), end) << "nothing appended";
  EXPECT_EQ(Produce(*stub, "t", MakeBatches(1, 1, "acks1"), 1), v1::NONE) << "acks=1 still works";

  cluster.StartBroker(2);
  cluster.StartBroker(3);
  WaitFor([&] { return Isr(cluster, "t").size() == 3; }, "brokers 2 and 3 to rejoin the ISR");
  ASSERT_EQ(Produce(*stub, "t", MakeBatches(1, 1, "back"), -1), v1::NONE);
  auto leader = ReplicaOf(cluster, 1, "t");
  const Offset hw = leader->high_watermark();
  for (int32_t b : {2, 3}) {
    auto follower = ReplicaOf(cluster, b, "t");
    WaitFor([&] { return follower->high_watermark() == hw; }, "follower high watermark");
    EXPECT_EQ(ReadAll(*follower, hw), ReadAll(*leader, hw));
  }
}

TEST(ReplicationTest, FollowerTruncatesItsDivergentSuffixAfterALeaderChange) {
  TestCluster cluster(2);
  cluster.CreateTopic("t", {{1, 2}});
  ASSERT_EQ(Produce(*cluster.Stub(1), "t", MakeBatches(3, 1, "committed"), -1), v1::NONE);
  cluster.StopBroker(2);
  // Appended on broker 1 only, never committed.
  ASSERT_EQ(Produce(*cluster.Stub(1), "t", MakeBatches(2, 1, "lost"), 1), v1::NONE);
  EXPECT_EQ(ReplicaOf(cluster, 1, "t")->log_end_offset(), Offset(5));
  cluster.StopBroker(1);
  cluster.StartBroker(2);
  cluster.ElectLeader("t", 0, 2, {2});
  ASSERT_EQ(Produce(*cluster.Stub(2), "t", MakeBatches(4, 1, "new-leader"), 1), v1::NONE);
  cluster.StartBroker(1);  // Follows broker 2 at epoch 1.
  auto leader = ReplicaOf(cluster, 2, "t");
  auto follower = ReplicaOf(cluster, 1, "t");
  WaitFor(
      [&] {
        return follower->log_end_offset() == Offset(7) &&
               follower->high_watermark() == leader->high_watermark();
      },
      "broker 1 to truncate to 3 and copy the new leader's 4 records");
  EXPECT_EQ(ReadAll(*follower, Offset(7)), ReadAll(*leader, Offset(7)));
  // Fetch from the new leader never shows records above its high watermark.
  EXPECT_LE(leader->high_watermark(), leader->log_end_offset());
}

// Broker 2 stops after offset 3; broker 1 goes on alone (acks=1) and its
// retention deletes everything broker 2 would fetch next. With
// `new_leader_epoch` the leader is re-elected meanwhile, so the leader's
// epoch history (cut at its log start) no longer knows broker 2's last
// epoch and answers with a divergence instead of OFFSET_OUT_OF_RANGE.
void FollowerBelowTheLeadersLogStartRestartsThere(bool new_leader_epoch) {
  BrokerServerOptions options;
  options.replica.replica_lag_time_max = absl::Milliseconds(300);
  options.isr_check_interval = absl::Milliseconds(20);
  options.log.segment_bytes = 1024;  // About 4 batches of 5 records each.
  TestCluster cluster(2, options);
  cluster.CreateTopic("t", {{1, 2}});
  auto stub = cluster.Stub(1);
  ASSERT_EQ(Produce(*stub, "t", MakeBatches(3, 1, "both"), -1), v1::NONE);
  WaitFor([&] { return ReplicaOf(cluster, 2, "t")->log_end_offset() == Offset(3); },
          "broker 2 to hold offsets 0-2");
  cluster.StopBroker(2);
  if (new_leader_epoch) {
    cluster.ElectLeader("t", 0, 1, {1});
  } else {
    WaitFor([&] { return Isr(cluster, "t").size() == 1; }, "broker 2 to leave the ISR");
  }
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(Produce(*stub, "t", MakeBatches(1, 5, "alone" + std::to_string(i)), 1), v1::NONE);
  }
  auto leader = ReplicaOf(cluster, 1, "t");
  WaitFor([&] { return leader->high_watermark() == leader->log_end_offset(); },
          "the leader's high watermark to reach its log end");
  ASSERT_TRUE(leader->log().ApplyRetention({.retention_ms = -1, .retention_bytes = 0}).ok());
  const Offset start = leader->log().log_start_offset();
  ASSERT_GT(start, Offset(3)) << "retention left what broker 2 needs";

  cluster.StartBroker(2);
  auto follower = ReplicaOf(cluster, 2, "t");
  WaitFor(
      [&] {
        return follower->log().log_start_offset() == start &&
               follower->log_end_offset() == leader->log_end_offset() &&
               follower->high_watermark() == leader->high_watermark();
      },
      "broker 2 to restart its log at the leader's log start and catch up");
  EXPECT_EQ(ReadAll(*follower, leader->log_end_offset()),
            ReadAll(*leader, leader->log_end_offset()));
  WaitFor([&] { return Isr(cluster, "t").size() == 2; }, "broker 2 to rejoin the ISR");
  ASSERT_EQ(Produce(*stub, "t", MakeBatches(1, 1, "together"), -1), v1::NONE);

  // The reset is on disk: a restarted broker 2 opens the log where it starts.
  cluster.StopBroker(2);
  cluster.StartBroker(2);
  follower = ReplicaOf(cluster, 2, "t");
  EXPECT_EQ(follower->log().log_start_offset(), start);
  WaitFor([&] { return follower->log_end_offset() == leader->log_end_offset(); },
          "the restarted broker 2 to catch up again");
  EXPECT_EQ(ReadAll(*follower, leader->log_end_offset()),
            ReadAll(*leader, leader->log_end_offset()));
}

TEST(ReplicationTest, FollowerBelowTheLeadersLogStartRestartsAtItAfterOffsetOutOfRange) {
  FollowerBelowTheLeadersLogStartRestartsThere(/*new_leader_epoch=*/false);
}

TEST(ReplicationTest, FollowerBelowTheLeadersLogStartRestartsAtItAfterADivergence) {
  FollowerBelowTheLeadersLogStartRestartsThere(/*new_leader_epoch=*/true);
}

// Broker 1 leads alone (broker 2 stopped) and commits offsets 3-7, so its
// high watermark is 8; then broker 2, which holds only 0-2, is elected
// uncleanly and appends offset 3 at epoch 1. Broker 1 returns as its
// follower with a high watermark (8) above the new leader's log end (4);
// epochs say the logs part at 3. It must truncate to 3, below its high
// watermark, and fetch on (before, it stopped at its high watermark and
// asked the same question forever).
TEST(ReplicationTest, FollowerAboveTheLeadersLogEndTruncatesBelowItsHwAfterAnUncleanElection) {
  BrokerServerOptions options;
  options.replica.replica_lag_time_max = absl::Milliseconds(300);
  options.isr_check_interval = absl::Milliseconds(20);
  TestCluster cluster(2, options);
  cluster.CreateTopic("t", {{1, 2}});
  ASSERT_EQ(Produce(*cluster.Stub(1), "t", MakeBatches(3, 1, "both"), -1), v1::NONE);
  WaitFor([&] { return ReplicaOf(cluster, 2, "t")->log_end_offset() == Offset(3); },
          "broker 2 to hold offsets 0-2");
  cluster.StopBroker(2);
  WaitFor([&] { return Isr(cluster, "t").size() == 1; }, "broker 2 to leave the ISR");
  ASSERT_EQ(Produce(*cluster.Stub(1), "t", MakeBatches(5, 1, "only-on-1"), -1), v1::NONE);
  ASSERT_EQ(ReplicaOf(cluster, 1, "t")->high_watermark(), Offset(8));
  cluster.StopBroker(1);

  cluster.StartBroker(2);
  cluster.ElectLeader("t", 0, 2, {2});  // Unclean: broker 2 lacks 3-7.
  ASSERT_EQ(Produce(*cluster.Stub(2), "t", MakeBatches(1, 1, "epoch-1"), 1), v1::NONE);
  auto leader = ReplicaOf(cluster, 2, "t");
  ASSERT_EQ(leader->log_end_offset(), Offset(4));

  cluster.StartBroker(1);
  auto follower = ReplicaOf(cluster, 1, "t");
  WaitFor(
      [&] {
        return follower->log_end_offset() == Offset(4) &&
               follower->high_watermark() == leader->high_watermark();
      },
      "broker 1 to truncate to 3 (below its high watermark 8) and copy offset 3");
  EXPECT_EQ(ReadAll(*follower, Offset(4)), ReadAll(*leader, Offset(4)));
  WaitFor([&] { return Isr(cluster, "t").size() == 2; }, "broker 1 to join the ISR");
  ASSERT_EQ(Produce(*cluster.Stub(2), "t", MakeBatches(2, 1, "together"), -1), v1::NONE);
  WaitFor([&] { return follower->high_watermark() == Offset(6); },
          "broker 1 to learn the high watermark 6");
  EXPECT_EQ(ReadAll(*follower, Offset(6)), ReadAll(*leader, Offset(6)));
}

// A follower whose log holds no leader epoch (it was restarted at offset
// 100) and ends past the leader's log end (3): the leader cannot compare
// epochs and answers OFFSET_OUT_OF_RANGE. The follower must cut back to the
// leader's log end (here below its own log start, so it restarts its log
// there) and keep fetching; before, it stopped fetching for good.
TEST(ReplicationTest, FollowerPastTheLeadersLogEndTruncatesToItAfterOffsetOutOfRange) {
  TestCluster cluster(2);
  cluster.CreateTopic("t", {{1, 2}});
  ASSERT_EQ(Produce(*cluster.Stub(1), "t", MakeBatches(3, 1, "both"), -1), v1::NONE);
  auto follower = ReplicaOf(cluster, 2, "t");
  WaitFor([&] { return follower->high_watermark() == Offset(3); },
          "broker 2 to hold offsets 0-2 and learn the high watermark");
  cluster.StopBroker(1);
  ASSERT_EQ(*follower->TruncateFullyAndStartAt(Offset(100)), Offset(100));
  ASSERT_EQ(follower->high_watermark(), Offset(100));
  ASSERT_FALSE(follower->log().latest_epoch().has_value());

  cluster.StartBroker(1);
  auto leader = ReplicaOf(cluster, 1, "t");
  WaitFor(
      [&] {
        return follower->log_end_offset() == Offset(3) &&
               follower->log().log_start_offset() == Offset(3);
      },
      "broker 2 to restart its log at the leader's log end 3");
  EXPECT_LE(follower->high_watermark(), leader->high_watermark());
  ASSERT_EQ(Produce(*cluster.Stub(1), "t", MakeBatches(2, 1, "after"), -1), v1::NONE);
  WaitFor(
      [&] {
        return follower->log_end_offset() == Offset(5) && follower->high_watermark() == Offset(5);
      },
      "broker 2 to fetch offsets 3-4 and learn the high watermark");
  EXPECT_EQ(ReadRange(*follower, Offset(3), Offset(5)), ReadRange(*leader, Offset(3), Offset(5)));
  EXPECT_EQ(Isr(cluster, "t").size(), 2u);
}

// An in-memory file system whose reads of files whose path contains the
// gated part wait while the gate is closed.
class GatedFileSystem final : public storage::FileSystem {
 public:
  void CloseGate(std::string path_part) {
    absl::MutexLock lock(&mu_);
    gated_part_ = std::move(path_part);
    blocked_reads_ = 0;
  }
  void OpenGate() {
    absl::MutexLock lock(&mu_);
    gated_part_.clear();
  }
  // True once a read is waiting at the gate.
  bool WaitForBlockedRead(absl::Duration limit) {
    absl::MutexLock lock(&mu_);
    auto blocked = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return blocked_reads_ > 0; };
    return mu_.AwaitWithTimeout(absl::Condition(&blocked), limit);
  }

  absl::StatusOr<std::unique_ptr<storage::File>> Open(const std::string& path,
                                                      storage::OpenMode mode) override {
    absl::StatusOr<std::unique_ptr<storage::File>> file = base_.Open(path, mode);
    if (!file.ok()) return file.status();
    return std::unique_ptr<storage::File>(new GatedFile(*this, path, *std::move(file)));
  }
  absl::Status Rename(const std::string& from, const std::string& to) override {
    return base_.Rename(from, to);
  }
  absl::Status Unlink(const std::string& path) override { return base_.Unlink(path); }
  absl::StatusOr<std::vector<std::string>> List(const std::string& dir) override {
    return base_.List(dir);
  }
  absl::Status SyncDir(const std::string& dir) override { return base_.SyncDir(dir); }
  absl::Status CreateDir(const std::string& dir) override { return base_.CreateDir(dir); }

 private:
  class GatedFile final : public storage::File {
   public:
    GatedFile(GatedFileSystem& fs, std::string path, std::unique_ptr<storage::File> file)
        : fs_(fs), path_(std::move(path)), file_(std::move(file)) {}
    absl::Status Append(std::string_view data) override { return file_->Append(data); }
    absl::StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* out) const override {
      fs_.PassGate(path_);
      return file_->ReadAt(offset, n, out);
    }
    absl::Status Truncate(uint64_t size) override { return file_->Truncate(size); }
    absl::Status Sync() override { return file_->Sync(); }
    uint64_t Size() const override { return file_->Size(); }

   private:
    GatedFileSystem& fs_;
    const std::string path_;
    const std::unique_ptr<storage::File> file_;
  };

  void PassGate(const std::string& path) {
    absl::MutexLock lock(&mu_);
    auto gated = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !gated_part_.empty() && path.find(gated_part_) != std::string::npos;
    };
    if (!gated()) return;
    ++blocked_reads_;
    auto open = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !gated(); };
    mu_.Await(absl::Condition(&open));
  }

  storage::FaultFileSystem base_;
  absl::Mutex mu_;
  std::string gated_part_ ABSL_GUARDED_BY(mu_);
  int blocked_reads_ ABSL_GUARDED_BY(mu_) = 0;
};

// One batch of one record with key `key`.
std::string KeyedBatch(const std::string& key, const std::string& value) {
  storage::RecordBatchBuilder b;
  b.Append(absl::ToUnixMillis(absl::Now()), key, value);
  absl::StatusOr<std::string> batch = b.Build();
  EXPECT_TRUE(batch.ok()) << batch.status();
  return batch.ok() ? *batch : "";
}

// Broker 2 holds offset 0 and stops; on broker 1 offset 1 (key k1) is
// overwritten by offset 2 and compacted away. Broker 2's next fetch, at 1,
// is answered from offset 2, the next batch there is: the follower must
// take it (its log keeps the gap) and fetch on. Before, it took the answer
// for a stale one and stopped fetching the partition.
TEST(ReplicationTest, FollowerFetchesAcrossAGapTheLeadersCompactionLeft) {
  BrokerServerOptions options;
  options.replica.replica_lag_time_max = absl::Milliseconds(300);
  options.isr_check_interval = absl::Milliseconds(20);
  TestCluster cluster(2, options);
  cluster.CreateTopic("t", {{1, 2}});
  auto stub = cluster.Stub(1);
  ASSERT_EQ(Produce(*stub, "t", KeyedBatch("k0", "a"), -1), v1::NONE);
  WaitFor([&] { return ReplicaOf(cluster, 2, "t")->log_end_offset() == Offset(1); },
          "broker 2 to hold offset 0");
  cluster.StopBroker(2);
  WaitFor([&] { return Isr(cluster, "t").size() == 1; }, "broker 2 to leave the ISR");
  ASSERT_EQ(Produce(*stub, "t", KeyedBatch("k1", "old"), 1), v1::NONE);
  ASSERT_EQ(Produce(*stub, "t", KeyedBatch("k1", "new"), 1), v1::NONE);
  auto leader = ReplicaOf(cluster, 1, "t");
  ASSERT_TRUE(leader->log().Roll().ok());
  ASSERT_EQ(Produce(*stub, "t", KeyedBatch("k2", "c"), -1), v1::NONE);
  WaitFor([&] { return leader->high_watermark() == leader->log_end_offset(); },
          "the leader's high watermark to reach its log end");
  ASSERT_TRUE(leader->log().Compact(storage::CompactionConfig{}).ok());
  absl::StatusOr<std::string> at_gap = leader->log().Read(Offset(1), 1 << 20);
  ASSERT_TRUE(at_gap.ok()) << at_gap.status();
  absl::StatusOr<storage::BatchHeader> next = storage::ParseBatchHeader(*at_gap);
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_EQ(next->base_offset, Offset(2)) << "compaction kept offset 1";

  cluster.StartBroker(2);
  auto follower = ReplicaOf(cluster, 2, "t");
  WaitFor(
      [&] {
        return follower->log_end_offset() == leader->log_end_offset() &&
               follower->high_watermark() == leader->high_watermark();
      },
      "broker 2 to fetch past the compacted gap at offset 1");
  EXPECT_EQ(ReadAll(*follower, leader->log_end_offset()),
            ReadAll(*leader, leader->log_end_offset()));
  WaitFor([&] { return Isr(cluster, "t").size() == 2; }, "broker 2 to rejoin the ISR");
}

// A follower adopts min(leader HW, its log end) as its high watermark, also
// when that is lower than its own (a new leader's HW can lag the old one's;
// after an unclean election it can stay lower): it never reports a HW above
// its leader's. A leader's HW never moves back this way.
TEST(FollowerHighWatermarkTest, FollowerAdoptsALowerLeaderHighWatermark) {
  storage::FaultFileSystem fs;
  ManualClock clock;
  testing::RecordingSender sender;
  auto make = [&](const std::string& dir, BrokerId local) {
    absl::StatusOr<std::unique_ptr<storage::PartitionLog>> log =
        storage::PartitionLog::Open(fs, clock, dir, {});
    EXPECT_TRUE(log.ok()) << log.status();
    return std::make_shared<Replica>(controller::Uuid{1, 2}, "t", PartitionId(0), local,
                                     *std::move(log), clock, ReplicaConfig{}, sender, [] {});
  };
  const PartitionState state{.leader_epoch = LeaderEpoch(1),
                             .partition_epoch = PartitionEpoch(1),
                             .leader = BrokerId(1),
                             .replicas = {BrokerId(1), BrokerId(2)},
                             .isr = {BrokerId(1), BrokerId(2)}};
  auto leader = make("/leader", BrokerId(1));
  auto follower = make("/follower", BrokerId(2));
  leader->BecomeLeader(state);
  follower->BecomeFollower(state);
  ASSERT_TRUE(leader->AppendRecords(MakeBatches(6, 1), false).ok());
  absl::StatusOr<std::string> bytes = leader->ReadForFollower(Offset(0), 1 << 20);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  ASSERT_TRUE(follower->AppendFromLeader(*bytes, Offset(5)).ok());
  EXPECT_EQ(follower->high_watermark(), Offset(5));
  ASSERT_TRUE(follower->AppendFromLeader("", Offset(2)).ok());
  EXPECT_EQ(follower->high_watermark(), Offset(2)) << "kept a HW above the leader's";
  ASSERT_TRUE(follower->AppendFromLeader("", Offset(9)).ok());
  EXPECT_EQ(follower->high_watermark(), Offset(6)) << "capped at its log end";

  // As leader, a stale follower-path call cannot lower it.
  follower->BecomeLeader({.leader_epoch = LeaderEpoch(2),
                          .partition_epoch = PartitionEpoch(2),
                          .leader = BrokerId(2),
                          .replicas = {BrokerId(1), BrokerId(2)},
                          .isr = {BrokerId(2)}});
  follower->UpdateHighWatermarkFromLeader(Offset(1));
  EXPECT_EQ(follower->high_watermark(), Offset(6));
}

// One leader (broker 1) with partitions t-0 and t-1 on a GatedFileSystem,
// its ReplicationService on loopback, and a ReplicaFetch stream to it that
// the test drives as broker 2.
class ReplicationSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KeepGrpcInitialized();
    const PartitionState state{.leader_epoch = LeaderEpoch(0),
                               .partition_epoch = PartitionEpoch(0),
                               .leader = BrokerId(1),
                               .replicas = {BrokerId(1), BrokerId(2)},
                               .isr = {BrokerId(1)}};
    for (int32_t p : {0, 1}) {
      absl::StatusOr<std::shared_ptr<Replica>> r =
          replicas_.GetOrCreate(kTopicId, "t", PartitionId(p));
      ASSERT_TRUE(r.ok()) << r.status();
      (*r)->BecomeLeader(state);
      partitions_.push_back(*r);
    }
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(port_, 0);
    stub_ = std::make_unique<v1::ReplicationService::Stub>(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials()));
    stream_ = stub_->ReplicaFetch(&ctx_);
  }
  void TearDown() override {
    fs_.OpenGate();
    ctx_.TryCancel();
    if (stream_) stream_->Finish();
    service_.Stop();
    if (server_) server_->Shutdown();
  }

  // The stream's first message, with a credit for t-<partition> at `fetch`.
  static v1::ReplicaFetchRequest First(int32_t partition, int64_t fetch) {
    v1::ReplicaFetchRequest first;
    first.set_replica_id(2);
    first.set_broker_epoch(1);
    first.set_cluster_id("cluster");
    first.set_max_bytes(1 << 20);
    first.set_partition_max_bytes(1 << 20);
    AddCredit(&first, partition, fetch);
    return first;
  }
  static void AddCredit(v1::ReplicaFetchRequest* request, int32_t partition, int64_t fetch) {
    auto* credit = request->add_partitions();
    kTopicId.ToProto(credit->mutable_topic_id());
    credit->set_partition(partition);
    credit->set_current_leader_epoch(0);
    credit->set_fetch_offset(fetch);
    credit->set_last_fetched_epoch(-1);
  }

  static constexpr controller::Uuid kTopicId{7, 9};
  static ReplicaManagerOptions Options() {
    ReplicaManagerOptions options{.local = BrokerId(1), .log_dir = "/logs"};
    options.replica.replica_lag_time_max = absl::Milliseconds(300);
    return options;
  }

  GatedFileSystem fs_;
  testing::RecordingSender sender_;
  ReplicaManager replicas_{fs_, SystemClock::Get(), Options(), sender_};
  std::vector<std::shared_ptr<Replica>> partitions_;
  ReplicationServiceImpl service_{replicas_, "cluster"};
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::ReplicationService::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::ReplicaFetchRequest, v1::ReplicaFetchResponse>>
      stream_;
};

// The session reads t-0 for a credit while a produce to t-1 wakes every
// session (replica change listeners). The produce must not wait for that
// read: before, the session read the log under the lock its listener takes.
TEST_F(ReplicationSessionTest, ReplicaListenersDoNotWaitBehindTheSendersLogRead) {
  ASSERT_TRUE(partitions_[0]->AppendRecords(MakeBatches(1, 1, "to-replicate"), false).ok());
  fs_.CloseGate("t-0");
  ASSERT_TRUE(stream_->Write(First(0, 0)));
  ASSERT_TRUE(fs_.WaitForBlockedRead(kWaitLimit)) << "the session never read t-0 for the credit";

  std::atomic<bool> produced{false};
  std::thread producer([&] {
    EXPECT_TRUE(partitions_[1]->AppendRecords(MakeBatches(1, 1, "other"), false).ok());
    produced = true;
  });
  WaitFor([&] { return produced.load(); },
          "a produce to t-1 to return while the session's read of t-0 is held");
  fs_.OpenGate();
  producer.join();

  v1::ReplicaFetchResponse response;
  ASSERT_TRUE(stream_->Read(&response));
  ASSERT_EQ(response.partitions_size(), 1);
  EXPECT_EQ(response.partitions(0).partition(), 0);
  EXPECT_EQ(response.partitions(0).error_code(), v1::NONE);
  EXPECT_FALSE(response.partitions(0).records().empty());
}

// A credit the follower replaces while the session reads for it is not
// answered (the follower would take that answer for its new credit); the
// new credit is answered instead, exactly once.
TEST_F(ReplicationSessionTest, ACreditReplacedDuringItsReadIsAnsweredOnlyForTheNewCredit) {
  ASSERT_TRUE(partitions_[0]->AppendRecords(MakeBatches(1, 1, "to-replicate"), false).ok());
  fs_.CloseGate("t-0");
  ASSERT_TRUE(stream_->Write(First(0, 0)));
  ASSERT_TRUE(fs_.WaitForBlockedRead(kWaitLimit)) << "the session never read t-0 for the credit";
  // Broker 2 now reports offset 1 (it got offset 0 elsewhere): a new credit.
  v1::ReplicaFetchRequest next;
  AddCredit(&next, 0, 1);
  ASSERT_TRUE(stream_->Write(next));
  WaitFor([&] { return partitions_[0]->MaxFollowerLag() == 0; },
          "the session to take broker 2's new credit at offset 1 during the read");
  fs_.OpenGate();

  v1::ReplicaFetchResponse response;
  ASSERT_TRUE(stream_->Read(&response));
  ASSERT_EQ(response.partitions_size(), 1);
  EXPECT_EQ(response.partitions(0).error_code(), v1::NONE);
  EXPECT_TRUE(response.partitions(0).records().empty())
      << "the records read for the replaced credit at offset 0 were sent";
  EXPECT_EQ(response.partitions(0).high_watermark(), partitions_[0]->high_watermark().value());
  // Nothing else is due: the next answer is the 500 ms empty one for the
  // credit broker 2 sends now, at offset 1 again.
  ASSERT_TRUE(stream_->Write(next));
  ASSERT_TRUE(stream_->Read(&response));
  ASSERT_EQ(response.partitions_size(), 1);
  EXPECT_TRUE(response.partitions(0).records().empty());
}

// Broker 2 reconnects: its new stream reports it caught up, then the old
// stream ends at the leader. That end must not mark broker 2 disconnected
// (before, it did, and an idle partition then dropped it from the ISR after
// replica.lag.time.max.ms although it was fetching).
TEST_F(ReplicationSessionTest, TheOldStreamOfAReconnectedFollowerDoesNotDisconnectIt) {
  Replica& p0 = *partitions_[0];
  ASSERT_TRUE(p0.AppendRecords(MakeBatches(1, 1), false).ok());
  ASSERT_TRUE(stream_->Write(First(0, 0)));  // The old stream, behind.
  // Its answer (the batch at 0) means the leader has taken its credit, so
  // that credit cannot land after the new stream's and set broker 2 back.
  v1::ReplicaFetchResponse old_answer;
  ASSERT_TRUE(stream_->Read(&old_answer));
  ASSERT_EQ(service_.open_streams(), 1);

  grpc::ClientContext new_ctx;
  auto new_stream = stub_->ReplicaFetch(&new_ctx);
  ASSERT_TRUE(new_stream->Write(First(0, 1)));  // Caught up: joins the ISR.
  WaitFor([&] { return sender_.pending() == 1; }, "the leader to propose broker 2 for the ISR");
  sender_.Accept(BrokerId(1), {BrokerId(1), BrokerId(2)});
  ASSERT_EQ(p0.isr(), (std::vector<BrokerId>{BrokerId(1), BrokerId(2)}));

  ctx_.TryCancel();
  WaitFor([&] { return service_.open_streams() == 1; }, "the old stream to end at the leader");
  // Past replica.lag.time.max.ms with nothing new: broker 2 is still caught
  // up on its open stream, so no shrink is proposed.
  absl::SleepFor(absl::Milliseconds(400));
  p0.MaybeShrinkIsr();
  EXPECT_EQ(sender_.pending(), 0u) << "broker 2 was proposed out of the ISR";

  new_ctx.TryCancel();
  new_stream->Finish();
}

}  // namespace
}  // namespace fjord::broker
