// `fjord perf produce|consume` against real brokers in this process: their
// output parses in Kafka's formats and the counts are the ones asked for.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "broker/test_cluster.h"
#include "client/cli/testing/subprocess.h"

namespace fjord::cli {
namespace {

using testing::FjordBinary;
using testing::Subprocess;

constexpr absl::Duration kBound = absl::Seconds(120);

class PerfTest : public ::testing::Test {
 protected:
  PerfTest() : cluster_(1) { cluster_.CreateTopic("perf", {{1}, {1}}); }

  Subprocess::Result Run(std::vector<std::string> args) {
    args.insert(args.begin(), {FjordBinary(), "-b", cluster_.broker(1).address()});
    auto child = Subprocess::Start(args, "");
    EXPECT_TRUE(child.ok()) << child.status();
    Subprocess::Result result = (*child)->Wait(kBound);
    EXPECT_FALSE(result.timed_out) << "fjord did not exit within " << kBound;
    return result;
  }

  broker::testing::TestCluster cluster_;
};

// The last non-empty line.
std::string LastLine(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  return lines.empty() ? "" : lines.back();
}

TEST_F(PerfTest, ProduceThenConsumeInKafkasFormats) {
  auto produced =
      Run({"perf", "produce", "--topic", "perf", "--num-records", "3000", "--record-size", "100",
           "--throughput", "-1", "--producer-props", "linger.ms=2", "acks=all"});
  ASSERT_EQ(produced.exit_code, 0) << produced.err;
  const std::regex final_line(
      R"(^(\d+) records sent, (\d+\.\d{6}) records/sec \((\d+\.\d{2}) MB/sec\), )"
      R"((\d+\.\d{2}) ms avg latency, (\d+\.\d{2}) ms max latency, )"
      R"((\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th\.$)");
  std::smatch match;
  const std::string line = LastLine(produced.out);
  ASSERT_TRUE(std::regex_match(line, match, final_line)) << produced.out;
  EXPECT_EQ(match[1], "3000");
  double records_per_sec = 0, avg_ms = 0, max_ms = 0;
  ASSERT_TRUE(absl::SimpleAtod(match[2].str(), &records_per_sec));
  ASSERT_TRUE(absl::SimpleAtod(match[4].str(), &avg_ms));
  ASSERT_TRUE(absl::SimpleAtod(match[5].str(), &max_ms));
  EXPECT_GT(records_per_sec, 0);
  EXPECT_LE(avg_ms, max_ms);
  int p50 = 0, p95 = 0, p99 = 0, p999 = 0;
  ASSERT_TRUE(absl::SimpleAtoi(match[6].str(), &p50));
  ASSERT_TRUE(absl::SimpleAtoi(match[7].str(), &p95));
  ASSERT_TRUE(absl::SimpleAtoi(match[8].str(), &p99));
  ASSERT_TRUE(absl::SimpleAtoi(match[9].str(), &p999));
  EXPECT_LE(p50, p95);
  EXPECT_LE(p95, p99);
  EXPECT_LE(p99, p999);
  EXPECT_LE(p999, max_ms);

  auto consumed = Run({"perf", "consume", "--topic", "perf", "--messages", "3000"});
  ASSERT_EQ(consumed.exit_code, 0) << consumed.err;
  std::vector<std::string> lines = absl::StrSplit(consumed.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << consumed.out;
  EXPECT_EQ(lines[0],
            "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
            "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec");
  const std::string time = R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3})";
  const std::regex data_line("^" + time + ", " + time +
                             R"(, (\d+\.\d{4}), \d+\.\d{4}, (\d+), \d+\.\d{4}, 0, \d+, )"
                             R"(\d+\.\d{4}, \d+\.\d{4}$)");
  ASSERT_TRUE(std::regex_match(lines[1], match, data_line)) << lines[1];
  EXPECT_EQ(match[1], "0.2861");  // 3000 x 100 bytes in MiB
  EXPECT_EQ(match[2], "3000");
}

TEST_F(PerfTest, ProgressLinesInKafkasWindowFormat) {
  // At 1000 records/s, 400 records take at least 0.39 s (the bucket holds
  // 10), so a 100 ms reporting interval yields at least one progress line.
  auto produced =
      Run({"perf", "produce", "--topic", "perf", "--num-records", "400", "--record-size", "10",
           "--throughput", "1000", "--reporting-interval", "100"});
  ASSERT_EQ(produced.exit_code, 0) << produced.err;
  std::vector<std::string> lines = absl::StrSplit(produced.out, '\n', absl::SkipEmpty());
  ASSERT_GE(lines.size(), 2u) << produced.out;
  const std::regex window_line(R"(^(\d+) records sent, \d+\.\d records/sec \(\d+\.\d{2} MB/sec\), )"
                               R"(\d+\.\d ms avg latency, \d+\.\d ms max latency\.$)");
  int64_t in_windows = 0;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    std::smatch match;
    ASSERT_TRUE(std::regex_match(lines[i], match, window_line)) << lines[i];
    in_windows += std::stoll(match[1]);
  }
  EXPECT_LE(in_windows, 400);
  EXPECT_EQ(lines.back().rfind("400 records sent, ", 0), 0u) << lines.back();
}

