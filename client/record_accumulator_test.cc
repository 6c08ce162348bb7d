#include "client/record_accumulator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"

namespace fjord::client {
namespace {

const TopicPartition kTp{"orders", 0};
const TopicPartition kTp1{"orders", 1};
constexpr int32_t kLeader = 1;

class AccumulatorTest : public ::testing::Test {
 protected:
  RecordAccumulator::Options Options() {
    RecordAccumulator::Options options;
    options.batch_size = 1024;
    options.linger = absl::Milliseconds(10);
    options.buffer_memory = 64 * 1024;
    options.max_block = absl::Milliseconds(50);
    options.delivery_timeout = absl::Seconds(5);
    options.retry_backoff = absl::Milliseconds(100);
    options.max_in_flight_per_partition = 1;
    return options;
  }

  absl::Status Send(RecordAccumulator& acc, const TopicPartition& tp, std::string value,
                    std::vector<absl::StatusOr<RecordMetadata>>* results = nullptr) {
    return acc
        .Append(tp, 1000, std::nullopt, value, {},
                RecordCompletion{[results](const absl::StatusOr<RecordMetadata>& r) {
                  if (results) results->push_back(r);
                }})
        .status();
  }

  ManualClock clock_;
};

TEST_F(AccumulatorTest, BatchWaitsForLingerThenBecomesReady) {
  RecordAccumulator acc(Options(), clock_);
  ASSERT_TRUE(Send(acc, kTp, "v").ok());
  auto check = acc.Ready();
  EXPECT_TRUE(check.ready.empty());
  EXPECT_EQ(check.next_check, absl::Milliseconds(10));
  clock_.Advance(absl::Milliseconds(10));
  check = acc.Ready();
  ASSERT_EQ(check.ready.size(), 1u);
  EXPECT_EQ(check.ready[0], kTp);
}

TEST_F(AccumulatorTest, AppendReportsNewAndFullBatches) {
  RecordAccumulator acc(Options(), clock_);
  auto first = acc.Append(kTp, 0, std::nullopt, std::string(400, 'x'), {}, {});
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->new_batch);
  EXPECT_FALSE(first->batch_full);
  auto second = acc.Append(kTp, 0, std::nullopt, std::string(400, 'x'), {}, {});
  EXPECT_FALSE(second->new_batch);
  auto third = acc.Append(kTp, 0, std::nullopt, std::string(400, 'x'), {}, {});
  EXPECT_TRUE(third->new_batch);   // 1200 bytes would pass batch.size=1024
  EXPECT_TRUE(third->batch_full);  // two batches queued: the first can go
}

TEST_F(AccumulatorTest, FullBatchIsReadyAtOnce) {
  RecordAccumulator acc(Options(), clock_);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Send(acc, kTp, std::string(100, 'x')).ok());
  EXPECT_EQ(acc.Ready().ready.size(), 1u);  // more than one batch queued
  auto drained = acc.Drain(kLeader, {kTp}, 1 << 20);
  ASSERT_EQ(drained.size(), 1u);
  EXPECT_LE(drained[0]->estimated_size(), 1024u);
  EXPECT_GT(drained[0]->record_count(), 1);
}

TEST_F(AccumulatorTest, CompletionReportsConsecutiveOffsetsInOrder) {
  RecordAccumulator acc(Options(), clock_);
  std::vector<absl::StatusOr<RecordMetadata>> results;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Send(acc, kTp, "v" + std::to_string(i), &results).ok());
  clock_.Advance(absl::Milliseconds(10));
  auto drained = acc.Drain(kLeader, acc.Ready().ready, 1 << 20);
  ASSERT_EQ(drained.size(), 1u);
  auto bytes = drained[0]->Encode();
  ASSERT_TRUE(bytes.ok());
  EXPECT_GT(bytes->size(), storage::kBatchHeaderSize);
  acc.Complete(std::move(drained[0]), int64_t{100});
  ASSERT_EQ(results.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(results[i].ok());
    EXPECT_EQ(results[i]->offset, 100 + i);
    EXPECT_EQ(results[i]->topic, "orders");
    EXPECT_EQ(results[i]->timestamp, 1000);
    EXPECT_EQ(results[i]->serialized_key_size, -1);
  }
  EXPECT_EQ(acc.available_memory(), 64 * 1024);
  EXPECT_FALSE(acc.HasIncomplete());
}

