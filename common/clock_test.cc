#include "common/clock.h"

#include <gtest/gtest.h>

namespace fjord {
namespace {

TEST(ManualClock, MovesOnlyWhenAdvanced) {
  ManualClock clock(absl::FromUnixSeconds(1000));
  EXPECT_EQ(clock.Monotonic(), absl::ZeroDuration());
  EXPECT_EQ(clock.Wall(), absl::FromUnixSeconds(1000));
  clock.Advance(absl::Milliseconds(250));
  EXPECT_EQ(clock.Monotonic(), absl::Milliseconds(250));
  EXPECT_EQ(clock.Wall(), absl::FromUnixMillis(1000250));
}

TEST(SystemClock, MonotonicNeverGoesBack) {
  Clock& clock = SystemClock::Get();
  absl::Duration last = clock.Monotonic();
  for (int i = 0; i < 1000; ++i) {
    absl::Duration now = clock.Monotonic();
    ASSERT_GE(now, last);
    last = now;
  }
  EXPECT_GT(clock.Wall(), absl::FromUnixSeconds(1'600'000'000));
}

}  // namespace
}  // namespace fjord
