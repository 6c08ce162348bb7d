#include "common/seed_range.h"

#include <cstdlib>

#include "gtest/gtest.h"

namespace fjord {
namespace {

TEST(SeedRangeTest, ParsesIntervals) {
  uint64_t lo = 7;
  uint64_t hi = 9;
  EXPECT_TRUE(ParseSeedInterval("3..10", &lo, &hi));
  EXPECT_EQ(lo, 3u);
  EXPECT_EQ(hi, 10u);
  for (const char* bad : {"5..5", "6..5", "5", "a..b", "..4", "1..", "-1..4"}) {
    EXPECT_FALSE(ParseSeedInterval(bad, &lo, &hi)) << bad;
    EXPECT_EQ(lo, 3u) << "a bad interval leaves the range alone";
  }
}

TEST(SeedRangeTest, FlagsSelectOneSeedOrAnInterval) {
  SeedRange r;
  absl::Status s;
  EXPECT_FALSE(r.ParseFlag("--trace", &s));
  EXPECT_TRUE(r.ParseFlag("--seed=353", &s));
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(r.lo, 353u);
  EXPECT_EQ(r.hi, 354u);
  EXPECT_TRUE(r.ParseFlag("--seeds=0..2000", &s));
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(r.lo, 0u);
  EXPECT_EQ(r.hi, 2000u);
  EXPECT_TRUE(r.ParseFlag("--seeds=9", &s));
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(r.ParseFlag("--seed=x", &s));
  EXPECT_FALSE(s.ok());
}

TEST(SeedRangeTest, ParseTakesTheSeedFlagsAndReturnsTheRest) {
  const char* argv[] = {"sim", "--trace", "--seeds=5..9", "--voters=5"};
  SeedRange r;
  absl::StatusOr<std::vector<std::string>> rest = r.Parse(4, argv);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(*rest, (std::vector<std::string>{"--trace", "--voters=5"}));
  EXPECT_EQ(r.lo, 5u);
  EXPECT_EQ(r.hi, 9u);
  const char* bad[] = {"sim", "--seeds=9..5"};
  EXPECT_FALSE(SeedRange().Parse(2, bad).ok());
}

TEST(SeedRangeTest, EnvironmentAndSharding) {
  SeedRange r;
  setenv("FJORD_SIM_SEEDS", "10..20", 1);
  ASSERT_TRUE(r.ReadEnvironment().ok());
  EXPECT_EQ(r.lo, 10u);
  EXPECT_EQ(r.hi, 20u);
  setenv("FJORD_SIM_SEEDS", "oops", 1);
  EXPECT_FALSE(r.ReadEnvironment().ok());
  unsetenv("FJORD_SIM_SEEDS");
  setenv("TEST_TOTAL_SHARDS", "3", 1);
  setenv("TEST_SHARD_INDEX", "2", 1);
  r.ReadSharding();
  EXPECT_EQ(r.shards, 3u);
  EXPECT_EQ(r.first(), 12u);
}

}  // namespace
}  // namespace fjord
