// The SDK against real broker code: producer and consumer over gRPC to
// BrokerServers running in this process with real partition logs (the
// broker's TestCluster; metadata comes from the controller's MetadataDelta).
#include <gtest/gtest.h>

#include <map>

#include "broker/test_cluster.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "common/kafka_error.h"

namespace fjord::client {
namespace {

constexpr auto kWait = std::chrono::seconds(30);

class ClientBrokerTest : public ::testing::Test {
 protected:
  ClientBrokerTest() : cluster_(1) { cluster_.CreateTopic("orders", {{1}, {1}, {1}}); }

  std::string bootstrap() { return cluster_.broker(1).address(); }

  std::unique_ptr<Producer> MakeProducer(Properties extra = {}) {
    Properties properties = {{"bootstrap.servers", bootstrap()}, {"linger.ms", "2"}};
    for (auto& [k, v] : extra) properties[k] = v;
    auto config = ProducerConfig::FromProperties(properties);
    EXPECT_TRUE(config.ok()) << config.status();
    return std::move(*Producer::Create(*config));
  }

  std::unique_ptr<Consumer> MakeConsumer(Properties extra = {}) {
    Properties properties = {{"bootstrap.servers", bootstrap()}, {"fetch.max.wait.ms", "100"}};
    for (auto& [k, v] : extra) properties[k] = v;
    auto config = ConsumerConfig::FromProperties(properties);
    EXPECT_TRUE(config.ok()) << config.status();
    return std::move(*Consumer::Create(*config));
  }

  // Polls until `count` records arrived or 30 s passed.
  std::vector<ConsumerRecord> PollN(Consumer& consumer, size_t count) {
    std::vector<ConsumerRecord> all;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (all.size() < count && absl::Now() < deadline) {
      auto records = consumer.Poll(absl::Milliseconds(200));
      EXPECT_TRUE(records.ok()) << records.status();
      if (!records.ok()) break;
      for (auto& r : *records) all.push_back(std::move(r));
    }
    return all;
  }

  broker::testing::TestCluster cluster_;
};

TEST_F(ClientBrokerTest, WhatIsProducedIsConsumedAtTheAckedOffsets) {
  auto producer = MakeProducer();
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> futures;
  const int kCount = 2000;
  for (int i = 0; i < kCount; ++i) {
    futures.push_back(producer->Send({.topic = "orders",
                                      .key = "key-" + std::to_string(i % 37),
                                      .value = "value-" + std::to_string(i),
                                      .headers = {{"h", std::to_string(i)}}}));
  }
  producer->Flush();
  std::map<std::pair<int32_t, int64_t>, int> acked;  // (partition, offset) -> i
  for (int i = 0; i < kCount; ++i) {
    ASSERT_EQ(futures[i].wait_for(kWait), std::future_status::ready);
    auto result = futures[i].get();
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->partition, PartitionForKey("key-" + std::to_string(i % 37), 3));
    EXPECT_TRUE(acked.emplace(std::make_pair(result->partition, result->offset), i).second)
        << "offset acknowledged twice";
  }

  auto consumer = MakeConsumer({{"auto.offset.reset", "earliest"}});
  ASSERT_TRUE(consumer->Assign({{"orders", 0}, {"orders", 1}, {"orders", 2}}).ok());
  auto records = PollN(*consumer, kCount);
  ASSERT_EQ(records.size(), static_cast<size_t>(kCount));
  std::map<int32_t, int64_t> last;
  for (const ConsumerRecord& r : records) {
    auto it = acked.find({r.partition, r.offset});
    ASSERT_NE(it, acked.end()) << "record at an offset no ack returned";
    EXPECT_EQ(r.value, "value-" + std::to_string(it->second));
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0].second, std::to_string(it->second));
    if (last.contains(r.partition)) {
      EXPECT_EQ(r.offset, last[r.partition] + 1);
    }
    last[r.partition] = r.offset;
  }
  for (int p = 0; p < 3; ++p) {
    auto position = consumer->Position({"orders", p});
    ASSERT_TRUE(position.ok());
    EXPECT_EQ(*position, last.contains(p) ? last[p] + 1 : 0);
  }
}

