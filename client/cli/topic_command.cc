// `fjord topic list|describe`: what the brokers' Metadata RPC says about
// topics (works without a controller; create/delete/alter-config are in
// topic_admin_command.cc).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/admin.h"
#include "client/cli/command.h"
#include "client/cli/global_options.h"
#include "client/cli/metadata_rpc.h"
#include "common/kafka_error.h"
#include "common/status_macros.h"

namespace fjord::cli {
namespace {

constexpr absl::Duration kMetadataTimeout = absl::Seconds(10);
// describe asks the controllers for config overrides; it must not hang on
// a cluster without reachable controllers.
constexpr char kConfigsApiTimeoutMs[] = "5000";

using MetadataTopic = v1::MetadataResponse::MetadataResponseTopic;

int ReplicationFactor(const MetadataTopic& topic) {
  return topic.partitions().empty() ? 0 : topic.partitions(0).replica_nodes_size();
}

std::string Dump(const nlohmann::json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::Status RunList(const GlobalOptions& global) {
  ASSIGN_OR_RETURN(v1::MetadataResponse metadata,
                   FetchMetadata(global.BootstrapList(), {}, kMetadataTimeout));
  std::vector<const MetadataTopic*> topics;
  for (const auto& topic : metadata.topics()) topics.push_back(&topic);
  std::sort(topics.begin(), topics.end(),
            [](const MetadataTopic* a, const MetadataTopic* b) { return a->topic() < b->topic(); });
  if (global.format() == OutputFormat::kJson) {
    nlohmann::json json = nlohmann::json::array();
    for (const MetadataTopic* topic : topics) {
      json.push_back({{"name", topic->topic()},
                      {"topic_id", TopicIdString(topic->topic_id())},
                      {"partitions", topic->partitions_size()},
                      {"replicas", ReplicationFactor(*topic)},
                      {"internal", topic->is_internal()}});
    }
    std::cout << Dump(json) << std::endl;
    return absl::OkStatus();
  }
  size_t width = 4;
  for (const MetadataTopic* topic : topics) width = std::max(width, topic->topic().size());
  std::cout << absl::StrFormat("%-*s  %-10s  %s\n", width, "NAME", "PARTITIONS", "REPLICAS");
  for (const MetadataTopic* topic : topics) {
    std::cout << absl::StrFormat("%-*s  %-10d  %d\n", width, topic->topic(),
                                 topic->partitions_size(), ReplicationFactor(*topic));
  }
  return absl::OkStatus();
}

// The topic's dynamic overrides (Kafka's describe shows only those), or the
// reason they are unknown.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> TopicOverrides(
    client::Admin& admin, const std::string& topic) {
  ASSIGN_OR_RETURN(std::vector<v1::DescribedConfig> configs,
                   admin.DescribeConfigs(v1::ConfigResource::TOPIC, topic));
  std::vector<std::pair<std::string, std::string>> overrides;
  for (const v1::DescribedConfig& config : configs) {
    if (config.config_source() != v1::DescribedConfig::TOPIC_CONFIG) continue;
    overrides.emplace_back(config.name(), config.is_sensitive() ? "(sensitive)" : config.value());
  }
  return overrides;
}

using Overrides = std::vector<std::pair<std::string, std::string>>;

nlohmann::json DescribeJson(const MetadataTopic& topic, const Overrides& configs) {
  nlohmann::json partitions = nlohmann::json::array();
  for (const auto& p : topic.partitions()) {
    partitions.push_back(
        {{"partition", p.partition()},
         {"leader", p.leader_id()},
         {"leader_epoch", p.leader_epoch()},
         {"replicas", std::vector<int32_t>(p.replica_nodes().begin(), p.replica_nodes().end())},
         {"isr", std::vector<int32_t>(p.isr_nodes().begin(), p.isr_nodes().end())},
         {"offline_replicas",
          std::vector<int32_t>(p.offline_replicas().begin(), p.offline_replicas().end())}});
  }
  return {{"name", topic.topic()},
          {"topic_id", TopicIdString(topic.topic_id())},
          {"partition_count", topic.partitions_size()},
          {"replication_factor", ReplicationFactor(topic)},
          {"internal", topic.is_internal()},
          {"configs",
           nlohmann::json(std::map<std::string, std::string>(configs.begin(), configs.end()))},
          {"partitions", partitions}};
}

// kafka-topics.sh --describe's layout.
void DescribeText(const MetadataTopic& topic, const Overrides& configs) {
  std::cout << "Topic: " << topic.topic() << "\tTopicId: " << TopicIdString(topic.topic_id())
            << "\tPartitionCount: " << topic.partitions_size()
            << "\tReplicationFactor: " << ReplicationFactor(topic)
            << "\tConfigs: " << absl::StrJoin(configs, ",", absl::PairFormatter("=")) << "\n";
  for (const auto& p : topic.partitions()) {
    std::cout << "\tTopic: " << topic.topic() << "\tPartition: " << p.partition()
              << "\tLeader: " << (p.leader_id() < 0 ? "none" : std::to_string(p.leader_id()))
              << "\tReplicas: " << absl::StrJoin(p.replica_nodes(), ",")
              << "\tIsr: " << absl::StrJoin(p.isr_nodes(), ",");
    if (!p.offline_replicas().empty()) {
      std::cout << "\tOffline: " << absl::StrJoin(p.offline_replicas(), ",");
    }
    std::cout << "\n";
  }
}

absl::Status RunDescribe(const GlobalOptions& global, const std::vector<std::string>& names) {
  ASSIGN_OR_RETURN(v1::MetadataResponse metadata,
                   FetchMetadata(global.BootstrapList(), names, kMetadataTimeout));
  absl::StatusOr<std::unique_ptr<client::Admin>> admin =
      MakeAdmin(global, {{"default.api.timeout.ms", kConfigsApiTimeoutMs}});
  nlohmann::json json = nlohmann::json::array();
  absl::Status first_error;
  for (const MetadataTopic& topic : metadata.topics()) {
    if (topic.error_code() != v1::NONE) {
      absl::Status error = KafkaError(topic.error_code(), "topic '" + topic.topic() + "'");
      std::cerr << "Error describing " << ErrorText(error) << std::endl;
      first_error.Update(error);
      continue;
    }
    absl::StatusOr<Overrides> configs =
        admin.ok() ? TopicOverrides(**admin, topic.topic()) : admin.status();
    if (!configs.ok()) {
      // Partitions come from the brokers; only the configs are missing.
      std::cerr << "Configs of " << topic.topic() << " unavailable (" << ErrorText(configs.status())
                << ")" << std::endl;
      configs = Overrides{};
    }
    if (global.format() == OutputFormat::kJson) {
      json.push_back(DescribeJson(topic, *configs));
    } else {
      DescribeText(topic, *configs);
    }
  }
  if (global.format() == OutputFormat::kJson) std::cout << Dump(json) << std::endl;
  std::cout.flush();
  return first_error;
}

}  // namespace

void AddTopicCommands(CLI::App& root, const GlobalOptions& global, Commands& commands) {
  CLI::App* topic = root.add_subcommand("topic", "Create, list, describe, alter and delete topics");
  topic->require_subcommand(1);
  AddTopicAdminCommands(*topic, global, commands);

  CLI::App* list = topic->add_subcommand("list", "List topics with partition and replica counts");
  list->alias("ls");
  commands.push_back({list, [&global] { return RunList(global); }});

  auto names = std::make_shared<std::vector<std::string>>();
  CLI::App* describe =
      topic->add_subcommand("describe", "Describe topics in kafka-topics --describe's layout");
  describe->add_option("topics", *names, "Topics to describe")->required();
  commands.push_back({describe, [&global, names] { return RunDescribe(global, *names); }});
}

}  // namespace fjord::cli
