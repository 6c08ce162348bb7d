// Internals shared by ControllerSim's sources: one simulated controller
// replica, events, client operations and simulated brokers.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "controller/sim/controller_sim.h"
#include "proto/fjord/v1/controller.pb.h"

namespace fjord::controller::sim {

inline constexpr char kClusterId[] = "sim-cluster";

// What a proposal waits for on its replica (like RaftNode's pending map).
struct PendingProposal {
  Term term;
  MetadataLog::Committed committed;
};

struct ControllerSim::Replica {
  NodeId id;
  // Bumped on every crash: callbacks scheduled by an older life are dropped.
  uint64_t incarnation = 0;
  raft::RaftConfig config;
  raft::PersistedState durable;  // The simulated disk (synced on every Ready).
  std::unique_ptr<SeededRandom> raft_random;
  std::unique_ptr<SeededRandom> logic_random;
  // Null while crashed.
  std::unique_ptr<raft::Raft> raft;
  std::unique_ptr<MetadataStateMachine> state_machine;
  std::unique_ptr<ReplicaLog> log;
  std::unique_ptr<ControllerCore> core;
  std::map<LogIndex, PendingProposal> proposals;
  LogIndex applied;
  uint64_t digest = 0;  // raft::sim::ChainHash over applied entries.
  const MetadataImage* checked_image = nullptr;

  bool up() const { return raft != nullptr; }
};

// The core's MetadataLog on a simulated replica.
class ControllerSim::ReplicaLog final : public MetadataLog {
 public:
  ReplicaLog(ControllerSim* sim, Replica* replica) : sim_(sim), replica_(replica) {}
  MetadataLogStatus status() const override {
    const raft::Raft& r = *replica_->raft;
    return {
        .role = r.role(), .term = r.term(), .leader = r.leader(), .commit = r.log().committed()};
  }
  void Propose(std::string data, Committed committed) override {
    sim_->ProposeOn(*replica_, std::move(data), std::move(committed));
  }

 private:
  ControllerSim* const sim_;
  Replica* const replica_;
};

struct ControllerSim::Event {
  enum class Kind : uint8_t { kTick, kDeliver, kChaos, kCallback, kClientOp, kBrokerTick };
  Kind kind = Kind::kTick;
  NodeId node;
  raft::Message message;
  uint64_t incarnation = 0;
  std::function<void()> fn;
  uint64_t op = 0;
  int32_t broker = -1;
};

enum class OpKind : uint8_t {
  kRegisterBroker,
  kHeartbeat,
  kCreateTopic,
  kDeleteTopic,
  kAlterConfig,
  kAlterPartition,
  kCreatePartitions,
};

enum class Outcome : uint8_t {
  kPending,  // Not answered (lost with a crashed controller, or in flight).
  kAcked,    // Records proposed and the answer came after their commit.
  kNoWrite,  // Answered without records (an error, a retry, nothing to do).
  kFailed,   // NOT_CONTROLLER or REQUEST_TIMED_OUT: outcome unknown.
};

struct ControllerSim::Op {
  OpKind kind = OpKind::kCreateTopic;
  int32_t broker = -1;  // The sending broker, for broker ops.
  uint64_t broker_incarnation = 0;
  int64_t sent_us = 0;
  v1::RegisterBrokerRequest register_req;
  v1::BrokerHeartbeatRequest heartbeat_req;
  v1::CreateTopicsRequest create_req;
  v1::DeleteTopicsRequest delete_req;
  v1::IncrementalAlterConfigsRequest config_req;
  v1::AlterPartitionRequest partition_req;
  v1::CreatePartitionsRequest create_partitions_req;

  // Set when a controller ran the handler.
  bool decided = false;
  NodeId decided_on;
  Offset decided_offset;  // The image the handler saw.
  std::string batch;      // The records it returned (empty: none).
  v1::RegisterBrokerResponse register_resp;
  v1::CreateTopicsResponse create_resp;
  v1::DeleteTopicsResponse delete_resp;
  v1::IncrementalAlterConfigsResponse config_resp;
  v1::CreatePartitionsResponse create_partitions_resp;

  // Set when the batch was appended by the leader.
  bool proposed = false;
  Term term;
  LogIndex index;

  Outcome outcome = Outcome::kPending;
};

struct ControllerSim::BrokerState {
  bool alive = true;
  // Controlled shutdown: heartbeats ask want_shut_down until the controller
  // answers should_shut_down, then the broker stops.
  bool shutting_down = false;
  uint64_t incarnation = 1;
  bool registered = false;
  int64_t epoch = -1;
  NodeId hint;
  uint64_t outstanding_op = 0;  // At most one request in flight per broker.
};

// The snapshot data a replica hands Raft: the state machine digest (for
// raft/sim's Checker) then the metadata snapshot.
std::string EncodeSnapshot(uint64_t digest, const std::string& metadata_snapshot);
bool DecodeSnapshot(const std::string& data, uint64_t* digest, std::string* metadata_snapshot);

}  // namespace fjord::controller::sim
