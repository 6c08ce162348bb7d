// End to end against a real multi-process cluster (fjord-controller and
// fjord-broker processes): the admin commands, and produce/consume through
// the real binaries.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_split.h"
#include "client/cli/testing/subprocess.h"
#include "tests/cluster/process_cluster.h"

namespace fjord::cli {
namespace {

using testing::FjordBinary;
using testing::Subprocess;

constexpr absl::Duration kBound = absl::Seconds(60);

class AdminCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new fjord::testing::ProcessCluster({.controllers = 1, .brokers = 2});
    ASSERT_TRUE(cluster_->Start().ok());
    absl::Status ready = cluster_->WaitForBrokers(2);
    ASSERT_TRUE(ready.ok()) << ready;
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  Subprocess::Result Run(std::vector<std::string> args, std::string stdin_data = "") {
    args.insert(args.begin(), {FjordBinary(), "-b", cluster_->bootstrap_servers(),
                               "--bootstrap-controller", cluster_->controller_addresses()});
    auto child = Subprocess::Start(args, std::move(stdin_data));
    EXPECT_TRUE(child.ok()) << child.status();
    Subprocess::Result result = (*child)->Wait(kBound);
    EXPECT_FALSE(result.timed_out) << "fjord did not exit within " << kBound;
    return result;
  }

  // Runs `args` until `done(result)` or `kBound` passed; the last result.
  Subprocess::Result RunUntil(const std::vector<std::string>& args,
                              const std::function<bool(const Subprocess::Result&)>& done) {
    const absl::Time deadline = absl::Now() + kBound;
    Subprocess::Result result = Run(args);
    while (!done(result) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(100));
      result = Run(args);
    }
    return result;
  }

  static fjord::testing::ProcessCluster* cluster_;
};

fjord::testing::ProcessCluster* AdminCliTest::cluster_ = nullptr;

TEST_F(AdminCliTest, TopicLifecycleWithKafkasMessages) {
  auto created = Run({"topic", "create", "life", "-p", "2", "-r", "2", "-c", "retention.ms=60000"});
  EXPECT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(created.out, "Created topic life.\n");

  auto again = Run({"topic", "create", "life", "-p", "2", "-r", "2"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("Error while creating topic life: TOPIC_ALREADY_EXISTS"),
            std::string::npos)
      << again.err;

  auto described = RunUntil({"topic", "describe", "life"}, [](const Subprocess::Result& r) {
    return r.exit_code == 0 && r.out.find("Partition: 1\tLeader: ") != std::string::npos &&
           r.out.find("Leader: none") == std::string::npos;
  });
  EXPECT_NE(described.out.find("\tPartitionCount: 2\tReplicationFactor: 2\t"), std::string::npos)
      << described.out;

  auto set = Run({"topic", "alter-config", "life", "--set", "retention.ms=3600000"});
  EXPECT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(set.out, "Completed updating config for topic life.\n");
  auto with_configs = Run({"topic", "describe", "life"});
  EXPECT_NE(with_configs.out.find("\tConfigs: retention.ms=3600000\n"), std::string::npos)
      << with_configs.out << with_configs.err;
  auto bad = Run({"topic", "alter-config", "life", "--set", "retention.ms=soon"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("INVALID_CONFIG"), std::string::npos) << bad.err;

  auto deleted = Run({"--output", "json", "topic", "delete", "life", "never-existed"});
  EXPECT_EQ(deleted.exit_code, 1);
  auto results = nlohmann::json::parse(deleted.out);
  ASSERT_EQ(results.size(), 2u) << deleted.out;
  EXPECT_EQ(results[0]["error"], "NONE");
  EXPECT_EQ(results[1]["error"], "UNKNOWN_TOPIC_OR_PARTITION");
}

TEST_F(AdminCliTest, ProduceAndConsumeThroughRealBrokers) {
  ASSERT_EQ(Run({"topic", "create", "round-trip", "-p", "3", "-r", "2"}).exit_code, 0);
  // Leaders are elected after creation; the producer waits for them
  // (metadata refresh and retries inside the SDK).
  auto produced = Run({"produce", "round-trip", "--acks", "all", "--key-separator", "="},
                      "k1=v1\nk2=v2\nk3=v3\nk4=v4\n");
  ASSERT_EQ(produced.exit_code, 0) << produced.err;
  EXPECT_EQ(produced.out, "Produced 4 records to topic round-trip (0 failed)\n");

  auto consumed = Run({"consume", "round-trip", "--from-beginning", "-n", "4", "-f", "%k:%v\\n"});
  ASSERT_EQ(consumed.exit_code, 0) << consumed.err;
  std::vector<std::string> lines = absl::StrSplit(consumed.out, '\n', absl::SkipEmpty());
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{"k1:v1", "k2:v2", "k3:v3", "k4:v4"}));
}

TEST_F(AdminCliTest, ClusterInfoAndHealth) {
  auto info = Run({"cluster", "info"});
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("test-cluster"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("Active controller: 1 "), std::string::npos) << info.out;

  auto json = Run({"--output", "json", "cluster", "info"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto described = nlohmann::json::parse(json.out);
  EXPECT_EQ(described["active_controller"], 1);
  ASSERT_EQ(described["brokers"].size(), 2u);
  EXPECT_EQ(described["brokers"][0]["state"], "active");
  ASSERT_EQ(described["controllers"].size(), 1u);
  EXPECT_EQ(described["controllers"][0]["active"], true);

  // Partitions of topics just created may still be catching up: wait for
  // health with a bound, then check what it says.
  auto health = RunUntil({"cluster", "health"}, [](const Subprocess::Result& r) {
    return r.out.find("Healthy:                          true") != std::string::npos;
  });
  EXPECT_EQ(health.exit_code, 0) << health.err;
  EXPECT_NE(health.out.find("Healthy:                          true\n"), std::string::npos)
      << health.out;
  EXPECT_NE(health.out.find("All nodes:                        [101 102]\n"), std::string::npos)
      << health.out;
  EXPECT_NE(health.out.find("Nodes down:                       []\n"), std::string::npos)
      << health.out;
}

}  // namespace
}  // namespace fjord::cli
