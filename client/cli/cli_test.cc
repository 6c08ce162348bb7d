// End to end: the real `fjord` binary, run as a child process, against real
// brokers in this process (the broker's TestCluster on loopback).
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "broker/test_cluster.h"
#include "client/cli/testing/subprocess.h"

namespace fjord::cli {
namespace {

using testing::FjordBinary;
using testing::Subprocess;

constexpr absl::Duration kBound = absl::Seconds(60);

class CliTest : public ::testing::Test {
 protected:
  CliTest() : cluster_(1) { cluster_.CreateTopic("t", {{1}, {1}, {1}}); }

  Subprocess::Result Run(std::vector<std::string> args, std::string stdin_data = "") {
    auto child = Start(std::move(args), std::move(stdin_data));
    Subprocess::Result result = child->Wait(kBound);
    EXPECT_FALSE(result.timed_out) << "fjord did not exit within " << kBound << "\nstdout:\n"
                                   << result.out << "\nstderr:\n"
                                   << result.err;
    return result;
  }

  std::unique_ptr<Subprocess> Start(std::vector<std::string> args, std::string stdin_data = "") {
    args.insert(args.begin(), {FjordBinary(), "-b", cluster_.broker(1).address()});
    auto child = Subprocess::Start(args, std::move(stdin_data));
    EXPECT_TRUE(child.ok()) << child.status();
    return std::move(*child);
  }

  static std::vector<std::string> SortedLines(const std::string& text) {
    std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
    std::sort(lines.begin(), lines.end());
    return lines;
  }

