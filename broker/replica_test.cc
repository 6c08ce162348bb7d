#include "broker/replica.h"

#include <memory>
#include <string>

#include "broker/test_util.h"
#include "common/kafka_error.h"
#include "gtest/gtest.h"
#include "storage/fault_file_system.h"
#include "storage/record_batch_builder.h"

namespace fjord::broker {
namespace {

using testing::MakeBatches;
using testing::RecordingSender;

const BrokerId kB1{1}, kB2{2}, kB3{3};

class ReplicaTest : public ::testing::Test {
 protected:
  std::unique_ptr<Replica> Make(const std::string& dir, BrokerId local, ReplicaConfig config = {}) {
    auto log = storage::PartitionLog::Open(fs_, clock_, dir, {});
    EXPECT_TRUE(log.ok()) << log.status();
    return std::make_unique<Replica>(controller::Uuid{1, 2}, "t", PartitionId(0), local,
                                     *std::move(log), clock_, config, sender_,
                                     [this] { ++changes_; });
  }
  static PartitionState State(int32_t epoch, BrokerId leader, std::vector<BrokerId> isr,
                              std::vector<BrokerId> replicas = {kB1, kB2, kB3}) {
    return {.leader_epoch = LeaderEpoch(epoch),
            .partition_epoch = PartitionEpoch(epoch),
            .leader = leader,
            .replicas = std::move(replicas),
            .isr = std::move(isr)};
  }

  storage::FaultFileSystem fs_;
  ManualClock clock_;
  RecordingSender sender_;
  int changes_ = 0;
};

TEST_F(ReplicaTest, SingleReplicaLeaderAssignsOffsetsAndCommitsOnAppend) {
  auto r = Make("/p", kB1);
  r->BecomeLeader(State(1, kB1, {kB1}, {kB1}));
  auto a = r->AppendRecords(MakeBatches(2, 3), /*acks_all=*/true);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->base_offset, Offset(0));
  EXPECT_EQ(a->last_offset, Offset(5));
  EXPECT_EQ(r->high_watermark(), Offset(6));
  EXPECT_EQ(*r->IsReplicated(Offset(5), LeaderEpoch(1)), true);
  auto b = r->AppendRecords(MakeBatches(1, 1), true);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->base_offset, Offset(6));
  EXPECT_GE(changes_, 2);
}

TEST_F(ReplicaTest, HighWatermarkIsMinFlushedOffsetOverIsrInDurableMode) {
  auto r = Make("/p", kB1);
  r->BecomeLeader(State(1, kB1, {kB1, kB2, kB3}));
  ASSERT_TRUE(r->AppendRecords(MakeBatches(10, 1), true).ok());
  EXPECT_EQ(r->high_watermark(), Offset(0)) << "followers have not fetched";
  r->UpdateFollower(kB2, BrokerEpoch(5), Offset(10), Offset(10));
  EXPECT_EQ(r->high_watermark(), Offset(0)) << "broker 3 has nothing";
  r->UpdateFollower(kB3, BrokerEpoch(5), Offset(10), Offset(4));
  EXPECT_EQ(r->high_watermark(), Offset(4)) << "broker 3 fsynced only 4";
  EXPECT_FALSE(*r->IsReplicated(Offset(9), LeaderEpoch(1)));
  r->UpdateFollowerFlushed(kB3, Offset(10));
  EXPECT_EQ(r->high_watermark(), Offset(10));
  EXPECT_TRUE(*r->IsReplicated(Offset(9), LeaderEpoch(1)));
}

TEST_F(ReplicaTest, RelaxedModeCountsLogEndOffsets) {
  auto r = Make("/p", kB1, {.durability = DurabilityMode::kRelaxed});
  r->BecomeLeader(State(1, kB1, {kB1, kB2}));
  ASSERT_TRUE(r->AppendRecords(MakeBatches(10, 1), true).ok());
  r->UpdateFollower(kB2, BrokerEpoch(5), Offset(7), Offset(0));
  EXPECT_EQ(r->high_watermark(), Offset(7));
}

TEST_F(ReplicaTest, HighWatermarkNeverMovesBackward) {
  auto r = Make("/p", kB1);
  r->BecomeLeader(State(1, kB1, {kB1, kB2}));
  ASSERT_TRUE(r->AppendRecords(MakeBatches(10, 1), true).ok());
  r->UpdateFollower(kB2, BrokerEpoch(5), Offset(8), Offset(8));
  r->UpdateFollower(kB2, BrokerEpoch(5), Offset(3), Offset(3));
  EXPECT_EQ(r->high_watermark(), Offset(8));
}

