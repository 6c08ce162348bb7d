// `fjord perf consume`: kafka-consumer-perf-test for Fjord. Reads
// --messages records from the beginning of every partition of --topic and
// prints Kafka's CSV header and one data line. Assignment is manual, so
// rebalance.time.ms is always 0.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/cli/command.h"
#include "client/cli/global_options.h"
#include "client/cli/interrupt.h"
#include "client/cli/metadata_rpc.h"
#include "client/consumer.h"
#include "common/kafka_error.h"
#include "common/status_macros.h"

namespace fjord::cli {
namespace {

constexpr absl::Duration kPollSlice = absl::Milliseconds(100);
constexpr absl::Duration kMetadataTimeout = absl::Seconds(10);
constexpr double kBytesPerMb = 1024.0 * 1024.0;

struct PerfConsumeOptions {
  std::string topic;
  int64_t messages = 0;
  int64_t timeout_ms = 10000;  // Kafka's default: the longest wait between records
  bool hide_header = false;
  std::vector<std::string> consumer_properties;
  std::string config_file;  // --consumer.config
};

// Kafka's "yyyy-MM-dd HH:mm:ss:SSS", local time.
std::string KafkaTime(absl::Time time) {
  const absl::TimeZone zone = absl::LocalTimeZone();
  const int64_t millis = absl::ToUnixMillis(time) % 1000;
  return absl::StrCat(absl::FormatTime("%Y-%m-%d %H:%M:%S", time, zone), ":",
                      absl::StrFormat("%03d", millis));
}

absl::StatusOr<std::vector<client::TopicPartition>> AllPartitions(const GlobalOptions& global,
                                                                  const std::string& topic) {
  ASSIGN_OR_RETURN(v1::MetadataResponse metadata,
                   FetchMetadata(global.BootstrapList(), {topic}, kMetadataTimeout));
  if (metadata.topics_size() != 1) return absl::InternalError("metadata without the topic");
  const auto& t = metadata.topics(0);
  if (t.error_code() != v1::NONE) return KafkaError(t.error_code(), "topic '" + topic + "'");
  std::vector<client::TopicPartition> partitions;
  for (const auto& p : t.partitions()) partitions.push_back({topic, p.partition()});
  return partitions;
}

absl::Status RunPerfConsume(const GlobalOptions& global, const PerfConsumeOptions& options) {
  ASSIGN_OR_RETURN(std::vector<std::string> client_lines,
                   ClientPropertyLines(options.config_file, options.consumer_properties));
  ASSIGN_OR_RETURN(client::Properties properties, BuildProperties(global, {}, client_lines, {}));
  ASSIGN_OR_RETURN(client::ConsumerConfig config,
                   client::ConsumerConfig::FromProperties(properties));
  ASSIGN_OR_RETURN(std::vector<client::TopicPartition> partitions,
                   AllPartitions(global, options.topic));
  ASSIGN_OR_RETURN(std::unique_ptr<client::Consumer> consumer, client::Consumer::Create(config));
  RETURN_IF_ERROR(consumer->Assign(partitions));
  RETURN_IF_ERROR(consumer->SeekToBeginning(partitions));
  InstallInterruptHandler();

  const absl::Time start = absl::Now();
  absl::Time last_record = start;
  int64_t messages = 0;
  uint64_t bytes = 0;
  bool timed_out = false;
  while (messages < options.messages && !Interrupted()) {
    if (absl::Now() - last_record > absl::Milliseconds(options.timeout_ms)) {
      timed_out = true;
      break;
    }
    ASSIGN_OR_RETURN(std::vector<client::ConsumerRecord> records, consumer->Poll(kPollSlice));
    if (records.empty()) continue;
    last_record = absl::Now();
    for (const client::ConsumerRecord& record : records) {
      ++messages;
      if (record.key) bytes += record.key->size();
      if (record.value) bytes += record.value->size();
    }
  }
  const absl::Time end = absl::Now();
  consumer->Close();
  if (timed_out) {
    std::fprintf(stderr,
                 "WARNING: Exiting before consuming the expected number of messages: timeout "
                 "(%lld ms) exceeded. You can use the --timeout option to increase the timeout.\n",
                 static_cast<long long>(options.timeout_ms));
  }

  const double seconds = std::max(absl::ToDoubleSeconds(end - start), 1e-9);
  const double mb = bytes / kBytesPerMb;
  const int64_t rebalance_ms = 0;
  const int64_t fetch_ms = absl::ToInt64Milliseconds(end - start) - rebalance_ms;
  const double fetch_seconds = std::max(fetch_ms / 1000.0, 1e-9);
  if (global.format() == OutputFormat::kJson) {
    nlohmann::json json = {{"start_time_ms", absl::ToUnixMillis(start)},
                           {"end_time_ms", absl::ToUnixMillis(end)},
                           {"data_consumed_mb", mb},
                           {"mb_per_sec", mb / seconds},
                           {"messages_consumed", messages},
                           {"messages_per_sec", messages / seconds},
                           {"rebalance_time_ms", rebalance_ms},
                           {"fetch_time_ms", fetch_ms},
                           {"fetch_mb_per_sec", mb / fetch_seconds},
                           {"fetch_messages_per_sec", messages / fetch_seconds}};
    std::printf("%s\n", json.dump().c_str());
  } else {
    if (!options.hide_header) {
      std::printf(
          "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
          "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n");
    }
    std::printf("%s, %s, %.4f, %.4f, %lld, %.4f, %lld, %lld, %.4f, %.4f\n",
                KafkaTime(start).c_str(), KafkaTime(end).c_str(), mb, mb / seconds,
                static_cast<long long>(messages), messages / seconds,
                static_cast<long long>(rebalance_ms), static_cast<long long>(fetch_ms),
                mb / fetch_seconds, messages / fetch_seconds);
  }
  std::fflush(stdout);
  if (Interrupted()) return absl::CancelledError("interrupted");
  if (timed_out) {
    return absl::DeadlineExceededError(
        absl::StrCat("consumed ", messages, " of ", options.messages, " messages"));
  }
  return absl::OkStatus();
}

}  // namespace

void AddPerfConsumeCommand(CLI::App& perf, const GlobalOptions& global, Commands& commands) {
  auto options = std::make_shared<PerfConsumeOptions>();
  CLI::App* app =
      perf.add_subcommand("consume", "Consumer benchmark (like kafka-consumer-perf-test)");
  app->add_option("--topic", options->topic, "Topic to consume")->required();
  app->add_option("--messages", options->messages, "Number of messages to consume")
      ->required()
      ->check(CLI::PositiveNumber);
  app->add_option("--timeout", options->timeout_ms,
                  "Longest wait in ms between records before giving up")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app->add_flag("--hide-header", options->hide_header, "Print the data line only");
  app->add_option("--consumer-property,--consumer-props", options->consumer_properties,
                  "Consumer property key=value (repeatable)")
      ->allow_extra_args(false);
  app->add_option("--consumer.config", options->config_file,
                  "Consumer properties file (Kafka's format), before the -property flags");
  commands.push_back({app, [&global, options] { return RunPerfConsume(global, *options); }});
}

}  // namespace fjord::cli
