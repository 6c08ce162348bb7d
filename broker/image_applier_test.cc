// ImageApplier against images built from metadata records: replicas the
// image assigns here are opened, and those it stops assigning (topic
// deleted, replica moved away) are closed and their files deleted, before a
// topic of the same name is created again.
#include "broker/image_applier.h"

#include <filesystem>
#include <fstream>

#include "broker/test_util.h"
#include "common/clock.h"
#include "controller/image_test_util.h"
#include "gtest/gtest.h"
#include "storage/fault_file_system.h"
#include "storage/posix_file_system.h"

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

// The startup sweep, on a real directory: a previous run left replicas of
// topics "kept" and "gone", a crash left "gone-1.deleting", and other data
// sits beside them. "gone" was deleted while the broker was down.
class StartupSweepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = std::string(tmp != nullptr ? tmp : "/tmp") + "/sweep-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ReplicaManager before(fs_, clock_, {.local = BrokerId(1), .log_dir = dir_}, sender_);
    ImageApplier applier(before, followers_, "PLAINTEXT");
    ASSERT_TRUE(applier.Apply(*ReplayAll(log_)).ok());
    for (const char* topic : {"kept", "gone"}) {
      auto r = before.Get(topic, PartitionId(0));
      ASSERT_NE(r, nullptr);
      std::string batch = testing::MakeBatch(3, 1000);
      ASSERT_TRUE(r->log().AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(0)).ok());
    }
    before.CloseAll();
    std::filesystem::create_directories(dir_ + "/gone-1.deleting");
    std::ofstream(dir_ + "/gone-1.deleting/00000000000000000000.log") << "x";
    std::filesystem::create_directories(dir_ + "/raft");
    std::ofstream(dir_ + "/raft/CURRENT") << "MANIFEST-000001";
    std::ofstream(dir_ + "/meta.properties") << "node.id=1";
    std::filesystem::create_directories(dir_ + "/empty-3");
    // The deletion the broker missed, then this run's registration (its
    // epoch is the offset of that record).
    log_.push_back(Batch({RemoveTopicRec(gone_)}));
    log_.push_back(Batch({RegisterBrokerRec(1, 4, false)}));
  }
  bool Exists(const std::string& name) { return std::filesystem::exists(dir_ + "/" + name); }

  storage::PosixFileSystem& fs_ = storage::PosixFileSystem::Get();
  ManualClock clock_{absl::FromUnixMillis(1000)};
  testing::RecordingSender sender_;
  NoFollowers followers_;
  std::string dir_;
  const controller::Uuid kept_{1, 1}, gone_{2, 2};
  std::vector<v1::MetadataRecordBatch> log_ = {
      Batch({RegisterBrokerRec(1, 1, false)}),
      Batch({TopicRec("kept", kept_), PartitionRec(kept_, 0, {1}, {1}, 1)}),
      Batch({TopicRec("gone", gone_), PartitionRec(gone_, 0, {1}, {1}, 1)})};
};

TEST_F(StartupSweepTest, DeletesStrayDirectoriesOnceCaughtUpWithTheMetadata) {
  BrokerEpoch epoch(-1);
  ReplicaManager replicas(fs_, clock_, {.local = BrokerId(1), .log_dir = dir_}, sender_);
  ImageApplier applier(replicas, followers_, "PLAINTEXT", [&epoch] { return epoch; });

  // Not registered yet, then registered but shown an image from before the
  // registration (it holds the previous run's, epoch 1): nothing applies, no
  // sweep (the image may predate a topic on disk, or name this broker leader
  // at an epoch it led before it restarted).
  std::vector<v1::MetadataRecordBatch> early(log_.begin(), log_.begin() + 2);
  ASSERT_TRUE(applier.Apply(*ReplayAll(early)).ok());
  epoch = BrokerEpoch(4);
  ASSERT_TRUE(applier.Apply(*ReplayAll(early)).ok());
  EXPECT_EQ(replicas.Get("kept", PartitionId(0)), nullptr) << "acted on an image before catch-up";
  EXPECT_TRUE(Exists("gone-0"));
  EXPECT_TRUE(Exists("gone-1.deleting"));

  // Caught up: the image holds this run's registration (epoch 4).
  controller::ImagePtr image = ReplayAll(log_);
  ASSERT_TRUE(applier.Apply(*image).ok());
  EXPECT_FALSE(Exists("gone-0")) << "deleted topic's directory remains";
  EXPECT_FALSE(Exists("gone-1.deleting")) << "a crashed deletion remains";
  EXPECT_TRUE(Exists("kept-0"));
  EXPECT_TRUE(Exists("raft/CURRENT"));
  EXPECT_TRUE(Exists("meta.properties"));
  EXPECT_TRUE(Exists("empty-3")) << "a directory without log files is not a partition's";
  auto kept = replicas.Get("kept", PartitionId(0));
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->log().log_end_offset(), Offset(3)) << "the assigned replica lost data";

  // Once per process: later images do not sweep again.
  std::filesystem::create_directories(dir_ + "/later-0");
  std::ofstream(dir_ + "/later-0/00000000000000000000.log") << "";
  ASSERT_TRUE(applier.Apply(*image).ok());
  EXPECT_TRUE(Exists("later-0"));
  replicas.CloseAll();
}

TEST_F(StartupSweepTest, ATopicRecreatedWhileTheBrokerWasDownStartsEmpty) {
  // "kept" was deleted and created again (a new topic id, the same
  // directory name) while the broker was down: partition.metadata names the
  // old id, so the old records are not served as the new topic's.
  const controller::Uuid again{9, 9};
  log_.push_back(Batch({RemoveTopicRec(kept_)}));
  log_.push_back(Batch({TopicRec("kept", again), PartitionRec(again, 0, {1}, {1}, 1)}));
  ReplicaManager replicas(fs_, clock_, {.local = BrokerId(1), .log_dir = dir_}, sender_);
  ImageApplier applier(replicas, followers_, "PLAINTEXT");
  ASSERT_TRUE(applier.Apply(*ReplayAll(log_)).ok());
  auto kept = replicas.Get("kept", PartitionId(0));
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->topic_id(), again);
  EXPECT_EQ(kept->log().log_end_offset(), Offset(0)) << "the new topic serves the old records";
  auto metadata = storage::ReadWholeFile(fs_, dir_ + "/kept-0/partition.metadata");
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(*metadata, "version: 0\ntopic_id: " + again.ToString() + "\n");
  replicas.CloseAll();
}

TEST_F(StartupSweepTest, WithoutABrokerEpochNothingIsSwept) {
  ReplicaManager replicas(fs_, clock_, {.local = BrokerId(1), .log_dir = dir_}, sender_);
  ImageApplier applier(replicas, followers_, "PLAINTEXT");
  ASSERT_TRUE(applier.Apply(*ReplayAll(log_)).ok());
  EXPECT_TRUE(Exists("gone-0"));
  replicas.CloseAll();
}

}  // namespace
}  // namespace fjord::broker
