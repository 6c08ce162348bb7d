// ControllerResult<R>: what every controller handler returns. Handlers never
// change metadata; they decide, and state the decision as `records` (to be
// proposed as one MetadataRecordBatch, applied atomically) plus the
// `response` to send once those records have committed.
//
// An empty `records` means nothing changes (an error, a read, validate_only,
// or a no-op): the response may be sent at once.
#pragma once

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/kafka_error.h"
#include "proto/fjord/v1/records.pb.h"

namespace fjord::controller {

template <typename R>
struct ControllerResult {
  std::vector<v1::MetadataRecord> records;
  R response;
};

// The records as one Raft entry's payload.
inline v1::MetadataRecordBatch ToBatch(const std::vector<v1::MetadataRecord>& records) {
  v1::MetadataRecordBatch batch;
  batch.mutable_records()->Reserve(static_cast<int>(records.size()));
  for (const auto& r : records) *batch.add_records() = r;
  return batch;
}

// Sets error_code/error_message of any response-like message from a status
// (NONE and "" for OK).
template <typename M>
void SetError(M* message, const absl::Status& status) {
  message->set_error_code(ToErrorCode(status));
  message->set_error_message(std::string(status.message()));
}

template <typename M>
void SetError(M* message, v1::ErrorCode code, absl::string_view text) {
  message->set_error_code(code);
  message->set_error_message(std::string(text));
}

}  // namespace fjord::controller
