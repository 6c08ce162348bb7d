#include "broker/log_cleaner.h"

#include <map>
#include <string>
#include <utility>

#include "broker/test_util.h"
#include "controller/image_test_util.h"
#include "gtest/gtest.h"
#include "storage/fault_file_system.h"
#include "storage/record_batch_builder.h"

namespace fjord::broker {
namespace {

using controller::testing::Batch;
using controller::testing::ConfigRec;
using controller::testing::ReplayAll;
using controller::testing::TopicRec;

constexpr BrokerId kLocal{1};

class RecordingObserver final : public RequestObserver {
 public:
  void OnRequest(Rpc, absl::Duration, int64_t, int64_t) override {}
  void OnDirtyRatio(const std::string& topic, int32_t partition, double ratio) override {
    ratios[{topic, partition}] = ratio;
  }
  void OnLogCleaned(const std::string& topic, int32_t, int64_t bytes_read, int64_t) override {
    ++runs[topic];
    bytes += bytes_read;
  }
  std::map<std::pair<std::string, int32_t>, double> ratios;
  std::map<std::string, int> runs;
  int64_t bytes = 0;
};

class LogCleanerTest : public ::testing::Test {
 protected:
  LogCleanerTest() {
    ReplicaManagerOptions o{.local = kLocal, .log_dir = "/data"};
    o.log.segment_bytes = 600;
    o.log.flush_policy = storage::FlushPolicy::kNever;
    replicas_ = std::make_unique<ReplicaManager>(fs_, clock_, o, sender_);
  }

  // Publishes topics "compacted" (compact, ratio 0.5), "both"
  // (compact,delete) and "plain" (no overrides: delete).
  void PublishImage() {
    using T = v1::ConfigResource;
    metadata_.Publish(ReplayAll({Batch({
        TopicRec("compacted", {1, 1}),
        TopicRec("both", {2, 2}),
        TopicRec("plain", {3, 3}),
        ConfigRec(T::TOPIC, "compacted", "cleanup.policy", "compact"),
        ConfigRec(T::TOPIC, "compacted", "delete.retention.ms", "1000"),
        ConfigRec(T::TOPIC, "both", "cleanup.policy", "compact,delete"),
        ConfigRec(T::TOPIC, "both", "retention.ms", "3600000"),
        ConfigRec(T::TOPIC, "both", "min.cleanable.dirty.ratio", "0.9"),
        ConfigRec(T::TOPIC, "plain", "retention.ms", "3600000"),
    })}));
  }

  // A leader replica with `segments` closed segments of records that all
  // rewrite the same `keys` keys, plus an empty active segment.
  std::shared_ptr<Replica> Fill(const std::string& topic, controller::Uuid id, int segments,
                                int keys) {
    std::shared_ptr<Replica> r = *replicas_->GetOrCreate(id, topic, PartitionId(0));
    r->BecomeLeader(PartitionState{.leader_epoch = LeaderEpoch(1),
                                   .partition_epoch = PartitionEpoch(1),
                                   .leader = kLocal,
                                   .replicas = {kLocal},
                                   .isr = {kLocal}});
    for (int s = 0; s < segments; ++s) {
      storage::RecordBatchBuilder b;
      for (int k = 0; k < keys; ++k) {
        b.Append(absl::ToUnixMillis(clock_.Wall()), absl::StrCat("key", k),
                 absl::StrCat("value-", s));
      }
      EXPECT_TRUE(r->AppendRecords(*b.Build(), /*acks_all=*/false).ok());
      EXPECT_TRUE(r->log().Roll().ok());
    }
    EXPECT_TRUE(r->log().SetHighWatermark(r->log_end_offset()).ok());
    return r;
  }

