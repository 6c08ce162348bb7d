// SimNetwork: the network faults of a seeded simulation (raft/sim,
// controller/sim). Directed links can be cut; while faults are on, each
// message may be lost, duplicated or delayed up to `delay_us_max`. Heal()
// ends the faults for good (the liveness phase): no cuts, no loss, and
// delays of at most 2 ms. Randomness comes from the caller's Random, drawn
// in a fixed order, so a seed replays bit for bit.
//
// Threading: none; the simulation's one thread owns it.
#pragma once

#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "common/random.h"
#include "common/types.h"

namespace fjord::raft::sim {

struct NetworkFaults {
  int drop_per_mille = 0;
  int duplicate_per_mille = 0;
  int64_t delay_us_max = 1;
};

class SimNetwork {
 public:
  explicit SimNetwork(NetworkFaults faults) : faults_(faults) {}

  bool faults_on() const { return faults_on_; }
  bool LinkUp(NodeId from, NodeId to) const { return !cut_.contains({from, to}); }
  // Some link from or to `node` is cut.
  bool HasCutLink(NodeId node) const;

  void Cut(NodeId from, NodeId to) { cut_.insert({from, to}); }
  void Reconnect(NodeId from, NodeId to) { cut_.erase({from, to}); }
  void ReconnectAll() { cut_.clear(); }
  // Replaces every cut with a split in two: node i (i >= 1) is on side
  // `side[i]`; every link between the sides is cut, both ways.
  void Split(const std::vector<bool>& side);
  void Heal() {
    faults_on_ = false;
    cut_.clear();
  }

  // When the copies of a message from `from` to `to` arrive, as delays from
  // now: none if the link is cut or the message is lost, two if duplicated.
  absl::InlinedVector<int64_t, 2> Deliveries(NodeId from, NodeId to, Random& random) const;

 private:
  const NetworkFaults faults_;
  bool faults_on_ = true;
  std::set<std::pair<NodeId, NodeId>> cut_;  // Directed.
};

}  // namespace fjord::raft::sim
