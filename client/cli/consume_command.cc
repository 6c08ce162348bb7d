// `fjord consume TOPIC`: print records as they arrive, like
// kafka-console-consumer and kcat -C, from every partition (or one) of a
// topic with manual assignment, or with `--group G` as a member of consumer
// group G (the coordinator assigns partitions; positions start at the
// group's committed offsets and are committed as it goes,
// enable.auto.commit, and on exit).
//
// Ends on -n records, on --timeout-ms without a record, or on Ctrl-C; every
// end prints "Processed a total of N messages" on stderr as Kafka's tool does.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/cli/command.h"
#include "client/cli/global_options.h"
#include "client/cli/interrupt.h"
#include "client/cli/metadata_rpc.h"
#include "client/cli/record_format.h"
#include "client/consumer.h"
#include "client/group_consumer.h"
#include "common/kafka_error.h"
#include "common/status_macros.h"

namespace fjord::cli {
namespace {

// Poll in short slices so Ctrl-C and --timeout-ms are noticed promptly.
constexpr absl::Duration kPollSlice = absl::Milliseconds(200);
constexpr absl::Duration kMetadataTimeout = absl::Seconds(10);

struct ConsumeOptions {
  std::string topic;
  bool from_beginning = false;
  std::string offset;  // "", "earliest", "latest" or a number
  int64_t timestamp_ms = -1;
  int32_t partition = -1;
  int64_t max_messages = -1;
  std::string format = "%v\\n";
  int64_t timeout_ms = -1;
  std::vector<std::string> consumer_properties;
  std::string config_file;  // --consumer.config
  std::string group;        // --group: consume as a group member
};

// The topic's partitions from the broker, or all of them / just `partition`.
absl::StatusOr<std::vector<client::TopicPartition>> SelectPartitions(
    const GlobalOptions& global, const ConsumeOptions& options) {
  ASSIGN_OR_RETURN(v1::MetadataResponse metadata,
                   FetchMetadata(global.BootstrapList(), {options.topic}, kMetadataTimeout));
  if (metadata.topics_size() != 1) {
    return absl::InternalError("metadata answer without the topic asked for");
  }
  const auto& topic = metadata.topics(0);
  if (topic.error_code() != v1::NONE) {
    return KafkaError(topic.error_code(), absl::StrCat("topic '", options.topic, "'"));
  }
  std::vector<client::TopicPartition> partitions;
  for (const auto& p : topic.partitions()) {
    if (options.partition < 0 || p.partition() == options.partition) {
      partitions.push_back({options.topic, p.partition()});
    }
  }
  if (partitions.empty()) {
    return KafkaError(v1::UNKNOWN_TOPIC_OR_PARTITION,
                      absl::StrCat("topic '", options.topic, "' has no partition ",
                                   options.partition, " (it has ", topic.partitions_size(), ")"));
  }
  return partitions;
}

absl::Status Position(client::Consumer& consumer, const ConsumeOptions& options,
                      const std::vector<client::TopicPartition>& partitions) {
  if (options.from_beginning || options.offset == "earliest") {
    return consumer.SeekToBeginning(partitions);
  }
  if (options.timestamp_ms >= 0) return consumer.SeekToTimestamp(partitions, options.timestamp_ms);
  if (options.offset.empty() || options.offset == "latest") return consumer.SeekToEnd(partitions);
  int64_t offset = 0;
  if (!absl::SimpleAtoi(options.offset, &offset) || offset < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--offset must be earliest, latest or a non-negative offset, not '", options.offset, "'"));
  }
  for (const client::TopicPartition& tp : partitions) RETURN_IF_ERROR(consumer.Seek(tp, offset));
  return absl::OkStatus();
}

// `ConsumerT` is client::Consumer or client::GroupConsumer.
template <typename ConsumerT>
absl::Status ConsumeLoop(const GlobalOptions& global, const ConsumeOptions& options,
                         const RecordFormatter& formatter, ConsumerT& consumer,
                         int64_t& processed) {
  absl::Time last_record = absl::Now();
  std::string out;
  while (!Interrupted() && (options.max_messages < 0 || processed < options.max_messages)) {
    absl::Duration wait = kPollSlice;
    if (options.timeout_ms >= 0) {
      const absl::Duration idle_left =
          last_record + absl::Milliseconds(options.timeout_ms) - absl::Now();
      if (idle_left <= absl::ZeroDuration()) {
        std::fprintf(stderr, "No record for %lld ms (--timeout-ms); exiting.\n",
                     static_cast<long long>(options.timeout_ms));
        break;
      }
      wait = std::min(wait, idle_left);
    }
    ASSIGN_OR_RETURN(std::vector<client::ConsumerRecord> records, consumer.Poll(wait));
    if (records.empty()) continue;
    last_record = absl::Now();
    out.clear();
    std::set<client::TopicPartition> unprinted;
    for (const client::ConsumerRecord& record : records) {
      if (options.max_messages >= 0 && processed >= options.max_messages) {
        // -n reached inside a batch: move back so a group does not commit
        // records that were never printed.
        const client::TopicPartition tp{record.topic, record.partition};
        if (unprinted.insert(tp).second) RETURN_IF_ERROR(consumer.Seek(tp, record.offset));
        continue;
      }
      if (global.format() == OutputFormat::kJson) {
        out += RecordToJson(record);
        out += '\n';
      } else {
        formatter.Format(record, out);
      }
      ++processed;
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
  }
  return absl::OkStatus();
}

absl::Status RunGroupConsume(const GlobalOptions& global, const ConsumeOptions& options,
                             const RecordFormatter& formatter) {
  if (options.partition >= 0 || !options.offset.empty() || options.timestamp_ms >= 0) {
    return absl::InvalidArgumentError(
        "--group cannot be combined with --partition, --offset or --timestamp (the group "
        "assigns partitions and starts them at its committed offsets; reset them with "
        "`fjord group seek`)");
  }
  ASSIGN_OR_RETURN(std::vector<std::string> client_lines,
                   ClientPropertyLines(options.config_file, options.consumer_properties));
  // Kafka's console consumer: --from-beginning means auto.offset.reset=earliest
  // for partitions without a committed offset.
  client::Properties overrides = {{"group.id", options.group}};
  if (options.from_beginning) overrides["auto.offset.reset"] = "earliest";
  ASSIGN_OR_RETURN(client::Properties properties,
                   BuildProperties(global, {}, client_lines, overrides));
  ASSIGN_OR_RETURN(client::ConsumerConfig config,
                   client::ConsumerConfig::FromProperties(properties));
  ASSIGN_OR_RETURN(std::unique_ptr<client::GroupConsumer> consumer,
                   client::GroupConsumer::Create(config));
  RETURN_IF_ERROR(consumer->Subscribe({options.topic}));
  InstallInterruptHandler();
  int64_t processed = 0;
  absl::Status status = ConsumeLoop(global, options, formatter, *consumer, processed);
  consumer->Close();  // commits the positions (enable.auto.commit) and leaves the group
  std::fprintf(stderr, "Processed a total of %lld messages\n", static_cast<long long>(processed));
  return status;
}

absl::Status RunConsume(const GlobalOptions& global, const ConsumeOptions& options) {
  if (!options.group.empty()) {
    ASSIGN_OR_RETURN(RecordFormatter formatter, RecordFormatter::Parse(options.format));
    return RunGroupConsume(global, options, formatter);
  }
  const int starts = (options.from_beginning ? 1 : 0) + (options.offset.empty() ? 0 : 1) +
                     (options.timestamp_ms >= 0 ? 1 : 0);
  if (starts > 1) {
    return absl::InvalidArgumentError(
        "give at most one of --from-beginning, --offset and --timestamp");
  }
  ASSIGN_OR_RETURN(RecordFormatter formatter, RecordFormatter::Parse(options.format));
  ASSIGN_OR_RETURN(std::vector<std::string> client_lines,
                   ClientPropertyLines(options.config_file, options.consumer_properties));
  ASSIGN_OR_RETURN(client::Properties properties, BuildProperties(global, {}, client_lines, {}));
  ASSIGN_OR_RETURN(client::ConsumerConfig config,
                   client::ConsumerConfig::FromProperties(properties));
  ASSIGN_OR_RETURN(std::vector<client::TopicPartition> partitions,
                   SelectPartitions(global, options));
  ASSIGN_OR_RETURN(std::unique_ptr<client::Consumer> consumer, client::Consumer::Create(config));
  RETURN_IF_ERROR(consumer->Assign(partitions));
  RETURN_IF_ERROR(Position(*consumer, options, partitions));

  InstallInterruptHandler();
  int64_t processed = 0;
  absl::Status status = ConsumeLoop(global, options, formatter, *consumer, processed);
  consumer->Close();
  std::fprintf(stderr, "Processed a total of %lld messages\n", static_cast<long long>(processed));
  return status;
}

}  // namespace

void AddConsumeCommand(CLI::App& root, const GlobalOptions& global, Commands& commands) {
  auto options = std::make_shared<ConsumeOptions>();
  CLI::App* app = root.add_subcommand(
      "consume", "Print a topic's records (like kafka-console-consumer / kcat -C)");
  app->add_option("topic", options->topic, "Topic to consume")->required();
  app->add_flag("--from-beginning", options->from_beginning,
                "Start at each partition's log start (default: the log end)");
  app->add_option("-o,--offset", options->offset,
                  "Start offset: earliest, latest, or an offset applied to every partition read");
  app->add_option("--timestamp", options->timestamp_ms,
                  "Start at the first record with timestamp >= this (ms since the epoch)")
      ->check(CLI::NonNegativeNumber);
  app->add_option("-p,--partition", options->partition, "Read only this partition (default: all)")
      ->check(CLI::NonNegativeNumber);
  app->add_option("-n,--max-messages", options->max_messages, "Exit after this many records")
      ->check(CLI::NonNegativeNumber);
  app->add_option("-f,--format", options->format,
                  "Text format: %k key, %v value, %o offset, %p partition, %t timestamp, "
                  "%T topic, %h headers, %K/%S key/value length, \\n \\t")
      ->capture_default_str();
  app->add_option("--timeout-ms", options->timeout_ms, "Exit when no record arrived for this long")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--consumer-property", options->consumer_properties,
                  "Consumer property key=value (repeatable)")
      ->allow_extra_args(false);
  app->add_option("--consumer.config", options->config_file,
                  "Consumer properties file (Kafka's format), before the -property flags");
  app->add_option("-g,--group", options->group,
                  "Consume as a member of this consumer group (commits as it goes)");
  commands.push_back({app, [&global, options] { return RunConsume(global, *options); }});
}

}  // namespace fjord::cli
