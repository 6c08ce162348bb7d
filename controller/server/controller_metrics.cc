#include "controller/server/controller_metrics.h"

#include <exception>

namespace fjord::controller {

std::unique_ptr<ControllerMetrics> ControllerMetrics::Register(
    std::shared_ptr<prometheus::Registry> registry) {
  std::unique_ptr<ControllerMetrics> m(new ControllerMetrics());
  m->registry_ = std::move(registry);
  auto gauge = [&](const char* name, const char* help) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(*m->registry_).Add({});
  };
  m->active_ = gauge("fjord_controller_active", "1 if this node is the active controller");
  m->term_ = gauge("fjord_controller_raft_term", "Current Raft term");
  m->leader_ = gauge("fjord_controller_raft_leader", "Raft leader node id, -1 if unknown");
  m->commit_ = gauge("fjord_controller_raft_commit_index", "Raft commit index");
  m->offset_ = gauge("fjord_controller_metadata_offset", "Offset of the committed image");
  m->fenced_ = gauge("fjord_controller_fenced_brokers", "Registered brokers that are fenced");
  m->offline_ = gauge("fjord_controller_offline_partitions", "Partitions without a leader");
  m->unclean_ = gauge("fjord_controller_unclean_elections_total",
                      "Unclean leader elections in the replayed log since start");
  return m;
}

absl::StatusOr<std::unique_ptr<ControllerMetrics>> ControllerMetrics::Start(
    const std::string& bind) {
  std::unique_ptr<ControllerMetrics> m = Register(std::make_shared<prometheus::Registry>());
  // prometheus-cpp reports a bind failure by throwing (civetweb); Fjord code
  // does not use exceptions, so it is caught here at the library edge.
  try {
    m->exposer_ = std::make_unique<prometheus::Exposer>(bind);
  } catch (const std::exception& e) {
    return absl::UnavailableError(std::string("metrics: cannot listen on ") + bind + ": " +
                                  e.what());
  }
  m->exposer_->RegisterCollectable(m->registry_);
  return m;
}

void ControllerMetrics::Update(const QuorumControllerStatus& s) {
  active_->Set(s.active ? 1 : 0);
  term_->Set(static_cast<double>(s.term));
  leader_->Set(s.leader.value());
  commit_->Set(static_cast<double>(s.commit_index));
  offset_->Set(static_cast<double>(s.metadata_offset));
  fenced_->Set(static_cast<double>(s.fenced_brokers));
  offline_->Set(static_cast<double>(s.offline_partitions));
  unclean_->Set(static_cast<double>(s.unclean_elections));
}

}  // namespace fjord::controller
