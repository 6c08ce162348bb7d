// The controller simulation must be able to fail: each deliberately broken
// variant is caught within a bounded number of seeds, and the seed that
// catches it passes with the correct implementation (so the failure is the
// bug's, not the harness's).
#include <iostream>
#include <string>
#include <vector>

#include "controller/sim/controller_sim.h"
#include "gtest/gtest.h"

namespace fjord::controller::sim {
namespace {

constexpr uint64_t kSeedsMax = 50;

struct Variant {
  Broken broken;
  int voters;
  // The failure the checks report contains one of these fragments.
  std::vector<std::string> expect;
};

uint64_t FirstFailingSeed(const Variant& v, std::string* message) {
  for (uint64_t seed = 0; seed < kSeedsMax; ++seed) {
    ControllerSim sim({.seed = seed, .voters = v.voters, .broken = v.broken});
    absl::Status status = sim.Run();
    if (!status.ok()) {
      *message = std::string(status.message());
      return seed;
    }
  }
  return kSeedsMax;
}

class BrokenVariantTest : public ::testing::TestWithParam<Variant> {};

TEST_P(BrokenVariantTest, ChecksCatchIt) {
  const Variant& v = GetParam();
  std::string message;
  const uint64_t seed = FirstFailingSeed(v, &message);
  ASSERT_LT(seed, kSeedsMax) << ToString(v.broken) << " survived " << kSeedsMax << " seeds";
  std::cout << ToString(v.broken) << " with " << v.voters << " controllers: caught at seed " << seed
            << "\n  " << message << "\n";
  bool expected = false;
  for (const std::string& fragment : v.expect) {
    expected |= message.find(fragment) != std::string::npos;
  }
  EXPECT_TRUE(expected) << message;
  ControllerSim correct({.seed = seed, .voters = v.voters});
  EXPECT_TRUE(correct.Run().ok());
}

INSTANTIATE_TEST_SUITE_P(Variants, BrokenVariantTest,
                         ::testing::Values(
                             // Replying before commit: the next write is decided on an image that
                             // lacks the acknowledged one, and a leader kill loses acknowledged
                             // writes.
                             Variant{Broken::kAckOnAppend,
                                     3,
                                     {"is not in the committed log", "was decided by controller",
                                      "cannot replay"}},
                             // A standby that does not replay one record type diverges from the
                             // active controller.
                             Variant{Broken::kStandbySkipsPartitionChange,
                                     3,
                                     {"disagree", "led by fenced broker", "cannot replay"}},
                             Variant{Broken::kStandbySkipsPartitionChange,
                                     5,
                                     {"disagree", "led by fenced broker", "cannot replay"}}),
                         [](const ::testing::TestParamInfo<Variant>& info) {
                           std::string name = ToString(info.param.broken);
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name + "_" + std::to_string(info.param.voters);
                         });

}  // namespace
}  // namespace fjord::controller::sim