TEST_F(ReplicaTest, MinInsyncReplicasRefusesAcksAllBeforeAppending) {
  auto r = Make("/p", kB1, {.min_insync_replicas = 2});
  r->BecomeLeader(State(1, kB1, {kB1}));
  auto a = r->AppendRecords(MakeBatches(1, 1), true);
  EXPECT_EQ(ToErrorCode(a.status()), v1::NOT_ENOUGH_REPLICAS);
  EXPECT_EQ(r->log_end_offset(), Offset(0)) << "nothing appended";
  EXPECT_TRUE(r->AppendRecords(MakeBatches(1, 1), false).ok()) << "acks=1 is allowed";
  EXPECT_TRUE(r->UnderMinIsr());
}

TEST_F(ReplicaTest, TopicMinInsyncReplicasOverridesTheBrokerDefault) {
  auto r = Make("/p", kB1, {.min_insync_replicas = 1});
  r->BecomeLeader(State(1, kB1, {kB1}));
  r->SetTopicSettings({.min_insync_replicas = 2});
  auto a = r->AppendRecords(MakeBatches(1, 1), true);
  EXPECT_EQ(ToErrorCode(a.status()), v1::NOT_ENOUGH_REPLICAS) << a.status();
  EXPECT_NE(a.status().message().find("min.insync.replicas 2"), std::string::npos) << a.status();
  EXPECT_TRUE(r->UnderMinIsr());
  r->SetTopicSettings({});
  EXPECT_TRUE(r->AppendRecords(MakeBatches(1, 1), true).ok()) << "back to the broker's 1";
  EXPECT_FALSE(r->UnderMinIsr());
}

TEST_F(ReplicaTest, TopicMaxMessageBytesOverridesTheBrokerLimit) {
  auto r = Make("/p", kB1);
  r->BecomeLeader(State(1, kB1, {kB1}));
  const std::string batch = MakeBatches(1, 4);
  r->SetTopicSettings({.max_message_bytes = batch.size() - 1});
  auto a = r->AppendRecords(batch, false);
  EXPECT_EQ(ToErrorCode(a.status()), v1::MESSAGE_TOO_LARGE) << a.status();
  EXPECT_NE(a.status().message().find("max.message.bytes"), std::string::npos) << a.status();
  EXPECT_EQ(r->log_end_offset(), Offset(0));
  r->SetTopicSettings({.max_message_bytes = batch.size()});
  EXPECT_TRUE(r->AppendRecords(batch, false).ok());
}

TEST_F(ReplicaTest, CompactedTopicRefusesRecordsWithoutKeyAndAppendsNothing) {
  auto r = Make("/p", kB1);
  r->BecomeLeader(State(1, kB1, {kB1}));
  r->SetTopicSettings({.compacted = true});
  for (storage::Compression codec : {storage::Compression::kNone, storage::Compression::kLz4}) {
    storage::RecordBatchBuilder b({.compression = codec});
    b.Append(1'700'000'000'000, "k", "keyed");
    b.Append(1'700'000'000'000, std::nullopt, "keyless");
    absl::StatusOr<std::string> keyless = b.Build();
    ASSERT_TRUE(keyless.ok()) << keyless.status();
    // A keyed batch in front: the request is refused whole.
    auto a = r->AppendRecords(MakeBatches(1, 2) + *keyless, true);
    EXPECT_EQ(ToErrorCode(a.status()), v1::INVALID_RECORD) << a.status();
    EXPECT_NE(a.status().message().find("without a key"), std::string::npos) << a.status();
    EXPECT_EQ(r->log_end_offset(), Offset(0)) << "nothing appended";
  }
  EXPECT_TRUE(r->AppendRecords(MakeBatches(2, 3), true).ok()) << "keyed records are fine";
  r->SetTopicSettings({});
  storage::RecordBatchBuilder b;
  b.Append(1'700'000'000'000, std::nullopt, "keyless");
  EXPECT_TRUE(r->AppendRecords(*b.Build(), true).ok()) << "delete policy takes keyless records";
}

