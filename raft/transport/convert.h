// Conversion between the core's Message and the wire's fjord.v1.RaftMessage
// (proto/fjord/v1/raft.proto). Lossless in both directions for every
// message the core sends; FromProto rejects (INVALID_ARGUMENT) what the core
// could never have sent, so bad input never reaches Raft::Step.
#pragma once

#include "absl/status/statusor.h"
#include "proto/fjord/v1/raft.pb.h"
#include "raft/core/types.h"

namespace fjord::raft {

void ToProto(const Message& m, v1::RaftMessage* out);
absl::StatusOr<Message> FromProto(const v1::RaftMessage& in);

}  // namespace fjord::raft
