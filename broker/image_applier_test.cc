// ImageApplier against images built from metadata records: replicas the
// image assigns here are opened, and those it stops assigning (topic
// deleted, replica moved away) are closed and their files deleted, before a
// topic of the same name is created again.
#include "broker/image_applier.h"

#include "broker/test_util.h"
#include "common/clock.h"
#include "controller/image_test_util.h"
#include "gtest/gtest.h"
#include "storage/fault_file_system.h"

namespace fjord::broker {
namespace {

using controller::testing::Batch;
using controller::testing::PartitionRec;
using controller::testing::RegisterBrokerRec;
using controller::testing::RemoveTopicRec;
using controller::testing::ReplayAll;
using controller::testing::TopicRec;

class NoFollowers final : public FollowerRegistry {
 public:
  void Follow(std::shared_ptr<Replica>, BrokerId, std::string) override {}
  void Unfollow(const Replica&) override {}
};

class ImageApplierTest : public ::testing::Test {
 protected:
  std::vector<std::string> Files(const std::string& partition_dir) {
    auto names = fs_.List("/data/" + partition_dir);
    return names.ok() ? *names : std::vector<std::string>{};
  }
  void Append(const std::string& topic) {
    auto r = replicas_.Get(topic, PartitionId(0));
    ASSERT_NE(r, nullptr);
    std::string batch = testing::MakeBatch(3, 1000);
    ASSERT_TRUE(r->log().AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(0)).ok());
  }

  storage::FaultFileSystem fs_;
  ManualClock clock_{absl::FromUnixMillis(1000)};
  testing::RecordingSender sender_;
  ReplicaManager replicas_{fs_, clock_, {.local = BrokerId(1), .log_dir = "/data"}, sender_};
  NoFollowers followers_;
  ImageApplier applier_{replicas_, followers_, "PLAINTEXT"};
};

TEST_F(ImageApplierTest, DeletesTheFilesOfReplicasNoLongerAssignedHere) {
  const controller::Uuid a{1, 1}, b{2, 2};
  std::vector<v1::MetadataRecordBatch> log = {
      Batch({RegisterBrokerRec(1, 1, false), RegisterBrokerRec(2, 1, false)}),
      Batch({TopicRec("a", a), PartitionRec(a, 0, {1}, {1}, 1)}),
      Batch({TopicRec("b", b), PartitionRec(b, 0, {1, 2}, {1, 2}, 1)})};
  ASSERT_TRUE(applier_.Apply(*ReplayAll(log)).ok());
  Append("a");
  Append("b");
  EXPECT_FALSE(Files("a-0").empty());
  EXPECT_FALSE(Files("b-0").empty());

  // Topic a deleted; b-0 moved to broker 2 alone.
  log.push_back(Batch({RemoveTopicRec(a)}));
  log.push_back(Batch({PartitionRec(b, 0, {2}, {2}, 2)}));
  ASSERT_TRUE(applier_.Apply(*ReplayAll(log)).ok());
  EXPECT_EQ(replicas_.Get("a", PartitionId(0)), nullptr);
  EXPECT_EQ(replicas_.Get("b", PartitionId(0)), nullptr);
  EXPECT_TRUE(Files("a-0").empty()) << "deleted topic's files remain";
  EXPECT_TRUE(Files("b-0").empty()) << "moved-away replica's files remain";

  // a created again (a new topic id, the same directory): an empty log.
  const controller::Uuid a2{3, 3};
  log.push_back(Batch({TopicRec("a", a2), PartitionRec(a2, 0, {1}, {1}, 1)}));
  ASSERT_TRUE(applier_.Apply(*ReplayAll(log)).ok());
  auto again = replicas_.Get("a", PartitionId(0));
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->log().log_end_offset(), Offset(0));
}

TEST_F(ImageApplierTest, RecreatedTopicNeverSharesTheOldLog) {
  // Deleted and created again between two images the broker sees: the old
  // replica goes (and its files) before the new one opens the directory.
  const controller::Uuid old_id{1, 1}, new_id{2, 2};
  std::vector<v1::MetadataRecordBatch> log = {
      Batch({RegisterBrokerRec(1, 1, false)}),
      Batch({TopicRec("t", old_id), PartitionRec(old_id, 0, {1}, {1}, 1)})};
  ASSERT_TRUE(applier_.Apply(*ReplayAll(log)).ok());
  Append("t");
  log.push_back(Batch({RemoveTopicRec(old_id)}));
  log.push_back(Batch({TopicRec("t", new_id), PartitionRec(new_id, 0, {1}, {1}, 1)}));
  ASSERT_TRUE(applier_.Apply(*ReplayAll(log)).ok());
  auto now = replicas_.Get("t", PartitionId(0));
  ASSERT_NE(now, nullptr);
  EXPECT_EQ(now->topic_id(), new_id);
  EXPECT_EQ(now->log().log_end_offset(), Offset(0)) << "the new topic sees the old one's data";
}

}  // namespace
}  // namespace fjord::broker