TEST_F(ReplicaTest, IsrShrinkAfterAppendFailsWaitingAcksAll) {
  auto r = Make("/p", kB1, {.min_insync_replicas = 2});
  r->BecomeLeader(State(1, kB1, {kB1, kB2}, {kB1, kB2}));
  auto a = r->AppendRecords(MakeBatches(1, 1), true);
  ASSERT_TRUE(a.ok());
  clock_.Advance(absl::Seconds(31));
  r->MaybeShrinkIsr();
  ASSERT_EQ(sender_.pending(), 1u);
  EXPECT_EQ(sender_.last().isr.size(), 1u);
  EXPECT_EQ(sender_.last().partition_epoch, PartitionEpoch(1));
  sender_.Accept(kB1, {kB1, kB2});
  EXPECT_EQ(r->isr(), std::vector<BrokerId>{kB1});
  EXPECT_EQ(ToErrorCode(r->IsReplicated(a->last_offset, a->leader_epoch).status()),
            v1::NOT_ENOUGH_REPLICAS_AFTER_APPEND);
}

TEST_F(ReplicaTest, IsrKeepsCaughtUpFollowerAndDropsLaggingOne) {
  auto r = Make("/p", kB1);
  r->BecomeLeader(State(1, kB1, {kB1, kB2, kB3}));
  ASSERT_TRUE(r->AppendRecords(MakeBatches(4, 1), true).ok());
  r->UpdateFollower(kB2, BrokerEpoch(7), Offset(4), Offset(4));  // caught up, then idle
  r->UpdateFollower(kB3, BrokerEpoch(8), Offset(1), Offset(1));  // lagging
  clock_.Advance(absl::Seconds(29));
  r->MaybeShrinkIsr();
  EXPECT_EQ(sender_.pending(), 0u) << "within replica.lag.time.max.ms";
  clock_.Advance(absl::Seconds(2));
  r->MaybeShrinkIsr();
  ASSERT_EQ(sender_.pending(), 1u);
  IsrProposal p = sender_.last();
  ASSERT_EQ(p.isr.size(), 2u);
  EXPECT_EQ(p.isr[0].first, kB1);
  EXPECT_EQ(p.isr[1], std::make_pair(kB2, BrokerEpoch(7)));
  r->MaybeShrinkIsr();
  EXPECT_EQ(sender_.pending(), 1u) << "one proposal in flight at a time";
  sender_.Accept(kB1, {kB1, kB2, kB3});
  EXPECT_EQ(r->isr(), (std::vector<BrokerId>{kB1, kB2}));
  EXPECT_EQ(r->isr_shrinks(), 1);
  EXPECT_EQ(r->high_watermark(), Offset(4)) << "HW no longer waits for broker 3";
}

TEST_F(ReplicaTest, StoppedFollowerIsNotProposedBackFromOldProgress) {
  auto r = Make("/p", kB1);
  r->BecomeLeader(State(1, kB1, {kB1, kB2, kB3}));
  ASSERT_TRUE(r->AppendRecords(MakeBatches(1, 1), true).ok());
  r->UpdateFollower(kB2, BrokerEpoch(1), Offset(1), Offset(1));
  r->UpdateFollower(kB3, BrokerEpoch(1), Offset(1), Offset(1));
  r->FollowerDisconnected(kB3);
  // The controller dropped broker 3 (controlled shutdown).
  r->BecomeLeader({.leader_epoch = LeaderEpoch(1),
                   .partition_epoch = PartitionEpoch(2),
                   .leader = kB1,
                   .replicas = {kB1, kB2, kB3},
                   .isr = {kB1, kB2}});
  r->MaybeShrinkIsr();
  EXPECT_EQ(sender_.pending(), 0u) << "broker 3 is not fetching";
  ASSERT_TRUE(r->AppendRecords(MakeBatches(1, 1), true).ok());
  r->UpdateFollower(kB2, BrokerEpoch(1), Offset(2), Offset(2));
  EXPECT_EQ(r->high_watermark(), Offset(2)) << "the HW does not wait for broker 3";
}

