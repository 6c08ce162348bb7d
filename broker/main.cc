// fjord-broker: one Fjord node. Reads a Kafka-style properties file (see
// broker_config.h) and runs the roles process.roles names:
//   broker (default)    BrokerService and ReplicationService on its listener,
//                       registered with the controller quorum, following the
//                       metadata log (BrokerNode);
//   controller          a member of the controller quorum on the CONTROLLER
//                       listener (controller/server's ControllerNode);
//   broker,controller   both in one process (KRaft's combined mode, the local
//                       single-node default); the broker reaches its own
//                       controller over loopback gRPC like any broker.
// One /metrics endpoint (metrics.listen) serves both roles' metrics.
// SIGTERM/SIGINT: the broker's controlled shutdown first (bounded, see
// BrokerNodeLimits), then the controller.
//
//   fjord-broker format --config server.properties [--cluster-id ID]
//   fjord-broker --config server.properties [--set key=value ...]
//   fjord-broker random-uuid
//
// `format` (like kafka-storage format) writes meta.properties (cluster id,
// node id, voters) into metadata.log.dir; nodes with the controller role need
// it before their first start. The cluster id is --cluster-id, else the
// config's cluster.id.
#include <signal.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "broker/broker_config.h"
#include "broker/broker_metrics.h"
#include "broker/broker_node.h"
#include "broker/group/group_metrics.h"
#include "common/logging.h"
#include "common/random.h"
#include "common/status_macros.h"
#include "controller/server/controller_flags.h"
#include "controller/server/controller_metrics.h"
#include "controller/server/controller_node.h"
#include "controller/uuid.h"
#include "spdlog/spdlog.h"

namespace fjord::broker {
namespace {

// How often the main loop wakes for signals and controller metrics.
constexpr absl::Duration kLoopInterval = absl::Milliseconds(200);
// How often partition gauges are recomputed.
constexpr absl::Duration kCollectInterval = absl::Seconds(1);

absl::StatusOr<BrokerConfig> LoadConfig(const std::string& path,
                                        const std::vector<std::string>& overrides) {
  std::map<std::string, std::string> props;
  if (!path.empty()) {
    std::ifstream in(path);
    if (!in) return absl::NotFoundError("cannot read " + path);
    std::stringstream text;
    text << in.rdbuf();
    ASSIGN_OR_RETURN(props, ParseProperties(text.str()));
  }
  for (const std::string& o : overrides) {
    std::vector<std::string> kv = absl::StrSplit(o, absl::MaxSplits('=', 1));
    if (kv.size() != 2) return absl::InvalidArgumentError("--set wants key=value, got " + o);
    props[kv[0]] = kv[1];
  }
  return BrokerConfig::FromProperties(props);
}

// The controller role's settings, checked against the CONTROLLER listener.
absl::StatusOr<controller::ControllerNodeOptions> ControllerOptions(const BrokerConfig& config) {
  ASSIGN_OR_RETURN(auto voters, controller::ParseVoters(config.controller_quorum_voters));
  const NodeId self(config.node_id);
  auto it = voters.find(self);
  if (it == voters.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("node.id ", config.node_id, " is not in controller.quorum.voters"));
  }
  if (it->second.port() != config.controller_listener.port) {
    return absl::InvalidArgumentError(
        absl::StrCat("controller.quorum.voters gives node ", config.node_id, " port ",
                     it->second.port(), " but its ", config.controller_listener.name,
                     " listener has port ", config.controller_listener.port));
  }
  controller::ControllerNodeOptions o;
  o.node_id = self;
  o.voters = config.controller_quorum_voters;
  o.metadata_log_dir = config.metadata_log_dir;
  o.bind_host = config.controller_listener.host;
  o.config.broker_session_timeout = absl::Milliseconds(config.broker_session_timeout_ms);
  o.config.default_num_partitions = config.num_partitions;
  o.config.default_replication_factor = config.default_replication_factor;
  o.config.delete_topic_enable = config.delete_topic_enable;
  return o;
}

int Format(const BrokerConfig& config, const std::string& cluster_id_flag) {
  if (!config.controller_role) {
    std::cerr << "fjord-broker format: process.roles has no controller; a broker-only node "
                 "needs no format\n";
    return 2;
  }
  const std::string cluster_id = cluster_id_flag.empty() ? config.cluster_id : cluster_id_flag;
  if (cluster_id.empty()) {
    std::cerr << "fjord-broker format: give --cluster-id (fjord-broker random-uuid makes one) "
                 "or cluster.id\n";
    return 2;
  }
  absl::StatusOr<controller::ControllerNodeOptions> options = ControllerOptions(config);
  absl::Status s = options.ok() ? controller::FormatMetadataDir(config.metadata_log_dir, cluster_id,
                                                                NodeId(config.node_id),
                                                                config.controller_quorum_voters)
                                : options.status();
  if (!s.ok()) {
    std::cerr << "fjord-broker format: " << s << "\n";
    return 1;
  }
  std::cout << "Formatted " << config.metadata_log_dir << " for cluster " << cluster_id << "\n";
  return 0;
}

int Run(BrokerConfig config) {
  BrokerMetrics metrics;
  if (absl::Status s = metrics.Serve(config.metrics_listen); !s.ok()) {
    spdlog::critical("{}", s.ToString());
    return 1;
  }
  std::unique_ptr<controller::ControllerNode> controller;
  std::unique_ptr<controller::ControllerMetrics> controller_metrics;
  if (config.controller_role) {
    absl::StatusOr<controller::ControllerNodeOptions> options = ControllerOptions(config);
    if (!options.ok()) {
      spdlog::critical("{}", options.status().ToString());
      return 2;
    }
    auto node = controller::ControllerNode::Start(*std::move(options));
    if (!node.ok()) {
      spdlog::critical("cannot start the controller: {}", node.status().ToString());
      return 1;
    }
    controller = *std::move(node);
    if (config.cluster_id.empty()) config.cluster_id = controller->cluster_id();
    if (config.cluster_id != controller->cluster_id()) {
      spdlog::critical("cluster.id {} but {} was formatted for cluster {}", config.cluster_id,
                       config.metadata_log_dir, controller->cluster_id());
      return 2;
    }
    controller_metrics = controller::ControllerMetrics::Register(metrics.registry());
  }
  std::unique_ptr<BrokerNode> broker;
  // Consumer-group lag of the groups this broker coordinates.
  group::GroupMetrics group_metrics(metrics.registry());
  if (config.broker_role) {
    auto node = BrokerNode::Start(config, &metrics, &metrics);
    if (!node.ok()) {
      spdlog::critical("cannot start: {}", node.status().ToString());
      return 1;
    }
    broker = *std::move(node);
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  bool was_active = false;
  absl::Time last_collect = absl::InfinitePast();
  while (true) {
    const timespec wait = absl::ToTimespec(kLoopInterval);
    const int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGINT || sig == SIGTERM) break;
    if (broker != nullptr && absl::Now() - last_collect >= kCollectInterval) {
      last_collect = absl::Now();
      metrics.Collect(broker->server().replicas());
      group_metrics.Update(broker->server().groups().LagSnapshot());
    }
    if (controller != nullptr) {
      const controller::QuorumControllerStatus st = controller->status();
      controller_metrics->Update(st);
      if (st.active != was_active) {
        spdlog::info("{} the active controller (term {}, metadata offset {})",
                     st.active ? "became" : "is no longer", st.term, st.metadata_offset);
        was_active = st.active;
      }
    }
  }
  // The broker first, while its controller can still release it.
  if (broker != nullptr) broker->Shutdown();
  broker.reset();
  if (controller != nullptr) controller->Shutdown();
  controller.reset();
  spdlog::info("node {} stopped", config.node_id);
  return 0;
}

std::string NodeName(const BrokerConfig& c) {
  const char* role = c.broker_role && c.controller_role ? "node-"
                     : c.broker_role                    ? "broker-"
                                                        : "controller-";
  return role + std::to_string(c.node_id);
}

}  // namespace
}  // namespace fjord::broker

