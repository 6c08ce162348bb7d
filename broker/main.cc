// fjord-broker: one broker process. Reads a Kafka-style properties file (see
// broker_config.h), serves BrokerService and ReplicationService on its
// listener and /metrics on metrics.listen, registers with the controller
// quorum, follows the metadata log, and on SIGTERM/SIGINT shuts down in a
// controlled way (the controller moves its leaderships first).
//
//   fjord-broker --config server.properties [--set key=value ...]
#include <signal.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "CLI/CLI.hpp"
#include "absl/strings/str_split.h"
#include "broker/alter_partition_client.h"
#include "broker/broker_config.h"
#include "broker/broker_lifecycle.h"
#include "broker/broker_metrics.h"
#include "broker/broker_server.h"
#include "broker/metadata_follower.h"
#include "common/logging.h"
#include "common/random.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"
#include "storage/posix_file_system.h"

namespace fjord::broker {
namespace {

// How long a controlled shutdown waits for the controller's release.
constexpr absl::Duration kControlledShutdownMax = absl::Seconds(30);

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

// Forwards to the AlterPartitionClient, which needs the server's broker
// epoch and so is created after the server.
class ForwardingSender final : public AlterPartitionSender {
 public:
  void Set(AlterPartitionSender* target) {
    absl::MutexLock lock(&mu_);
    target_ = target;
  }
  void Send(IsrProposal proposal, Done done) override {
    absl::MutexLock lock(&mu_);
    if (target_ == nullptr) {
      done(absl::UnavailableError("controller client not started"));
      return;
    }
    target_->Send(std::move(proposal), std::move(done));
  }

 private:
  absl::Mutex mu_;
  AlterPartitionSender* target_ ABSL_GUARDED_BY(mu_) = nullptr;
};

int Run(const BrokerConfig& config) {
  absl::StatusOr<std::vector<ControllerVoter>> voters =
      ParseQuorumVoters(config.controller_quorum_voters);
  if (!voters.ok()) {
    spdlog::critical("{}", voters.status().ToString());
    return 2;
  }
  ControllerChannel channel(*std::move(voters));
  BrokerMetrics metrics;
  if (absl::Status s = metrics.Serve(config.metrics_listen); !s.ok()) {
    spdlog::critical("{}", s.ToString());
    return 1;
  }
  ForwardingSender forward;
  BrokerServerOptions options = config.ToServerOptions();
  options.observer = &metrics;
  auto server =
      BrokerServer::Start(options, storage::PosixFileSystem::Get(), SystemClock::Get(), forward);
  if (!server.ok()) {
    spdlog::critical("cannot start: {}", server.status().ToString());
    return 1;
  }
  BrokerServer& broker = **server;
  AlterPartitionClient alter(channel, options.id, [&] { return broker.broker_epoch(); });
  forward.Set(&alter);

  MetadataFollower follower(
      channel, {.cluster_id = config.cluster_id, .id = options.id},
      [&] { return broker.broker_epoch(); },
      [&](controller::ImagePtr image) {
        broker.metadata().set_controller_id(NodeId(channel.active_id()));
        absl::Status s = broker.ApplyImage(std::move(image));
        if (!s.ok()) spdlog::error("applying metadata: {}", s.ToString());
      });
  v1::Endpoint endpoint;
  endpoint.set_name(config.advertised.name);
  endpoint.set_host(config.advertised.host);
  endpoint.set_port(config.advertised.port == 0 ? broker.port() : config.advertised.port);
  SeededRandom random = MakeSystemSeededRandom();
  BrokerLifecycle lifecycle(
      channel,
      {.id = options.id,
       .cluster_id = config.cluster_id,
       .incarnation_id = controller::Uuid::Random(random),
       .listeners = {endpoint},
       .rack = config.rack,
       .heartbeat_interval = absl::Milliseconds(config.broker_heartbeat_interval_ms)},
      [&] { return follower.applied_offset(); },
      [&](BrokerEpoch epoch) { broker.SetBrokerEpoch(epoch); });
  follower.Start();
  lifecycle.Start();

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  while (true) {
    timespec one_second{1, 0};
    const int sig = sigtimedwait(&signals, nullptr, &one_second);
    if (sig == SIGINT || sig == SIGTERM) break;
    metrics.Collect(broker.replicas());
  }
  spdlog::info("broker {}: controlled shutdown", options.id.value());
  if (!lifecycle.ControlledShutdown(kControlledShutdownMax)) {
    spdlog::warn("broker {}: controller did not release us within {}; stopping anyway",
                 options.id.value(), absl::FormatDuration(kControlledShutdownMax));
  }
  follower.Stop();
  broker.Shutdown();
  return 0;
}

}  // namespace
}  // namespace fjord::broker

int main(int argc, char** argv) {
  CLI::App app{"fjord-broker: a Fjord broker (data plane and replication)"};
  std::string config_path;
  std::vector<std::string> overrides;
  std::string log_file;
  app.add_option("--config", config_path, "Kafka-style properties file");
  app.add_option("--set", overrides, "key=value overriding the file (repeatable)");
  app.add_option("--log-file", log_file, "Log to this file instead of stderr");
  CLI11_PARSE(app, argc, argv);

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
  absl::Status logging = fjord::InitLogging({.node = "broker-" + std::to_string(config->node_id),
                                             .level = config->log_level,
                                             .file = log_file});
  if (!logging.ok()) {
    std::cerr << "fjord-broker: " << logging << "\n";
    return 2;
  }
  return fjord::broker::Run(*config);
}