TEST_F(ReplicaTest, DisconnectedIdleFollowerLeavesIsrAfterTheLagTime) {
  auto r = Make("/p", kB1);
  r->BecomeLeader(State(1, kB1, {kB1, kB2}, {kB1, kB2}));
  ASSERT_TRUE(r->AppendRecords(MakeBatches(2, 1), true).ok());
  r->UpdateFollower(kB2, BrokerEpoch(1), Offset(2), Offset(2));
  clock_.Advance(absl::Seconds(31));
  r->MaybeShrinkIsr();
  EXPECT_EQ(sender_.pending(), 0u) << "connected and caught up with an idle leader";
  r->FollowerDisconnected(kB2);
  r->MaybeShrinkIsr();
  ASSERT_EQ(sender_.pending(), 1u);
  EXPECT_EQ(sender_.last().isr.size(), 1u);
}

TEST_F(ReplicaTest, FollowerReachingHighWatermarkIsProposedForIsr) {
  auto r = Make("/p", kB1);
  r->BecomeLeader(State(1, kB1, {kB1, kB2}));
  ASSERT_TRUE(r->AppendRecords(MakeBatches(4, 1), true).ok());
  r->UpdateFollower(kB2, BrokerEpoch(1), Offset(4), Offset(4));
  r->UpdateFollower(kB3, BrokerEpoch(9), Offset(2), Offset(2));
  EXPECT_EQ(sender_.pending(), 0u) << "below the HW";
  r->UpdateFollower(kB3, BrokerEpoch(9), Offset(4), Offset(4));
  ASSERT_EQ(sender_.pending(), 1u);
  EXPECT_EQ(sender_.last().isr.back(), std::make_pair(kB3, BrokerEpoch(9)));
  sender_.Fail(KafkaError(v1::INVALID_UPDATE_VERSION, "stale"));
  EXPECT_EQ(r->isr().size(), 2u) << "a refused change does not apply";
  r->UpdateFollower(kB3, BrokerEpoch(9), Offset(4), Offset(4));
  EXPECT_EQ(sender_.pending(), 0u) << "not again within the retry backoff";
  clock_.Advance(Replica::kProposalRetryBackoff);
  r->UpdateFollower(kB3, BrokerEpoch(9), Offset(4), Offset(4));
  ASSERT_EQ(sender_.pending(), 1u) << "proposed again";
  sender_.Accept(kB1, {kB1, kB2, kB3});
  EXPECT_EQ(r->isr().size(), 3u);
  EXPECT_FALSE(r->UnderReplicated());
}

TEST_F(ReplicaTest, BadBatchesGetKafkaErrorsAndAppendNothing) {
  auto r = Make("/p", kB1, {.batch_limits = {.max_batch_bytes = 200}});
  r->BecomeLeader(State(1, kB1, {kB1}, {kB1}));
  std::string corrupt = MakeBatches(1, 1);
  corrupt[corrupt.size() - 1] ^= 0x55;
  EXPECT_EQ(ToErrorCode(r->AppendRecords(corrupt, false).status()), v1::CORRUPT_MESSAGE);
  EXPECT_EQ(ToErrorCode(r->AppendRecords("garbage", false).status()), v1::CORRUPT_MESSAGE);
  EXPECT_EQ(ToErrorCode(r->AppendRecords(MakeBatches(1, 1) + corrupt, false).status()),
            v1::CORRUPT_MESSAGE);
  EXPECT_EQ(ToErrorCode(r->AppendRecords(MakeBatches(1, 20, "v", 100), false).status()),
            v1::MESSAGE_TOO_LARGE);
  EXPECT_EQ(r->log_end_offset(), Offset(0));
}

TEST_F(ReplicaTest, LeaderEpochChecks) {
  auto r = Make("/p", kB1);
  r->BecomeLeader(State(3, kB1, {kB1}, {kB1}));
  EXPECT_TRUE(r->CheckLeader(LeaderEpoch(3)).ok());
  EXPECT_TRUE(r->CheckLeader(kNoLeaderEpoch).ok());
  EXPECT_EQ(ToErrorCode(r->CheckLeader(LeaderEpoch(2))), v1::FENCED_LEADER_EPOCH);
  EXPECT_EQ(ToErrorCode(r->CheckLeader(LeaderEpoch(4))), v1::UNKNOWN_LEADER_EPOCH);
  r->BecomeFollower(State(4, kB2, {kB2}, {kB1, kB2}));
  EXPECT_EQ(ToErrorCode(r->CheckLeader(LeaderEpoch(4))), v1::NOT_LEADER_OR_FOLLOWER);
  EXPECT_EQ(ToErrorCode(r->AppendRecords(MakeBatches(1, 1), false).status()),
            v1::NOT_LEADER_OR_FOLLOWER);
  r->BecomeLeader(State(3, kB1, {kB1}, {kB1}));
  EXPECT_EQ(r->role(), Replica::Role::kFollower) << "an older epoch is ignored";
}

