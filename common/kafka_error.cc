#include "common/kafka_error.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "common/assert.h"

namespace fjord {
namespace {

constexpr absl::string_view kPayloadUrl = "type.fjord/fjord.v1.ErrorCode";

}  // namespace

absl::StatusCode CanonicalCode(v1::ErrorCode code) {
  switch (code) {
    case v1::NONE:
      return absl::StatusCode::kOk;
    case v1::OFFSET_OUT_OF_RANGE:
      return absl::StatusCode::kOutOfRange;
    case v1::CORRUPT_MESSAGE:
      return absl::StatusCode::kDataLoss;
    case v1::UNKNOWN_TOPIC_OR_PARTITION:
    case v1::UNKNOWN_TOPIC_ID:
    case v1::GROUP_ID_NOT_FOUND:
    case v1::RESOURCE_NOT_FOUND:
      return absl::StatusCode::kNotFound;
    case v1::TOPIC_ALREADY_EXISTS:
    case v1::DUPLICATE_RESOURCE:
      return absl::StatusCode::kAlreadyExists;
    case v1::REQUEST_TIMED_OUT:
      return absl::StatusCode::kDeadlineExceeded;
    case v1::MESSAGE_TOO_LARGE:
    case v1::RECORD_LIST_TOO_LARGE:
    case v1::INVALID_TOPIC_EXCEPTION:
    case v1::INVALID_REQUIRED_ACKS:
    case v1::INVALID_PARTITIONS:
    case v1::INVALID_REPLICATION_FACTOR:
    case v1::INVALID_REPLICA_ASSIGNMENT:
    case v1::INVALID_CONFIG:
    case v1::INVALID_REQUEST:
    case v1::INVALID_RECORD:
    case v1::INVALID_TIMESTAMP:
    case v1::INVALID_FETCH_SIZE:
    case v1::UNSUPPORTED_COMPRESSION_TYPE:
    case v1::INVALID_GROUP_ID:
    case v1::INVALID_SESSION_TIMEOUT:
    case v1::OFFSET_METADATA_TOO_LARGE:
      return absl::StatusCode::kInvalidArgument;
    case v1::FENCED_LEADER_EPOCH:
    case v1::STALE_BROKER_EPOCH:
    case v1::ILLEGAL_GENERATION:
    case v1::UNKNOWN_MEMBER_ID:
    case v1::FENCED_INSTANCE_ID:
    case v1::PRODUCER_FENCED:
    case v1::INVALID_PRODUCER_EPOCH:
    case v1::OUT_OF_ORDER_SEQUENCE_NUMBER:
    case v1::DUPLICATE_SEQUENCE_NUMBER:
    case v1::INVALID_UPDATE_VERSION:
    case v1::NON_EMPTY_GROUP:
      return absl::StatusCode::kFailedPrecondition;
    case v1::UNSUPPORTED_VERSION:
      return absl::StatusCode::kUnimplemented;
    case v1::UNKNOWN_SERVER_ERROR:
    case v1::KAFKA_STORAGE_ERROR:
      return absl::StatusCode::kInternal;
    case v1::THROTTLING_QUOTA_EXCEEDED:
      return absl::StatusCode::kResourceExhausted;
    default:
      // Leadership moves, not enough replicas, coordinator loading and the
      // like: the service is temporarily unable to answer.
      return IsRetriable(code) ? absl::StatusCode::kUnavailable : absl::StatusCode::kUnknown;
  }
}

bool IsRetriable(v1::ErrorCode code) {
  switch (code) {
    case v1::CORRUPT_MESSAGE:  // retriable in Kafka: the bytes may be fine next time
    case v1::UNKNOWN_TOPIC_OR_PARTITION:
    case v1::LEADER_NOT_AVAILABLE:
    case v1::NOT_LEADER_OR_FOLLOWER:
    case v1::REQUEST_TIMED_OUT:
    case v1::REPLICA_NOT_AVAILABLE:
    case v1::NETWORK_EXCEPTION:
    case v1::COORDINATOR_LOAD_IN_PROGRESS:
    case v1::COORDINATOR_NOT_AVAILABLE:
    case v1::NOT_COORDINATOR:
    case v1::NOT_ENOUGH_REPLICAS:
    case v1::NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case v1::NOT_CONTROLLER:
    case v1::CONCURRENT_TRANSACTIONS:
    case v1::KAFKA_STORAGE_ERROR:
    case v1::LISTENER_NOT_FOUND:
    case v1::FENCED_LEADER_EPOCH:
    case v1::UNKNOWN_LEADER_EPOCH:
    case v1::OFFSET_NOT_AVAILABLE:
    case v1::PREFERRED_LEADER_NOT_AVAILABLE:
    case v1::ELIGIBLE_LEADERS_NOT_AVAILABLE:
    case v1::UNSTABLE_OFFSET_COMMIT:
    case v1::THROTTLING_QUOTA_EXCEEDED:
    case v1::UNKNOWN_TOPIC_ID:
    case v1::INCONSISTENT_TOPIC_ID:
      return true;
    default:
      return false;
  }
}

absl::Status KafkaError(v1::ErrorCode code, absl::string_view message) {
  FJORD_CHECK(code != v1::NONE) << "KafkaError needs an error code";
  absl::Status status(CanonicalCode(code), message);
  status.SetPayload(kPayloadUrl, absl::Cord(std::to_string(static_cast<int>(code))));
  return status;
}

v1::ErrorCode ToErrorCode(const absl::Status& status) {
  if (status.ok()) return v1::NONE;
  if (auto payload = status.GetPayload(kPayloadUrl)) {
    int value = 0;
    if (absl::SimpleAtoi(std::string(*payload), &value) && v1::ErrorCode_IsValid(value)) {
      return static_cast<v1::ErrorCode>(value);
    }
  }
  switch (status.code()) {
    case absl::StatusCode::kDeadlineExceeded:
      return v1::REQUEST_TIMED_OUT;
    case absl::StatusCode::kInvalidArgument:
      return v1::INVALID_REQUEST;
    case absl::StatusCode::kDataLoss:
      return v1::CORRUPT_MESSAGE;
    case absl::StatusCode::kUnavailable:
      return v1::NETWORK_EXCEPTION;
    case absl::StatusCode::kUnimplemented:
      return v1::UNSUPPORTED_VERSION;
    default:
      return v1::UNKNOWN_SERVER_ERROR;
  }
}

const std::string& ErrorCodeName(v1::ErrorCode code) {
  static const std::string* const kUnknown = new std::string("UNKNOWN_ERROR_CODE");
  const std::string& name = v1::ErrorCode_Name(code);
  return name.empty() ? *kUnknown : name;
}

}  // namespace fjord
