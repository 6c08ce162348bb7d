#include "controller/controller_core.h"

#include "common/assert.h"

namespace fjord::controller {

ControllerCore::ControllerCore(ControllerCoreOptions options, const Clock& clock, Random& random,
                               const MetadataStateMachine* state_machine, MetadataLog* log)
    : options_(std::move(options)),
      clock_(clock),
      state_machine_(state_machine),
      log_(log),
      logic_(options_.config, clock_, random) {
  FJORD_CHECK(state_machine_ != nullptr && log_ != nullptr);
}

void ControllerCore::SyncImage() {
  auto committed = state_machine_->image();
  if (committed != logic_.image_ptr()) logic_.ResetImage(std::move(committed));
}

v1::ActiveController ControllerCore::ActiveControllerInfo() const {
  const MetadataLogStatus st = log_->status();
  v1::ActiveController out;
  out.set_controller_id(st.leader.value());
  out.set_controller_epoch(st.leader == kNoNode ? -1 : static_cast<int64_t>(st.term.value()));
  return out;
}

void ControllerCore::Tick() {
  activation_backoff_ = false;
  Poll();
  const absl::Duration now = clock_.Monotonic();
  if (write_in_flight_ && now - in_flight_since_ >= options_.stalled_write_nudge &&
      now - last_nudge_ >= options_.stalled_write_nudge) {
    last_nudge_ = now;
    v1::MetadataRecord noop;
    noop.mutable_no_op();
    Propose({noop}, [](absl::Status) {});  // Outside the write queue.
  }
  if (!active_ || write_in_flight_ || !writes_.empty()) return;
  SyncImage();
  auto internal = [this](std::vector<v1::MetadataRecord> records) {
    Enqueue(Write{[this, records = std::move(records)] {
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
    internal(std::move(fence.records));
    return;
  }
  if (now - last_rebalance_ >= options_.rebalance_interval) {
    last_rebalance_ = now;
    auto rebalance = logic_.RebalancePreferredLeaders();
    if (!rebalance.records.empty()) {
      internal(std::move(rebalance.records));
      return;
    }
  }
  if (now - last_commit_ >= options_.noop_interval) {
    v1::MetadataRecord noop;
    noop.mutable_no_op();
    internal({noop});
  }
}

void ControllerCore::Poll() {
  const MetadataLogStatus st = log_->status();
  const bool leader = st.role == raft::Role::kLeader;
  if (leader && st.term.value() == active_term_ && (active_ || activating_)) return;
  if (active_ || activating_) LoseLeadership();
  if (!leader || write_in_flight_ || activation_backoff_) return;
  // New term as leader: commit a NoOp of our own before serving, so the
  // image holds every record committed before this term.
  activating_ = true;
  active_term_ = st.term.value();
  const uint64_t term = active_term_;
  v1::MetadataRecord noop;
  noop.mutable_no_op();
  write_in_flight_ = true;
  in_flight_since_ = clock_.Monotonic();
  Propose({noop}, [this, term](absl::Status status) {
    write_in_flight_ = false;
    if (!activating_ || active_term_ != term) return;
    activating_ = false;
    if (!status.ok()) {
      activation_backoff_ = true;  // retried on the next tick
      return;
    }
    SyncImage();
    logic_.ActivateSessions();
    active_ = true;
    last_rebalance_ = clock_.Monotonic();
    RunNextWrite();
  });
}

void ControllerCore::LoseLeadership() {
  active_ = false;
  activating_ = false;
  ++generation_;
  write_in_flight_ = false;
  auto in_flight = std::move(in_flight_fail_);
  in_flight_fail_ = nullptr;
  if (in_flight) {
    in_flight(v1::NOT_CONTROLLER, "leadership lost before the write committed (it may still)");
  }
  std::deque<Write> queued;
  queued.swap(writes_);
  for (Write& w : queued) w.fail(v1::NOT_CONTROLLER, "leadership lost");
}

void ControllerCore::Propose(const std::vector<v1::MetadataRecord>& records,
                             std::function<void(absl::Status)> committed) {
  const uint64_t generation = generation_;
  log_->Propose(
      ToBatch(records).SerializeAsString(),
      [this, generation, committed = std::move(committed)](absl::StatusOr<LogIndex> index) {
        if (index.ok()) last_commit_ = clock_.Monotonic();
        // Leadership was lost since: the caller has been answered.
        if (generation != generation_) return;
        committed(index.status());
      });
}

void ControllerCore::Enqueue(Write write) {
  writes_.push_back(std::move(write));
  RunNextWrite();
}

void ControllerCore::RunNextWrite() {
  if (write_in_flight_ || writes_.empty()) return;
  Write next = std::move(writes_.front());
  writes_.pop_front();
  if (!active_) {
    next.fail(v1::NOT_CONTROLLER, "not the active controller");
    RunNextWrite();
    return;
  }
  write_in_flight_ = true;
  in_flight_since_ = clock_.Monotonic();
  next.run();
}

void ControllerCore::WriteFinished(uint64_t generation) {
  if (generation != generation_) return;
  write_in_flight_ = false;
  RunNextWrite();
}

ControllerResult<v1::RegisterBrokerResponse> ControllerCore::DecideRegisterBroker(
    ControllerLogic& logic, const v1::RegisterBrokerRequest& req) const {
  const int64_t next = std::max(logic.image().offset().value(),
                                static_cast<int64_t>(log_->status().commit.value())) +
                       1;
  return logic.RegisterBroker(req, Offset(next));
}

v1::DescribeClusterResponse ControllerCore::DescribeCluster() {
  SyncImage();
  v1::DescribeClusterResponse response = logic_.DescribeCluster();
  *response.mutable_active_controller() = ActiveControllerInfo();
  response.set_controller_id(response.active_controller().controller_id());
  response.set_controller_epoch(response.active_controller().controller_epoch());
  return response;
}

}  // namespace fjord::controller
