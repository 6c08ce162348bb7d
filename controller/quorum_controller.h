// QuorumController: the controller logic on the Raft library (after Kafka's
// QuorumController). One event-loop thread owns a ControllerCore (activation,
// one-at-a-time writes answered after commit, timers: see controller_core.h);
// every request, commit callback and timer runs there.
//
//   request (any thread) --Post--> loop: ControllerCore (handler -> records)
//                                     | records empty: respond now
//                                     | else RaftNode::Propose(one batch)
//   node thread: MetadataStateMachine::Apply (replay) ... commit callback
//                                     --Post--> loop: respond
//
// The loop polls the RaftNode's role and term after every batch of tasks and
// every tick, so a deposed leader answers its pending writes NOT_CONTROLLER
// within one tick instead of waiting for the RaftNode's request_timeout.
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
#include "controller/controller_core.h"
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
  absl::Duration stalled_write_nudge = absl::Milliseconds(250);  // see ControllerCoreOptions
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
  // The RaftNode as the core's MetadataLog: commit callbacks hop to the loop.
  class NodeLog final : public MetadataLog {
   public:
    explicit NodeLog(QuorumController* owner) : owner_(owner) {}
    MetadataLogStatus status() const override;
    void Propose(std::string data, Committed committed) override;

   private:
    QuorumController* const owner_;
  };

  void Post(Task task);
  void Loop();
  // Runs on the loop: the core's answer for a write.
  template <typename R>
  void SubmitWrite(ControllerCore::Decide<R> decide, Done<R> done);
  void PublishActive();

  const QuorumControllerOptions options_;
  const Clock& clock_;
  std::unique_ptr<Random> random_;
  MetadataStateMachine state_machine_;
  raft::RaftNode* node_ = nullptr;
  NodeLog log_{this};
  ControllerCore core_;  // Loop thread only.

  mutable absl::Mutex mu_;  // The task queue, the stop flag and the status copy.
  std::deque<Task> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool active_copy_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace fjord::controller
