// The simulation must be able to fail: each deliberately broken variant of
// the node or its driver is caught by the checker within a bounded number of
// seeds. The seed that catches each one is printed (and pinned in a second
// test, so a change that blinds the checker shows up as a failure there).
#include <iostream>
#include <string>

#include "gtest/gtest.h"
#include "raft/sim/sim_cluster.h"

namespace fjord::raft::sim {
namespace {

// Seeds tried per variant before declaring the checker blind to it.
constexpr uint64_t kSeedsMax = 2000;

struct Variant {
  Broken broken;
  const char* name;
  const char* expect;  // A fragment of the violation the checker reports.
};

// Returns the first seed whose run fails, or kSeedsMax if none did.
uint64_t FirstFailingSeed(Broken broken, std::string* message) {
  for (uint64_t seed = 0; seed < kSeedsMax; ++seed) {
    SimOptions options = SimOptions::FromSeed(seed);
    options.broken = broken;
    SimCluster cluster(options);
    absl::Status status = cluster.Run();
    if (!status.ok()) {
      *message = std::string(status.message());
      return seed;
    }
  }
  return kSeedsMax;
}

class BrokenVariantTest : public ::testing::TestWithParam<Variant> {};

TEST_P(BrokenVariantTest, CheckerCatchesIt) {
  const Variant& v = GetParam();
  std::string message;
  const uint64_t seed = FirstFailingSeed(v.broken, &message);
  ASSERT_LT(seed, kSeedsMax) << v.name << " survived " << kSeedsMax << " seeds";
  std::cout << v.name << ": caught at seed " << seed << " (" << seed + 1 << " runs)\n  " << message
            << "\n";
  EXPECT_NE(message.find(v.expect), std::string::npos) << message;
  // The same seed with the correct implementation passes: the failure is the bug's.
  SimCluster correct(SimOptions::FromSeed(seed));
  EXPECT_TRUE(correct.Run().ok());
}

INSTANTIATE_TEST_SUITE_P(
    Variants, BrokenVariantTest,
    ::testing::Values(
        // "Each server will vote for at most one candidate in a given term"
        // (5.2) needs votedFor on stable storage.
        Variant{Broken::kForgetVoteOnRestart, "forget vote on restart", "second leader"},
        // "Updated on stable storage before responding to RPCs" (Figure 2).
        Variant{Broken::kSendBeforePersist, "send before persist", ""},
        // "Raft never commits log entries from previous terms by counting
        // replicas" (5.4.2). Found by the kLeaderChurn schedule (Figure 8's
        // shape); also scripted in raft/testdata/figure8_unsafe.txt.
        Variant{Broken::kCommitPriorTermByCount, "commit prior term by count",
                "leader completeness"},
        // "If the logs have last entries with different terms, then the log
        // with the later term is more up-to-date" (5.4.1).
        Variant{Broken::kVoteWithoutLogCheck, "vote without log check", ""},
        // The parallel write is safe only because the leader counts its
        // own match index once its entries are persisted (raft.h); one
        // that counts them at append is caught when it crashes between
        // sending and syncing.
        Variant{Broken::kCountSelfBeforePersist, "count self before persist", ""}),
    [](const ::testing::TestParamInfo<Variant>& info) {
      std::string name = info.param.name;
      for (char& c : name) {
        if (c == ' ') c = '_';
      }
      return name;
    });

}  // namespace
}  // namespace fjord::raft::sim
