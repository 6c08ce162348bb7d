// Producer behaviour against a scripted in-process broker: batching, key
// partitioning, retries on NOT_LEADER with a metadata refresh, delivery
// timeout, non-retriable errors, ordering across retries, buffer full.
#include "client/producer.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "client/testing/scripted_broker.h"
#include "common/kafka_error.h"

namespace fjord::client {
namespace {

using testing::ScriptedBroker;

constexpr auto kWait = std::chrono::seconds(30);

class ProducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    b1_.Start();
    b2_.Start();
    SetLeaders({{"orders", {1, 1, 1}}});
  }

  void SetLeaders(std::map<std::string, std::vector<int32_t>> leaders) {
    b1_.SetCluster({&b1_, &b2_}, leaders);
    b2_.SetCluster({&b1_, &b2_}, leaders);
  }

  std::unique_ptr<Producer> MakeProducer(Properties extra = {}) {
    Properties properties = {{"bootstrap.servers", b1_.address()},
                             {"linger.ms", "1"},
                             {"retry.backoff.ms", "10"},
                             {"request.timeout.ms", "2000"}};
    for (auto& [k, v] : extra) properties[k] = v;
    auto config = ProducerConfig::FromProperties(properties);
    EXPECT_TRUE(config.ok()) << config.status();
    auto producer = Producer::Create(*config);
    EXPECT_TRUE(producer.ok());
    return std::move(*producer);
  }

  static absl::StatusOr<RecordMetadata> Get(std::future<absl::StatusOr<RecordMetadata>>& f) {
    if (f.wait_for(kWait) != std::future_status::ready) {
      return absl::DeadlineExceededError("test: send did not complete within 30 s");
    }
    return f.get();
  }

  ScriptedBroker b1_{1};
  ScriptedBroker b2_{2};
};

TEST_F(ProducerTest, KeyedRecordsLandOnKafkasPartitionsWithConsecutiveOffsets) {
  auto producer = MakeProducer();
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> futures;
  for (int i = 0; i < 300; ++i) {
    futures.push_back(producer->Send(
        {.topic = "orders", .key = "key-" + std::to_string(i % 10), .value = std::to_string(i)}));
  }
  producer->Flush();
  std::map<int32_t, int64_t> next_offset;
  for (int i = 0; i < 300; ++i) {
    auto result = Get(futures[i]);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->partition, PartitionForKey("key-" + std::to_string(i % 10), 3));
    EXPECT_EQ(result->offset, next_offset[result->partition]++) << "record " << i;
  }
  int64_t stored = 0;
  for (int p = 0; p < 3; ++p) stored += b1_.Records("orders", p).size();
  EXPECT_EQ(stored, 300);
  // Batching: far fewer requests than records.
  EXPECT_LT(b1_.produce_calls(), 100);
}

TEST_F(ProducerTest, RetriesOnNotLeaderAfterLeadershipMoves) {
  auto producer = MakeProducer();
  // Warm the client's metadata with broker 1 as leader, then move leadership.
  ASSERT_TRUE(Get(*std::make_unique<std::future<absl::StatusOr<RecordMetadata>>>(
                      producer->Send({.topic = "orders", .partition = 0, .value = "warm"})))
                  .ok());
  SetLeaders({{"orders", {2, 2, 2}}});
  auto moved = producer->Send({.topic = "orders", .partition = 0, .value = "after-move"});
  auto result = Get(moved);
  ASSERT_TRUE(result.ok()) << result.status();
  auto on_b2 = b2_.Records("orders", 0);
  ASSERT_EQ(on_b2.size(), 1u);
  EXPECT_EQ(on_b2[0].value, "after-move");
  EXPECT_EQ(result->offset, 0);
}

TEST_F(ProducerTest, RetriableErrorsAreRetriedInOrder) {
  auto producer = MakeProducer({{"max.in.flight.requests.per.connection", "1"}});
  b1_.FailNextProduces(3, v1::NOT_ENOUGH_REPLICAS);
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> futures;
  for (int i = 0; i < 50; ++i) {
    futures.push_back(
        producer->Send({.topic = "orders", .partition = 1, .value = std::to_string(i)}));
  }
  producer->Flush();
  for (auto& f : futures) ASSERT_TRUE(Get(f).ok());
  auto stored = b1_.Records("orders", 1);
  ASSERT_EQ(stored.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(stored[i].value, std::to_string(i)) << "at " << i;
}

TEST_F(ProducerTest, NonRetriableErrorFailsWithoutRetry) {
  auto producer = MakeProducer();
  b1_.FailNextProduces(1, v1::MESSAGE_TOO_LARGE);
  auto f = producer->Send({.topic = "orders", .partition = 0, .value = "v"});
  auto result = Get(f);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("MESSAGE_TOO_LARGE"), std::string::npos)
      << result.status();
  EXPECT_EQ(b1_.produce_calls(), 1);
}

