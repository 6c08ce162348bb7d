// ControllerCore: the single-threaded heart of the QuorumController, with
// Raft behind a small interface so that the threaded QuorumController (on a
// RaftNode) and the seeded simulation (controller/sim, on raft cores over a
// simulated network) run the same code.
//
//   SubmitWrite(decide, done) --> queue --> decide on the committed image
//                                           | no records: done(response) now
//                                           | else MetadataLog::Propose(batch)
//   MetadataLog's commit callback --------> done(response), next write
//
// Writes are decided one at a time: the next write runs only once the
// previous one's batch has committed and been applied, so every handler sees
// every earlier decision without speculative state (RaftNode reports an
// entry's index only at commit, so speculation would have to guess it). A
// broker epoch is the committed offset + 1 at decision time: always above
// every earlier epoch.
//
// Active controller: the Raft leader, once a NoOpRecord it proposed in its
// term has committed (then its image holds every earlier record, and the
// handlers finish what an earlier controller started: its expired sessions
// fence, its half-moved leaderships move). Until then, and on every other
// node, writes answer NOT_CONTROLLER. Losing leadership (noticed by Poll or
// Tick: the role or the term changed) answers the write in flight and every
// queued write with NOT_CONTROLLER at once, as Kafka's controller fails its
// purgatory on renouncing: the write in flight may still commit (outcome
// unknown to the client, which retries), but no caller waits for the Raft
// node to resolve a proposal stranded on a deposed leader.
//
// Timers (Tick, active only): FenceStaleBrokers; a preferred-leader
// rebalance every rebalance_interval; a NoOpRecord when nothing committed
// for noop_interval, or behind a write stalled for stalled_write_nudge.
//
// Thread: not thread-safe; one owner thread calls everything, and the
// MetadataLog must run Propose's callback on that thread too.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/types.h"
#include "controller/controller_logic.h"
#include "controller/metadata_state_machine.h"
#include "raft/core/types.h"

namespace fjord::controller {

// The Raft node as the controller sees it.
struct MetadataLogStatus {
  raft::Role role = raft::Role::kFollower;
  Term term;
  NodeId leader = kNoNode;
  LogIndex commit;
};

class MetadataLog {
 public:
  using Committed = std::function<void(absl::StatusOr<LogIndex>)>;
  virtual ~MetadataLog() = default;
  virtual MetadataLogStatus status() const = 0;
  // Replicates `data` (one MetadataRecordBatch). `committed` runs later, on
  // the core's thread, exactly once: with the entry's index once it has
  // committed and been applied to the state machine, or with an error
  // (ABORTED: overwritten by another leader's entry; otherwise unknown).
  virtual void Propose(std::string data, Committed committed) = 0;
};

struct ControllerCoreOptions {
  ControllerConfig config;
  absl::Duration rebalance_interval = absl::Minutes(5);
  absl::Duration noop_interval = absl::Seconds(5);
  // A write in flight this long gets a NoOpRecord proposed behind it. Raft
  // commits an entry only once the leader learns a majority stores it; if
  // the followers' acknowledgements were lost and nothing else is proposed,
  // the leader may not ask again (see README: a raft/ issue found by
  // controller/sim), and one-at-a-time writes would then wait forever. The
  // next entry's append makes the followers acknowledge both.
  absl::Duration stalled_write_nudge = absl::Milliseconds(250);
};

class ControllerCore {
 public:
  template <typename R>
  using Done = std::function<void(R)>;
  template <typename R>
  using Decide = std::function<ControllerResult<R>(ControllerLogic&)>;

  // `state_machine` holds the committed image (fed by the Raft node);
  // `log` proposes to it. All must outlive the core.
  ControllerCore(ControllerCoreOptions options, const Clock& clock, Random& random,
                 const MetadataStateMachine* state_machine, MetadataLog* log);

  // Notices a change of Raft role or term (cheap; call after anything that
  // may have moved Raft, and at least every tick).
  void Poll();
  // Poll, then the timers.
  void Tick();

  // Queues a write; `decide` runs on the committed image when its turn
  // comes (active controller only), `done` gets its response after commit
  // or an error. Responses carry active_controller.
  template <typename R>
  void SubmitWrite(Decide<R> decide, Done<R> done);
  // RegisterBroker needs the offset its records will commit at.
  ControllerResult<v1::RegisterBrokerResponse> DecideRegisterBroker(
      ControllerLogic& logic, const v1::RegisterBrokerRequest& req) const;

  // Reads from this node's committed image (any controller).
  v1::DescribeClusterResponse DescribeCluster();

  bool active() const { return active_; }
  v1::ActiveController ActiveControllerInfo() const;
  std::shared_ptr<const MetadataImage> image() const { return state_machine_->image(); }

 private:
  // A write waiting for its turn: `run` decides and proposes; `fail`
  // answers NOT_CONTROLLER (or another code) without a commit.
  struct Write {
    std::function<void()> run;
    std::function<void(v1::ErrorCode, const std::string&)> fail;
  };

  void LoseLeadership();
  void Enqueue(Write write);
  void RunNextWrite();
  // Ends the write in flight, unless leadership changed since it started
  // (`generation`): then it was already answered and a later one may run.
  void WriteFinished(uint64_t generation);
  // Proposes `records` (non-empty); `committed(status)` runs unless
  // leadership is lost first.
  void Propose(const std::vector<v1::MetadataRecord>& records,
               std::function<void(absl::Status)> committed);
  void SyncImage();

  const ControllerCoreOptions options_;
  const Clock& clock_;
  const MetadataStateMachine* const state_machine_;
  MetadataLog* const log_;

  ControllerLogic logic_;
  bool active_ = false;
  bool activating_ = false;
  uint64_t active_term_ = 0;
  bool write_in_flight_ = false;
  // The last activation NoOp failed: wait for the next Tick to retry.
  bool activation_backoff_ = false;
  // The write in flight's NOT_CONTROLLER answer, used if leadership is lost.
  std::function<void(v1::ErrorCode, const std::string&)> in_flight_fail_;
  // Bumped whenever leadership is lost: callbacks of older proposals are
  // ignored (their callers were answered), and a proposal still pending
  // from before no longer blocks the next term's activation (the new term's
  // NoOp commits after anything of it that ever commits).
  uint64_t generation_ = 0;
  std::deque<Write> writes_;
  absl::Duration in_flight_since_ = absl::ZeroDuration();
  absl::Duration last_nudge_ = absl::ZeroDuration();
  absl::Duration last_commit_ = absl::ZeroDuration();
  absl::Duration last_rebalance_ = absl::ZeroDuration();
};

template <typename R>
void ControllerCore::SubmitWrite(Decide<R> decide, Done<R> done) {
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
  Enqueue(Write{[this, decide = std::move(decide), done, fail] {
                  SyncImage();
                  ControllerResult<R> result = decide(logic_);
                  *result.response.mutable_active_controller() = ActiveControllerInfo();
                  const uint64_t generation = generation_;
                  if (result.records.empty()) {
                    done(std::move(result.response));
                    WriteFinished(generation);
                    return;
                  }
                  in_flight_fail_ = fail;
                  Propose(result.records,
                          [this, done, fail, generation,
                           response = std::move(result.response)](absl::Status status) mutable {
                            in_flight_fail_ = nullptr;
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
}

}  // namespace fjord::controller
