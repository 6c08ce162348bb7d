#include "common/grpc_status.h"

#include <gtest/gtest.h>

namespace fjord {
namespace {

TEST(GrpcStatus, RoundTripsEveryCode) {
  for (int code = 0; code <= 16; ++code) {
    absl::Status in(static_cast<absl::StatusCode>(code), code == 0 ? "" : "why");
    grpc::Status wire = ToGrpcStatus(in);
    EXPECT_EQ(static_cast<int>(wire.error_code()), code);
    EXPECT_EQ(FromGrpcStatus(wire), in);
  }
}

TEST(GrpcStatus, KeepsMessage) {
  grpc::Status wire = ToGrpcStatus(absl::UnavailableError("leader moved to 3"));
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(wire.error_message(), "leader moved to 3");
}

}  // namespace
}  // namespace fjord
