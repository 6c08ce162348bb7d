// The one adapter between absl::Status and grpc::Status. Both use the same
// canonical code numbers, so codes map one to one; the message is kept.
#pragma once

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace fjord {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace fjord
