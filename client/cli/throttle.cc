#include "client/cli/throttle.h"

#include <algorithm>

namespace fjord::cli {

TokenBucket::TokenBucket(double rate_per_sec, double burst, absl::Time now)
    : rate_per_sec_(rate_per_sec), burst_(std::max(1.0, burst)), tokens_(burst_), last_(now) {}

absl::Duration TokenBucket::Acquire(absl::Time now) {
  if (now > last_) {
    tokens_ = std::min(burst_, tokens_ + absl::ToDoubleSeconds(now - last_) * rate_per_sec_);
    last_ = now;
  }
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return absl::ZeroDuration();
  }
  return absl::Seconds((1.0 - tokens_) / rate_per_sec_);
}

}  // namespace fjord::cli