  storage::FaultFileSystem fs_;
  ManualClock clock_;
  testing::RecordingSender sender_;
  std::unique_ptr<ReplicaManager> replicas_;
  MetadataCache metadata_{"cluster"};
  RecordingObserver observer_;
};

TEST_F(LogCleanerTest, ResolvesTopicConfigsOverKafkaDefaults) {
  PublishImage();
  auto plain = ResolveCleanupPolicy(*metadata_.image(), "plain", 12345);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE(plain->compact);
  EXPECT_TRUE(plain->delete_old);
  EXPECT_EQ(plain->retention.retention_ms, 3600000);
  EXPECT_EQ(plain->retention.retention_bytes, -1);
  EXPECT_EQ(plain->compaction.segment_bytes, 12345);
  EXPECT_EQ(plain->compaction.delete_retention_ms, 86400000);
  EXPECT_DOUBLE_EQ(plain->compaction.min_cleanable_dirty_ratio, 0.5);
  auto both = ResolveCleanupPolicy(*metadata_.image(), "both", 12345);
  ASSERT_TRUE(both.ok());
  EXPECT_TRUE(both->compact);
  EXPECT_TRUE(both->delete_old);
  EXPECT_DOUBLE_EQ(both->compaction.min_cleanable_dirty_ratio, 0.9);
  auto compacted = ResolveCleanupPolicy(*metadata_.image(), "compacted", 12345);
  ASSERT_TRUE(compacted.ok());
  EXPECT_TRUE(compacted->compact);
  EXPECT_FALSE(compacted->delete_old);
  EXPECT_EQ(compacted->compaction.delete_retention_ms, 1000);
  // Unknown topic: Kafka's defaults.
  auto unknown = ResolveCleanupPolicy(*metadata_.image(), "nope", 1);
  ASSERT_FALSE(unknown.ok());  // segment.bytes 1 is below a batch header
}

TEST_F(LogCleanerTest, CleansTheDirtiestCompactedPartitionAboveItsRatio) {
  PublishImage();
  std::shared_ptr<Replica> compacted = Fill("compacted", {1, 1}, 4, 5);
  std::shared_ptr<Replica> both = Fill("both", {2, 2}, 4, 5);
  std::shared_ptr<Replica> plain = Fill("plain", {3, 3}, 4, 5);
  LogCleaner cleaner(*replicas_, metadata_, clock_, {}, &observer_);

  auto first = cleaner.CleanOnce();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->has_value());
  // Both compacted topics are 100% dirty; "both" (ratio 0.9) is eligible
  // too, and the first of equals wins; the delete-only topic is never
  // considered.
  const std::string cleaned_topic = (*first)->topic;
  EXPECT_TRUE(cleaned_topic == "compacted" || cleaned_topic == "both") << cleaned_topic;
  EXPECT_DOUBLE_EQ((*first)->dirty_ratio, 1.0);
  EXPECT_EQ((*first)->stats.records_kept, 5);
  EXPECT_EQ((*first)->stats.records_dropped, 15);
  EXPECT_FALSE(observer_.ratios.count({"plain", 0}));
  auto second = cleaner.CleanOnce();
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(second->has_value());
  EXPECT_NE((*second)->topic, cleaned_topic);
  // Nothing dirty any more: no third cleaning.
  auto third = cleaner.CleanOnce();
  ASSERT_TRUE(third.ok());
  EXPECT_FALSE(third->has_value());
  EXPECT_EQ(observer_.runs["compacted"], 1);
  EXPECT_EQ(observer_.runs["both"], 1);
  EXPECT_GT(observer_.bytes, 0);
  EXPECT_DOUBLE_EQ((observer_.ratios[{"compacted", 0}]), 0.0);

  // New writes make both about 60% dirty: below "both"'s 0.9, so it waits;
  // "compacted" at the same ratio is cleaned (above its 0.5).
  for (const auto& r : {compacted, both}) {
    storage::RecordBatchBuilder b;
    for (int k = 0; k < 5; ++k) b.Append(0, absl::StrCat("key", k), "a-newer-longer-value");
    ASSERT_TRUE(r->AppendRecords(*b.Build(), false).ok());
    ASSERT_TRUE(r->log().Roll().ok());
    ASSERT_TRUE(r->log().SetHighWatermark(r->log_end_offset()).ok());
  }
  auto fourth = cleaner.CleanOnce();
  ASSERT_TRUE(fourth.ok());
  ASSERT_TRUE(fourth->has_value());
  EXPECT_EQ((*fourth)->topic, "compacted");
  EXPECT_NEAR((observer_.ratios[{"both", 0}]), 0.6, 0.1);
  auto fifth = cleaner.CleanOnce();
  ASSERT_TRUE(fifth.ok());
  EXPECT_FALSE(fifth->has_value());
}

TEST_F(LogCleanerTest, RetentionOnlyForDeletePolicies) {
  PublishImage();
  std::shared_ptr<Replica> compacted = Fill("compacted", {1, 1}, 3, 2);
  std::shared_ptr<Replica> both = Fill("both", {2, 2}, 3, 2);
  std::shared_ptr<Replica> plain = Fill("plain", {3, 3}, 3, 2);
  LogCleaner cleaner(*replicas_, metadata_, clock_, {}, &observer_);
  EXPECT_EQ(cleaner.RetentionOnce(), 0);
  clock_.Advance(absl::Hours(2));  // past retention.ms = 1 h
  EXPECT_EQ(cleaner.RetentionOnce(), 6);
  EXPECT_EQ(plain->log().log_start_offset(), Offset(6));
  EXPECT_EQ(both->log().log_start_offset(), Offset(6));
  EXPECT_EQ(compacted->log().log_start_offset(), Offset(0));
}

TEST_F(LogCleanerTest, ThreadRunsAndStops) {
  PublishImage();
  Fill("compacted", {1, 1}, 3, 4);
  LogCleaner cleaner(*replicas_, metadata_, SystemClock::Get(), {.backoff = absl::Milliseconds(5)},
                     &observer_);
  cleaner.Start();
  for (int i = 0; i < 2000 && observer_.runs.empty(); ++i) absl::SleepFor(absl::Milliseconds(5));
  cleaner.Stop();
  EXPECT_EQ(observer_.runs["compacted"], 1) << "the cleaner thread never cleaned within 10 s";
}

}  // namespace
}  // namespace fjord::broker
