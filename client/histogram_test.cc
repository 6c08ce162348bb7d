#include "client/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/random.h"

namespace fjord::client {
namespace {

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  for (uint64_t v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.Count(), 100u);
  EXPECT_EQ(h.Min(), 1u);
  EXPECT_EQ(h.Max(), 100u);
  EXPECT_DOUBLE_EQ(h.Mean(), 50.5);
  EXPECT_EQ(h.ValueAtPercentile(50), 50u);
  EXPECT_EQ(h.ValueAtPercentile(99), 99u);
  EXPECT_EQ(h.ValueAtPercentile(100), 100u);
  EXPECT_EQ(h.ValueAtPercentile(0), 1u);
}

TEST(Histogram, BucketBoundariesAreContiguous) {
  // Every index covers [lowest, highest], and the next index starts just after.
  for (size_t i = 0; i + 1 < Histogram::kCounterCount; ++i) {
    if (i < Histogram::kSubBucketHalf) continue;  // bucket 0's lower half
    ASSERT_LE(Histogram::LowestEquivalent(i), Histogram::HighestEquivalent(i));
    ASSERT_EQ(Histogram::HighestEquivalent(i) + 1, Histogram::LowestEquivalent(i + 1)) << i;
  }
  for (uint64_t v :
       {uint64_t{0}, uint64_t{127}, uint64_t{128}, uint64_t{1000}, uint64_t{1} << 40, UINT64_MAX}) {
    const size_t i = Histogram::IndexOf(v);
    ASSERT_LT(i, Histogram::kCounterCount);
    EXPECT_LE(Histogram::LowestEquivalent(i), v);
    EXPECT_GE(Histogram::HighestEquivalent(i), v);
  }
}

TEST(Histogram, PercentilesWithinRelativeErrorOfExact) {
  SeededRandom random(11);
  Histogram h;
  std::vector<uint64_t> values;
  for (int i = 0; i < 100000; ++i) {
    // Log-uniform from 1 us to ~1 s: latencies span orders of magnitude.
    const uint64_t v = static_cast<uint64_t>(std::exp(random.NextDouble() * std::log(1e6))) + 1;
    values.push_back(v);
    h.Record(v);
  }
  std::sort(values.begin(), values.end());
  for (double p : {50.0, 90.0, 95.0, 99.0, 99.9, 99.99}) {
    const uint64_t exact = values[static_cast<size_t>(std::ceil(p / 100 * values.size())) - 1];
    const uint64_t approx = h.ValueAtPercentile(p);
    EXPECT_GE(approx, exact) << "p" << p;
    EXPECT_LE(static_cast<double>(approx), exact * (1 + 1.0 / 64)) << "p" << p;
  }
  EXPECT_EQ(h.Max(), values.back());
  EXPECT_EQ(h.Min(), values.front());
}

TEST(Histogram, MergeEqualsRecordingEverything) {
  Histogram a, b, all;
  for (uint64_t v = 1; v < 5000; v += 7) {
    (v % 2 ? a : b).Record(v * 13);
    all.Record(v * 13);
  }
  a.Merge(b);
  EXPECT_EQ(a.Count(), all.Count());
  EXPECT_EQ(a.Max(), all.Max());
  EXPECT_EQ(a.Min(), all.Min());
  EXPECT_DOUBLE_EQ(a.Mean(), all.Mean());
  for (double p : {1.0, 50.0, 99.0, 99.9}) {
    EXPECT_EQ(a.ValueAtPercentile(p), all.ValueAtPercentile(p));
  }
  a.Reset();
  EXPECT_EQ(a.Count(), 0u);
  EXPECT_EQ(a.ValueAtPercentile(50), 0u);
}

TEST(Histogram, HugeValuesAndCounts) {
  Histogram h;
  h.RecordN(UINT64_MAX, 3);
  h.RecordN(1, 1);
  EXPECT_EQ(h.Count(), 4u);
  EXPECT_EQ(h.ValueAtPercentile(100), UINT64_MAX);
  EXPECT_EQ(h.ValueAtPercentile(25), 1u);
}

}  // namespace
}  // namespace fjord::client
