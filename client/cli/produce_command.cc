// `fjord produce TOPIC`: one record per stdin line, like
// kafka-console-producer (parse.key / key.separator) and `rpk topic produce`.
//
// Records are sent asynchronously; each failure is reported on stderr with
// its line number as soon as the producer gives up on it, and the exit code
// is non-zero if any record failed.
#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/cli/command.h"
#include "client/cli/global_options.h"
#include "client/producer.h"
#include "common/status_macros.h"

namespace fjord::cli {
namespace {

struct ProduceOptions {
  std::string topic;
  bool parse_key = false;
  std::string key_separator = "\t";  // Kafka's key.separator default
  std::vector<std::string> headers;
  std::string acks;
  int32_t partition = -1;
  std::string compression_type;
  std::vector<std::string> producer_properties;
  std::string config_file;  // --producer.config
};

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseHeaders(
    const std::vector<std::string>& specs) {
  std::vector<std::pair<std::string, std::string>> headers;
  for (const std::string& spec : specs) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--header '", spec, "' is not of the form key=value"));
    }
    headers.emplace_back(spec.substr(0, eq), spec.substr(eq + 1));
  }
  return headers;
}

// Counts outcomes and prints failures; shared with the producer's sender
// thread, which runs the callbacks.
class Outcomes {
 public:
  void Failed(int64_t line, const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    if (++failed_ == 1) first_error_ = status;
    std::fprintf(stderr, "line %lld: %s\n", static_cast<long long>(line),
                 ErrorText(status).c_str());
  }
  void Succeeded() {
    absl::MutexLock lock(&mu_);
    ++succeeded_;
  }
  std::pair<int64_t, int64_t> Counts() {
    absl::MutexLock lock(&mu_);
    return {succeeded_, failed_};
  }
  absl::Status first_error() {
    absl::MutexLock lock(&mu_);
    return first_error_;
  }

 private:
  absl::Mutex mu_;  // guards the counts and serializes stderr lines
  int64_t succeeded_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t failed_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);
};

// The run's error: the first record's error (its Kafka code kept, so the
// summary names it), with how many records failed.
absl::Status RunError(const absl::Status& first, int64_t failed, int64_t total) {
  absl::Status error(first.code(), absl::StrCat(failed, " of ", total,
                                                " records failed; first error: ", first.message()));
  first.ForEachPayload([&error](absl::string_view url, const absl::Cord& payload) {
    error.SetPayload(url, payload);
  });
  return error;
}

absl::Status RunProduce(const GlobalOptions& global, const ProduceOptions& options) {
  ASSIGN_OR_RETURN(auto headers, ParseHeaders(options.headers));
  if (options.key_separator.empty()) {
    return absl::InvalidArgumentError("--key-separator must not be empty");
  }
  client::Properties overrides;
  if (!options.acks.empty()) overrides["acks"] = options.acks;
  if (!options.compression_type.empty()) overrides["compression.type"] = options.compression_type;
  ASSIGN_OR_RETURN(std::vector<std::string> client_lines,
                   ClientPropertyLines(options.config_file, options.producer_properties));
  ASSIGN_OR_RETURN(client::Properties properties,
                   BuildProperties(global, {}, client_lines, overrides));
  ASSIGN_OR_RETURN(client::ProducerConfig config,
                   client::ProducerConfig::FromProperties(properties));
  ASSIGN_OR_RETURN(std::unique_ptr<client::Producer> producer, client::Producer::Create(config));

  Outcomes outcomes;
  int64_t line_number = 0;
  std::string line;
  while (std::getline(std::cin, line)) {
    ++line_number;
    client::ProducerRecord record{.topic = options.topic, .headers = headers};
    if (options.partition >= 0) record.partition = options.partition;
    if (options.parse_key) {
      const size_t at = line.find(options.key_separator);
      if (at == std::string::npos) {
        outcomes.Failed(line_number, absl::InvalidArgumentError(
                                         absl::StrCat("no key separator '", options.key_separator,
                                                      "' found on line ", line_number)));
        continue;
      }
      record.key = line.substr(0, at);
      record.value = line.substr(at + options.key_separator.size());
    } else {
      record.value = std::move(line);
    }
    // The future is not needed: the callback reports the outcome.
    producer->Send(std::move(record),
                   [&outcomes, line_number](const absl::StatusOr<client::RecordMetadata>& result) {
                     if (result.ok()) {
                       outcomes.Succeeded();
                     } else {
                       outcomes.Failed(line_number, result.status());
                     }
                   });
  }
  producer->Close();
  const auto [succeeded, failed] = outcomes.Counts();
  if (global.format() == OutputFormat::kJson) {
    std::cout << nlohmann::json{{"topic", options.topic},
                                {"produced", succeeded},
                                {"failed", failed}}
                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
              << std::endl;
  } else {
    std::cout << "Produced " << succeeded << " records to topic " << options.topic << " (" << failed
              << " failed)" << std::endl;
  }
  if (failed > 0) {
    return RunError(outcomes.first_error(), failed, line_number);
  }
  return absl::OkStatus();
}

}  // namespace

void AddProduceCommand(CLI::App& root, const GlobalOptions& global, Commands& commands) {
  auto options = std::make_shared<ProduceOptions>();
  CLI::App* app = root.add_subcommand(
      "produce", "Produce one record per line of stdin (like kafka-console-producer)");
  app->add_option("topic", options->topic, "Topic to produce to")->required();
  app->add_flag("--parse-key", options->parse_key,
                "Split each line into key and value at --key-separator");
  app->add_option("--key-separator", options->key_separator,
                  "Key/value separator (default TAB); implies --parse-key")
      ->each([options](const std::string&) { options->parse_key = true; });
  app->add_option("-H,--header", options->headers, "Header key=value for every record (repeatable)")
      ->allow_extra_args(false);
  app->add_option("--acks", options->acks, "acks: all, -1, 0 or 1")
      ->check(CLI::IsMember({"all", "-1", "0", "1"}));
  app->add_option("-p,--partition", options->partition, "Partition for every record")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--compression-type", options->compression_type,
                  "none, gzip, snappy, lz4 or zstd")
      ->check(CLI::IsMember({"none", "gzip", "snappy", "lz4", "zstd"}));
  app->add_option("--producer-property", options->producer_properties,
                  "Producer property key=value (repeatable)")
      ->allow_extra_args(false);
  app->add_option("--producer.config", options->config_file,
                  "Producer properties file (Kafka's format), before the -property flags");
  commands.push_back({app, [&global, options] { return RunProduce(global, *options); }});
}

}  // namespace fjord::cli
