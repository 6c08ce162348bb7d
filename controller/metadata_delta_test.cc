#include "controller/metadata_delta.h"

#include "controller/image_test_util.h"
#include "gtest/gtest.h"

namespace fjord::controller {
namespace {

using namespace fjord::controller::testing;

const Uuid kFoo{1, 100};
const Uuid kBar{1, 200};

std::shared_ptr<const MetadataImage> ThreeBrokersAndFoo() {
  return ReplayAll({
      Batch({RegisterBrokerRec(0, 1, false), RegisterBrokerRec(1, 1, false),
             RegisterBrokerRec(2, 1, false)}),
      Batch({TopicRec("foo", kFoo), PartitionRec(kFoo, 0, {0, 1, 2}, {0, 1, 2}, 0),
             PartitionRec(kFoo, 1, {1, 2, 0}, {1, 2, 0}, 1)}),
  });
}

TEST(MetadataDeltaTest, EmptyImageHasOffsetMinusOne) {
  auto image = MetadataImage::Empty();
  EXPECT_EQ(image->offset(), Offset(-1));
  EXPECT_TRUE(image->brokers().empty());
  EXPECT_EQ(image->partition_count(), 0);
}

TEST(MetadataDeltaTest, ReplaysTopicsAndPartitions) {
  auto image = ThreeBrokersAndFoo();
  EXPECT_EQ(image->offset(), Offset(2));
  ASSERT_NE(image->topic_by_name("foo"), nullptr);
  EXPECT_EQ(image->topic_by_name("foo")->id, kFoo);
  EXPECT_EQ(image->partition_count(), 2);
  const PartitionRegistration* p = image->partition(kFoo, PartitionId(1));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->leader, BrokerId(1));
  EXPECT_EQ(p->replicas, (std::vector<BrokerId>{BrokerId(1), BrokerId(2), BrokerId(0)}));
}

TEST(MetadataDeltaTest, PartitionChangeBumpsPartitionEpochAlwaysAndLeaderEpochWithLeader) {
  MetadataDelta delta(ThreeBrokersAndFoo());
  ASSERT_TRUE(
      delta.ReplayBatch(Batch({ChangeRec(kFoo, 0, std::vector<int32_t>{0, 1}, {})}), Offset(3))
          .ok());
  const auto* p = delta.image().partition(kFoo, PartitionId(0));
  EXPECT_EQ(p->partition_epoch, PartitionEpoch(1));
  EXPECT_EQ(p->leader_epoch, LeaderEpoch(0));
  EXPECT_EQ(p->isr, (std::vector<BrokerId>{BrokerId(0), BrokerId(1)}));
  // Re-electing the same leader still bumps the leader epoch.
  ASSERT_TRUE(delta.ReplayBatch(Batch({ChangeRec(kFoo, 0, {}, 0)}), Offset(4)).ok());
  p = delta.image().partition(kFoo, PartitionId(0));
  EXPECT_EQ(p->partition_epoch, PartitionEpoch(2));
  EXPECT_EQ(p->leader_epoch, LeaderEpoch(1));
}

TEST(MetadataDeltaTest, ApplyLeavesEarlierImagesUntouched) {
  auto base = ThreeBrokersAndFoo();
  MetadataDelta delta(base);
  ASSERT_TRUE(delta.ReplayBatch(Batch({ChangeRec(kFoo, 0, {}, 1)}), Offset(3)).ok());
  auto first = delta.Apply();
  ASSERT_TRUE(delta.ReplayBatch(Batch({ChangeRec(kFoo, 0, {}, 2)}), Offset(4)).ok());
  auto second = delta.Apply();
  EXPECT_EQ(base->partition(kFoo, PartitionId(0))->leader, BrokerId(0));
  EXPECT_EQ(first->partition(kFoo, PartitionId(0))->leader, BrokerId(1));
  EXPECT_EQ(second->partition(kFoo, PartitionId(0))->leader, BrokerId(2));
  EXPECT_EQ(first->offset(), Offset(3));
  // Structural sharing: the untouched partition is the same object.
  EXPECT_EQ(base->topic(kFoo)->partitions[1].get(), second->topic(kFoo)->partitions[1].get());
}

TEST(MetadataDeltaTest, FenceWithStaleEpochIsIgnored) {
  MetadataDelta delta(ThreeBrokersAndFoo());
  ASSERT_TRUE(delta.ReplayBatch(Batch({FenceRec(0, 999)}), Offset(3)).ok());
  EXPECT_FALSE(delta.image().broker(BrokerId(0))->fenced);
  ASSERT_TRUE(delta.ReplayBatch(Batch({FenceRec(0, 1)}), Offset(4)).ok());
  EXPECT_TRUE(delta.image().broker(BrokerId(0))->fenced);
  ASSERT_TRUE(delta.ReplayBatch(Batch({UnfenceRec(0, 1)}), Offset(5)).ok());
  EXPECT_FALSE(delta.image().broker(BrokerId(0))->fenced);
}

TEST(MetadataDeltaTest, UnfenceWithStaleEpochIsAnError) {
  MetadataDelta delta(ThreeBrokersAndFoo());
  EXPECT_FALSE(delta.ReplayBatch(Batch({UnfenceRec(0, 999)}), Offset(3)).ok());
}

TEST(MetadataDeltaTest, ReRegistrationMustRaiseTheEpoch) {
  MetadataDelta delta(ThreeBrokersAndFoo());
  EXPECT_TRUE(delta.ReplayBatch(Batch({RegisterBrokerRec(0, 5)}), Offset(3)).ok());
  EXPECT_EQ(delta.image().broker(BrokerId(0))->epoch, BrokerEpoch(5));
  EXPECT_TRUE(delta.image().broker(BrokerId(0))->fenced);
  EXPECT_FALSE(delta.ReplayBatch(Batch({RegisterBrokerRec(0, 5)}), Offset(4)).ok());
}

TEST(MetadataDeltaTest, UnknownRecordKindStopsReplay) {
  MetadataDelta delta(ThreeBrokersAndFoo());
  absl::Status status = delta.ReplayBatch(Batch({v1::MetadataRecord()}), Offset(3));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
}

TEST(MetadataDeltaTest, RejectsBrokenLogs) {
  auto base = ThreeBrokersAndFoo();
  std::vector<std::pair<std::string, v1::MetadataRecord>> bad = {
      {"duplicate topic name", TopicRec("foo", kBar)},
      {"duplicate topic id", TopicRec("bar", kFoo)},
      {"reserved topic id", TopicRec("bar", Uuid::Reserved())},
      {"partition of unknown topic", PartitionRec(kBar, 0, {0}, {0}, 0)},
      {"partition gap", PartitionRec(kFoo, 3, {0}, {0}, 0)},
      {"isr not in replicas", PartitionRec(kFoo, 2, {0}, {0, 1}, 0)},
      {"leader not a replica", PartitionRec(kFoo, 2, {0}, {0}, 1)},
      {"duplicate replica", PartitionRec(kFoo, 2, {0, 0}, {0}, 0)},
      {"change of unknown partition", ChangeRec(kFoo, 7, {}, 0)},
      {"change leader outside replicas", ChangeRec(kFoo, 0, {}, 9)},
      {"remove unknown topic", RemoveTopicRec(kBar)},
      {"config of unknown type", ConfigRec(v1::ConfigResource::UNKNOWN, "x", "k", "v")},
  };
  for (const auto& [what, record] : bad) {
    MetadataDelta delta(base);
    EXPECT_FALSE(delta.ReplayBatch(Batch({record}), Offset(3)).ok()) << what;
  }
}

TEST(MetadataDeltaTest, OffsetsMustIncreaseAndBatchesMustNotBeEmpty) {
  MetadataDelta delta(ThreeBrokersAndFoo());
  v1::MetadataRecord noop;
  noop.mutable_no_op();
  EXPECT_FALSE(delta.ReplayBatch(Batch({noop}), Offset(2)).ok());
  EXPECT_FALSE(delta.ReplayBatch(v1::MetadataRecordBatch(), Offset(3)).ok());
}

TEST(MetadataDeltaTest, RemoveTopicDropsPartitionsNameAndConfigs) {
  MetadataDelta delta(ThreeBrokersAndFoo());
  ASSERT_TRUE(
      delta
          .ReplayBatch(Batch({ConfigRec(v1::ConfigResource::TOPIC, "foo", "retention.ms", "1000")}),
                       Offset(3))
          .ok());
  ConfigResourceKey key{v1::ConfigResource::TOPIC, "foo"};
  EXPECT_EQ(delta.image().config(key, "retention.ms"), "1000");
  ASSERT_TRUE(delta.ReplayBatch(Batch({RemoveTopicRec(kFoo)}), Offset(4)).ok());
  EXPECT_EQ(delta.image().topic(kFoo), nullptr);
  EXPECT_EQ(delta.image().topic_by_name("foo"), nullptr);
  EXPECT_EQ(delta.image().configs(key), nullptr);
  EXPECT_EQ(delta.image().partition_count(), 0);
  // The name can be reused with a new id.
  EXPECT_TRUE(delta.ReplayBatch(Batch({TopicRec("foo", kBar)}), Offset(5)).ok());
}

TEST(MetadataDeltaTest, ConfigSetAndDelete) {
  MetadataDelta delta(MetadataImage::Empty());
  ConfigResourceKey key{v1::ConfigResource::BROKER, ""};
  ASSERT_TRUE(
      delta.ReplayBatch(Batch({ConfigRec(v1::ConfigResource::BROKER, "", "a", "1")}), Offset(1))
          .ok());
  EXPECT_EQ(delta.image().config(key, "a"), "1");
  ASSERT_TRUE(
      delta.ReplayBatch(Batch({ConfigRec(v1::ConfigResource::BROKER, "", "a", {})}), Offset(2))
          .ok());
  EXPECT_EQ(delta.image().configs(key), nullptr);
}

TEST(MetadataDeltaTest, ProducerIdsMustIncrease) {
  MetadataDelta delta(MetadataImage::Empty());
  v1::MetadataRecord r;
  r.mutable_producer_ids()->set_next_producer_id(1000);
  ASSERT_TRUE(delta.ReplayBatch(Batch({r}), Offset(1)).ok());
  EXPECT_EQ(delta.image().next_producer_id(), 1000);
  EXPECT_FALSE(delta.ReplayBatch(Batch({r}), Offset(2)).ok());
}

TEST(MetadataDeltaTest, ControlledShutdownAndUnregister) {
  MetadataDelta delta(ThreeBrokersAndFoo());
  v1::MetadataRecord change;
  change.mutable_broker_registration_change()->set_broker_id(2);
  change.mutable_broker_registration_change()->set_broker_epoch(1);
  change.mutable_broker_registration_change()->set_in_controlled_shutdown(true);
  ASSERT_TRUE(delta.ReplayBatch(Batch({change}), Offset(3)).ok());
  EXPECT_TRUE(delta.image().broker(BrokerId(2))->in_controlled_shutdown);
  EXPECT_FALSE(delta.image().broker(BrokerId(2))->active());
  v1::MetadataRecord unregister;
  unregister.mutable_unregister_broker()->set_broker_id(2);
  unregister.mutable_unregister_broker()->set_broker_epoch(1);
  ASSERT_TRUE(delta.ReplayBatch(Batch({unregister}), Offset(4)).ok());
  EXPECT_EQ(delta.image().broker(BrokerId(2)), nullptr);
}

}  // namespace
}  // namespace fjord::controller
