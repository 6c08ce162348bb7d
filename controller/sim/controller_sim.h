// ControllerSim: the quorum controller over a simulated Raft group, driven
// by one seed (after raft/sim's SimCluster and TigerBeetle's simulator).
//
// Each replica is what fjord-controller runs, minus threads and I/O: a Raft
// core (raft/core) on a simulated disk, the MetadataStateMachine replaying
// committed entries (Restore/Snapshot for log compaction and laggards), and
// the ControllerCore deciding writes (activation NoOp per term, one write at
// a time, answers after commit, fencing and rebalance timers). Simulated
// brokers register, heartbeat, die and come back with a new incarnation;
// a client sends CreateTopics, DeleteTopics, IncrementalAlterConfigs and
// AlterPartition (as a partition leader would) to whichever controller it
// believes is active. Network delay, loss, duplication, partitions, crashes
// and restarts come from the same seed; one event queue keyed by (simulated
// time, sequence number) orders everything, so a seed replays bit for bit.
//
// A run has two phases:
//   safety   `chaos_ticks` of faults and requests; Raft's invariants
//            (raft/sim's Checker) and the image invariants are checked after
//            every event;
//   liveness everything healed except the dead brokers; within
//            `liveness_ticks_max` a controller must be active, every replica
//            must have applied its commit index, and the new controller must
//            have finished what earlier ones started: dead brokers fenced and
//            leading nothing, live ones unfenced, every partition with a live
//            ISR member led.
// Then the final checks:
//   - every acknowledged write's batch is in the committed log at the index
//     it was proposed at, and every committed client write was decided on an
//     image holding every earlier committed entry;
//   - a model built from the decided responses alone (topic names, ids and
//     partition counts, topic configs, broker epochs and incarnations) equals
//     the final image: nothing acknowledged is missing, nothing failed is
//     half-applied;
//   - every controller's image serializes to the same snapshot bytes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/clock.h"
#include "common/event_queue.h"
#include "common/random.h"
#include "controller/controller_core.h"
#include "controller/metadata_state_machine.h"
#include "raft/core/raft.h"
#include "raft/sim/checker.h"
#include "raft/sim/sim_network.h"

namespace fjord::controller::sim {

// Deliberately broken behaviours, to show the checks can fail.
enum class Broken : uint8_t {
  kNone,
  // The log reports a proposal committed as soon as the leader appended it
  // (a controller that replies before commit).
  kAckOnAppend,
  // Standby controllers skip PartitionChangeRecords when replaying.
  kStandbySkipsPartitionChange,
};

struct SimOptions {
  uint64_t seed = 0;
  int voters = 3;  // 1..7 controllers.
  int brokers = 4;
  int election_ticks = 10;
  int64_t tick_us = 10'000;  // Simulated time per Raft and controller tick.
  int chaos_ticks = 400;
  int liveness_ticks_max = 600;
  int drop_per_mille = 30;
  int duplicate_per_mille = 10;
  int64_t delay_us_max = 8'000;
  // Broker sessions, scaled to the simulated election timeout (100-200 ms).
  int64_t session_timeout_us = 600'000;
  int64_t heartbeat_interval_us = 150'000;
  // A replica snapshots its image and compacts its log every this many
  // applied entries.
  uint64_t snapshot_every_entries = 40;
  // ControllerCoreOptions::stalled_write_nudge; 0 = never, which shows the
  // raft/ issue it works around (lost acknowledgements of the last entry are
  // never asked for again: seed 353 stalls).
  int64_t stalled_write_nudge_us = 100'000;
  Broken broken = Broken::kNone;
  bool trace = false;
};

struct SimStats {
  uint64_t events = 0;
  uint64_t committed = 0;
  uint64_t writes_acked = 0;
  uint64_t writes_failed = 0;  // NOT_CONTROLLER / timed out / no answer
  uint64_t activations = 0;
  uint64_t crashes = 0;
  uint64_t controlled_shutdowns = 0;  // Brokers told should_shut_down.
  uint64_t fenced = 0;                // Brokers fenced in the final image.
};

class ControllerSim {
 public:
  explicit ControllerSim(const SimOptions& options);
  ~ControllerSim();

  // Both phases and the final checks. A failure names the seed, the
  // simulated time and the event, and how to replay it.
  absl::Status Run();
  const SimStats& stats() const { return stats_; }

 private:
  struct Replica;
  struct Event;
  struct Op;
  struct BrokerState;
  class ReplicaLog;

  // --- The cluster (controller_sim.cc) ---
  void ScheduleCallback(Replica& replica, std::function<void()> fn);
  absl::Status RunUntil(int64_t end_us, bool liveness, bool* done);
  absl::Status Handle(Event& event);
  absl::Status ProcessReady(Replica& replica);
  absl::Status ApplyReady(Replica& replica, const raft::Ready& rd);
  void MaybeCompact(Replica& replica);
  void Send(std::vector<raft::Message> messages);
  void ProposeOn(Replica& replica, std::string data, MetadataLog::Committed committed);
  void Crash(Replica& replica);
  absl::Status Restart(Replica& replica);
  absl::Status ChaosAction();
  Replica* ActiveController();
  Replica* RaftLeader();
  absl::Status Fail(const absl::Status& cause) const;
  void Trace(const std::string& line) const;

  // --- Clients, brokers and checks (sim_workload.cc) ---
  void ClientAction();
  void BrokerTick(int32_t broker);
  // Sends op `id` to a controller (after a network delay).
  void SendOp(uint64_t id, NodeId to);
  void Submit(Replica& replica, uint64_t id);
  NodeId PickController(NodeId hint);
  absl::Status CheckImage(const MetadataImage& image, NodeId node) const;
  absl::Status CheckLiveness(bool* done);
  absl::Status FinalChecks();

  const SimOptions options_;
  SeededRandom random_;
  raft::sim::SimNetwork network_;
  ManualClock clock_;
  raft::sim::Checker checker_;
  SimStats stats_;
  std::map<NodeId, std::unique_ptr<Replica>> replicas_;
  EventQueue<Event> queue_;  // Owns simulated time.

  // The committed log as first applied anywhere: index -> (term, data).
  // Raft's checker guarantees every replica applies the same.
  std::map<uint64_t, std::pair<Term, std::string>> committed_;

  std::map<uint64_t, Op> ops_;  // By id; ordered, so iteration is deterministic.
  uint64_t next_op_id_ = 1;
  // The batch the last decision produced (the core proposes it next).
  uint64_t last_decided_op_ = 0;
  std::string last_decided_batch_;
  std::map<int32_t, BrokerState> brokers_;
  NodeId client_hint_ = kNoNode;
  std::vector<std::string> topic_names_;
};

const char* ToString(Broken broken);

}  // namespace fjord::controller::sim
