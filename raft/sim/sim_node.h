// Internals shared by the SimCluster's sources: one simulated node (core,
// disk, state machine) and the simulated disk's write records.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/random.h"
#include "raft/core/raft.h"
#include "raft/sim/sim_cluster.h"

namespace fjord::raft::sim {

// One write to the simulated disk: the persistent parts of a Ready, or a
// local snapshot taken by the state machine (compact = true).
struct DiskWrite {
  std::optional<Snapshot> snapshot;
  bool compact = false;
  std::vector<Entry> entries;
  std::optional<HardState> hard_state;
};

// Makes `w` durable in `disk` (what Sync does for each unsynced write).
void ApplyWrite(const DiskWrite& w, PersistedState& disk);

// The simulated state machine's snapshot: its applied index and digest, plus
// padding so that snapshots span several chunks.
std::string EncodeSnapshotData(LogIndex index, uint64_t digest, size_t padding);
bool DecodeSnapshotData(const std::string& data, LogIndex* index, uint64_t* digest);

struct SimCluster::Node {
  NodeId id;
  RaftConfig config;
  std::unique_ptr<SeededRandom> random;
  std::unique_ptr<Raft> raft;  // Null while crashed.
  PersistedState durable;
  std::vector<DiskWrite> unsynced;
  // The state machine: how far it has applied and a digest of what.
  LogIndex applied;
  uint64_t digest = 0;
};

}  // namespace fjord::raft::sim
