// fjord-controller: a member of the controller quorum.
//
//   fjord-controller random-uuid
//   fjord-controller format --cluster.id=ID --node.id=1
//       --controller.quorum.voters=1@127.0.0.1:9093,2@... --metadata.log.dir=DIR
//   fjord-controller start --node.id=1 --controller.quorum.voters=...
//       --metadata.log.dir=DIR [--metrics.port=9300] [--config=controller.properties]
//
// One gRPC server on this node's voter port serves ControllerService and
// RaftService (ControllerNode). SIGTERM/SIGINT shut down gracefully. A
// broker can host the same controller in its own process instead
// (fjord-broker with process.roles=broker,controller).
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/random.h"
#include "controller/server/controller_flags.h"
#include "controller/server/controller_metrics.h"
#include "controller/server/controller_node.h"
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
  const NodeId node_id(static_cast<int32_t>(IntFlag(flags, "node.id", kNoNode.value())));
  absl::Status s =
      FormatMetadataDir(dir, cluster_id, node_id, flags.Get("controller.quorum.voters"));
  if (!s.ok()) return Fail(s);
  std::printf("Formatted %s for cluster %s\n", dir.c_str(), cluster_id.c_str());
  return 0;
}

int Run(const ControllerFlags& flags) {
  const NodeId node_id(static_cast<int32_t>(IntFlag(flags, "node.id", -1)));
  absl::Status log_status = InitLogging({.node = absl::StrCat("controller-", node_id.value()),
                                         .level = flags.Get("log.level", "info")});
  if (!log_status.ok()) return Fail(log_status);

  ControllerNodeOptions options;
  options.node_id = node_id;
  options.voters = flags.Get("controller.quorum.voters");
  options.metadata_log_dir = flags.Get("metadata.log.dir");
  options.config.broker_session_timeout =
      absl::Milliseconds(IntFlag(flags, "broker.session.timeout.ms", 9000));
  options.config.default_num_partitions = static_cast<int32_t>(IntFlag(flags, "num.partitions", 1));
  options.config.default_replication_factor =
      static_cast<int32_t>(IntFlag(flags, "default.replication.factor", 1));
  options.config.delete_topic_enable = flags.Get("delete.topic.enable", "true") == "true";
  auto node = ControllerNode::Start(options);
  if (!node.ok()) return Fail(node.status());

  std::unique_ptr<ControllerMetrics> metrics;
  const int64_t metrics_port = IntFlag(flags, "metrics.port", 0);
  if (metrics_port > 0) {
    auto m = ControllerMetrics::Start(absl::StrCat("0.0.0.0:", metrics_port));
    if (!m.ok()) return Fail(m.status());
    metrics = std::move(*m);
  }

  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  bool was_active = false;
  while (!g_stop) {
    absl::SleepFor(absl::Milliseconds(200));
    QuorumControllerStatus st = (*node)->status();
    if (metrics) metrics->Update(st);
    if (st.active != was_active) {
      spdlog::info("{} the active controller (term {}, metadata offset {})",
                   st.active ? "became" : "is no longer", st.term, st.metadata_offset);
      was_active = st.active;
    }
  }
  (*node)->Shutdown();
  return 0;
}

}  // namespace
}  // namespace fjord::controller

int main(int argc, char** argv) {
  // Debian's Abseil is built with assertions on, so every absl::Mutex lock
  // also runs the deadlock detector's graph bookkeeping; lock order is
  // checked by the tests and TSAN instead (as in fjord-broker's main).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
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
