// QuorumController: the controller logic on the Raft library (after Kafka's
// QuorumController). One event-loop thread owns a ControllerLogic; every
// request and timer runs there.
//
//   request (any thread) --Post--> loop: handler -> records + response
//                                     | records empty: respond now
//                                     | else RaftNode::Propose(one batch)
//   node thread: MetadataStateMachine::Apply (replay) ... commit callback
//                                     --Post--> loop: respond
//
// Writes are decided one at a time: the next write runs only once the
// previous one's batch has committed and been applied, so every handler sees
// every earlier decision without speculative state (RaftNode reports an
// entry's index only at commit, so speculation would have to guess it). A
// broker epoch is the committed offset + 1 at decision time: always above
// every earlier epoch, and equal to the record's offset unless a Raft
// leader-change or config entry lands in between.
//
// Active controller: the Raft leader, once a NoOpRecord it proposed in its
// term has committed (then its image holds every earlier record). Until
// then, and on every other node, writes answer NOT_CONTROLLER with the Raft
// leader as the hint. Losing leadership fails queued writes with
// NOT_CONTROLLER; an in-flight one fails through RaftNode. On becoming
// active every registered broker's session starts afresh.
//
// Timers (on the loop, active only): FenceStaleBrokers every tick; a
// preferred-leader rebalance every rebalance_interval; a NoOpRecord when no
// write committed for noop_interval.
//
// Lifetime: construct, RaftNode::Start with state_machine(), then Start(node).
// Shut down with Stop() before destroying the RaftNode; destroy this after
// the node. `done` callbacks run on the loop thread; keep them short.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/random.h"
#include "controller/controller_logic.h"
#include "controller/metadata_state_machine.h"
#include "raft/node/raft_node.h"

namespace fjord::controller {

struct QuorumControllerOptions {
  NodeId node_id = kNoNode;
  ControllerConfig config;
  absl::Duration tick = absl::Milliseconds(50);
  absl::Duration rebalance_interval = absl::Minutes(5);
  absl::Duration noop_interval = absl::Seconds(5);
};

struct QuorumControllerStatus {
  bool active = false;
  NodeId leader = kNoNode;
  int64_t term = -1;
  int64_t commit_index = -1;
  int64_t metadata_offset = -1;
  int64_t fenced_brokers = 0;
  int64_t offline_partitions = 0;
  int64_t unclean_elections = 0;
};

class QuorumController {
 public:
  template <typename R>
  using Done = std::function<void(R)>;

  QuorumController(QuorumControllerOptions options, const Clock& clock,
                   std::unique_ptr<Random> random);
  ~QuorumController();

  MetadataStateMachine* state_machine() { return &state_machine_; }
  void Start(raft::RaftNode* node);
  void Stop();

  // Writes (active controller only).
  void RegisterBroker(v1::RegisterBrokerRequest req, Done<v1::RegisterBrokerResponse> done);
  void BrokerHeartbeat(v1::BrokerHeartbeatRequest req, Done<v1::BrokerHeartbeatResponse> done);
  void UnregisterBroker(v1::UnregisterBrokerRequest req, Done<v1::UnregisterBrokerResponse> done);
  void AllocateProducerIds(v1::AllocateProducerIdsRequest req,
                           Done<v1::AllocateProducerIdsResponse> done);
  void AlterPartition(v1::AlterPartitionRequest req, Done<v1::AlterPartitionResponse> done);
  void CreateTopics(v1::CreateTopicsRequest req, Done<v1::CreateTopicsResponse> done);
  void DeleteTopics(v1::DeleteTopicsRequest req, Done<v1::DeleteTopicsResponse> done);
  void CreatePartitions(v1::CreatePartitionsRequest req, Done<v1::CreatePartitionsResponse> done);
  void IncrementalAlterConfigs(v1::IncrementalAlterConfigsRequest req,
                               Done<v1::IncrementalAlterConfigsResponse> done);
  // Reads, from this node's committed image (any controller).
  void DescribeCluster(Done<v1::DescribeClusterResponse> done);
  void DescribeConfigs(v1::DescribeConfigsRequest req, Done<v1::DescribeConfigsResponse> done);

  QuorumControllerStatus status() const;
  // The committed image (any thread).
  std::shared_ptr<const MetadataImage> image() const { return state_machine_.image(); }

 private:
  using Task = std::function<void()>;
  // A write waiting for its turn: `run` decides and proposes; `fail`
  // answers NOT_CONTROLLER without deciding.
  struct Write {
    std::function<void()> run;
    std::function<void(v1::ErrorCode, const std::string&)> fail;
  };

  void Post(Task task);
  void Loop();
  void Tick();
  void CheckLeadership();
  void Enqueue(Write write);
  void RunNextWrite();
  // Ends the write in flight, unless leadership changed since it started
  // (`generation`): then a later write may already be running.
  void WriteFinished(uint64_t generation);
  // Proposes `records` (non-empty); `committed(status)` runs on the loop.
  void Propose(const std::vector<v1::MetadataRecord>& records,
               std::function<void(absl::Status)> committed);
  void SyncImage();
  v1::ActiveController ActiveControllerInfo() const;

  template <typename R>
  void SubmitWrite(std::function<ControllerResult<R>()> decide, Done<R> done);

  const QuorumControllerOptions options_;
  const Clock& clock_;
  std::unique_ptr<Random> random_;
  MetadataStateMachine state_machine_;
  raft::RaftNode* node_ = nullptr;

  // Loop thread only.
  ControllerLogic logic_;
  bool active_ = false;
  bool activating_ = false;
  uint64_t active_term_ = 0;
  bool write_in_flight_ = false;
  // Bumped whenever leadership is lost: a write still in flight from before
  // no longer blocks the next term's activation (its outcome arrives later;
  // the new term's NoOp commits after anything of it that ever commits).
  uint64_t generation_ = 0;
  std::deque<Write> writes_;
  absl::Duration last_commit_ = absl::ZeroDuration();
  absl::Duration last_rebalance_ = absl::ZeroDuration();

  mutable absl::Mutex mu_;  // The task queue, the stop flag and the status copy.
  std::deque<Task> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool active_copy_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace fjord::controller
