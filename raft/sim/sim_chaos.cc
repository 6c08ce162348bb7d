// The safety phase's random actions: client requests, crashes, partitions,
// compaction, membership changes and leadership transfers.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "raft/sim/sim_cluster.h"
#include "raft/sim/sim_node.h"

namespace fjord::raft::sim {

absl::Status SimCluster::ChaosAction() {
  std::vector<Node*> up;
  std::vector<Node*> down;
  for (auto& [id, node] : nodes_) (node->raft ? up : down).push_back(node.get());
  Node* leader = Leader();
  const uint64_t roll = random_.Uniform(100);
  auto pick = [&](const std::vector<Node*>& from) { return from[random_.Uniform(from.size())]; };

  if (roll < 40) {  // Client writes.
    if (!leader) return absl::OkStatus();
    const uint64_t count = 1 + random_.Uniform(3);
    for (uint64_t i = 0; i < count; ++i) {
      (void)leader->raft->Propose(absl::StrCat("v", options_.seed, "-", stats_.events, "-", i));
    }
    return ProcessReady(*leader);
  }
  if (roll < 48) {  // Crash.
    if (!options_.crashes || up.empty()) return absl::OkStatus();
    return Crash(*pick(up));
  }
  if (roll < 58) {  // Restart.
    if (down.empty()) return absl::OkStatus();
    Node* node = pick(down);
    RETURN_IF_ERROR(Restart(*node));
    return ProcessReady(*node);
  }
  if (roll < 66) {  // Partition.
    if (!options_.partitions) return absl::OkStatus();
    if (random_.OneIn(3)) {
      // Asymmetric: one direction of one link.
      const NodeId a = pick(up.empty() ? down : up)->id;
      const NodeId b = NodeId(1 + static_cast<int32_t>(random_.Uniform(nodes_.size())));
      if (a != b) network_.Cut(a, b);
      if (options_.trace) std::cerr << queue_.now_us() << " cut " << a << "->" << b << "\n";
      return absl::OkStatus();
    }
    // Symmetric: split the nodes into two sides.
    std::vector<bool> side(nodes_.size() + 1);
    for (size_t i = 1; i < side.size(); ++i) side[i] = random_.OneIn(2);
    network_.Split(side);
    if (options_.trace) std::cerr << queue_.now_us() << " partition\n";
    return absl::OkStatus();
  }
  if (roll < 74) {  // Heal.
    network_.ReconnectAll();
    if (options_.trace) std::cerr << queue_.now_us() << " heal network\n";
    return absl::OkStatus();
  }
  if (roll < 82) {  // The state machine snapshots and the log is compacted.
    if (up.empty()) return absl::OkStatus();
    Node& node = *pick(up);
    if (node.applied <= node.raft->log().snapshot().index) return absl::OkStatus();
    std::string data = EncodeSnapshotData(node.applied, node.digest, random_.Uniform(3000));
    absl::StatusOr<SnapshotMeta> meta = node.raft->CompactLog(node.applied, data);
    if (!meta.ok()) return absl::OkStatus();
    if (options_.trace)
      std::cerr << queue_.now_us() << " compact " << node.id << " to " << node.applied << "\n";
    node.unsynced.push_back({.snapshot = Snapshot{*meta, std::move(data)}, .compact = true});
    if (options_.broken != Broken::kSendBeforePersist) Sync(node);
    return absl::OkStatus();
  }
  if (roll < 88) {  // Membership change, one node at a time.
    if (!leader || !options_.membership_changes) return absl::OkStatus();
    const Membership& m = leader->raft->membership();
    const NodeId target = NodeId(1 + static_cast<int32_t>(random_.Uniform(nodes_.size())));
    ConfigChange change{.node = target};
    if (m.IsVoter(target)) {
      if (m.voters.size() <= 1) return absl::OkStatus();
      change.kind = ConfigChange::Kind::kRemoveVoter;
    } else if (m.IsLearner(target)) {
      change.kind = random_.OneIn(2) || m.voters.size() >= 5 ? ConfigChange::Kind::kRemoveLearner
                                                             : ConfigChange::Kind::kAddVoter;
    } else {
      change.kind = ConfigChange::Kind::kAddLearner;
    }
    absl::StatusOr<LogIndex> index = leader->raft->ProposeConfigChange(change);
    if (options_.trace && index.ok()) {
      std::cerr << queue_.now_us() << " config change " << static_cast<int>(change.kind) << " node "
                << target << " at " << *index << "\n";
    }
    return ProcessReady(*leader);
  }
  if (roll < 92) {  // Leadership transfer.
    if (!leader) return absl::OkStatus();
    const std::vector<NodeId>& voters = leader->raft->membership().voters;
    if (voters.empty()) return absl::OkStatus();
    (void)leader->raft->TransferLeadership(voters[random_.Uniform(voters.size())]);
    return ProcessReady(*leader);
  }
  // Linearizable read.
  if (!leader) return absl::OkStatus();
  const uint64_t id = next_read_id_++;
  checker_.OnReadRequested(id);
  (void)leader->raft->ReadIndex(id);
  return ProcessReady(*leader);
}

}  // namespace fjord::raft::sim