  broker::testing::TestCluster cluster_;
};

TEST_F(CliTest, WhatIsProducedFromStdinIsConsumedWithKeysAndHeaders) {
  auto produced = Run({"produce", "t", "--key-separator", ":", "--header", "h=1", "--acks", "all"},
                      "a:1\nb:2\nc:x:y\n");
  EXPECT_EQ(produced.exit_code, 0) << produced.err;
  EXPECT_EQ(produced.out, "Produced 3 records to topic t (0 failed)\n");

  auto consumed = Run({"consume", "t", "--from-beginning", "-n", "3", "-f", "%k=%v %h %T\\n"});
  EXPECT_EQ(consumed.exit_code, 0) << consumed.err;
  EXPECT_EQ(SortedLines(consumed.out),
            (std::vector<std::string>{"a=1 h=1 t", "b=2 h=1 t", "c=x:y h=1 t"}));
  EXPECT_NE(consumed.err.find("Processed a total of 3 messages"), std::string::npos)
      << consumed.err;
}

TEST_F(CliTest, ConsumeFromAnOffsetOfOnePartitionAsJsonUntilIdle) {
  auto produced = Run({"produce", "t", "--partition", "2"}, "zero\none\ntwo\n");
  ASSERT_EQ(produced.exit_code, 0) << produced.err;

  auto consumed = Run({"--output", "json", "consume", "t", "--partition", "2", "--offset", "1",
                       "--timeout-ms", "1000"});
  EXPECT_EQ(consumed.exit_code, 0) << consumed.err;
  std::vector<std::string> lines = absl::StrSplit(consumed.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << consumed.out;
  auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first["value"], "one");
  EXPECT_EQ(first["offset"], 1);
  EXPECT_EQ(first["partition"], 2);
  EXPECT_TRUE(first["key"].is_null());
  EXPECT_EQ(nlohmann::json::parse(lines[1])["value"], "two");
  EXPECT_NE(consumed.err.find("Processed a total of 2 messages"), std::string::npos)
      << consumed.err;
}

TEST_F(CliTest, ConsumeStopsCleanlyOnCtrlCWithTheCount) {
  ASSERT_EQ(Run({"produce", "t"}, "first\nsecond\n").exit_code, 0);
  auto consumer = Start({"consume", "t", "--from-beginning"});
  ASSERT_TRUE(consumer->WaitForStdout("first\n", kBound));
  ASSERT_TRUE(consumer->WaitForStdout("second\n", kBound));
  consumer->Signal(SIGINT);
  Subprocess::Result result = consumer->Wait(kBound);
  EXPECT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("Processed a total of 2 messages"), std::string::npos) << result.err;
}

TEST_F(CliTest, ProduceReportsEachFailedRecordAndExitsNonZero) {
  auto bad_partition = Run({"produce", "t", "--partition", "7"}, "a\nb\n");
  EXPECT_EQ(bad_partition.exit_code, 1);
  EXPECT_EQ(bad_partition.out, "Produced 0 records to topic t (2 failed)\n");
  EXPECT_NE(bad_partition.err.find("line 1: "), std::string::npos) << bad_partition.err;
  EXPECT_NE(bad_partition.err.find("line 2: "), std::string::npos) << bad_partition.err;

  auto no_separator = Run({"produce", "t", "--parse-key"}, "k\tv\nno-tab-here\n");
  EXPECT_EQ(no_separator.exit_code, 1);
  EXPECT_EQ(no_separator.out, "Produced 1 records to topic t (1 failed)\n");
  EXPECT_NE(no_separator.err.find("line 2: INVALID_REQUEST"), std::string::npos)
      << no_separator.err;
}

TEST_F(CliTest, ProduceToAMissingTopicFailsAfterMaxBlockWithKafkasTimeout) {
  // This cluster does not auto-create topics.
  auto produced = Run({"produce", "nope", "--producer-property", "max.block.ms=1000"}, "a\nb\n");
  EXPECT_EQ(produced.exit_code, 1);
  EXPECT_EQ(produced.out, "Produced 0 records to topic nope (2 failed)\n");
  EXPECT_NE(produced.err.find("line 1: REQUEST_TIMED_OUT: Topic nope not present in metadata "
                              "(UNKNOWN_TOPIC_OR_PARTITION) after 1000 ms."),
            std::string::npos)
      << produced.err;
  // The summary names the records' error, not UNKNOWN_SERVER_ERROR.
  EXPECT_NE(produced.err.find("fjord: REQUEST_TIMED_OUT: 2 of 2 records failed; first error: "
                              "Topic nope not present in metadata"),
            std::string::npos)
      << produced.err;
}

TEST(CliAutoCreateTest, ProduceToAMissingTopicWorksWhenTheBrokerAutoCreatesIt) {
  broker::testing::TestCluster* cluster_ptr = nullptr;
  absl::Mutex mu;
  std::vector<std::string> created;
  broker::BrokerServerOptions options;
  options.auto_create_topic = [&](const std::string& topic) {
    absl::MutexLock lock(&mu);
    created.push_back(topic);
    cluster_ptr->CreateTopic(topic, {{1}, {1}});
    return absl::OkStatus();
  };
  broker::testing::TestCluster cluster(1, options);
  cluster_ptr = &cluster;
  auto child = Subprocess::Start(
      {FjordBinary(), "-b", cluster.broker(1).address(), "produce", "fresh"}, "one\ntwo\n");
  ASSERT_TRUE(child.ok()) << child.status();
  Subprocess::Result produced = (*child)->Wait(kBound);
  ASSERT_FALSE(produced.timed_out) << produced.err;
  EXPECT_EQ(produced.exit_code, 0) << produced.err;
  EXPECT_EQ(produced.out, "Produced 2 records to topic fresh (0 failed)\n");
  absl::MutexLock lock(&mu);
  EXPECT_EQ(created, std::vector<std::string>{"fresh"});
}

TEST_F(CliTest, TopicDescribePrintsKafkasLayout) {
  auto described = Run({"topic", "describe", "t"});
  EXPECT_EQ(described.exit_code, 0) << described.err;
  EXPECT_EQ(described.out.rfind("Topic: t\tTopicId: ", 0), 0u) << described.out;
  EXPECT_NE(described.out.find("\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: \n"),
            std::string::npos)
      << described.out;
  for (int p = 0; p < 3; ++p) {
    EXPECT_NE(described.out.find("\tTopic: t\tPartition: " + std::to_string(p) +
                                 "\tLeader: 1\tReplicas: 1\tIsr: 1\n"),
              std::string::npos)
        << described.out;
  }

  // The TestCluster has no controller: the configs cannot be described, and
  // describe says so instead of pretending there are no overrides.
  EXPECT_NE(described.err.find("Configs of t unavailable ("), std::string::npos) << described.err;

  auto missing = Run({"topic", "describe", "nope"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("UNKNOWN_TOPIC_OR_PARTITION"), std::string::npos) << missing.err;
}

TEST_F(CliTest, TopicListAsTextAndJson) {
  cluster_.CreateTopic("other", {{1}});
  auto text = Run({"topic", "list"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(SortedLines(text.out),
            (std::vector<std::string>{"NAME   PARTITIONS  REPLICAS", "other  1           1",
                                      "t      3           1"}));

  auto json = Run({"--output", "json", "topic", "list"});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  auto topics = nlohmann::json::parse(json.out);
  ASSERT_EQ(topics.size(), 2u);
  EXPECT_EQ(topics[1]["name"], "t");
  EXPECT_EQ(topics[1]["partitions"], 3);
}

TEST_F(CliTest, ProducerConfigFileIsReadAndCommandLinePropertiesWin) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/producer.properties";
  std::ofstream(path) << "# Kafka's format\nacks=2\nlinger.ms=1\n";
  auto bad = Run({"produce", "t", "--producer.config", path}, "x\n");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("acks"), std::string::npos) << bad.err;

  auto fixed =
      Run({"produce", "t", "--producer.config", path, "--producer-property", "acks=1"}, "x\n");
  EXPECT_EQ(fixed.exit_code, 0) << fixed.err;
  EXPECT_EQ(fixed.out, "Produced 1 records to topic t (0 failed)\n");

  auto missing = Run({"produce", "t", "--producer.config", path + ".nope"}, "x\n");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("cannot read"), std::string::npos) << missing.err;
}

TEST_F(CliTest, BadCommandLinesFailWithAMessage) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"produce", "t", "--acks", "2"},
           {"consume", "t", "-f", "%x"},
           {"consume", "t", "--offset", "soon"},
           {"consume", "t", "--from-beginning", "--offset", "3"},
           {"produce", "t", "-X", "no.such.property=1"},
           {"consume", "t", "--partition", "9"},
       }) {
    auto result = Run(args);
    EXPECT_NE(result.exit_code, 0) << args[0] << " " << args.back();
    EXPECT_FALSE(result.err.empty()) << args[0] << " " << args.back();
  }
}

}  // namespace
}  // namespace fjord::cli
