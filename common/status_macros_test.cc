#include "common/status_macros.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace fjord {
namespace {

absl::Status FailIf(bool fail) { return fail ? absl::DataLossError("boom") : absl::OkStatus(); }

absl::StatusOr<std::unique_ptr<int>> MakeInt(bool fail, int value) {
  if (fail) return absl::NotFoundError("no int");
  return std::make_unique<int>(value);
}

absl::Status Chain(bool first_fails, bool second_fails, int* steps) {
  RETURN_IF_ERROR(FailIf(first_fails));
  ++*steps;
  RETURN_IF_ERROR(FailIf(second_fails));
  ++*steps;
  return absl::OkStatus();
}

absl::StatusOr<int> Sum(bool fail_a, bool fail_b) {
  ASSIGN_OR_RETURN(std::unique_ptr<int> a, MakeInt(fail_a, 2));  // move-only value
  ASSIGN_OR_RETURN(auto b, MakeInt(fail_b, 40));                 // two on one scope
  return *a + *b;
}

TEST(StatusMacros, ReturnIfErrorStopsAtFirstFailure) {
  int steps = 0;
  EXPECT_TRUE(Chain(false, false, &steps).ok());
  EXPECT_EQ(steps, 2);
  steps = 0;
  absl::Status s = Chain(false, true, &steps);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(s.message(), "boom");
  EXPECT_EQ(steps, 1);
  steps = 0;
  EXPECT_FALSE(Chain(true, false, &steps).ok());
  EXPECT_EQ(steps, 0);
}

TEST(StatusMacros, AssignOrReturnMovesValueOrPropagates) {
  ASSERT_TRUE(Sum(false, false).ok());
  EXPECT_EQ(*Sum(false, false), 42);
  EXPECT_EQ(Sum(true, false).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Sum(false, true).status().message(), "no int");
}

TEST(StatusMacros, AssignOrReturnIntoExistingVariable) {
  auto f = [](bool fail) -> absl::StatusOr<std::string> {
    std::string out = "unchanged";
    ASSIGN_OR_RETURN(out, absl::StatusOr<std::string>(
                              fail ? absl::StatusOr<std::string>(absl::InternalError("x"))
                                   : std::string("set")));
    return out;
  };
  EXPECT_EQ(*f(false), "set");
  EXPECT_FALSE(f(true).ok());
}

}  // namespace
}  // namespace fjord