TEST_F(ProducerTest, DeliveryTimeoutEndsRetries) {
  auto producer = MakeProducer({{"delivery.timeout.ms", "2500"}});
  b1_.FailNextProduces(1 << 30, v1::NOT_ENOUGH_REPLICAS);
  auto f = producer->Send({.topic = "orders", .partition = 0, .value = "v"});
  auto result = Get(f);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("NOT_ENOUGH_REPLICAS"), std::string::npos)
      << result.status();
  EXPECT_NE(result.status().message().find("delivery.timeout.ms"), std::string::npos)
      << result.status();
  EXPECT_GT(b1_.produce_calls(), 1);
}

TEST_F(ProducerTest, UnknownTopicFailsAfterMaxBlockWithKafkasTimeout) {
  auto producer = MakeProducer({{"max.block.ms", "300"}});
  auto f = producer->Send({.topic = "missing", .value = "v"});
  auto result = Get(f);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(ToErrorCode(result.status()), v1::REQUEST_TIMED_OUT) << result.status();
  EXPECT_NE(result.status().message().find("Topic missing not present in metadata"),
            std::string::npos)
      << result.status();
  EXPECT_NE(result.status().message().find("after 300 ms."), std::string::npos) << result.status();
}

TEST_F(ProducerTest, SendWaitsForATopicThatAppearsWithinMaxBlock) {
  auto producer = MakeProducer({{"max.block.ms", "20000"}});
  std::thread creator([&] {
    absl::SleepFor(absl::Milliseconds(300));
    SetLeaders({{"orders", {1, 1, 1}}, {"later", {2, 2}}});
  });
  auto f = producer->Send({.topic = "later", .key = "k", .value = "v"});
  creator.join();
  auto result = Get(f);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->partition, PartitionForKey("k", 2));
  EXPECT_EQ(b2_.Records("later", result->partition).size(), 1u);
}

TEST_F(ProducerTest, SendAsksForAutoCreationAndWaitsForTheLeader) {
  b1_.AutoCreateTopics(/*leader=*/1);
  auto producer = MakeProducer({{"max.block.ms", "20000"}});
  // The first answer creates the topic (LEADER_NOT_AVAILABLE), the next
  // shows it without a leader: the record waits for the leader.
  auto f = producer->Send({.topic = "fresh", .value = "v"});
  auto result = Get(f);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(b1_.auto_created(), std::vector<std::string>{"fresh"});
  EXPECT_EQ(b1_.Records("fresh", 0).size(), 1u);
}

TEST_F(ProducerTest, ProduceCompletesEveryRecordThroughItsCallbackOnly) {
  auto producer = MakeProducer();
  absl::Mutex mu;
  std::vector<absl::StatusOr<RecordMetadata>> results;
  const std::string topic = "orders";
  const storage::RecordHeader header{"h", "1"};
  for (int i = 0; i < 100; ++i) {
    const std::string value = absl::StrCat("v", i);  // borrowed only during the call
    producer->Produce({.topic = topic,
                       .partition = 1,
                       .value = value,
                       .headers = absl::MakeConstSpan(&header, 1),
                       .timestamp_ms = 1000 + i},
                      [&](const absl::StatusOr<RecordMetadata>& r) {
                        absl::MutexLock lock(&mu);
                        results.push_back(r);
                      });
  }
  // Without a callback the record is still sent.
  producer->Produce({.topic = topic, .partition = 1, .value = "v100"}, nullptr);
  // An error found before queueing goes to the callback too.
  std::optional<absl::Status> rejected;
  producer->Produce({.topic = topic, .partition = 9, .value = "x"},
                    [&](const absl::StatusOr<RecordMetadata>& r) {
                      absl::MutexLock lock(&mu);
                      rejected = r.status();
                    });
  producer->Flush();
  absl::MutexLock lock(&mu);
  ASSERT_EQ(results.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status();
    EXPECT_EQ(results[i]->offset, i) << "callbacks run in offset order";
    EXPECT_EQ(results[i]->timestamp, 1000 + i);
    EXPECT_EQ(results[i]->serialized_value_size, static_cast<int32_t>(absl::StrCat("v", i).size()));
  }
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(rejected->code(), absl::StatusCode::kInvalidArgument) << *rejected;
  auto stored = b1_.Records("orders", 1);
  ASSERT_EQ(stored.size(), 101u);
  for (int i = 0; i < 101; ++i) EXPECT_EQ(stored[i].value, absl::StrCat("v", i));
}

