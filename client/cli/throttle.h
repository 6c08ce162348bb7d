// The token bucket behind `fjord perf produce --throughput N`: tokens accrue
// at `rate_per_sec` up to `burst`, each record takes one. Pure: the caller
// passes the time and sleeps for what Acquire returns, so tests drive time.
#pragma once

#include "absl/time/time.h"

namespace fjord::cli {

class TokenBucket {
 public:
  // `rate_per_sec` > 0. The bucket starts full at `now`. `burst` >= 1 bounds
  // how far a stalled sender may catch up at once.
  TokenBucket(double rate_per_sec, double burst, absl::Time now);

  // Takes one token if there is one (returns zero); otherwise returns how
  // long to wait before calling again.
  absl::Duration Acquire(absl::Time now);

 private:
  const double rate_per_sec_;
  const double burst_;
  double tokens_;
  absl::Time last_;
};

}  // namespace fjord::cli
