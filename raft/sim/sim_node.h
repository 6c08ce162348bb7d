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
#include "raft/sim/sim_disk.h"

namespace fjord::raft::sim {

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
  // Counts restarts, so that an asynchronous write's report of persistence
  // that outlives a crash is not delivered to the next incarnation.
  uint64_t incarnation = 0;
  // The state machine: how far it has applied and a digest of what.
  LogIndex applied;
  uint64_t digest = 0;
};

}  // namespace fjord::raft::sim