TEST_F(ProducerTest, RecordRejectedBeforeQueueingRunsCallbackAndFuture) {
  auto producer = MakeProducer({{"max.request.size", "1000"}});
  int calls = 0;
  absl::Status seen;
  auto f = producer->Send({.topic = "orders", .partition = 0, .value = std::string(2000, 'x')},
                          [&](const absl::StatusOr<RecordMetadata>& r) {
                            ++calls;  // runs on this thread: nothing was queued
                            seen = r.status();
                          });
  auto result = Get(f);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen.code(), absl::StatusCode::kInvalidArgument) << seen;
}

TEST_F(ProducerTest, InvalidPartitionIsRejected) {
  auto producer = MakeProducer();
  auto f = producer->Send({.topic = "orders", .partition = 7, .value = "v"});
  auto result = Get(f);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ProducerTest, FullBufferBlocksThenFails) {
  auto producer = MakeProducer({{"buffer.memory", "20000"},
                                {"batch.size", "2000"},
                                {"max.block.ms", "200"},
                                {"delivery.timeout.ms", "60000"},
                                {"request.timeout.ms", "30000"}});
  b1_.HoldProduces();
  absl::Status last;
  int sent = 0;
  for (int i = 0; i < 100 && last.ok(); ++i) {
    auto f = producer->Send({.topic = "orders", .partition = 0, .value = std::string(900, 'x')});
    if (f.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready) {
      last = f.get().status();
    } else {
      ++sent;
    }
  }
  EXPECT_EQ(last.code(), absl::StatusCode::kDeadlineExceeded) << last;
  EXPECT_NE(last.message().find("max blocking time 200 ms"), std::string::npos) << last;
  EXPECT_GT(sent, 5);
  b1_.Release();
  producer->Flush();
}

TEST_F(ProducerTest, CallbackRunsWithMetadata) {
  auto producer = MakeProducer();
  absl::Mutex mu;
  std::optional<absl::StatusOr<RecordMetadata>> seen;
  auto f = producer->Send({.topic = "orders", .partition = 2, .key = "k", .value = "vv"},
                          [&](const absl::StatusOr<RecordMetadata>& r) {
                            absl::MutexLock lock(&mu);
                            seen = r;
                          });
  ASSERT_TRUE(Get(f).ok());
  absl::MutexLock lock(&mu);
  ASSERT_TRUE(seen.has_value());
  ASSERT_TRUE(seen->ok());
  EXPECT_EQ((*seen)->partition, 2);
  EXPECT_EQ((*seen)->serialized_key_size, 1);
  EXPECT_EQ((*seen)->serialized_value_size, 2);
}

TEST_F(ProducerTest, CloseWithTimeoutFailsWhatCannotBeSent) {
  auto producer = MakeProducer({{"request.timeout.ms", "30000"}, {"delivery.timeout.ms", "60000"}});
  b1_.HoldProduces();
  auto first = producer->Send({.topic = "orders", .partition = 0, .value = "held"});
  auto f = producer->Send({.topic = "orders", .partition = 0, .value = "queued"});
  std::thread releaser([&] {
    absl::SleepFor(absl::Milliseconds(500));
    b1_.Release();
  });
  producer->Close(absl::Milliseconds(100));
  releaser.join();
  // Every future completes one way or the other: nothing is left hanging.
  EXPECT_EQ(first.wait_for(kWait), std::future_status::ready);
  EXPECT_EQ(f.wait_for(kWait), std::future_status::ready);
}

