#include "controller/quorum_controller.h"

#include "absl/strings/str_cat.h"
#include "common/assert.h"
#include "common/kafka_error.h"
#include "controller/config_control.h"
#include "controller/replication_control.h"

namespace fjord::controller {

QuorumController::QuorumController(QuorumControllerOptions options, const Clock& clock,
                                   std::unique_ptr<Random> random)
    : options_(std::move(options)),
      clock_(clock),
      random_(std::move(random)),
      state_machine_(options_.config.cluster_id),
      core_({.config = options_.config,
             .rebalance_interval = options_.rebalance_interval,
             .noop_interval = options_.noop_interval,
             .stalled_write_nudge = options_.stalled_write_nudge},
            clock_, *random_, &state_machine_, &log_) {
  state_machine_.SetListener([this] { Post([] {}); });  // wake the loop
}

QuorumController::~QuorumController() { Stop(); }

void QuorumController::Start(raft::RaftNode* node) {
  FJORD_CHECK(node_ == nullptr && node != nullptr);
  node_ = node;
  thread_ = std::thread([this] { Loop(); });
}

void QuorumController::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void QuorumController::Post(Task task) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;  // shutting down: late callbacks are dropped
  tasks_.push_back(std::move(task));
}

void QuorumController::Loop() {
  // Tick scheduling uses real time (this is the I/O edge); the decisions
  // inside the core use the injected clock.
  absl::Time next_tick = absl::Now();
  while (true) {
    std::deque<Task> tasks;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]()
                       ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_ || !tasks_.empty(); };
      mu_.AwaitWithTimeout(absl::Condition(&ready), options_.tick);
      if (stopping_) return;
      tasks.swap(tasks_);
    }
    for (Task& task : tasks) task();
    if (absl::Now() >= next_tick) {
      next_tick = absl::Now() + options_.tick;
      core_.Tick();
    } else {
      core_.Poll();
    }
    PublishActive();
  }
}

void QuorumController::PublishActive() {
  const bool active = core_.active();
  absl::MutexLock lock(&mu_);
  active_copy_ = active;
}

MetadataLogStatus QuorumController::NodeLog::status() const {
  raft::NodeStatus st = owner_->node_->status();
  return {.role = st.role, .term = st.term, .leader = st.leader, .commit = st.commit};
}

void QuorumController::NodeLog::Propose(std::string data, Committed committed) {
  owner_->node_->Propose(std::move(data), [owner = owner_, committed = std::move(committed)](
                                              absl::StatusOr<LogIndex> index) {
    owner->Post([committed, index] { committed(index); });
  });
}

template <typename R>
void QuorumController::SubmitWrite(ControllerCore::Decide<R> decide, Done<R> done) {
  Post([this, decide = std::move(decide), done = std::move(done)]() mutable {
    core_.SubmitWrite<R>(std::move(decide), std::move(done));
  });
}

void QuorumController::RegisterBroker(v1::RegisterBrokerRequest req,
                                      Done<v1::RegisterBrokerResponse> done) {
  SubmitWrite<v1::RegisterBrokerResponse>(
      [this, req = std::move(req)](ControllerLogic& logic) {
        return core_.DecideRegisterBroker(logic, req);
      },
      std::move(done));
}

void QuorumController::BrokerHeartbeat(v1::BrokerHeartbeatRequest req,
                                       Done<v1::BrokerHeartbeatResponse> done) {
  SubmitWrite<v1::BrokerHeartbeatResponse>(
      [req = std::move(req)](ControllerLogic& logic) { return logic.BrokerHeartbeat(req); },
      std::move(done));
}

void QuorumController::UnregisterBroker(v1::UnregisterBrokerRequest req,
                                        Done<v1::UnregisterBrokerResponse> done) {
  SubmitWrite<v1::UnregisterBrokerResponse>(
      [req = std::move(req)](ControllerLogic& logic) { return logic.UnregisterBroker(req); },
      std::move(done));
}

void QuorumController::AllocateProducerIds(v1::AllocateProducerIdsRequest req,
                                           Done<v1::AllocateProducerIdsResponse> done) {
  SubmitWrite<v1::AllocateProducerIdsResponse>(
      [req = std::move(req)](ControllerLogic& logic) { return logic.AllocateProducerIds(req); },
      std::move(done));
}

void QuorumController::AlterPartition(v1::AlterPartitionRequest req,
                                      Done<v1::AlterPartitionResponse> done) {
  SubmitWrite<v1::AlterPartitionResponse>(
      [req = std::move(req)](ControllerLogic& logic) { return logic.AlterPartition(req); },
      std::move(done));
}

void QuorumController::CreateTopics(v1::CreateTopicsRequest req,
                                    Done<v1::CreateTopicsResponse> done) {
  SubmitWrite<v1::CreateTopicsResponse>(
      [req = std::move(req)](ControllerLogic& logic) { return logic.CreateTopics(req); },
      std::move(done));
}

void QuorumController::DeleteTopics(v1::DeleteTopicsRequest req,
                                    Done<v1::DeleteTopicsResponse> done) {
  SubmitWrite<v1::DeleteTopicsResponse>(
      [req = std::move(req)](ControllerLogic& logic) { return logic.DeleteTopics(req); },
      std::move(done));
}

void QuorumController::CreatePartitions(v1::CreatePartitionsRequest req,
                                        Done<v1::CreatePartitionsResponse> done) {
  SubmitWrite<v1::CreatePartitionsResponse>(
      [req = std::move(req)](ControllerLogic& logic) { return logic.CreatePartitions(req); },
      std::move(done));
}

void QuorumController::IncrementalAlterConfigs(v1::IncrementalAlterConfigsRequest req,
                                               Done<v1::IncrementalAlterConfigsResponse> done) {
  SubmitWrite<v1::IncrementalAlterConfigsResponse>(
      [req = std::move(req)](ControllerLogic& logic) { return logic.IncrementalAlterConfigs(req); },
      std::move(done));
}

void QuorumController::DescribeCluster(Done<v1::DescribeClusterResponse> done) {
  Post([this, done = std::move(done)] { done(core_.DescribeCluster()); });
}

void QuorumController::DescribeConfigs(v1::DescribeConfigsRequest req,
                                       Done<v1::DescribeConfigsResponse> done) {
  Post([this, req = std::move(req), done = std::move(done)] {
    v1::DescribeConfigsResponse response = controller::DescribeConfigs(*image(), req);
    *response.mutable_active_controller() = core_.ActiveControllerInfo();
    done(std::move(response));
  });
}

QuorumControllerStatus QuorumController::status() const {
  QuorumControllerStatus s;
  {
    absl::MutexLock lock(&mu_);
    s.active = active_copy_;
  }
  if (node_ != nullptr) {
    raft::NodeStatus st = node_->status();
    s.leader = st.leader;
    s.term = static_cast<int64_t>(st.term.value());
    s.commit_index = static_cast<int64_t>(st.commit.value());
  }
  auto img = image();
  s.metadata_offset = img->offset().value();
  for (const auto& [id, b] : img->brokers()) s.fenced_brokers += b->fenced ? 1 : 0;
  s.offline_partitions = OfflinePartitionCount(*img);
  s.unclean_elections = state_machine_.unclean_elections();
  return s;
}

}  // namespace fjord::controller
