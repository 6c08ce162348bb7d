// Prometheus /metrics for fjord-controller (prometheus-cpp pull exposer).
// Gauges are refreshed from QuorumController::status() by the caller.
// Start() serves its own /metrics; Register() adds the gauges to another
// registry (a combined broker+controller serves both roles on one endpoint).
//
//   fjord_controller_active                  1 on the active controller
//   fjord_controller_raft_term               current Raft term
//   fjord_controller_raft_leader             Raft leader's node id, -1 if none
//   fjord_controller_raft_commit_index       Raft commit index
//   fjord_controller_metadata_offset         offset of the committed image
//   fjord_controller_fenced_brokers          registered brokers that are fenced
//   fjord_controller_offline_partitions      partitions without a leader
//   fjord_controller_unclean_elections_total unclean leader elections replayed
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "controller/quorum_controller.h"
#include "prometheus/exposer.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace fjord::controller {

class ControllerMetrics {
 public:
  static absl::StatusOr<std::unique_ptr<ControllerMetrics>> Start(const std::string& bind);
  static std::unique_ptr<ControllerMetrics> Register(
      std::shared_ptr<prometheus::Registry> registry);
  void Update(const QuorumControllerStatus& status);

 private:
  ControllerMetrics() = default;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Gauge* active_ = nullptr;
  prometheus::Gauge* term_ = nullptr;
  prometheus::Gauge* leader_ = nullptr;
  prometheus::Gauge* commit_ = nullptr;
  prometheus::Gauge* offset_ = nullptr;
  prometheus::Gauge* fenced_ = nullptr;
  prometheus::Gauge* offline_ = nullptr;
  prometheus::Gauge* unclean_ = nullptr;
};

}  // namespace fjord::controller
