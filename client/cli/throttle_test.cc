#include "client/cli/throttle.h"

#include <gtest/gtest.h>

namespace fjord::cli {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1000);

// Drives the bucket with simulated time: sleeps exactly as told.
int64_t SentWithin(TokenBucket& bucket, absl::Duration span) {
  absl::Time now = kStart;
  int64_t sent = 0;
  while (true) {
    const absl::Duration wait = bucket.Acquire(now);
    if (wait == absl::ZeroDuration()) {
      if (now > kStart + span) break;
      ++sent;
    } else {
      now += wait;
    }
  }
  return sent;
}

TEST(TokenBucketTest, SendsAtTheRateAfterTheInitialBurst) {
  TokenBucket bucket(/*rate_per_sec=*/1000, /*burst=*/10, kStart);
  // 10 s at 1000/s plus the full bucket at the start (10), give or take one.
  const int64_t sent = SentWithin(bucket, absl::Seconds(10));
  EXPECT_GE(sent, 10'009);
  EXPECT_LE(sent, 10'011);
}

TEST(TokenBucketTest, AStalledSenderCatchesUpAtMostTheBurst) {
  TokenBucket bucket(/*rate_per_sec=*/100, /*burst=*/5, kStart);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(bucket.Acquire(kStart), absl::ZeroDuration());
  EXPECT_GT(bucket.Acquire(kStart), absl::ZeroDuration());
  // A one-minute stall earns 6000 tokens, but the bucket holds 5.
  const absl::Time later = kStart + absl::Minutes(1);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(bucket.Acquire(later), absl::ZeroDuration());
  const absl::Duration wait = bucket.Acquire(later);
  EXPECT_EQ(wait, absl::Milliseconds(10));
}

TEST(TokenBucketTest, FractionalRatesWaitLongerThanASecond) {
  TokenBucket bucket(/*rate_per_sec=*/0.5, /*burst=*/1, kStart);
  EXPECT_EQ(bucket.Acquire(kStart), absl::ZeroDuration());
  EXPECT_EQ(bucket.Acquire(kStart), absl::Seconds(2));
  EXPECT_EQ(bucket.Acquire(kStart + absl::Seconds(2)), absl::ZeroDuration());
}

}  // namespace
}  // namespace fjord::cli
