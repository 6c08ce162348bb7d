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
      logic_(options_.config, clock_, *random_) {
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
  // inside Tick use the injected clock.
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
      Tick();
    }
  }
}

void QuorumController::SyncImage() {
  auto committed = state_machine_.image();
  if (committed != logic_.image_ptr()) logic_.ResetImage(std::move(committed));
}

v1::ActiveController QuorumController::ActiveControllerInfo() const {
  raft::NodeStatus st = node_->status();
  v1::ActiveController out;
  out.set_controller_id(st.leader.value());
  out.set_controller_epoch(st.leader == kNoNode ? -1 : static_cast<int64_t>(st.term.value()));
  return out;
}

void QuorumController::Tick() {
  CheckLeadership();
  if (!active_ || write_in_flight_ || !writes_.empty()) return;
  SyncImage();
  const absl::Duration now = clock_.Monotonic();
  auto internal = [this](ControllerResult<int32_t> r) {
    Enqueue(Write{[this, records = std::move(r.records)] {
                    SyncImage();
                    Propose(records, [this, generation = generation_](absl::Status) {
                      WriteFinished(generation);
                    });
                  },
                  [](v1::ErrorCode, const std::string&) {}});
  };
  auto fence = logic_.FenceStaleBrokers();
  if (!fence.records.empty()) {
    // Decided now, on the current image; nothing else runs before it.
    internal({std::move(fence.records), 0});
    return;
  }
  if (now - last_rebalance_ >= options_.rebalance_interval) {
    last_rebalance_ = now;
    auto rebalance = logic_.RebalancePreferredLeaders();
    if (!rebalance.records.empty()) {
      internal(std::move(rebalance));
      return;
    }
  }
  if (now - last_commit_ >= options_.noop_interval) {
    v1::MetadataRecord noop;
    noop.mutable_no_op();
    internal({{noop}, 0});
  }
}

void QuorumController::CheckLeadership() {
  raft::NodeStatus st = node_->status();
  const bool leader = st.role == raft::Role::kLeader;
  if (leader && st.term.value() == active_term_ && (active_ || activating_)) return;
  if (active_ || activating_) {
    active_ = false;
    activating_ = false;
    ++generation_;
    write_in_flight_ = false;
    std::deque<Write> queued;
    queued.swap(writes_);
    for (Write& w : queued) w.fail(v1::NOT_CONTROLLER, "leadership lost");
    absl::MutexLock lock(&mu_);
    active_copy_ = false;
  }
  if (!leader || write_in_flight_) return;
  // New term as leader: commit a NoOp of our own before serving, so the
  // image holds every record committed before this term.
  activating_ = true;
  active_term_ = st.term.value();
  const uint64_t term = active_term_;
  const uint64_t generation = generation_;
  v1::MetadataRecord noop;
  noop.mutable_no_op();
  write_in_flight_ = true;
  Propose({noop}, [this, term, generation](absl::Status status) {
    if (generation != generation_) return;
    write_in_flight_ = false;
    if (!activating_ || active_term_ != term) return;
    activating_ = false;
    if (!status.ok()) return;  // retried on the next tick
    SyncImage();
    logic_.ActivateSessions();
    active_ = true;
    last_rebalance_ = clock_.Monotonic();
    {
      absl::MutexLock lock(&mu_);
      active_copy_ = true;
    }
    RunNextWrite();
  });
}

void QuorumController::Propose(const std::vector<v1::MetadataRecord>& records,
                               std::function<void(absl::Status)> committed) {
  std::string data = ToBatch(records).SerializeAsString();
  node_->Propose(std::move(data),
                 [this, committed = std::move(committed)](absl::StatusOr<LogIndex> index) {
                   absl::Status status = index.status();
                   Post([this, committed, status] {
                     if (status.ok()) last_commit_ = clock_.Monotonic();
                     committed(status);
                   });
                 });
}

void QuorumController::Enqueue(Write write) {
  writes_.push_back(std::move(write));
  RunNextWrite();
}

void QuorumController::RunNextWrite() {
  if (write_in_flight_ || writes_.empty()) return;
  Write next = std::move(writes_.front());
  writes_.pop_front();
  if (!active_) {
    next.fail(v1::NOT_CONTROLLER, "not the active controller");
    RunNextWrite();
    return;
  }
  write_in_flight_ = true;
  next.run();
}

void QuorumController::WriteFinished(uint64_t generation) {
  if (generation != generation_) return;
  write_in_flight_ = false;
  RunNextWrite();
}

