// Seeds that once failed (found by the soak), replayed on every CI run.
#include "gtest/gtest.h"
#include "raft/sim/sim_cluster.h"

namespace fjord::raft::sim {
namespace {

class RegressionSeedTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(RegressionSeedTest, Passes) {
  // These seeds were found with the kMixed schedule and synchronous writes;
  // keep them on both, so they replay the schedule that failed.
  SimOptions options = SimOptions::FromSeed(GetParam(), ScheduleMix::kMixed);
  options.async_writes = false;
  SimCluster cluster(options);
  absl::Status status = cluster.Run();
  EXPECT_TRUE(status.ok()) << status.message();
}

INSTANTIATE_TEST_SUITE_P(
    Seeds, RegressionSeedTest,
    ::testing::Values(
        // A lone voter whose stale-term appends the observers silently ignored.
        2523, 33632,
        // A candidate below everyone's term whose vote requests were ignored.
        54390, 19857));

}  // namespace
}  // namespace fjord::raft::sim
