// SimCluster: a whole Raft group in one process, driven by one seed.
//
// Every source of nondeterminism (network delay, loss, duplication and
// reordering; partitions; crashes and restarts; client requests; each core's
// election jitter) is drawn from one SeededRandom and ordered by one event
// queue keyed by (simulated time, sequence number), so a seed replays bit for
// bit. The Checker runs after every event.
//
// A run has two phases (TigerBeetle's shape):
//   safety   `chaos_ticks` of random faults and requests;
//   liveness everything healed (all nodes up, no partitions, no loss); within
//            `liveness_ticks_max` a leader must be elected, commit a new entry,
//            and every member of its configuration must apply it.
//
// Simulated disk: each node's writes become durable at Sync; a crash loses
// what was written but not synced. The correct driver syncs every Ready
// before sending its messages.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/event_queue.h"
#include "common/random.h"
#include "raft/core/raft.h"
#include "raft/sim/checker.h"
#include "raft/sim/sim_network.h"

namespace fjord::raft::sim {

// Deliberately broken behaviours, to show the checker can fail.
enum class Broken : uint8_t {
  kNone,
  kForgetVoteOnRestart,     // Restart drops the persisted vote.
  kSendBeforePersist,       // Messages go out before the Ready is synced.
  kCommitPriorTermByCount,  // Core: Figure 8 commit rule.
  kVoteWithoutLogCheck,     // Core: votes ignore the up-to-date check.
  kCountSelfBeforePersist,  // Core: a leader counts its unsynced entries.
};

// The mix of random actions in the safety phase.
enum class ScheduleMix : uint8_t {
  // Client requests, crashes, partitions, compaction, membership changes,
  // transfers and reads, an action every 1.5 ticks on average.
  kMixed,
  // Leader churn in the shape of the Raft paper's Figure 8: a leader is cut
  // off (and often crashed) just after taking writes that no one else has,
  // so that uncommitted entries of several terms sit on different nodes;
  // nodes rejoin one at a time and later leaders find those entries. Fewer
  // actions, spaced about an election timeout apart so elections complete.
  kLeaderChurn,
};

struct SimOptions {
  uint64_t seed = 0;
  ScheduleMix mix = ScheduleMix::kMixed;
  int voters = 3;     // 1..5 initial voters.
  int observers = 0;  // Initial learners.
  int spares = 1;     // Nodes outside the group that membership changes may add.
  int election_ticks = 10;
  int tick_us = 10'000;  // Simulated time per tick.
  int chaos_ticks = 300;
  int liveness_ticks_max = 400;
  // Fault rates, per thousand messages / chaos actions.
  int drop_per_mille = 50;
  int duplicate_per_mille = 20;
  int delay_us_max = 15'000;
  bool crashes = true;
  // A leader's Ready that may be sent before its sync is (the driver's
  // parallel write); with crashes on, the leader then crashes between send
  // and sync this often per thousand such Readies that carry entries.
  int crash_in_write_per_mille = 5;
  // The driver's asynchronous leader writes (NodeOptions::
  // async_storage_writes): a leader's Ready with durable term and vote is
  // sent, applied and advanced at once (AdvanceAsync), and its write becomes
  // durable up to persist_us_max later, reported by OnPersisted. A crash
  // before then loses it; a report reaching a restarted node is dropped.
  bool async_writes = false;
  int persist_us_max = 3'000;
  bool partitions = true;
  bool membership_changes = true;
  bool pre_vote = true;
  bool check_quorum = true;
  Broken broken = Broken::kNone;
  bool trace = false;  // Print every event (for replaying one seed).

  // Cluster shape, fault rates and schedule mix drawn from the seed (about
  // one seed in four gets kLeaderChurn).
  static SimOptions FromSeed(uint64_t seed);
  // The same draws with the mix forced: FromSeed(seed, kMixed) is what
  // FromSeed(seed) returned before kLeaderChurn existed.
  static SimOptions FromSeed(uint64_t seed, ScheduleMix mix);
};

struct SimStats {
  uint64_t events = 0;
  uint64_t committed = 0;
  uint64_t elections = 0;
  uint64_t snapshots_installed = 0;
};

class SimCluster {
 public:
  explicit SimCluster(const SimOptions& options);
  ~SimCluster();

  // Both phases. On a violation or a liveness failure the status message
  // names the seed, the simulated time and the event number.
  absl::Status Run();
  const SimStats& stats() const { return stats_; }

 private:
  struct Node;
  struct Event;

  absl::Status RunUntil(int64_t end_us, bool liveness);
  absl::Status Handle(Event& event);
  absl::Status ProcessReady(Node& node);
  // A leader's Ready under async_writes (the driver's HandleReadyAsync).
  absl::Status ProcessReadyAsync(Node& node, Ready rd);
  absl::Status Persist(Node& node, const Ready& rd);
  void Sync(Node& node);
  void SendAll(Node& node, std::vector<Message> messages);
  // Restores rd.snapshot if `with_snapshot`, then applies the committed
  // entries with index in [from, to).
  absl::Status ApplyCommitted(Node& node, const Ready& rd, bool with_snapshot, LogIndex from,
                              LogIndex to);
  absl::Status ChaosAction();
  absl::Status ChurnAction();
  int64_t ChaosIntervalUs();
  void Isolate(NodeId id);
  void Rejoin(NodeId id);
  absl::Status Crash(Node& node);
  absl::Status Restart(Node& node);
  absl::Status Heal();
  absl::Status CheckLiveness(bool* done);
  Node* Leader();
  absl::Status Fail(const absl::Status& cause) const;

  SimOptions options_;
  SeededRandom random_;
  // Draws for crashes inside a leader's parallel write; a stream of its own
  // so that schedules which never draw it stay as they were before it.
  SeededRandom write_crash_random_;
  // Draws for asynchronous writes' durations, likewise.
  SeededRandom persist_random_;
  SimNetwork network_;
  Checker checker_;
  SimStats stats_;
  std::map<NodeId, std::unique_ptr<Node>> nodes_;
  EventQueue<Event> queue_;  // Owns simulated time.
  uint64_t next_read_id_ = 1;
  std::optional<std::pair<Term, LogIndex>> liveness_entry_;
};

}  // namespace fjord::raft::sim
