#include "common/kafka_error.h"

#include <gtest/gtest.h>

namespace fjord {
namespace {

TEST(KafkaError, CarriesCodeAndMessage) {
  absl::Status s = KafkaError(v1::NOT_ENOUGH_REPLICAS, "isr 1 < min.insync.replicas 2");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "isr 1 < min.insync.replicas 2");
  EXPECT_EQ(ToErrorCode(s), v1::NOT_ENOUGH_REPLICAS);
  EXPECT_TRUE(IsRetriable(ToErrorCode(s)));
}

TEST(KafkaError, CanonicalCodesFollowMeaning) {
  EXPECT_EQ(KafkaError(v1::TOPIC_ALREADY_EXISTS, "x").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(KafkaError(v1::UNKNOWN_TOPIC_OR_PARTITION, "x").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(KafkaError(v1::MESSAGE_TOO_LARGE, "x").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KafkaError(v1::CORRUPT_MESSAGE, "x").code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(KafkaError(v1::FENCED_LEADER_EPOCH, "x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(KafkaError(v1::REQUEST_TIMED_OUT, "x").code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(KafkaError(v1::NOT_LEADER_OR_FOLLOWER, "x").code(), absl::StatusCode::kUnavailable);
}

TEST(KafkaError, PlainStatusesMapToCodes) {
  EXPECT_EQ(ToErrorCode(absl::OkStatus()), v1::NONE);
  EXPECT_EQ(ToErrorCode(absl::DeadlineExceededError("t")), v1::REQUEST_TIMED_OUT);
  EXPECT_EQ(ToErrorCode(absl::DataLossError("crc")), v1::CORRUPT_MESSAGE);
  EXPECT_EQ(ToErrorCode(absl::InternalError("?")), v1::UNKNOWN_SERVER_ERROR);
}

TEST(KafkaError, FatalErrorsAreNotRetriable) {
  EXPECT_FALSE(IsRetriable(v1::INVALID_REQUIRED_ACKS));
  EXPECT_FALSE(IsRetriable(v1::MESSAGE_TOO_LARGE));
  EXPECT_FALSE(IsRetriable(v1::TOPIC_ALREADY_EXISTS));
  EXPECT_FALSE(IsRetriable(v1::UNKNOWN_SERVER_ERROR));
  EXPECT_EQ(ErrorCodeName(v1::NOT_LEADER_OR_FOLLOWER), "NOT_LEADER_OR_FOLLOWER");
}

}  // namespace
}  // namespace fjord
