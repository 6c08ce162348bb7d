#include "common/random.h"

#include <gtest/gtest.h>

#include <vector>

namespace fjord {
namespace {

TEST(SeededRandom, SameSeedSameSequence) {
  SeededRandom a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    differs |= (x != c.Next());
  }
  EXPECT_TRUE(differs);
}

TEST(SeededRandom, PinnedOutput) {
  // Pins the generator so simulations replay across builds and platforms.
  SeededRandom r(1);
  const uint64_t first = r.Next();
  SeededRandom again(1);
  EXPECT_EQ(again.Next(), first);
  EXPECT_EQ(first, 0xb3f2af6d0fc710c5ULL);
}

TEST(Random, UniformStaysInRangeAndCoversIt) {
  SeededRandom r(7);
  std::vector<int> counts(10, 0);
  for (int i = 0; i < 10000; ++i) {
    uint64_t x = r.Uniform(10);
    ASSERT_LT(x, 10u);
    ++counts[x];
  }
  for (int c : counts) EXPECT_GT(c, 800);  // ~1000 each
  for (int i = 0; i < 1000; ++i) {
    int64_t v = r.UniformRange(-3, 3);
    ASSERT_GE(v, -3);
    ASSERT_LE(v, 3);
    double d = r.NextDouble();
    ASSERT_GE(d, 0.0);
    ASSERT_LT(d, 1.0);
  }
}

}  // namespace
}  // namespace fjord
