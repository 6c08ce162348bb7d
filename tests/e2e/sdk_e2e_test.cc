// The SDK against a real cluster: one fjord-controller and three
// fjord-broker processes on loopback. Admin operations with Kafka's error
// codes, then acks=all produce at RF=3 and a consumer reading every record
// back at its acknowledged offset.
#include <gtest/gtest.h>

#include <map>

#include "client/admin.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "common/kafka_error.h"
#include "tests/cluster/process_cluster.h"

namespace fjord {
namespace {

using client::Admin;
using client::AdminConfig;
using client::NewTopic;

class SdkEndToEndTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new testing::ProcessCluster({.controllers = 1, .brokers = 3});
    ASSERT_TRUE(cluster_->Start().ok());
    absl::Status ready = cluster_->WaitForBrokers(3);
    ASSERT_TRUE(ready.ok()) << ready;
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  std::unique_ptr<Admin> MakeAdmin() {
    auto config =
        AdminConfig::FromProperties({{"bootstrap.servers", cluster_->bootstrap_servers()},
                                     {"bootstrap.controllers", cluster_->controller_addresses()},
                                     {"default.api.timeout.ms", "30000"}});
    EXPECT_TRUE(config.ok()) << config.status();
    return std::move(*Admin::Create(*config));
  }

  // Waits until every partition of `topic` has a leader in the brokers' view.
  void WaitForLeaders(Admin& admin, const std::string& topic, size_t partitions) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      auto described = admin.DescribeTopics({topic});
      if (described.ok() && described->size() == 1 && (*described)[0].error == v1::NONE &&
          (*described)[0].partitions.size() == partitions &&
          std::all_of((*described)[0].partitions.begin(), (*described)[0].partitions.end(),
                      [](const client::PartitionMetadata& p) { return p.leader >= 0; })) {
        return;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    FAIL() << "timed out waiting for leaders of " << topic;
  }

