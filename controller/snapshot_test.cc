#include "controller/snapshot.h"

#include "common/random.h"
#include "controller/image_test_util.h"
#include "gtest/gtest.h"

namespace fjord::controller {
namespace {

using namespace fjord::controller::testing;

// A log with every record kind, including changes that a snapshot folds.
std::vector<v1::MetadataRecordBatch> SampleLog() {
  SeededRandom random(7);
  std::vector<v1::MetadataRecordBatch> log;
  log.push_back(Batch({RegisterBrokerRec(0, 1, true, "r1"), RegisterBrokerRec(1, 1, true, "r2"),
                       RegisterBrokerRec(2, 1, true, "r1")}));
  log.push_back(Batch({UnfenceRec(0, 1), UnfenceRec(1, 1), UnfenceRec(2, 1)}));
  std::vector<Uuid> ids;
  for (int t = 0; t < 40; ++t) {
    Uuid id = Uuid::Random(random);
    ids.push_back(id);
    std::vector<v1::MetadataRecord> records = {TopicRec("topic-" + std::to_string(t), id)};
    for (int p = 0; p < 30; ++p) {
      records.push_back(PartitionRec(id, p, {p % 3, (p + 1) % 3}, {p % 3, (p + 1) % 3}, p % 3));
    }
    log.push_back(Batch(records));
  }
  log.push_back(Batch({ChangeRec(ids[3], 4, std::vector<int32_t>{1}, 1)}));
  log.push_back(Batch({ConfigRec(v1::ConfigResource::TOPIC, "topic-5", "retention.ms", "5")}));
  log.push_back(Batch({ConfigRec(v1::ConfigResource::BROKER, "", "x", "y")}));
  log.push_back(Batch({RemoveTopicRec(ids[7])}));
  log.push_back(Batch({FenceRec(2, 1)}));
  v1::MetadataRecord pids;
  pids.mutable_producer_ids()->set_next_producer_id(2000);
  log.push_back(Batch({pids}));
  return log;
}

TEST(SnapshotTest, LoadOfWriteEqualsTheImageFromTheLog) {
  auto from_log = ReplayAll(SampleLog());
  std::string bytes = WriteSnapshot(*from_log, {.last_included_term = 3, .cluster_id = "c1"});
  auto loaded = LoadSnapshot(bytes, "c1");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(*loaded->image == *from_log);
  EXPECT_EQ(loaded->header.last_included_offset(), from_log->offset().value());
  EXPECT_EQ(loaded->header.last_included_term(), 3);
  EXPECT_EQ(loaded->header.record_count(), ImageRecordCount(*from_log));
  // Equal images give equal bytes.
  EXPECT_EQ(WriteSnapshot(*loaded->image, {.last_included_term = 3, .cluster_id = "c1"}), bytes);
}

TEST(SnapshotTest, ImagesThatDifferAreNotEqual) {
  auto log = SampleLog();
  auto a = ReplayAll(log);
  log.push_back(Batch({ChangeRec(a->topic_by_name("topic-1")->id, 0, {}, 1)}));
  auto b = ReplayAll(log);
  EXPECT_FALSE(*a == *b);
}

TEST(SnapshotTest, EmptyImageRoundTrips) {
  std::string bytes = WriteSnapshot(*MetadataImage::Empty(), {});
  auto loaded = LoadSnapshot(bytes);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(*loaded->image == *MetadataImage::Empty());
}

TEST(SnapshotTest, RejectsOtherClusterTruncationAndBadVersion) {
  auto image = ReplayAll(SampleLog());
  std::string bytes = WriteSnapshot(*image, {.cluster_id = "c1"});
  EXPECT_FALSE(LoadSnapshot(bytes, "c2").ok());
  EXPECT_FALSE(LoadSnapshot(bytes.substr(0, bytes.size() - 10)).ok());
  EXPECT_FALSE(LoadSnapshot("\x05garbage").ok());
  // A missing trailing batch is caught by the record count.
  v1::MetadataSnapshotHeader header;
  header.set_version(1);
  header.set_record_count(5);
  std::string only_header;
  only_header.push_back(static_cast<char>(header.ByteSizeLong()));
  only_header += header.SerializeAsString();
  EXPECT_FALSE(LoadSnapshot(only_header).ok());
  header.set_version(2);
  header.set_record_count(0);
  std::string v2;
  v2.push_back(static_cast<char>(header.ByteSizeLong()));
  v2 += header.SerializeAsString();
  EXPECT_FALSE(LoadSnapshot(v2).ok());
}

}  // namespace
}  // namespace fjord::controller