TEST_F(PerfTest, ThrottledProduceAndConsumeAsJson) {
  auto produced = Run({"--output", "json", "perf", "produce", "--topic", "perf", "--num-records",
                       "300", "--record-size", "10", "--throughput", "1000"});
  ASSERT_EQ(produced.exit_code, 0) << produced.err;
  auto report = nlohmann::json::parse(produced.out);
  EXPECT_EQ(report["records_sent"], 300);
  EXPECT_EQ(report["records_failed"], 0);
  EXPECT_LE(report["p50_ms"].get<double>(), report["p99_ms"].get<double>());
  EXPECT_LE(report["p99_ms"].get<double>(), report["max_latency_ms"].get<double>());

  auto consumed =
      Run({"--output", "json", "perf", "consume", "--topic", "perf", "--messages", "300"});
  ASSERT_EQ(consumed.exit_code, 0) << consumed.err;
  auto stats = nlohmann::json::parse(consumed.out);
  EXPECT_EQ(stats["messages_consumed"], 300);
  EXPECT_EQ(stats["rebalance_time_ms"], 0);
}

TEST_F(PerfTest, ConsumeGivesUpAfterTheTimeoutWithWhatItRead) {
  auto produced =
      Run({"perf", "produce", "--topic", "perf", "--num-records", "50", "--record-size", "8"});
  ASSERT_EQ(produced.exit_code, 0) << produced.err;
  auto consumed = Run({"perf", "consume", "--topic", "perf", "--messages", "100", "--timeout",
                       "500", "--hide-header"});
  EXPECT_EQ(consumed.exit_code, 1);
  EXPECT_NE(consumed.err.find("WARNING: Exiting before consuming the expected number of messages"),
            std::string::npos)
      << consumed.err;
  std::vector<std::string> fields = absl::StrSplit(LastLine(consumed.out), ", ");
  ASSERT_EQ(fields.size(), 10u) << consumed.out;
  EXPECT_EQ(fields[4], "50");
}

TEST_F(PerfTest, RejectsBadArguments) {
  EXPECT_NE(Run({"perf", "produce", "--topic", "perf", "--num-records", "5"}).exit_code, 0)
      << "no --record-size nor --payload-file";
  EXPECT_NE(Run({"perf", "produce", "--topic", "perf", "--num-records", "5", "--record-size", "1",
                 "--producer-props", "acks=2"})
                .exit_code,
            0);
  EXPECT_NE(Run({"perf", "consume", "--topic", "missing", "--messages", "1"}).exit_code, 0);
}

}  // namespace
}  // namespace fjord::cli