  static testing::ProcessCluster* cluster_;
};

testing::ProcessCluster* SdkEndToEndTest::cluster_ = nullptr;

TEST_F(SdkEndToEndTest, CreateTopicErrorsUseKafkasCodes) {
  auto admin = MakeAdmin();
  auto results = admin->CreateTopics({
      {.name = "e2e-ok", .num_partitions = 2, .replication_factor = 3},
      {.name = "bad/name", .num_partitions = 1, .replication_factor = 1},
      {.name = "too-many-replicas", .num_partitions = 1, .replication_factor = 5},
      {.name = "no-partitions", .num_partitions = 0, .replication_factor = 1},
      {.name = "bad-config",
       .num_partitions = 1,
       .replication_factor = 1,
       .configs = {{"retention.msx", "5"}}},
  });
  ASSERT_TRUE(results.ok()) << results.status();
  std::map<std::string, v1::ErrorCode> codes;
  for (const auto& r : *results) codes[r.name] = ToErrorCode(r.status);
  EXPECT_EQ(codes["e2e-ok"], v1::NONE);
  EXPECT_EQ(codes["bad/name"], v1::INVALID_TOPIC_EXCEPTION);
  EXPECT_EQ(codes["too-many-replicas"], v1::INVALID_REPLICATION_FACTOR);
  EXPECT_EQ(codes["no-partitions"], v1::INVALID_PARTITIONS);
  EXPECT_EQ(codes["bad-config"], v1::INVALID_CONFIG);

  auto again =
      admin->CreateTopics({{.name = "e2e-ok", .num_partitions = 2, .replication_factor = 3}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(ToErrorCode((*again)[0].status), v1::TOPIC_ALREADY_EXISTS);
}

TEST_F(SdkEndToEndTest, ProduceAcksAllAtRf3AndConsumeEverythingBack) {
  auto admin = MakeAdmin();
  auto created = admin->CreateTopics({{.name = "e2e-orders",
                                       .num_partitions = 3,
                                       .replication_factor = 3,
                                       .configs = {{"min.insync.replicas", "2"}}}});
  ASSERT_TRUE(created.ok() && (*created)[0].status.ok())
      << (created.ok() ? (*created)[0].status : created.status());
  WaitForLeaders(*admin, "e2e-orders", 3);

  auto pconfig = client::ProducerConfig::FromProperties(
      {{"bootstrap.servers", cluster_->bootstrap_servers()}, {"acks", "all"}, {"linger.ms", "5"}});
  ASSERT_TRUE(pconfig.ok());
  auto producer = std::move(*client::Producer::Create(*pconfig));
  std::vector<std::future<absl::StatusOr<client::RecordMetadata>>> futures;
  for (int i = 0; i < 3000; ++i) {
    futures.push_back(producer->Send(
        {.topic = "e2e-orders", .key = "k" + std::to_string(i), .value = "v" + std::to_string(i)}));
  }
  producer->Flush();
  std::map<std::pair<int32_t, int64_t>, int> acked;
  for (int i = 0; i < 3000; ++i) {
    ASSERT_EQ(futures[i].wait_for(std::chrono::seconds(60)), std::future_status::ready);
    auto result = futures[i].get();
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_TRUE(acked.emplace(std::make_pair(result->partition, result->offset), i).second);
  }

  auto cconfig = client::ConsumerConfig::FromProperties(
      {{"bootstrap.servers", cluster_->bootstrap_servers()}, {"auto.offset.reset", "earliest"}});
  ASSERT_TRUE(cconfig.ok());
  auto consumer = std::move(*client::Consumer::Create(*cconfig));
  ASSERT_TRUE(consumer->Assign({{"e2e-orders", 0}, {"e2e-orders", 1}, {"e2e-orders", 2}}).ok());
  size_t seen = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (seen < acked.size() && absl::Now() < deadline) {
    auto records = consumer->Poll(absl::Milliseconds(200));
    ASSERT_TRUE(records.ok()) << records.status();
    for (const auto& r : *records) {
      auto it = acked.find({r.partition, r.offset});
      ASSERT_NE(it, acked.end()) << "unacknowledged offset " << r.partition << "/" << r.offset;
      EXPECT_EQ(r.value, "v" + std::to_string(it->second));
      ++seen;
    }
  }
  EXPECT_EQ(seen, acked.size()) << "every acknowledged record is read back exactly once";
}

TEST_F(SdkEndToEndTest, ConfigsPartitionsAndDeletion) {
  auto admin = MakeAdmin();
  ASSERT_TRUE(
      admin->CreateTopics({{.name = "e2e-cfg", .num_partitions = 1, .replication_factor = 1}})
          .ok());
  WaitForLeaders(*admin, "e2e-cfg", 1);

  ASSERT_TRUE(admin
                  ->IncrementalAlterConfigs(v1::ConfigResource::TOPIC, "e2e-cfg",
                                            {{.name = "retention.ms", .value = "3600000"}})
                  .ok());
  auto configs = admin->DescribeConfigs(v1::ConfigResource::TOPIC, "e2e-cfg");
  ASSERT_TRUE(configs.ok()) << configs.status();
  bool found = false;
  for (const auto& c : *configs) {
    if (c.name() == "retention.ms") {
      found = true;
      EXPECT_EQ(c.value(), "3600000");
      EXPECT_EQ(c.config_source(), v1::DescribedConfig::TOPIC_CONFIG);
    }
  }
  EXPECT_TRUE(found);
  absl::Status bad = admin->IncrementalAlterConfigs(v1::ConfigResource::TOPIC, "e2e-cfg",
                                                    {{.name = "retention.ms", .value = "soon"}});
  EXPECT_EQ(ToErrorCode(bad), v1::INVALID_CONFIG) << bad;

  auto grown = admin->CreatePartitions("e2e-cfg", 4);
  ASSERT_TRUE(grown.ok() && grown->status.ok()) << (grown.ok() ? grown->status : grown.status());
  WaitForLeaders(*admin, "e2e-cfg", 4);
  auto shrink = admin->CreatePartitions("e2e-cfg", 2);
  ASSERT_TRUE(shrink.ok());
  EXPECT_EQ(ToErrorCode(shrink->status), v1::INVALID_PARTITIONS);

  auto deleted = admin->DeleteTopics({"e2e-cfg", "never-existed"});
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  std::map<std::string, v1::ErrorCode> codes;
  for (const auto& r : *deleted) codes[r.name] = ToErrorCode(r.status);
  EXPECT_EQ(codes["e2e-cfg"], v1::NONE);
  EXPECT_EQ(codes["never-existed"], v1::UNKNOWN_TOPIC_OR_PARTITION);
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  bool gone = false;
  while (!gone && absl::Now() < deadline) {
    auto topics = admin->ListTopics();
    gone = topics.ok() && std::find(topics->begin(), topics->end(), "e2e-cfg") == topics->end();
    if (!gone) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(gone) << "deleted topic still listed after 30 s";
}

TEST_F(SdkEndToEndTest, DescribeClusterShowsBrokersAndActiveController) {
  auto admin = MakeAdmin();
  auto cluster = admin->DescribeCluster();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  EXPECT_EQ(cluster->cluster_id(), "test-cluster");
  EXPECT_EQ(cluster->controller_id(), 1);
  EXPECT_EQ(cluster->brokers_size(), 3);
  for (const auto& b : cluster->brokers()) EXPECT_FALSE(b.fenced()) << "broker " << b.broker_id();
}

}  // namespace
}  // namespace fjord