TEST_F(ProducerTest, ManyBatchesOfOnePartitionArePipelinedAndLandInSendOrder) {
  // Small batches: 400 records make ~100 batches of one partition.
  auto producer = MakeProducer({{"batch.size", "200"},
                                {"linger.ms", "0"},
                                {"max.in.flight.requests.per.connection", "5"},
                                {"request.timeout.ms", "30000"}});
  b1_.HoldProduces();
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> futures;
  for (int i = 0; i < 400; ++i) {
    futures.push_back(producer->Send(
        {.topic = "orders", .partition = 0, .value = absl::StrCat("value-", 1000 + i)}));
  }
  // While the broker holds the first request, the producer keeps sending on
  // the stream: several batches of the same partition are in flight.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (b1_.max_stream_requests_unanswered() < 4 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_GE(b1_.max_stream_requests_unanswered(), 4)
      << "up to max.in.flight requests (one held, four read ahead) should be pipelined";
  b1_.Release();
  producer->Flush();
  for (int i = 0; i < 400; ++i) {
    auto result = Get(futures[i]);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->offset, i) << "records come back at increasing offsets in send order";
  }
  auto stored = b1_.Records("orders", 0);
  ASSERT_EQ(stored.size(), 400u);
  for (int i = 0; i < 400; ++i) EXPECT_EQ(stored[i].value, absl::StrCat("value-", 1000 + i));
  EXPECT_GT(b1_.produce_calls(), 20) << "many small batches, many requests";
}

TEST_F(ProducerTest, BrokenStreamRetriesEveryInFlightBatchInOrder) {
  auto producer = MakeProducer({{"batch.size", "200"},
                                {"linger.ms", "0"},
                                {"max.in.flight.requests.per.connection", "5"},
                                {"request.timeout.ms", "30000"}});
  b1_.HoldProduces();
  // The first request after the release is dropped and the stream dies with
  // up to 4 more in flight behind it, none of them answered: all of them
  // must be retried, in order, once each. (A break after some answers were
  // written can lose those answers in transit, and a non-idempotent
  // producer then writes those batches twice, as Kafka's does.)
  b1_.BreakProduceStreamAt(1);
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> futures;
  for (int i = 0; i < 200; ++i) {
    futures.push_back(
        producer->Send({.topic = "orders", .partition = 1, .value = absl::StrCat("v", 1000 + i)}));
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (b1_.max_stream_requests_unanswered() < 3 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  b1_.Release();
  producer->Flush();
  for (int i = 0; i < 200; ++i) {
    auto result = Get(futures[i]);
    ASSERT_TRUE(result.ok()) << "record " << i << ": " << result.status();
    EXPECT_EQ(result->offset, i);
  }
  auto stored = b1_.Records("orders", 1);
  ASSERT_EQ(stored.size(), 200u) << "no record lost or duplicated";
  for (int i = 0; i < 200; ++i) EXPECT_EQ(stored[i].value, absl::StrCat("v", 1000 + i));
}

TEST_F(ProducerTest, BrokenStreamWithoutRetriesFailsEveryInFlightBatch) {
  auto producer = MakeProducer({{"batch.size", "200"},
                                {"linger.ms", "0"},
                                {"retries", "0"},
                                {"max.in.flight.requests.per.connection", "5"},
                                {"request.timeout.ms", "30000"}});
  b1_.HoldProduces();
  b1_.BreakProduceStreamAt(1);
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> futures;
  for (int i = 0; i < 100; ++i) {
    futures.push_back(
        producer->Send({.topic = "orders", .partition = 2, .value = absl::StrCat("v", 1000 + i)}));
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (b1_.max_stream_requests_unanswered() < 2 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  b1_.Release();
  producer->Flush();
  int failed = 0;
  int64_t next_offset = 0;
  for (int i = 0; i < 100; ++i) {
    auto result = Get(futures[i]);
    if (!result.ok()) {
      ++failed;
      EXPECT_EQ(ToErrorCode(result.status()), v1::NETWORK_EXCEPTION) << result.status();
      EXPECT_EQ(next_offset, 0) << "only the batches in flight when the stream broke fail";
      continue;
    }
    EXPECT_EQ(result->offset, next_offset++) << "record " << i;
  }
  EXPECT_GE(failed, 2) << "the dropped request and at least one pipelined behind it";
  EXPECT_EQ(b1_.Records("orders", 2).size(), static_cast<size_t>(100 - failed));
}

}  // namespace
}  // namespace fjord::client