TEST_F(AccumulatorTest, InFlightLimitPreservesPartitionOrderAcrossRetries) {
  RecordAccumulator acc(Options(), clock_);
  std::vector<absl::StatusOr<RecordMetadata>> results;
  // Two batches for one partition.
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(Send(acc, kTp, std::string(100, 'a' + i), &results).ok());
  auto first = acc.Drain(kLeader, {kTp}, 1 << 20);
  ASSERT_EQ(first.size(), 1u);
  const uint64_t first_id = first[0]->id();
  // While the first is in flight the second may not go (limit 1).
  EXPECT_TRUE(acc.Drain(kLeader, {kTp}, 1 << 20).empty());
  // It fails retriably: it goes back to the front and waits out the backoff.
  acc.Reenqueue(std::move(first[0]));
  EXPECT_TRUE(acc.Drain(kLeader, {kTp}, 1 << 20).empty());
  clock_.Advance(absl::Milliseconds(100));
  auto retried = acc.Drain(kLeader, {kTp}, 1 << 20);
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0]->id(), first_id);
  EXPECT_EQ(retried[0]->attempts(), 2);
}

TEST_F(AccumulatorTest, DrainRespectsMaxBytesButTakesAtLeastOne) {
  RecordAccumulator acc(Options(), clock_);
  ASSERT_TRUE(Send(acc, kTp, std::string(900, 'x')).ok());
  ASSERT_TRUE(Send(acc, kTp1, std::string(900, 'y')).ok());
  clock_.Advance(absl::Milliseconds(10));
  EXPECT_EQ(acc.Drain(kLeader, {kTp, kTp1}, 100).size(), 1u);  // over max, still one
  EXPECT_EQ(acc.Drain(kLeader, {kTp, kTp1}, 100).size(), 1u);  // kTp muted, kTp1 goes
}

TEST_F(AccumulatorTest, DrainRotatesItsStartSoNoPartitionStarvesUnderTheSizeLimit) {
  auto options = Options();
  options.max_in_flight_per_partition = 5;
  RecordAccumulator acc(options, clock_);
  // Three full batches (one 900-byte record each) per partition.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Send(acc, kTp, std::string(900, 'a')).ok());
    ASSERT_TRUE(Send(acc, kTp1, std::string(900, 'b')).ok());
  }
  // Each drain fits one batch: without a rotating start kTp would be taken
  // three times before kTp1 got a turn.
  std::vector<TopicPartition> order;
  for (int i = 0; i < 4; ++i) {
    auto drained = acc.Drain(kLeader, {kTp, kTp1}, 100);
    ASSERT_EQ(drained.size(), 1u) << "drain " << i;
    order.push_back(drained[0]->topic_partition());
  }
  EXPECT_EQ(order, (std::vector<TopicPartition>{kTp, kTp1, kTp, kTp1}));
  // Another leader's rotation is its own.
  const TopicPartition other{"other", 0};
  ASSERT_TRUE(Send(acc, other, std::string(900, 'c')).ok());
  clock_.Advance(absl::Milliseconds(10));  // its only batch lingers
  ASSERT_EQ(acc.Drain(kLeader + 1, {other}, 100).size(), 1u);
  // A drain that starts at kTp1 still hands batches over sorted.
  auto both = acc.Drain(kLeader, {kTp, kTp1}, 1 << 20);
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0]->topic_partition(), kTp);
  EXPECT_EQ(both[1]->topic_partition(), kTp1);
}

