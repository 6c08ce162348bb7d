// The `fjord` CLI's consumer-group commands against real fjord-controller
// and fjord-broker processes: consume --group commits as it goes, group
// describe shows offsets and lag, group seek resets an empty group and is
// refused while a member is active, group list and delete.
#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "client/cli/testing/subprocess.h"
#include "tests/cluster/process_cluster.h"

namespace fjord {
namespace {

using cli::testing::FjordBinary;
using cli::testing::Subprocess;

constexpr absl::Duration kBound = absl::Seconds(45);

class GroupCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new testing::ProcessCluster(
        {.controllers = 1,
         .brokers = 2,
         .broker_properties = {{"offsets.topic.replication.factor", "2"},
                               {"offsets.topic.num.partitions", "3"},
                               {"group.consumer.session.timeout.ms", "6000"},
                               {"group.consumer.heartbeat.interval.ms", "500"}}});
    ASSERT_TRUE(cluster_->Start().ok());
    absl::Status ready = cluster_->WaitForBrokers(2);
    ASSERT_TRUE(ready.ok()) << ready;
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  static std::vector<std::string> Args(std::vector<std::string> args) {
    args.insert(args.begin(), {FjordBinary(), "-b", cluster_->bootstrap_servers(),
                               "--bootstrap-controller", cluster_->controller_addresses()});
    return args;
  }

  Subprocess::Result Run(std::vector<std::string> args, std::string stdin_data = "") {
    auto child = Subprocess::Start(Args(std::move(args)), std::move(stdin_data));
    EXPECT_TRUE(child.ok()) << child.status();
    Subprocess::Result result = (*child)->Wait(kBound);
    EXPECT_FALSE(result.timed_out) << "fjord did not exit within " << kBound;
    return result;
  }

  // `group describe G --output json`, parsed; null when it failed.
  nlohmann::json Describe(const std::string& group) {
    auto result = Run({"group", "describe", group, "--output", "json"});
    if (result.exit_code != 0) return nullptr;
    auto json = nlohmann::json::parse(result.out, nullptr, /*allow_exceptions=*/false);
    if (!json.is_array() || json.size() != 1) return nullptr;
    return json[0];
  }

  static int64_t Sum(const nlohmann::json& group, const std::string& field) {
    int64_t sum = 0;
    for (const auto& p : group["partitions"]) {
      if (p[field].is_number()) sum += p[field].get<int64_t>();
    }
    return sum;
  }

  static testing::ProcessCluster* cluster_;
};

testing::ProcessCluster* GroupCliTest::cluster_ = nullptr;

std::string Lines(int from, int to) {
  std::string out;
  for (int i = from; i < to; ++i) out += "v" + std::to_string(i) + "\n";
  return out;
}

TEST_F(GroupCliTest, ConsumeDescribeSeekListDelete) {
  ASSERT_EQ(Run({"topic", "create", "cg-topic", "-p", "3", "-r", "2"}).exit_code, 0);
  auto produced = Run({"produce", "cg-topic", "--acks", "all"}, Lines(0, 30));
  ASSERT_EQ(produced.exit_code, 0) << produced.err;

  // consume --group: 30 records, committed when it exits.
  auto consumed = Run({"consume", "cg-topic", "--group", "cg", "--from-beginning", "-n", "30"});
  ASSERT_EQ(consumed.exit_code, 0) << consumed.err;
  EXPECT_EQ(std::count(consumed.out.begin(), consumed.out.end(), '\n'), 30);
  EXPECT_NE(consumed.err.find("Processed a total of 30 messages"), std::string::npos);

  ASSERT_EQ(Run({"produce", "cg-topic", "--acks", "all"}, Lines(30, 40)).exit_code, 0);
  nlohmann::json described = Describe("cg");
  ASSERT_FALSE(described.is_null());
  EXPECT_EQ(described["group"], "cg");
  EXPECT_EQ(Sum(described, "current_offset"), 30);
  EXPECT_EQ(Sum(described, "log_end_offset"), 40);
  EXPECT_EQ(Sum(described, "lag"), 10);
  EXPECT_EQ(described["total_lag"], 10);
  auto text = Run({"group", "describe", "cg"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("GROUP  TOPIC     PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  "
                          "CONSUMER-ID  HOST  CLIENT-ID"),
            std::string::npos)
      << text.out;

  auto listed = Run({"group", "list", "--output", "json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  auto groups = nlohmann::json::parse(listed.out, nullptr, false);
  bool found = false;
  for (const auto& g : groups) found |= g["group"] == "cg";
  EXPECT_TRUE(found) << listed.out;

  // seek --to-earliest on the empty group.
  auto seek = Run({"group", "seek", "cg", "--to-earliest"});
  ASSERT_EQ(seek.exit_code, 0) << seek.err;
  EXPECT_NE(seek.out.find("NEW-OFFSET"), std::string::npos);
  described = Describe("cg");
  ASSERT_FALSE(described.is_null());
  EXPECT_EQ(Sum(described, "current_offset"), 0);
  EXPECT_EQ(Sum(described, "lag"), 40);
  // --shift-by on one partition that has records (the sticky partitioner
  // may have put them all in one).
  std::string busy;
  for (const auto& p : described["partitions"]) {
    if (p["log_end_offset"].get<int64_t>() >= 2) busy = std::to_string(p["partition"].get<int>());
  }
  ASSERT_FALSE(busy.empty());
  auto shifted = Run({"group", "seek", "cg", "--topic", "cg-topic:" + busy, "--shift-by", "2"});
  ASSERT_EQ(shifted.exit_code, 0) << shifted.err;
  described = Describe("cg");
  EXPECT_EQ(Sum(described, "current_offset"), 2);
  ASSERT_EQ(Run({"group", "seek", "cg", "--to-earliest"}).exit_code, 0);

  // A live member: seek is refused; the member then reads from the reset.
  auto member = Subprocess::Start(Args({"consume", "cg-topic", "--group", "cg"}), "");
  ASSERT_TRUE(member.ok());
  ASSERT_TRUE((*member)->WaitForStdout("v39\n", kBound)) << "the member never read the topic";
  auto refused = Run({"group", "seek", "cg", "--to-latest"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("NON_EMPTY_GROUP"), std::string::npos) << refused.err;
  described = Describe("cg");
  ASSERT_FALSE(described.is_null());
  EXPECT_EQ(described["members"].size(), 1u);
  (*member)->Signal(SIGINT);
  auto ended = (*member)->Wait(kBound);
  EXPECT_EQ(ended.exit_code, 0) << ended.err;
  EXPECT_NE(ended.err.find("Processed a total of 40 messages"), std::string::npos) << ended.err;
  described = Describe("cg");
  EXPECT_EQ(Sum(described, "current_offset"), 40) << "Ctrl-C did not commit";
  EXPECT_EQ(described["members"].size(), 0u) << "Ctrl-C did not leave the group";

  auto deleted = Run({"group", "delete", "cg"});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
  auto gone = Run({"group", "describe", "cg"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.err.find("GROUP_ID_NOT_FOUND"), std::string::npos) << gone.err;
}

}  // namespace
}  // namespace fjord
