#include "broker/purgatory.h"

#include <memory>

#include "gtest/gtest.h"

namespace fjord::broker {
namespace {

// Fake replica identities: the purgatory only compares pointers.
const Replica* const kA = reinterpret_cast<const Replica*>(0x10);
const Replica* const kB = reinterpret_cast<const Replica*>(0x20);

struct Probe {
  int attempts = 0;
  bool ready = false;
  bool expired = false;
  int completions = 0;
};

std::shared_ptr<WaitingRequest> Op(Probe& p) {
  return std::make_shared<WaitingRequest>([&p](bool expired) {
    ++p.attempts;
    if (expired) p.expired = true;
    const bool done = p.ready || expired;
    if (done) ++p.completions;
    return done;
  });
}

TEST(PurgatoryTest, CompletesAtOnceWhenReady) {
  ManualClock clock;
  Purgatory purgatory(clock);
  Probe p{.ready = true};
  ASSERT_TRUE(purgatory.Watch(Op(p), {kA}, clock.Monotonic() + absl::Seconds(1)));
  EXPECT_EQ(p.completions, 1);
  purgatory.Notify(kA);
  clock.Advance(absl::Seconds(2));
  purgatory.ExpireDue();
  EXPECT_EQ(p.completions, 1) << "exactly once";
  EXPECT_FALSE(p.expired);
}

TEST(PurgatoryTest, NotifyOfAWatchedReplicaCompletes) {
  ManualClock clock;
  Purgatory purgatory(clock);
  Probe p;
  auto op = Op(p);
  ASSERT_TRUE(purgatory.Watch(op, {kA, kB}, clock.Monotonic() + absl::Seconds(1)));
  purgatory.Notify(kA);
  EXPECT_EQ(p.completions, 0);
  p.ready = true;
  purgatory.Notify(reinterpret_cast<const Replica*>(0x30));
  EXPECT_EQ(p.completions, 0) << "not watching that one";
  purgatory.Notify(kB);
  EXPECT_EQ(p.completions, 1);
  EXPECT_TRUE(op->done());
  op->Wait(absl::Seconds(30));  // Returns at once.
}

TEST(PurgatoryTest, ExpiresAtTheDeadline) {
  ManualClock clock;
  Purgatory purgatory(clock);
  Probe p;
  ASSERT_TRUE(purgatory.Watch(Op(p), {kA}, clock.Monotonic() + absl::Seconds(1)));
  clock.Advance(absl::Milliseconds(999));
  purgatory.ExpireDue();
  EXPECT_FALSE(p.expired);
  clock.Advance(absl::Milliseconds(1));
  purgatory.ExpireDue();
  EXPECT_TRUE(p.expired);
  EXPECT_EQ(p.completions, 1);
  purgatory.Notify(kA);
  EXPECT_EQ(p.completions, 1);
  EXPECT_EQ(purgatory.size(), 0u);
}

TEST(PurgatoryTest, RefusesBeyondItsBoundUntilOperationsFinish) {
  ManualClock clock;
  Purgatory purgatory(clock, /*max_operations=*/2);
  Probe a, b, c;
  ASSERT_TRUE(purgatory.Watch(Op(a), {kA}, clock.Monotonic() + absl::Seconds(5)));
  ASSERT_TRUE(purgatory.Watch(Op(b), {kA}, clock.Monotonic() + absl::Seconds(5)));
  EXPECT_FALSE(purgatory.Watch(Op(c), {kA}, clock.Monotonic() + absl::Seconds(5)));
  a.ready = true;
  purgatory.Notify(kA);
  EXPECT_TRUE(purgatory.Watch(Op(c), {kA}, clock.Monotonic() + absl::Seconds(5)))
      << "a finished operation frees its slot";
}

TEST(PurgatoryTest, AsyncRequestRunsItsCompletionOnceOnTheCompletingThread) {
  ManualClock clock;
  Purgatory purgatory(clock);
  Probe p;
  int on_complete = 0;
  auto op = std::make_shared<AsyncRequest>(
      [&p](bool expired) {
        ++p.attempts;
        if (expired) p.expired = true;
        return p.ready || expired;
      },
      [&on_complete] { ++on_complete; });
  ASSERT_TRUE(purgatory.Watch(op, {kA}, clock.Monotonic() + absl::Seconds(1)));
  EXPECT_EQ(on_complete, 0) << "not ready: nothing blocks, nothing completes";
  p.ready = true;
  purgatory.Notify(kA);
  EXPECT_EQ(on_complete, 1);
  clock.Advance(absl::Seconds(2));
  purgatory.ExpireDue();
  op->Expire();
  EXPECT_EQ(on_complete, 1) << "exactly once";
  EXPECT_FALSE(p.expired);
}

TEST(PurgatoryTest, AsyncRequestExpiresAtItsDeadline) {
  ManualClock clock;
  Purgatory purgatory(clock);
  bool expired = false;
  int on_complete = 0;
  auto op = std::make_shared<AsyncRequest>(
      [&expired](bool e) {
        expired = e;
        return e;
      },
      [&on_complete] { ++on_complete; });
  ASSERT_TRUE(purgatory.Watch(op, {kA}, clock.Monotonic() + absl::Seconds(1)));
  clock.Advance(absl::Seconds(1));
  purgatory.ExpireDue();
  EXPECT_TRUE(expired);
  EXPECT_EQ(on_complete, 1);
}

}  // namespace
}  // namespace fjord::broker