TEST_F(ReplicaTest, ConsumerReadsStopAtHighWatermark) {
  auto r = Make("/p", kB1);
  r->BecomeLeader(State(1, kB1, {kB1, kB2}, {kB1, kB2}));
  ASSERT_TRUE(r->AppendRecords(MakeBatches(5, 1), false).ok());
  r->UpdateFollower(kB2, BrokerEpoch(1), Offset(2), Offset(2));
  auto read = r->ReadCommitted(Offset(0), 1 << 20);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->high_watermark, Offset(2));
  storage::BatchIterator it(read->records);
  int batches = 0;
  while (it.Next()) {
    EXPECT_LT(it.header().base_offset, Offset(2));
    ++batches;
  }
  EXPECT_EQ(batches, 2);
  EXPECT_TRUE(r->ReadCommitted(Offset(2), 1 << 20)->records.empty());
  EXPECT_TRUE(r->ReadCommitted(Offset(4), 1 << 20)->records.empty()) << "above HW, in the log";
  EXPECT_EQ(ToErrorCode(r->ReadCommitted(Offset(6), 100).status()), v1::OFFSET_OUT_OF_RANGE);
}

TEST_F(ReplicaTest, DiskFullFailsProduceWithStorageErrorAndReadsGoOn) {
  auto r = Make("/p", kB1);
  auto other = Make("/q", kB1);
  r->BecomeLeader(State(1, kB1, {kB1}, {kB1}));
  other->BecomeLeader(State(1, kB1, {kB1}, {kB1}));
  ASSERT_TRUE(r->AppendRecords(MakeBatches(2, 1), true).ok());
  ASSERT_TRUE(other->AppendRecords(MakeBatches(2, 1), true).ok());
  fs_.SetWriteBudget(10);
  auto a = r->AppendRecords(MakeBatches(1, 1), true);
  EXPECT_EQ(ToErrorCode(a.status()), v1::KAFKA_STORAGE_ERROR);
  EXPECT_EQ(r->high_watermark(), Offset(2)) << "nothing past the failure is committed";
  // Disk full: the partition takes no more writes but keeps serving what it
  // committed, and other partitions are untouched.
  EXPECT_EQ(ToErrorCode(r->AppendRecords(MakeBatches(1, 1), true).status()),
            v1::KAFKA_STORAGE_ERROR);
  auto committed = r->ReadCommitted(Offset(0), 1 << 20);
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_FALSE(committed->records.empty());
  auto read = other->ReadCommitted(Offset(0), 1 << 20);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_FALSE(read->records.empty());
}

TEST_F(ReplicaTest, FollowerCopiesLeaderAndTruncatesAtDivergenceNotBelowHw) {
  auto leader = Make("/leader", kB1);
  auto follower = Make("/follower", kB2);
  leader->BecomeLeader(State(1, kB1, {kB1, kB2}, {kB1, kB2}));
  follower->BecomeFollower(State(1, kB1, {kB1, kB2}, {kB1, kB2}));
  ASSERT_TRUE(leader->AppendRecords(MakeBatches(4, 1), false).ok());
  auto bytes = leader->ReadForFollower(Offset(0), 1 << 20);
  ASSERT_TRUE(bytes.ok());
  ASSERT_TRUE(follower->AppendFromLeader(*bytes, Offset(2)).ok());
  EXPECT_EQ(follower->log_end_offset(), Offset(4));
  EXPECT_EQ(follower->high_watermark(), Offset(2));
  // A new leader (broker 3) at epoch 2 whose epoch-1 history ends at 3.
  follower->BecomeFollower(State(2, kB3, {kB2, kB3}, {kB1, kB2, kB3}));
  auto end = follower->TruncateOnDivergence(LeaderEpoch(1), Offset(3));
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(*end, Offset(3));
  // A divergence below the HW truncates only down to the HW.
  end = follower->TruncateOnDivergence(LeaderEpoch(1), Offset(0));
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(*end, Offset(2));
}

}  // namespace
}  // namespace fjord::broker
