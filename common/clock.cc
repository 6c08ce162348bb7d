#include "common/clock.h"

#include <time.h>

#include "common/assert.h"

namespace fjord {

SystemClock& SystemClock::Get() {
  static SystemClock clock;
  return clock;
}

absl::Duration SystemClock::Monotonic() const {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return absl::DurationFromTimespec(ts);
}

absl::Time SystemClock::Wall() const { return absl::Now(); }

absl::Duration ManualClock::Monotonic() const {
  absl::MutexLock lock(&mu_);
  return elapsed_;
}

absl::Time ManualClock::Wall() const {
  absl::MutexLock lock(&mu_);
  return wall_start_ + elapsed_;
}

void ManualClock::Advance(absl::Duration d) {
  FJORD_CHECK(d >= absl::ZeroDuration()) << "time never goes back";
  absl::MutexLock lock(&mu_);
  elapsed_ += d;
}

}  // namespace fjord
