// Encodes records into one Kafka RecordBatch v2 (see record_batch.h for the
// layout). Used by producers, tests and benchmarks; brokers never re-encode.
//
//   RecordBatchBuilder b({.compression = Compression::kLz4});
//   b.Append(ts_ms, "key", "value");
//   ASSIGN_OR_RETURN(std::string batch, b.Build());
//
// Timestamps are milliseconds; baseTimestamp is the first record's,
// maxTimestamp the largest. Offsets start at options.base_offset with
// deltas 0, 1, 2, ... Not thread-safe; reusable after Build().
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/types.h"
#include "storage/record_batch.h"

namespace fjord::storage {

struct BatchOptions {
  Compression compression = Compression::kNone;
  TimestampType timestamp_type = TimestampType::kCreateTime;
  bool transactional = false;
  bool control = false;
  ProducerId producer_id = kNoProducerId;
  ProducerEpoch producer_epoch = kNoProducerEpoch;
  int32_t base_sequence = kNoSequence;
  Offset base_offset{0};
  LeaderEpoch partition_leader_epoch = kNoLeaderEpoch;
};

class RecordBatchBuilder {
 public:
  explicit RecordBatchBuilder(BatchOptions options = {}) : options_(options) {}

  // Adds a record; std::nullopt encodes a null key / value.
  void Append(int64_t timestamp_ms, std::optional<std::string_view> key,
              std::optional<std::string_view> value, absl::Span<const RecordHeader> headers = {});

  // Sizes the buffer for about `bytes` of batch (header included), so a
  // batch that grows to that size is never copied to grow. A hint only.
  void Reserve(size_t bytes) { records_.reserve(std::max(bytes, kBatchHeaderSize)); }

  int32_t record_count() const { return record_count_; }
  // Uncompressed size of the batch Build() would return.
  size_t uncompressed_size() const { return std::max(kBatchHeaderSize, records_.size()); }

  // Returns the encoded batch; FailedPrecondition when empty. Resets the
  // builder (options kept).
  absl::StatusOr<std::string> Build();

 private:
  BatchOptions options_;
  // The batch header's room (once a record was added), then the records.
  std::string records_;
  int32_t record_count_ = 0;
  int64_t base_timestamp_ = kNoTimestamp;
  int64_t max_timestamp_ = kNoTimestamp;
};

}  // namespace fjord::storage
