#include "broker/broker_config.h"

#include "gtest/gtest.h"

namespace fjord::broker {
namespace {

TEST(BrokerConfigTest, ReadsKafkaNamedSettings) {
  auto props = ParseProperties(R"(
# a comment
node.id=3
cluster.id = abc
listeners=PLAINTEXT://0.0.0.0:9092
advertised.listeners=PLAINTEXT://b3.example:9092
log.dirs=/var/lib/fjord
controller.quorum.voters=1@c1:9093,2@c2:9093,3@c3:9093
min.insync.replicas=2
replica.lag.time.max.ms=10000
message.max.bytes=2000000
log.flush.policy=relaxed
)");
  ASSERT_TRUE(props.ok()) << props.status();
  auto c = BrokerConfig::FromProperties(*props);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->node_id, 3);
  EXPECT_EQ(c->listener.host, "0.0.0.0");
  EXPECT_EQ(c->advertised.host, "b3.example");
  BrokerServerOptions o = c->ToServerOptions();
  EXPECT_EQ(o.id, BrokerId(3));
  EXPECT_EQ(o.replica.min_insync_replicas, 2);
  EXPECT_EQ(o.replica.replica_lag_time_max, absl::Seconds(10));
  EXPECT_EQ(o.replica.batch_limits.max_batch_bytes, 2000000u);
  EXPECT_EQ(o.replica.durability, DurabilityMode::kRelaxed);
  EXPECT_EQ(o.log.flush_policy, storage::FlushPolicy::kNever);
}

TEST(BrokerConfigTest, DefaultsAreDurable) {
  auto c =
      BrokerConfig::FromProperties({{"broker.id", "1"}, {"cluster.id", "x"}, {"log.dirs", "/d"}});
  ASSERT_TRUE(c.ok()) << c.status();
  BrokerServerOptions o = c->ToServerOptions();
  EXPECT_EQ(o.replica.durability, DurabilityMode::kDurable);
  EXPECT_EQ(o.log.flush_policy, storage::FlushPolicy::kAlways);
  EXPECT_EQ(o.replica.replica_lag_time_max, absl::Seconds(30));
  EXPECT_EQ(c->advertised.port, 9092);
}

TEST(BrokerConfigTest, RejectsBadInput) {
  const std::map<std::string, std::string> base = {
      {"node.id", "1"}, {"cluster.id", "x"}, {"log.dirs", "/d"}};
  auto with = [&](const std::string& k, const std::string& v) {
    auto m = base;
    m[k] = v;
    return BrokerConfig::FromProperties(m).status();
  };
  EXPECT_FALSE(with("min.insync.replicas", "0").ok());
  EXPECT_FALSE(with("node.id", "abc").ok());
  EXPECT_FALSE(with("log.flush.policy", "sometimes").ok());
  EXPECT_FALSE(with("listeners", "localhost:9092").ok());
  EXPECT_FALSE(with("listeners", "PLAINTEXT://0.0.0.0:9092").ok()) << "nothing to advertise";
  EXPECT_FALSE(with("no.such.key", "1").ok());
  EXPECT_FALSE(with("auto.create.topics.enable", "yes").ok());
  EXPECT_TRUE(BrokerConfig::FromProperties(base)->auto_create_topics_enable) << "Kafka's default";
  EXPECT_TRUE(with("auto.create.topics.enable", "false").ok());
  EXPECT_FALSE(BrokerConfig::FromProperties({{"cluster.id", "x"}, {"log.dirs", "/d"}}).ok());
  EXPECT_FALSE(ParseProperties("just text").ok());
}

TEST(BrokerConfigTest, CombinedRolesSplitListenersAndDefaultTheMetadataDir) {
  auto c = BrokerConfig::FromProperties(
      {{"process.roles", "broker,controller"},
       {"node.id", "1"},
       {"listeners", "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"},
       {"controller.listener.names", "CONTROLLER"},
       {"controller.quorum.voters", "1@127.0.0.1:9093"},
       {"log.dirs", "/a, /b"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->broker_role);
  EXPECT_TRUE(c->controller_role);
  EXPECT_EQ(c->listener.name, "PLAINTEXT");
  EXPECT_EQ(c->listener.port, 9092);
  EXPECT_EQ(c->advertised.port, 9092) << "advertised defaults to the broker listener";
  EXPECT_EQ(c->controller_listener.port, 9093);
  EXPECT_EQ(c->metadata_log_dir, "/a");
  EXPECT_EQ(c->ToServerOptions().log_dir, "/a");
  EXPECT_TRUE(c->cluster_id.empty()) << "a controller node reads it from meta.properties";
}

TEST(BrokerConfigTest, RolesDefaultToBrokerAndAreValidated) {
  const std::map<std::string, std::string> base = {
      {"node.id", "1"}, {"cluster.id", "x"}, {"log.dirs", "/d"}};
  auto c = BrokerConfig::FromProperties(base);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->broker_role);
  EXPECT_FALSE(c->controller_role);
  auto with = [&](std::map<std::string, std::string> extra) {
    auto m = base;
    for (auto& [k, v] : extra) m[k] = v;
    return BrokerConfig::FromProperties(m).status();
  };
  EXPECT_FALSE(with({{"process.roles", "zookeeper"}}).ok());
  EXPECT_FALSE(with({{"process.roles", ""}}).ok());
  EXPECT_FALSE(
      with({{"process.roles", "broker,controller"}, {"listeners", "PLAINTEXT://127.0.0.1:9092"}})
          .ok())
      << "the controller role needs a CONTROLLER listener";
  EXPECT_FALSE(with({{"listeners", "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"}}).ok())
      << "a broker-only node must not claim the controller listener";
  EXPECT_FALSE(
      with({{"process.roles", "broker,controller"}, {"listeners", "CONTROLLER://127.0.0.1:9093"}})
          .ok())
      << "the broker role needs a broker listener";
  EXPECT_FALSE(with({{"process.roles", "broker,controller"},
                     {"listeners", "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9092"}})
                   .ok())
      << "the two listeners cannot share a port";
  EXPECT_TRUE(with({{"process.roles", "controller"},
                    {"listeners", "CONTROLLER://127.0.0.1:9093"},
                    {"metadata.log.dir", "/m"}})
                  .ok());
}

}  // namespace
}  // namespace fjord::broker
