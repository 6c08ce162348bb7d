// Kafka error codes carried inside absl::Status.
//
// Run-time failures travel through Fjord as absl::Status. Where the failure
// has a Kafka meaning (NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, ...), the
// status also carries that code as a payload, so the RPC layer can put the
// exact code in the response and clients can tell retriable from fatal:
//
//   return KafkaError(v1::NOT_ENOUGH_REPLICAS, "isr 1 < min.insync.replicas 2");
//   ...
//   partition_response->set_error_code(ToErrorCode(status));
//
// A status without the payload maps from its canonical code (for example
// DeadlineExceeded -> REQUEST_TIMED_OUT, anything unexpected ->
// UNKNOWN_SERVER_ERROR).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "proto/fjord/v1/errors.pb.h"

namespace fjord {

// A non-OK status with `code`'s canonical absl code, `message`, and `code`
// attached. `code` must not be NONE.
absl::Status KafkaError(v1::ErrorCode code, absl::string_view message);

// The Kafka error code of `status`: NONE for OK, the attached code if any,
// otherwise one derived from the canonical code.
v1::ErrorCode ToErrorCode(const absl::Status& status);

// The canonical absl code that best describes `code` (NONE -> kOk).
absl::StatusCode CanonicalCode(v1::ErrorCode code);

// Whether a client may retry the same request after this error (Kafka's
// RetriableException family: leadership moves, timeouts, not enough
// replicas, coordinator loading, ...).
bool IsRetriable(v1::ErrorCode code);

// Kafka's name for the code, e.g. "NOT_LEADER_OR_FOLLOWER".
const std::string& ErrorCodeName(v1::ErrorCode code);

}  // namespace fjord
