// Admin client behaviour that needs no controller: pointed only at brokers
// (which serve no controller API), it fails at once with a clear message
// instead of retrying until default.api.timeout.ms.
#include "client/admin.h"

#include <gtest/gtest.h>

#include "client/testing/scripted_broker.h"

namespace fjord::client {
namespace {

TEST(Admin, BrokersWithoutControllerApiFailFast) {
  testing::ScriptedBroker broker(1);
  broker.Start();
  broker.SetCluster({&broker}, {{"t", {1}}});
  auto config = AdminConfig::FromProperties(
      {{"bootstrap.servers", broker.address()}, {"default.api.timeout.ms", "60000"}});
  ASSERT_TRUE(config.ok());
  auto admin = std::move(*Admin::Create(*config));
  auto cluster = admin->DescribeCluster();
  // FailedPrecondition, not DeadlineExceeded: it did not wait out the
  // 60 s API timeout.
  EXPECT_EQ(cluster.status().code(), absl::StatusCode::kFailedPrecondition) << cluster.status();
  EXPECT_NE(cluster.status().message().find("bootstrap.controllers"), std::string::npos);
  // Topic listing comes from the brokers' Metadata and works.
  auto topics = admin->ListTopics();
  ASSERT_TRUE(topics.ok()) << topics.status();
  EXPECT_EQ(*topics, std::vector<std::string>{"t"});
}

TEST(TopicIdToString, Base64UrlLikeKafka) {
  v1::Uuid id;
  id.set_high(0);
  id.set_low(1);  // Kafka's METADATA_TOPIC_ID prints as AAAAAAAAAAAAAAAAAAAAAQ
  EXPECT_EQ(TopicIdToString(id), "AAAAAAAAAAAAAAAAAAAAAQ");
}

}  // namespace
}  // namespace fjord::client
