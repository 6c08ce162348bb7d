// fjord-controller: a member of the controller quorum.
//
//   fjord-controller random-uuid
//   fjord-controller format --cluster.id=ID --node.id=1
//       --controller.quorum.voters=1@127.0.0.1:9093,2@... --metadata.log.dir=DIR
//   fjord-controller start --node.id=1 --controller.quorum.voters=...
//       --metadata.log.dir=DIR [--metrics.port=9300] [--config=controller.properties]
//
// One gRPC server on this node's voter port serves ControllerService and
// RaftService. SIGTERM/SIGINT shut down gracefully.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/random.h"
#include "controller/quorum_controller.h"
#include "controller/server/controller_flags.h"
#include "controller/server/controller_metrics.h"
#include "controller/server/controller_service.h"
#include "grpcpp/grpcpp.h"
#include "raft/node/raft_node.h"
#include "raft/transport/grpc_transport.h"
#include "spdlog/spdlog.h"

namespace fjord::controller {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "fjord-controller: %s\n", status.ToString().c_str());
  return 1;
}

int64_t IntFlag(const ControllerFlags& flags, const std::string& key, int64_t fallback) {
  int64_t v = fallback;
  const std::string s = flags.Get(key);
  if (!s.empty() && !absl::SimpleAtoi(s, &v)) {
    std::fprintf(stderr, "fjord-controller: %s=%s is not a number\n", key.c_str(), s.c_str());
    std::exit(1);
  }
  return v;
}

int Format(const ControllerFlags& flags) {
  const std::string dir = flags.Get("metadata.log.dir");
  const std::string cluster_id = flags.Get("cluster.id");
  if (dir.empty() || cluster_id.empty() || flags.Get("node.id").empty()) {
    return Fail(absl::InvalidArgumentError("format needs cluster.id, node.id, metadata.log.dir"));
  }
  auto voters = ParseVoters(flags.Get("controller.quorum.voters"));
  if (!voters.ok()) return Fail(voters.status());
  absl::Status s = WriteMetaProperties(
      dir, {{"cluster.id", cluster_id},
            {"node.id", flags.Get("node.id")},
            {"controller.quorum.voters", flags.Get("controller.quorum.voters")}});
  if (!s.ok()) return Fail(s);
  std::printf("Formatted %s for cluster %s\n", dir.c_str(), cluster_id.c_str());
  return 0;
}

int Run(const ControllerFlags& flags) {
  const std::string dir = flags.Get("metadata.log.dir");
  if (dir.empty()) return Fail(absl::InvalidArgumentError("metadata.log.dir is required"));
  auto meta = ReadProperties(dir + "/meta.properties");
  if (!meta.ok()) {
    return Fail(absl::FailedPreconditionError(
        absl::StrCat(dir, " is not formatted: run `fjord-controller format` first")));
  }
  const std::string cluster_id = (*meta)["cluster.id"];
  const NodeId node_id(static_cast<int32_t>(IntFlag(flags, "node.id", -1)));
  if (std::to_string(node_id.value()) != (*meta)["node.id"]) {
    return Fail(absl::FailedPreconditionError(absl::StrCat(
        "node.id ", node_id.value(), " but ", dir, " belongs to node ", (*meta)["node.id"])));
  }
  auto voters =
      ParseVoters(flags.Get("controller.quorum.voters", (*meta)["controller.quorum.voters"]));
  if (!voters.ok()) return Fail(voters.status());
  if (!voters->count(node_id)) {
    return Fail(absl::InvalidArgumentError("node.id is not in controller.quorum.voters"));
  }
  absl::Status log_status = InitLogging({.node = absl::StrCat("controller-", node_id.value()),
                                         .level = flags.Get("log.level", "info")});
  if (!log_status.ok()) return Fail(log_status);

  QuorumControllerOptions options;
  options.node_id = node_id;
  options.config.cluster_id = cluster_id;
  options.config.broker_session_timeout =
      absl::Milliseconds(IntFlag(flags, "broker.session.timeout.ms", 9000));
  options.config.default_num_partitions = static_cast<int32_t>(IntFlag(flags, "num.partitions", 1));
  options.config.default_replication_factor =
      static_cast<int32_t>(IntFlag(flags, "default.replication.factor", 1));
  options.config.delete_topic_enable = flags.Get("delete.topic.enable", "true") == "true";
  auto controller = std::make_unique<QuorumController>(
      options, SystemClock::Get(), std::make_unique<SeededRandom>(MakeSystemSeededRandom()));

  // One server: ControllerService and RaftService on this voter's port.
  absl::Mutex node_mu;
  raft::RaftNode* node_ptr = nullptr;
  raft::RaftGrpcService raft_service(cluster_id, [&](raft::Message m) {
    absl::MutexLock lock(&node_mu);
    if (node_ptr != nullptr) node_ptr->Receive(std::move(m));
  });
  ControllerServiceImpl service(controller.get(), cluster_id, *voters);
  const v1::Endpoint& self = voters->at(node_id);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("0.0.0.0:", self.port()),
                           grpc::InsecureServerCredentials());
  builder.RegisterService(&raft_service);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    return Fail(absl::UnavailableError(absl::StrCat("cannot listen on port ", self.port())));
  }

  std::map<NodeId, std::string> peers;
  std::vector<NodeId> voter_ids;
  for (const auto& [id, e] : *voters) {
    voter_ids.push_back(id);
    if (id != node_id) peers[id] = absl::StrCat(e.host(), ":", e.port());
  }
  raft::GrpcTransport transport(cluster_id, peers);
  raft::NodeOptions node_options{
      .id = node_id, .initial_voters = voter_ids, .data_dir = dir + "/raft"};
  auto node = raft::RaftNode::Start(node_options, controller->state_machine(), &transport);
  if (!node.ok()) return Fail(node.status());
  {
    absl::MutexLock lock(&node_mu);
    node_ptr = node->get();
  }
  controller->Start(node->get());

  std::unique_ptr<ControllerMetrics> metrics;
  const int64_t metrics_port = IntFlag(flags, "metrics.port", 0);
  if (metrics_port > 0) {
    auto m = ControllerMetrics::Start(absl::StrCat("0.0.0.0:", metrics_port));
    if (!m.ok()) return Fail(m.status());
    metrics = std::move(*m);
  }
  spdlog::info("controller {} serving cluster {} on port {}", node_id.value(), cluster_id,
               self.port());

  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  bool was_active = false;
  while (!g_stop) {
    absl::SleepFor(absl::Milliseconds(200));
    QuorumControllerStatus st = controller->status();
    if (metrics) metrics->Update(st);
    if (st.active != was_active) {
      spdlog::info("{} the active controller (term {}, metadata offset {})",
                   st.active ? "became" : "is no longer", st.term, st.metadata_offset);
      was_active = st.active;
    }
  }
  spdlog::info("shutting down");
  service.Shutdown();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  controller->Stop();
  {
    absl::MutexLock lock(&node_mu);
    node_ptr = nullptr;
  }
  node->reset();
  return 0;
}

}  // namespace
}  // namespace fjord::controller

int main(int argc, char** argv) {
  using namespace fjord::controller;
  auto flags = ParseFlags(argc, argv);
  if (!flags.ok()) return Fail(flags.status());
  if (flags->command == "random-uuid") {
    fjord::SeededRandom random = fjord::MakeSystemSeededRandom();
    std::printf("%s\n", Uuid::Random(random).ToString().c_str());
    return 0;
  }
  if (flags->command == "format") return Format(*flags);
  return Run(*flags);
}
