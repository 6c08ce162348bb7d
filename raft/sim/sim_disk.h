// The simulated disk of raft/sim and controller/sim: a node's PersistedState
// and the writes that change it. A write is durable once applied with
// ApplyWrite; a crash loses the writes not applied yet (the simulations keep
// them aside until their Sync).
#pragma once

#include <optional>
#include <vector>

#include "raft/core/raft.h"

namespace fjord::raft::sim {

// One write to the simulated disk: the persistent parts of a Ready, or a
// local snapshot taken by the state machine (compact = true: the log's
// prefix up to the snapshot is dropped, the rest kept).
struct DiskWrite {
  std::optional<Snapshot> snapshot;
  bool compact = false;
  std::vector<Entry> entries;
  std::optional<HardState> hard_state;
};

// Makes `w` durable in `disk`.
void ApplyWrite(const DiskWrite& w, PersistedState& disk);

}  // namespace fjord::raft::sim
