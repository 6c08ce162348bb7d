#include "client/config.h"

#include <gtest/gtest.h>

namespace fjord::client {
namespace {

TEST(ProducerConfig, KafkaDefaults) {
  auto config = ProducerConfig::FromProperties({{"bootstrap.servers", "localhost:9092"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->acks, -1);
  EXPECT_EQ(config->linger_ms, 5);
  EXPECT_EQ(config->batch_size, 16384);
  EXPECT_EQ(config->buffer_memory, 33554432);
  EXPECT_EQ(config->max_block_ms, 60000);
  EXPECT_EQ(config->delivery_timeout_ms, 120000);
  EXPECT_EQ(config->request_timeout_ms, 30000);
  EXPECT_EQ(config->max_in_flight_requests_per_connection, 5);
  EXPECT_EQ(config->retries, INT32_MAX);
  EXPECT_TRUE(config->enable_idempotence);
  EXPECT_EQ(config->compression_type, CompressionType::kNone);
  EXPECT_EQ(config->bootstrap_servers, std::vector<std::string>{"localhost:9092"});
}

TEST(ProducerConfig, ParsesValues) {
  auto config = ProducerConfig::FromProperties({{"bootstrap.servers", "a:1, b:2"},
                                                {"acks", "1"},
                                                {"linger.ms", "20"},
                                                {"compression.type", "zstd"},
                                                {"key.serializer", "org.example.Ignored"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->acks, 1);
  EXPECT_EQ(config->linger_ms, 20);
  EXPECT_EQ(config->compression_type, CompressionType::kZstd);
  EXPECT_EQ(config->bootstrap_servers, (std::vector<std::string>{"a:1", "b:2"}));
  // acks=1 turns the default idempotence off, as Kafka does.
  EXPECT_FALSE(config->enable_idempotence);
}

TEST(ProducerConfig, RejectsBadInputNamingTheKey) {
  auto unknown = ProducerConfig::FromProperties({{"bootstrap.servers", "a:1"}, {"lingr.ms", "5"}});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("lingr.ms"), absl::string_view::npos);

  auto acks = ProducerConfig::FromProperties({{"bootstrap.servers", "a:1"}, {"acks", "2"}});
  EXPECT_NE(acks.status().message().find("acks"), absl::string_view::npos);

  auto negative =
      ProducerConfig::FromProperties({{"bootstrap.servers", "a:1"}, {"linger.ms", "-1"}});
  EXPECT_NE(negative.status().message().find("linger.ms"), absl::string_view::npos);

  auto not_int =
      ProducerConfig::FromProperties({{"bootstrap.servers", "a:1"}, {"batch.size", "big"}});
  EXPECT_NE(not_int.status().message().find("batch.size"), absl::string_view::npos);

  EXPECT_FALSE(ProducerConfig::FromProperties({}).ok());  // bootstrap.servers required
  EXPECT_FALSE(ProducerConfig::FromProperties({{"bootstrap.servers", "nohostport"}}).ok());
  EXPECT_FALSE(
      ProducerConfig::FromProperties({{"bootstrap.servers", "a:1"}, {"compression.type", "xz"}})
          .ok());
}

TEST(ProducerConfig, ExplicitIdempotenceConflictsWithAcks1) {
  auto config = ProducerConfig::FromProperties(
      {{"bootstrap.servers", "a:1"}, {"acks", "1"}, {"enable.idempotence", "true"}});
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ProducerConfig, DeliveryTimeoutMustCoverLingerAndRequest) {
  auto config = ProducerConfig::FromProperties(
      {{"bootstrap.servers", "a:1"}, {"delivery.timeout.ms", "1000"}});
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("delivery.timeout.ms"), absl::string_view::npos);
}

TEST(ConsumerConfig, KafkaDefaultsAndEnums) {
  auto config = ConsumerConfig::FromProperties({{"bootstrap.servers", "a:1"}});
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->fetch_min_bytes, 1);
  EXPECT_EQ(config->fetch_max_wait_ms, 500);
  EXPECT_EQ(config->max_poll_records, 500);
  EXPECT_EQ(config->max_partition_fetch_bytes, 1048576);
  EXPECT_EQ(config->auto_offset_reset, AutoOffsetReset::kLatest);
  EXPECT_EQ(config->isolation_level, IsolationLevel::kReadUncommitted);
  EXPECT_TRUE(config->enable_auto_commit);

  auto set = ConsumerConfig::FromProperties({{"bootstrap.servers", "a:1"},
                                             {"auto.offset.reset", "earliest"},
                                             {"isolation.level", "read_committed"},
                                             {"enable.auto.commit", "FALSE"}});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->auto_offset_reset, AutoOffsetReset::kEarliest);
  EXPECT_EQ(set->isolation_level, IsolationLevel::kReadCommitted);
  EXPECT_FALSE(set->enable_auto_commit);
  EXPECT_FALSE(
      ConsumerConfig::FromProperties({{"bootstrap.servers", "a:1"}, {"auto.offset.reset", "x"}})
          .ok());
}

TEST(ParseProperties, JavaPropertiesSubset) {
  auto properties = ParseProperties(
      {"# comment", "", "  acks = all ", "! also comment", "bootstrap.servers=localhost:9092"});
  ASSERT_TRUE(properties.ok());
  EXPECT_EQ(properties->at("acks"), "all");
  EXPECT_EQ(properties->at("bootstrap.servers"), "localhost:9092");
  EXPECT_FALSE(ParseProperties({"no-equals-sign"}).ok());
  EXPECT_FALSE(ParseProperties({"=value"}).ok());
}

}  // namespace
}  // namespace fjord::client