TEST_F(ClientBrokerTest, SeekAndOffsetsForTimes) {
  auto producer = MakeProducer();
  for (int i = 0; i < 50; ++i) {
    producer->Send({.topic = "orders",
                    .partition = 1,
                    .value = std::to_string(i),
                    .timestamp_ms = 1'000'000 + i * 10});
  }
  producer->Flush();
  auto consumer = MakeConsumer();
  const TopicPartition tp{"orders", 1};
  ASSERT_TRUE(consumer->Assign({tp}).ok());

  auto earliest = consumer->OffsetsForTimes({tp}, kEarliestTimestamp);
  ASSERT_TRUE(earliest.ok()) << earliest.status();
  EXPECT_EQ(earliest->at(tp), 0);
  auto latest = consumer->OffsetsForTimes({tp}, kLatestTimestamp);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->at(tp), 50);
  auto by_time = consumer->OffsetsForTimes({tp}, 1'000'000 + 205);
  ASSERT_TRUE(by_time.ok());
  EXPECT_EQ(by_time->at(tp), 21);  // first timestamp >= 1000205 is record 21

  ASSERT_TRUE(consumer->Seek(tp, 10).ok());
  auto records = PollN(*consumer, 40);
  ASSERT_EQ(records.size(), 40u);
  EXPECT_EQ(records.front().offset, 10);
  EXPECT_EQ(records.front().value, "10");
  EXPECT_EQ(records.front().timestamp, 1'000'100);

  ASSERT_TRUE(consumer->SeekToTimestamp({tp}, 1'000'000 + 455).ok());
  records = PollN(*consumer, 4);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records.front().offset, 46);
}

TEST_F(ClientBrokerTest, LatestResetSeesOnlyNewRecordsAndPollTimesOut) {
  auto producer = MakeProducer();
  producer->Send({.topic = "orders", .partition = 0, .value = "old"});
  producer->Flush();
  auto consumer = MakeConsumer();  // auto.offset.reset=latest (Kafka's default)
  ASSERT_TRUE(consumer->Assign({{"orders", 0}}).ok());
  auto none = consumer->Poll(absl::Milliseconds(300));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  producer->Send({.topic = "orders", .partition = 0, .value = "new"});
  producer->Flush();
  auto records = PollN(*consumer, 1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value, "new");
  EXPECT_EQ(records[0].offset, 1);
}

TEST_F(ClientBrokerTest, OutOfRangeWithResetNoneIsAnError) {
  auto consumer = MakeConsumer({{"auto.offset.reset", "none"}});
  ASSERT_TRUE(consumer->Assign({{"orders", 2}}).ok());
  ASSERT_TRUE(consumer->Seek({"orders", 2}, 1000).ok());
  absl::Status status;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (status.ok() && absl::Now() < deadline) {
    status = consumer->Poll(absl::Milliseconds(200)).status();
  }
  EXPECT_EQ(ToErrorCode(status), v1::OFFSET_OUT_OF_RANGE) << status;
}

TEST_F(ClientBrokerTest, CompressedBatchesRoundTrip) {
  for (const char* codec : {"gzip", "snappy", "lz4", "zstd"}) {
    auto producer = MakeProducer({{"compression.type", codec}});
    for (int i = 0; i < 100; ++i) {
      producer->Send({.topic = "orders", .partition = 2, .value = std::string(200, 'a' + i % 26)});
    }
    producer->Flush();
  }
  auto consumer = MakeConsumer({{"auto.offset.reset", "earliest"}});
  ASSERT_TRUE(consumer->Assign({{"orders", 2}}).ok());
  auto records = PollN(*consumer, 400);
  ASSERT_EQ(records.size(), 400u);
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].offset, static_cast<int64_t>(i));
    EXPECT_EQ(records[i].value, std::string(200, 'a' + i % 100 % 26));
  }
}

}  // namespace
}  // namespace fjord::client
