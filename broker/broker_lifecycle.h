// BrokerLifecycle: the broker's session with the controller quorum (Kafka's
// BrokerLifecycleManager): RegisterBroker until it yields a broker epoch,
// then BrokerHeartbeat every broker.heartbeat.interval.ms reporting the
// applied metadata offset; re-registers if the controller forgot the epoch;
// controlled shutdown by heartbeating want_shut_down until the controller has
// moved leaderships away and answers should_shut_down.
//
//   starting --RegisterBroker ok--> registered (fenced) --caught up--> active
//        ^                               |                               |
//        +--STALE_BROKER_EPOCH / --------+-------------------------------+
//           BROKER_ID_NOT_REGISTERED          ControlledShutdown() --> released
//
// A controlled shutdown never hangs: it ends when released, when no active
// controller has answered a heartbeat for `unreachable_max` (the quorum
// stopped with this broker or lost its majority), or at `limit`. A
// single-node cluster cannot move leadership anywhere; its controller
// releases the broker once its partitions are leaderless (KRaft's rule), so
// that case ends promptly with kReleased.
//
// Threading: one thread runs the loop; the accessors and ControlledShutdown
// are thread-safe (`mu_` guards the session state).
#pragma once

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/controller_channel.h"
#include "common/types.h"
#include "controller/uuid.h"
#include "grpcpp/grpcpp.h"

namespace fjord::broker {

struct LifecycleOptions {
  BrokerId id{0};
  std::string cluster_id;
  controller::Uuid incarnation_id;
  std::vector<v1::Endpoint> listeners;
  std::string rack;
  // broker.heartbeat.interval.ms.
  absl::Duration heartbeat_interval = absl::Milliseconds(2000);
  // Pause after a failed call before the next one.
  absl::Duration retry_backoff = absl::Milliseconds(200);
  // Deadline of one controller call.
  absl::Duration rpc_timeout = absl::Seconds(5);
};

enum class ShutdownOutcome { kReleased, kControllerUnreachable, kTimedOut };

class BrokerLifecycle {
 public:
  // `applied_offset` returns the metadata offset the broker has applied;
  // `on_registered` runs on the lifecycle thread with each new broker epoch.
  BrokerLifecycle(ControllerChannel& channel, LifecycleOptions options,
                  std::function<int64_t()> applied_offset,
                  std::function<void(BrokerEpoch)> on_registered);
  ~BrokerLifecycle();  // Stops the loop, cancelling a call in flight.

  void Start();
  // Asks the controller to release this broker (want_shut_down) and waits up
  // to `limit` for should_shut_down. True if released.
  bool ControlledShutdown(absl::Duration limit);
  // The same, also giving up once no active controller has answered for
  // `unreachable_max`.
  ShutdownOutcome ControlledShutdown(absl::Duration limit, absl::Duration unreachable_max);

  BrokerEpoch broker_epoch() const;
  bool registered() const;
  bool fenced() const;
  int64_t heartbeats() const;

 private:
  void Loop();
  void Register();
  void Heartbeat();
  // Records `ctx` as the call in flight; false once stopping.
  bool BeginCall(grpc::ClientContext* ctx);
  void EndCall();

  ControllerChannel& channel_;
  const LifecycleOptions options_;
  const std::function<int64_t()> applied_offset_;
  const std::function<void(BrokerEpoch)> on_registered_;

  mutable absl::Mutex mu_;
  BrokerEpoch epoch_ ABSL_GUARDED_BY(mu_){-1};
  bool fenced_ ABSL_GUARDED_BY(mu_) = true;
  bool want_shut_down_ ABSL_GUARDED_BY(mu_) = false;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;  // Ends the loop's pause early.
  int64_t heartbeats_ ABSL_GUARDED_BY(mu_) = 0;
  // When an active controller last answered a heartbeat.
  absl::Time last_answer_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // The controller call in flight, cancelled by the destructor.
  grpc::ClientContext* call_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

}  // namespace fjord::broker
