#include <gtest/gtest.h>

#include <type_traits>

#include "absl/container/flat_hash_set.h"
#include "common/types.h"
#include "fmt/format.h"

namespace fjord {
namespace {

TEST(StrongInt, ArithmeticAndComparison) {
  Offset a(10);
  Offset b = a + 5;
  EXPECT_EQ(b.value(), 15);
  EXPECT_EQ(b - a, 5);  // a distance is a plain count
  EXPECT_LT(a, b);
  EXPECT_EQ(++a, Offset(11));
  EXPECT_EQ(a++, Offset(11));
  EXPECT_EQ(a, Offset(12));
  a += 8;
  EXPECT_EQ(a, Offset(20));
  EXPECT_EQ(Offset(), Offset(0));
}

TEST(StrongInt, DistinctTypesDoNotConvert) {
  static_assert(!std::is_convertible_v<Offset, LeaderEpoch>);
  static_assert(!std::is_convertible_v<int64_t, Offset>);  // explicit only
  static_assert(!std::is_convertible_v<Term, LogIndex>);
  static_assert(!std::is_convertible_v<BrokerId, NodeId>);
  static_assert(sizeof(Offset) == sizeof(int64_t));
  static_assert(std::is_trivially_copyable_v<Offset>);
}

TEST(StrongInt, HashAndFormat) {
  absl::flat_hash_set<BrokerId> ids = {BrokerId(1), BrokerId(2), BrokerId(1)};
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_EQ(fmt::format("offset={} epoch={}", Offset(42), LeaderEpoch(3)), "offset=42 epoch=3");
  EXPECT_EQ(kNoBroker.value(), -1);
}

}  // namespace
}  // namespace fjord
