// Purgatory: requests that wait for a partition to change (Kafka's
// DelayedOperationPurgatory). An acks=all produce waits until the high
// watermark passes its last offset; a fetch long-polls until fetch.min.bytes
// are available. Each operation watches the replicas it depends on, is
// retried when one of them reports a change (append or high-watermark move),
// and expires at its deadline.
//
// Lifecycle of one operation:
//
//   Watch() --TryComplete() true--> done (its completion already ran)
//      |
//      +--> watched --Notify(replica) & TryComplete() true--> done
//              |
//              +--deadline <= now at ExpireDue()--> Expire() --> done
//
// Exactly once: DelayedOperation::Finish() guards the completion, so a
// racing Notify and expiry complete an operation once.
//
// Bounds: at most `max_operations` wait at a time (delayed.operations.max);
// Watch() refuses more, and the caller answers at once.
//
// Threading: thread-safe. Notify() runs on whichever thread changed a
// replica, ExpireDue() on the broker's ticker; TryComplete()/Expire() are
// called with no purgatory lock held. `mu_` guards the watch lists and the
// deadline heap only.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <queue>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace fjord::broker {

class Replica;

class DelayedOperation {
 public:
  virtual ~DelayedOperation() = default;
  // Checks whether the operation can complete now; if so, completes it via
  // Finish() and returns true. Must be cheap and must not block.
  virtual bool TryComplete() = 0;
  // The deadline passed: complete with whatever applies (timeout error or
  // partial data), via Finish().
  virtual void Expire() = 0;
  bool done() const { return done_.load(std::memory_order_acquire); }

 protected:
  // True for exactly one caller: the one that must run the completion.
  bool Finish() { return !done_.exchange(true, std::memory_order_acq_rel); }

 private:
  std::atomic<bool> done_{false};
};

// A request handler's wait: `attempt(expired)` fills the handler's response
// and returns true once it is complete (with expired=true it must complete).
// The handler thread blocks in Wait() until then. `attempt` runs under the
// operation's own lock, never concurrently with itself, and never again after
// it completed, so the response it fills may die right after Wait returns.
class WaitingRequest final : public DelayedOperation {
 public:
  explicit WaitingRequest(std::function<bool(bool expired)> attempt)
      : attempt_(std::move(attempt)) {}
  bool TryComplete() override;
  void Expire() override;
  // Blocks until complete; if `limit` passes first (the ticker stalled),
  // expires the operation itself.
  void Wait(absl::Duration limit);

 private:
  absl::Mutex mu_;
  std::function<bool(bool)> attempt_ ABSL_GUARDED_BY(mu_);
  absl::Notification complete_;
};

// A wait that blocks no thread: `attempt(expired)` as for WaitingRequest,
// and once it completed, `on_complete` runs exactly once, on the thread that
// completed it (a replica change, the ticker, or Watch's first try), under
// the operation's lock. `on_complete` must be quick and must not block: it
// hands the result over (ProduceStream queues a response) and returns.
class AsyncRequest final : public DelayedOperation {
 public:
  AsyncRequest(std::function<bool(bool expired)> attempt, std::function<void()> on_complete)
      : attempt_(std::move(attempt)), on_complete_(std::move(on_complete)) {}
  bool TryComplete() override;
  void Expire() override;

 private:
  absl::Mutex mu_;
  std::function<bool(bool)> attempt_ ABSL_GUARDED_BY(mu_);
  std::function<void()> on_complete_ ABSL_GUARDED_BY(mu_);
};

class Purgatory {
 public:
  // delayed.operations.max default.
  static constexpr size_t kDefaultMaxOperations = 10000;

  Purgatory(const Clock& clock, size_t max_operations = kDefaultMaxOperations)
      : clock_(clock), max_operations_(max_operations) {}

  // Tries `op` once; if it is not done, watches it on `replicas` until
  // `deadline` (monotonic). Returns false, without watching, if the
  // purgatory is full; the caller then completes the operation itself.
  bool Watch(std::shared_ptr<DelayedOperation> op, const std::vector<const Replica*>& replicas,
             absl::Duration deadline);
  // Retries the operations watching `replica`.
  void Notify(const Replica* replica);
  // Expires every operation whose deadline has passed.
  void ExpireDue();
  // Operations tracked (waiting, or finished but not yet purged).
  size_t size() const;

 private:
  struct Timer {
    absl::Duration deadline;
    std::shared_ptr<DelayedOperation> op;
    bool operator>(const Timer& o) const { return deadline > o.deadline; }
  };

  // Drops finished operations from the heap and the watch lists.
  void PurgeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock& clock_;
  const size_t max_operations_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<const Replica*, std::vector<std::shared_ptr<DelayedOperation>>> watchers_
      ABSL_GUARDED_BY(mu_);
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fjord::broker