int main(int argc, char** argv) {
  // Debian's Abseil is built with assertions on, so every absl::Mutex lock
  // also runs the deadlock detector's graph bookkeeping (about a tenth of a
  // busy process's CPU). Lock order is checked by the tests and TSAN instead.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{"fjord-broker: a Fjord node (broker, controller, or both)"};
  app.fallthrough();
  std::string config_path;
  std::vector<std::string> overrides;
  std::string log_file;
  app.add_option("--config", config_path, "Kafka-style properties file");
  app.add_option("--set", overrides, "key=value overriding the file (repeatable)");
  app.add_option("--log-file", log_file, "Log to this file instead of stderr");
  CLI::App* format = app.add_subcommand(
      "format", "Write meta.properties into metadata.log.dir (nodes with the controller role)");
  std::string cluster_id;
  format->add_option("--cluster-id", cluster_id, "Cluster id (default: the config's cluster.id)");
  CLI::App* random_uuid = app.add_subcommand("random-uuid", "Print a new cluster id");
  CLI11_PARSE(app, argc, argv);

  if (*random_uuid) {
    fjord::SeededRandom random = fjord::MakeSystemSeededRandom();
    std::cout << fjord::controller::Uuid::Random(random).ToString() << "\n";
    return 0;
  }
  // Signals go to sigtimedwait in Run, never to a random thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<fjord::broker::BrokerConfig> config =
      fjord::broker::LoadConfig(config_path, overrides);
  if (!config.ok()) {
    std::cerr << "fjord-broker: " << config.status() << "\n";
    return 2;
  }
  if (*format) return fjord::broker::Format(*config, cluster_id);
  absl::Status logging = fjord::InitLogging(
      {.node = fjord::broker::NodeName(*config), .level = config->log_level, .file = log_file});
  if (!logging.ok()) {
    std::cerr << "fjord-broker: " << logging << "\n";
    return 2;
  }
  return fjord::broker::Run(*std::move(config));
}
