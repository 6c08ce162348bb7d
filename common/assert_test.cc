#include "common/assert.h"

#include <gtest/gtest.h>

namespace fjord {
namespace {

TEST(Assert, PassingCheckDoesNothing) {
  int evaluated = 0;
  FJORD_CHECK(++evaluated == 1) << "never printed";
  EXPECT_EQ(evaluated, 1);
}

TEST(AssertDeathTest, FailingCheckAbortsWithMessage) {
  const int commit = 7, last = 5;
  EXPECT_DEATH(FJORD_CHECK(commit <= last) << "commit " << commit << " last " << last,
               "check failed: commit <= last commit 7 last 5");
}

}  // namespace
}  // namespace fjord
