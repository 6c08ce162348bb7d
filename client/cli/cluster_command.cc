// `fjord cluster info|health`: the cluster's shape from the active
// controller (DescribeCluster) and, for health, every partition's leader and
// ISR from the brokers' Metadata, in the spirit of `rpk cluster health`.
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/admin.h"
#include "client/cli/command.h"
#include "client/cli/global_options.h"
#include "common/status_macros.h"

namespace fjord::cli {
namespace {

std::string EndpointText(const google::protobuf::RepeatedPtrField<v1::Endpoint>& endpoints) {
  std::vector<std::string> parts;
  for (const v1::Endpoint& e : endpoints) parts.push_back(absl::StrCat(e.host(), ":", e.port()));
  return parts.empty() ? "-" : absl::StrJoin(parts, ",");
}

std::string BrokerState(const v1::DescribeClusterResponse::DescribeClusterBroker& broker) {
  if (broker.in_controlled_shutdown()) return "shutting-down";
  return broker.fenced() ? "fenced" : "active";
}

absl::Status RunInfo(const GlobalOptions& global) {
  ASSIGN_OR_RETURN(std::unique_ptr<client::Admin> admin, MakeAdmin(global));
  ASSIGN_OR_RETURN(v1::DescribeClusterResponse cluster, admin->DescribeCluster());
  if (global.format() == OutputFormat::kJson) {
    nlohmann::json controllers = nlohmann::json::array(), brokers = nlohmann::json::array();
    for (const auto& c : cluster.controllers()) {
      controllers.push_back({{"id", c.node_id()},
                             {"endpoints", EndpointText(c.endpoints())},
                             {"voter", c.is_voter()},
                             {"active", c.is_active()},
                             {"log_end_offset", c.log_end_offset()}});
    }
    for (const auto& b : cluster.brokers()) {
      brokers.push_back({{"id", b.broker_id()},
                         {"endpoints", EndpointText(b.endpoints())},
                         {"rack", b.rack()},
                         {"state", BrokerState(b)},
                         {"epoch", b.broker_epoch()}});
    }
    std::cout << nlohmann::json{{"cluster_id", cluster.cluster_id()},
                                {"active_controller", cluster.controller_id()},
                                {"controller_epoch", cluster.controller_epoch()},
                                {"metadata_high_watermark", cluster.high_watermark()},
                                {"controllers", controllers},
                                {"brokers", brokers}}
                     .dump()
              << std::endl;
    return absl::OkStatus();
  }
  std::cout << "CLUSTER\n=======\n"
            << cluster.cluster_id() << "\n\nActive controller: " << cluster.controller_id()
            << " (epoch " << cluster.controller_epoch() << ", metadata offset "
            << cluster.high_watermark() << ")\n\nCONTROLLERS\n===========\n"
            << absl::StrFormat("%-4s %-22s %-6s %-7s %s\n", "ID", "ENDPOINT", "VOTER", "ACTIVE",
                               "LOG-END");
  for (const auto& c : cluster.controllers()) {
    std::cout << absl::StrFormat("%-4d %-22s %-6s %-7s %d\n", c.node_id(),
                                 EndpointText(c.endpoints()), c.is_voter() ? "yes" : "no",
                                 c.is_active() ? "yes" : "no", c.log_end_offset());
  }
  std::cout << "\nBROKERS\n=======\n"
            << absl::StrFormat("%-4s %-22s %-8s %s\n", "ID", "ENDPOINT", "RACK", "STATE");
  for (const auto& b : cluster.brokers()) {
    std::cout << absl::StrFormat("%-4d %-22s %-8s %s\n", b.broker_id(), EndpointText(b.endpoints()),
                                 b.rack().empty() ? "-" : b.rack(), BrokerState(b));
  }
  std::cout.flush();
  return absl::OkStatus();
}

absl::Status RunHealth(const GlobalOptions& global) {
  ASSIGN_OR_RETURN(std::unique_ptr<client::Admin> admin, MakeAdmin(global));
  ASSIGN_OR_RETURN(v1::DescribeClusterResponse cluster, admin->DescribeCluster());
  ASSIGN_OR_RETURN(std::vector<client::TopicMetadata> topics, admin->DescribeTopics({}));
  std::vector<int32_t> nodes, down;
  for (const auto& b : cluster.brokers()) {
    nodes.push_back(b.broker_id());
    if (b.fenced()) down.push_back(b.broker_id());
  }
  std::vector<std::string> leaderless, under_replicated;
  for (const client::TopicMetadata& topic : topics) {
    for (const client::PartitionMetadata& p : topic.partitions) {
      const std::string name = absl::StrCat(topic.name, "/", p.partition);
      if (p.leader < 0) leaderless.push_back(name);
      if (p.isr.size() < p.replicas.size()) under_replicated.push_back(name);
    }
  }
  std::vector<std::string> reasons;
  if (cluster.controller_id() < 0) reasons.push_back("no_active_controller");
  if (!down.empty()) reasons.push_back("nodes_down");
  if (!leaderless.empty()) reasons.push_back("leaderless_partitions");
  if (!under_replicated.empty()) reasons.push_back("under_replicated_partitions");
  const bool healthy = reasons.empty();
  if (global.format() == OutputFormat::kJson) {
    std::cout << nlohmann::json{{"healthy", healthy},
                                {"unhealthy_reasons", reasons},
                                {"controller_id", cluster.controller_id()},
                                {"all_nodes", nodes},
                                {"nodes_down", down},
                                {"leaderless_partitions", leaderless},
                                {"under_replicated_partitions", under_replicated}}
                     .dump()
              << std::endl;
    return absl::OkStatus();
  }
  auto list = [](const auto& items) { return absl::StrCat("[", absl::StrJoin(items, " "), "]"); };
  std::cout << absl::StrFormat("%-34s%s\n", "Healthy:", healthy ? "true" : "false")
            << absl::StrFormat("%-34s%s\n", "Unhealthy reasons:", list(reasons))
            << absl::StrFormat("%-34s%d\n", "Controller ID:", cluster.controller_id())
            << absl::StrFormat("%-34s%s\n", "All nodes:", list(nodes))
            << absl::StrFormat("%-34s%s\n", "Nodes down:", list(down))
            << absl::StrFormat("%-34s%s\n",
                               absl::StrCat("Leaderless partitions (", leaderless.size(), "):"),
                               list(leaderless))
            << absl::StrFormat(
                   "%-34s%s\n",
                   absl::StrCat("Under-replicated partitions (", under_replicated.size(), "):"),
                   list(under_replicated));
  std::cout.flush();
  return absl::OkStatus();
}

}  // namespace

void AddClusterCommands(CLI::App& root, const GlobalOptions& global, Commands& commands) {
  CLI::App* cluster = root.add_subcommand("cluster", "Cluster state: controllers, brokers, health");
  cluster->require_subcommand(1);
  CLI::App* info = cluster->add_subcommand("info", "Controllers (and the active one) and brokers");
  info->alias("metadata");
  commands.push_back({info, [&global] { return RunInfo(global); }});
  CLI::App* health =
      cluster->add_subcommand("health", "Nodes down, leaderless and under-replicated partitions");
  commands.push_back({health, [&global] { return RunHealth(global); }});
}

}  // namespace fjord::cli