namespace fjord::raft::sim {

int64_t SimCluster::ChaosIntervalUs() {
  if (options_.mix == ScheduleMix::kLeaderChurn) {
    // About an election timeout apart (two to twenty-five ticks), so that a
    // cut-off leader is replaced before the next action.
    return options_.tick_us * (2 + static_cast<int64_t>(random_.Uniform(24)));
  }
  return 1 + static_cast<int64_t>(random_.Uniform(options_.tick_us * 3));
}

void SimCluster::Isolate(NodeId id) {
  for (const auto& [other, node] : nodes_) {
    if (other == id) continue;
    network_.Cut(id, other);
    network_.Cut(other, id);
  }
  if (options_.trace) std::cerr << queue_.now_us() << " isolate " << id << "\n";
}

void SimCluster::Rejoin(NodeId id) {
  for (const auto& [other, node] : nodes_) {
    network_.Reconnect(id, other);
    network_.Reconnect(other, id);
  }
  if (options_.trace) std::cerr << queue_.now_us() << " rejoin " << id << "\n";
}

absl::Status SimCluster::ChurnAction() {
  std::vector<Node*> up;
  std::vector<Node*> down;
  std::vector<Node*> cut_off;  // Up, with some link blocked.
  for (auto& [id, node] : nodes_) {
    (node->raft ? up : down).push_back(node.get());
    if (node->raft && network_.HasCutLink(id)) cut_off.push_back(node.get());
  }
  Node* leader = Leader();
  const uint64_t roll = random_.Uniform(100);
  auto pick = [&](const std::vector<Node*>& from) { return from[random_.Uniform(from.size())]; };

  if (roll < 30) {  // Figure 8's step: the leader takes writes nobody else will see.
    if (!leader) return absl::OkStatus();
    Isolate(leader->id);
    const uint64_t count = 1 + random_.Uniform(2);
    for (uint64_t i = 0; i < count; ++i) {
      (void)leader->raft->Propose(absl::StrCat("c", options_.seed, "-", stats_.events, "-", i));
    }
    RETURN_IF_ERROR(ProcessReady(*leader));
    if (leader->raft && random_.OneIn(2)) return Crash(*leader);
    return absl::OkStatus();
  }
  if (roll < 60) {  // One node comes back: restarted, reconnected, or both.
    std::vector<Node*> away = down;
    away.insert(away.end(), cut_off.begin(), cut_off.end());
    if (away.empty()) return absl::OkStatus();
    Node* node = pick(away);
    Rejoin(node->id);
    if (node->raft) return absl::OkStatus();
    RETURN_IF_ERROR(Restart(*node));
    return ProcessReady(*node);
  }
  if (roll < 75) {  // A write that may reach the others.
    if (!leader) return absl::OkStatus();
    (void)leader->raft->Propose(absl::StrCat("w", options_.seed, "-", stats_.events));
    return ProcessReady(*leader);
  }
  if (roll < 85) {  // Any node cut off.
    if (up.empty()) return absl::OkStatus();
    Isolate(pick(up)->id);
    return absl::OkStatus();
  }
  if (roll < 92) {  // Any node crashes.
    if (up.empty()) return absl::OkStatus();
    return Crash(*pick(up));
  }
  network_.ReconnectAll();
  if (options_.trace) std::cerr << queue_.now_us() << " heal network\n";
  return absl::OkStatus();
}

}  // namespace fjord::raft::sim
