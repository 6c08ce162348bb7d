#include "client/producer_batch.h"

#include "common/assert.h"

namespace fjord::client {

void RecordCompletion::Run(const SendResult& result) {
  if (callback) callback(result);
  if (promise.has_value()) promise->set_value(result);
}

void ProducerBatch::Append(int64_t timestamp_ms, std::optional<std::string_view> key,
                           std::optional<std::string_view> value,
                           absl::Span<const storage::RecordHeader> headers,
                           RecordCompletion&& completion, int64_t reserved_bytes) {
  FJORD_CHECK(encoded_size_ == 0) << "append to a batch already encoded";
  builder_.Append(timestamp_ms, key, value, headers);
  if (completion.promise.has_value()) {
    promises_.emplace_back(static_cast<int32_t>(records_.size()), *std::move(completion.promise));
  }
  records_.push_back({timestamp_ms, key ? static_cast<int32_t>(key->size()) : -1,
                      value ? static_cast<int32_t>(value->size()) : -1,
                      std::move(completion.callback)});
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
  // One result object for the whole batch, updated per record: a batch may
  // hold many thousands of small records.
  SendResult result = base_offset.ok() ? SendResult(RecordMetadata{}) : base_offset.status();
  if (result.ok()) {
    result->topic = tp_.topic;
    result->partition = tp_.partition;
  }
  auto fill = [&](size_t i) {
    if (!result.ok()) return;
    const PendingRecord& record = records_[i];
    result->offset = *base_offset < 0 ? -1 : *base_offset + static_cast<int64_t>(i);
    result->timestamp = log_append_time_ms >= 0 ? log_append_time_ms : record.timestamp_ms;
    result->serialized_key_size = record.key_size;
    result->serialized_value_size = record.value_size;
  };
  // Callbacks first, then futures (Kafka completes a record's future after
  // its callback; here a batch at a time).
  for (size_t i = 0; i < records_.size(); ++i) {
    if (!records_[i].callback) continue;
    fill(i);
    records_[i].callback(result);
  }
  for (auto& [i, promise] : promises_) {
    fill(static_cast<size_t>(i));
    promise.set_value(result);
  }
  records_.clear();
  promises_.clear();
  encoded_.reset();
}

}  // namespace fjord::client