TEST_F(AccumulatorTest, ExpiresBatchesPastDeliveryTimeout) {
  RecordAccumulator acc(Options(), clock_);
  std::vector<absl::StatusOr<RecordMetadata>> results;
  ASSERT_TRUE(Send(acc, kTp, "v", &results).ok());
  clock_.Advance(absl::Seconds(4));
  EXPECT_EQ(acc.ExpireBatches(), 0);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(acc.ExpireBatches(), 1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(results[0].status().message().find("Expiring 1 record(s) for orders-0"),
            std::string::npos);
  EXPECT_EQ(acc.available_memory(), 64 * 1024);
}

TEST_F(AccumulatorTest, FullBufferBlocksThenFailsAfterMaxBlock) {
  auto options = Options();
  options.buffer_memory = 4096;
  options.batch_size = 512;
  RecordAccumulator acc(options, clock_);
  absl::Status status;
  int sent = 0;
  while ((status = Send(acc, kTp, std::string(300, 'x'))).ok()) ++sent;
  EXPECT_GT(sent, 5);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(status.message().find("max blocking time 50 ms"), std::string::npos);
}

TEST_F(AccumulatorTest, BlockedSendResumesWhenMemoryIsFreed) {
  auto options = Options();
  options.buffer_memory = 4096;
  options.batch_size = 512;
  options.max_block = absl::Seconds(30);  // the freeing thread wins long before
  RecordAccumulator acc(options, clock_);
  while (acc.available_memory() > 700) ASSERT_TRUE(Send(acc, kTp, std::string(300, 'x')).ok());
  absl::Notification sent;
  std::thread sender([&] {
    EXPECT_TRUE(Send(acc, kTp1, std::string(600, 'y')).ok());
    sent.Notify();
  });
  auto drained = acc.Drain(kLeader, {kTp}, 1 << 20);
  ASSERT_EQ(drained.size(), 1u);
  acc.Complete(std::move(drained[0]), int64_t{0});
  ASSERT_TRUE(sent.WaitForNotificationWithTimeout(absl::Seconds(20)))
      << "blocked Append did not resume after memory was freed";
  sender.join();
}

TEST_F(AccumulatorTest, OversizedRecordFailsAtOnce) {
  RecordAccumulator acc(Options(), clock_);
  absl::Status status = Send(acc, kTp, std::string(2 << 20, 'x'));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("max.request.size"), std::string::npos);
}

TEST_F(AccumulatorTest, FlushMakesBatchesReadyAndWaitsForCompletion) {
  RecordAccumulator acc(Options(), clock_);
  std::vector<absl::StatusOr<RecordMetadata>> results;
  ASSERT_TRUE(Send(acc, kTp, "v", &results).ok());
  std::atomic<bool> stop{false};
  std::thread sender([&] {  // a minimal sender loop, no clock advance needed
    while (!stop) {
      for (auto& batch : acc.Drain(kLeader, acc.Ready().ready, 1 << 20)) {
        acc.Complete(std::move(batch), int64_t{7});
      }
      std::this_thread::yield();
    }
  });
  acc.Flush();
  EXPECT_EQ(results.size(), 1u);
  stop = true;
  sender.join();
}

TEST_F(AccumulatorTest, CloseRejectsSendsAndAbortFailsQueued) {
  RecordAccumulator acc(Options(), clock_);
  std::vector<absl::StatusOr<RecordMetadata>> results;
  ASSERT_TRUE(Send(acc, kTp, "v", &results).ok());
  acc.Close();
  EXPECT_EQ(acc.Ready().ready.size(), 1u);  // closing: ready without linger
  EXPECT_EQ(Send(acc, kTp, "late").code(), absl::StatusCode::kFailedPrecondition);
  acc.AbortQueued(absl::CancelledError("producer closed with timeout 0"));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status().code(), absl::StatusCode::kCancelled);
  EXPECT_FALSE(acc.HasIncomplete());
}

}  // namespace
}  // namespace fjord::client
