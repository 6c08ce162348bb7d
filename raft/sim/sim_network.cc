#include "raft/sim/sim_network.h"

namespace fjord::raft::sim {

bool SimNetwork::HasCutLink(NodeId node) const {
  for (const auto& [from, to] : cut_) {
    if (from == node || to == node) return true;
  }
  return false;
}

void SimNetwork::Split(const std::vector<bool>& side) {
  cut_.clear();
  for (size_t i = 1; i < side.size(); ++i) {
    for (size_t j = 1; j < side.size(); ++j) {
      if (side[i] != side[j]) cut_.insert({NodeId(i), NodeId(j)});
    }
  }
}

absl::InlinedVector<int64_t, 2> SimNetwork::Deliveries(NodeId from, NodeId to,
                                                       Random& random) const {
  absl::InlinedVector<int64_t, 2> delays;
  if (!LinkUp(from, to)) return delays;
  int copies = 1;
  if (faults_on_) {
    if (random.Uniform(1000) < static_cast<uint64_t>(faults_.drop_per_mille)) return delays;
    if (random.Uniform(1000) < static_cast<uint64_t>(faults_.duplicate_per_mille)) copies = 2;
  }
  const int64_t delay_max = faults_on_ ? faults_.delay_us_max : 2'000;
  for (int c = 0; c < copies; ++c) {
    delays.push_back(1 + static_cast<int64_t>(random.Uniform(delay_max)));
  }
  return delays;
}

}  // namespace fjord::raft::sim
