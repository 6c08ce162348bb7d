#include "client/producer_batch.h"

#include "common/assert.h"

namespace fjord::client {

void ProducerBatch::Append(int64_t timestamp_ms, std::optional<std::string_view> key,
                           std::optional<std::string_view> value,
                           absl::Span<const storage::RecordHeader> headers, SendCallback callback,
                           int64_t reserved_bytes) {
  FJORD_CHECK(encoded_size_ == 0) << "append to a batch already encoded";
  builder_.Append(timestamp_ms, key, value, headers);
  records_.push_back({timestamp_ms, key ? static_cast<int32_t>(key->size()) : -1,
                      value ? static_cast<int32_t>(value->size()) : -1, std::move(callback)});
  reserved_bytes_ += reserved_bytes;
}

absl::StatusOr<std::string_view> ProducerBatch::Encode() {
  if (!encoded_.has_value()) {
    FJORD_CHECK(encoded_size_ == 0) << "Encode while the bytes are lent to a request";
    absl::StatusOr<std::string> bytes = builder_.Build();
    if (!bytes.ok()) return bytes.status();
    encoded_ = *std::move(bytes);
    encoded_size_ = encoded_->size();
  }
  return std::string_view(*encoded_);
}

std::string ProducerBatch::TakeEncoded() {
  FJORD_CHECK(encoded_.has_value()) << "TakeEncoded before Encode";
  std::string bytes = std::move(*encoded_);
  encoded_.reset();
  return bytes;
}

void ProducerBatch::RestoreEncoded(std::string bytes) {
  FJORD_CHECK(!encoded_.has_value() && bytes.size() == encoded_size_)
      << "RestoreEncoded of other bytes";
  encoded_ = std::move(bytes);
}

void ProducerBatch::Complete(const absl::StatusOr<int64_t>& base_offset,
                             int64_t log_append_time_ms) {
  if (completed_) return;
  completed_ = true;
  for (size_t i = 0; i < records_.size(); ++i) {
    PendingRecord& record = records_[i];
    if (!record.callback) continue;
    if (!base_offset.ok()) {
      record.callback(base_offset.status());
      continue;
    }
    RecordMetadata metadata;
    metadata.topic = tp_.topic;
    metadata.partition = tp_.partition;
    metadata.offset = *base_offset < 0 ? -1 : *base_offset + static_cast<int64_t>(i);
    metadata.timestamp = log_append_time_ms >= 0 ? log_append_time_ms : record.timestamp_ms;
    metadata.serialized_key_size = record.key_size;
    metadata.serialized_value_size = record.value_size;
    record.callback(metadata);
  }
  records_.clear();
  encoded_.reset();
}

}  // namespace fjord::client
