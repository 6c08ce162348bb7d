// Time as an injected dependency. Deterministic code (raft/, the controller's
// decision logic, storage format code) takes a Clock& and never reads the
// system clock itself, so simulations drive time.
#pragma once

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fjord {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time since an arbitrary origin: for timeouts and intervals.
  virtual absl::Duration Monotonic() const = 0;
  // Wall-clock time: for record timestamps and time-based retention.
  virtual absl::Time Wall() const = 0;
};

// The real clocks (CLOCK_MONOTONIC and CLOCK_REALTIME). Thread-safe.
class SystemClock final : public Clock {
 public:
  static SystemClock& Get();
  absl::Duration Monotonic() const override;
  absl::Time Wall() const override;
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time wall_start = absl::FromUnixSeconds(1'700'000'000))
      : wall_start_(wall_start) {}

  absl::Duration Monotonic() const override;
  absl::Time Wall() const override;
  void Advance(absl::Duration d);

 private:
  const absl::Time wall_start_;
  mutable absl::Mutex mu_;
  absl::Duration elapsed_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
};

}  // namespace fjord
