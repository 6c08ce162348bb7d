// Checker: the safety properties of Raft, verified after every simulated
// event. It sees every node's core (read-only), every batch of entries a node
// persists and every entry a node's state machine applies.
//
// Properties (Raft paper, Figure 3, plus what the simulation adds):
//   election safety     at most one leader per term
//   term monotonicity   a node's term never decreases, across restarts too
//   log matching        an (index, term) pair always names the same entry with
//                       the same predecessor term, so equal pairs imply equal
//                       prefixes (checked incrementally as entries are persisted)
//   leader completeness a new leader holds every entry committed so far
//   commit stability    a committed index never changes entry, and a node's
//                       commit index never decreases while it runs (it is
//                       volatile state: a restart may find an older one)
//   state machine       every node applies the same entries in the same order
//                       (a rolling hash per index), snapshots included
//   linearizable reads  a ReadIndex result covers every entry committed
//                       before the read was requested
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "raft/core/raft.h"

namespace fjord::raft::sim {

// Stable across builds and platforms (unlike std::hash), so seeds replay.
uint64_t HashEntry(const Entry& e);
// State machine digest after applying `e` on top of `prev`.
uint64_t ChainHash(uint64_t prev, const Entry& e);

class Checker {
 public:
  // `raft` has just produced `entries` to persist.
  absl::Status OnPersist(const Raft& raft, const std::vector<Entry>& entries);
  // A node's state machine applied the entry at `index`, reaching `digest`.
  absl::Status OnApply(NodeId node, LogIndex index, uint64_t digest);
  // A node's state machine was restored from a snapshot at `index`.
  absl::Status OnRestore(NodeId node, LogIndex index, uint64_t digest);
  // A node restarted (or crashed): role tracking starts afresh, history stays.
  void OnRestart(NodeId node);
  // A ReadIndex request was made / answered.
  void OnReadRequested(uint64_t request_id) { read_floor_[request_id] = max_committed_; }
  absl::Status OnReadState(NodeId node, const ReadState& rs);
  // After every event, over the live nodes.
  absl::Status AfterEvent(const std::vector<const Raft*>& nodes);

  LogIndex max_committed() const { return max_committed_; }

 private:
  absl::Status CheckNode(const Raft& raft);
  absl::Status CheckLeaderCompleteness(const Raft& raft);

  struct NodeTrack {
    Term term;
    LogIndex commit;
    LogIndex checked_commit;  // Committed entries up to here were compared.
    bool leader = false;
  };
  std::map<NodeId, NodeTrack> nodes_;
  std::map<Term, NodeId> leaders_;
  // (index, term) -> (entry hash, predecessor term).
  std::map<std::pair<uint64_t, uint64_t>, std::pair<uint64_t, uint64_t>> entries_;
  // Index -> (term, entry hash) of committed entries; [0] unused.
  std::vector<std::pair<Term, uint64_t>> committed_{{Term(0), 0}};
  LogIndex max_committed_{0};
  // Index -> state machine digest after applying it; [0] = empty state.
  std::vector<uint64_t> digests_{0};
  std::map<uint64_t, LogIndex> read_floor_;
};

}  // namespace fjord::raft::sim
