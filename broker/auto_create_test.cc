// auto.create.topics.enable: a Metadata request that allows it asks for an
// unknown topic to be created and is answered LEADER_NOT_AVAILABLE (the
// client retries, as with Kafka); without the request's permission, for an
// internal name, or when the hook fails, nothing is created.
#include <vector>

#include "absl/synchronization/mutex.h"
#include "broker/test_cluster.h"
#include "common/kafka_error.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace fjord::broker {
namespace {

v1::MetadataResponse::MetadataResponseTopic Ask(testing::TestCluster& cluster,
                                                const std::string& topic, bool allow) {
  v1::MetadataRequest req;
  req.add_topics()->set_topic(topic);
  req.set_allow_auto_topic_creation(allow);
  grpc::ClientContext ctx;
  v1::MetadataResponse resp;
  EXPECT_TRUE(cluster.Stub(1)->Metadata(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.topics_size(), 1);
  return resp.topics_size() == 1 ? resp.topics(0) : v1::MetadataResponse::MetadataResponseTopic();
}

TEST(AutoCreateTopicsTest, MetadataCreatesUnknownTopicsOnlyWhenAllowed) {
  absl::Mutex mu;
  std::vector<std::string> asked;
  testing::TestCluster* cluster_ptr = nullptr;
  BrokerServerOptions options;
  options.auto_create_topic = [&](const std::string& topic) {
    absl::MutexLock lock(&mu);
    asked.push_back(topic);
    if (topic == "bad") return KafkaError(v1::INVALID_REPLICATION_FACTOR, "rf 3 > 1 broker");
    cluster_ptr->CreateTopic(topic, {{1}});
    return absl::OkStatus();
  };
  testing::TestCluster cluster(1, options);
  cluster_ptr = &cluster;

  EXPECT_EQ(Ask(cluster, "orders", /*allow=*/false).error_code(), v1::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(Ask(cluster, "__internal", /*allow=*/true).error_code(),
            v1::UNKNOWN_TOPIC_OR_PARTITION);
  {
    absl::MutexLock lock(&mu);
    EXPECT_TRUE(asked.empty()) << "created without permission, or an internal topic";
  }
  EXPECT_EQ(Ask(cluster, "orders", /*allow=*/true).error_code(), v1::LEADER_NOT_AVAILABLE);
  EXPECT_EQ(Ask(cluster, "bad", /*allow=*/true).error_code(), v1::INVALID_REPLICATION_FACTOR);
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(asked, (std::vector<std::string>{"orders", "bad"}));
  }
  // Once the image has it, Metadata describes it like any topic.
  auto orders = Ask(cluster, "orders", /*allow=*/true);
  EXPECT_EQ(orders.error_code(), v1::NONE);
  EXPECT_EQ(orders.partitions_size(), 1);
  absl::MutexLock lock(&mu);
  EXPECT_EQ(asked.size(), 2u) << "an existing topic is not created again";
}

}  // namespace
}  // namespace fjord::broker