template <typename R>
void QuorumController::SubmitWrite(std::function<ControllerResult<R>()> decide, Done<R> done) {
  Post([this, decide = std::move(decide), done = std::move(done)]() mutable {
    auto fail = [this, done](v1::ErrorCode code, const std::string& message) {
      R response;
      SetError(&response, code, message);
      *response.mutable_active_controller() = ActiveControllerInfo();
      done(std::move(response));
    };
    if (!active_) {
      fail(v1::NOT_CONTROLLER, "not the active controller");
      return;
    }
    Enqueue(Write{[this, decide, done, fail] {
                    SyncImage();
                    ControllerResult<R> result = decide();
                    *result.response.mutable_active_controller() = ActiveControllerInfo();
                    const uint64_t generation = generation_;
                    if (result.records.empty()) {
                      done(std::move(result.response));
                      WriteFinished(generation);
                      return;
                    }
                    Propose(result.records,
                            [this, done, fail, generation,
                             response = std::move(result.response)](absl::Status status) mutable {
                              if (status.ok()) {
                                done(std::move(response));
                              } else {
                                const v1::ErrorCode code =
                                    ToErrorCode(status) == v1::REQUEST_TIMED_OUT
                                        ? v1::REQUEST_TIMED_OUT
                                        : v1::NOT_CONTROLLER;
                                fail(code, std::string(status.message()));
                              }
                              WriteFinished(generation);
                            });
                  },
                  fail});
  });
}

void QuorumController::RegisterBroker(v1::RegisterBrokerRequest req,
                                      Done<v1::RegisterBrokerResponse> done) {
  SubmitWrite<v1::RegisterBrokerResponse>(
      [this, req = std::move(req)] {
        const int64_t next = std::max(logic_.image().offset().value(),
                                      static_cast<int64_t>(node_->status().commit.value())) +
                             1;
        return logic_.RegisterBroker(req, Offset(next));
      },
      std::move(done));
}

void QuorumController::BrokerHeartbeat(v1::BrokerHeartbeatRequest req,
                                       Done<v1::BrokerHeartbeatResponse> done) {
  SubmitWrite<v1::BrokerHeartbeatResponse>(
      [this, req = std::move(req)] { return logic_.BrokerHeartbeat(req); }, std::move(done));
}

void QuorumController::UnregisterBroker(v1::UnregisterBrokerRequest req,
                                        Done<v1::UnregisterBrokerResponse> done) {
  SubmitWrite<v1::UnregisterBrokerResponse>(
      [this, req = std::move(req)] { return logic_.UnregisterBroker(req); }, std::move(done));
}

void QuorumController::AllocateProducerIds(v1::AllocateProducerIdsRequest req,
                                           Done<v1::AllocateProducerIdsResponse> done) {
  SubmitWrite<v1::AllocateProducerIdsResponse>(
      [this, req = std::move(req)] { return logic_.AllocateProducerIds(req); }, std::move(done));
}

void QuorumController::AlterPartition(v1::AlterPartitionRequest req,
                                      Done<v1::AlterPartitionResponse> done) {
  SubmitWrite<v1::AlterPartitionResponse>(
      [this, req = std::move(req)] { return logic_.AlterPartition(req); }, std::move(done));
}

void QuorumController::CreateTopics(v1::CreateTopicsRequest req,
                                    Done<v1::CreateTopicsResponse> done) {
  SubmitWrite<v1::CreateTopicsResponse>(
      [this, req = std::move(req)] { return logic_.CreateTopics(req); }, std::move(done));
}

void QuorumController::DeleteTopics(v1::DeleteTopicsRequest req,
                                    Done<v1::DeleteTopicsResponse> done) {
  SubmitWrite<v1::DeleteTopicsResponse>(
      [this, req = std::move(req)] { return logic_.DeleteTopics(req); }, std::move(done));
}

void QuorumController::CreatePartitions(v1::CreatePartitionsRequest req,
                                        Done<v1::CreatePartitionsResponse> done) {
  SubmitWrite<v1::CreatePartitionsResponse>(
      [this, req = std::move(req)] { return logic_.CreatePartitions(req); }, std::move(done));
}

void QuorumController::IncrementalAlterConfigs(v1::IncrementalAlterConfigsRequest req,
                                               Done<v1::IncrementalAlterConfigsResponse> done) {
  SubmitWrite<v1::IncrementalAlterConfigsResponse>(
      [this, req = std::move(req)] { return logic_.IncrementalAlterConfigs(req); },
      std::move(done));
}

void QuorumController::DescribeCluster(Done<v1::DescribeClusterResponse> done) {
  Post([this, done = std::move(done)] {
    SyncImage();
    v1::DescribeClusterResponse response = logic_.DescribeCluster();
    *response.mutable_active_controller() = ActiveControllerInfo();
    response.set_controller_id(response.active_controller().controller_id());
    response.set_controller_epoch(response.active_controller().controller_epoch());
    done(std::move(response));
  });
}

void QuorumController::DescribeConfigs(v1::DescribeConfigsRequest req,
                                       Done<v1::DescribeConfigsResponse> done) {
  Post([this, req = std::move(req), done = std::move(done)] {
    v1::DescribeConfigsResponse response = controller::DescribeConfigs(*image(), req);
    *response.mutable_active_controller() = ActiveControllerInfo();
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
