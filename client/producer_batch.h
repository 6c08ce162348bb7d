// One producer batch: the records a producer has collected for one partition,
// encoded as a Kafka RecordBatch v2 when sent, and the completions of each
// record. Owned by the RecordAccumulator until drained, then by the sender
// until completed (or handed back for a retry).
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/record_batch_builder.h"

namespace fjord::client {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  friend bool operator==(const TopicPartition&, const TopicPartition&) = default;
  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const TopicPartition& tp) {
    return H::combine(std::move(h), tp.topic, tp.partition);
  }
};

// A partition named without owning the topic's string (lookups on the hot
// path). Valid while the string it views lives.
struct TopicPartitionRef {
  std::string_view topic;
  int32_t partition = 0;
  TopicPartitionRef(std::string_view t, int32_t p) : topic(t), partition(p) {}
  TopicPartitionRef(const TopicPartition& tp)  // NOLINT(google-explicit-constructor)
      : topic(tp.topic), partition(tp.partition) {}
};

// Orders TopicPartition and TopicPartitionRef alike (heterogeneous lookup).
struct TopicPartitionLess {
  using is_transparent = void;
  bool operator()(TopicPartitionRef a, TopicPartitionRef b) const {
    const int c = a.topic.compare(b.topic);
    return c < 0 || (c == 0 && a.partition < b.partition);
  }
};

// What a producer learns about a record once the broker acknowledged it.
struct RecordMetadata {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;     // -1 with acks=0: the broker does not say
  int64_t timestamp = -1;  // create time, or the broker's log append time
  int32_t serialized_key_size = -1;
  int32_t serialized_value_size = -1;
};

using SendResult = absl::StatusOr<RecordMetadata>;
using SendCallback = std::function<void(const SendResult&)>;

// How one record reports its outcome: the caller's callback, the promise
// behind the future Producer::Send returned, both or neither. The
// callback-only path (Producer::Produce) allocates nothing here: a callback
// whose captures fit std::function's small buffer (16 bytes in libstdc++)
// is stored inline.
struct RecordCompletion {
  SendCallback callback;
  std::optional<std::promise<SendResult>> promise;

  // Callback first, then the future, as Kafka's producer does.
  void Run(const SendResult& result);
};

class ProducerBatch {
 public:
  ProducerBatch(TopicPartition tp, storage::BatchOptions options, absl::Duration created,
                uint64_t id)
      : tp_(std::move(tp)), builder_(options), created_(created), id_(id) {}

  // Sizes the buffers for the records to come (a batch grows to about
  // batch.size; reserving up front saves the copies of doubling).
  void Reserve(size_t bytes, size_t records) {
    builder_.Reserve(bytes);
    records_.reserve(records);
  }

  // Adds a record and takes its completion; `reserved_bytes` is the buffer
  // memory it holds until the batch completes.
  void Append(int64_t timestamp_ms, std::optional<std::string_view> key,
              std::optional<std::string_view> value,
              absl::Span<const storage::RecordHeader> headers, RecordCompletion&& completion,
              int64_t reserved_bytes);

  // Encodes the batch (once; later calls return the same bytes).
  absl::StatusOr<std::string_view> Encode();
  // Lends the encoded bytes to a request (no copy), and takes them back
  // when the request comes back, before a retry. Encode() first.
  std::string TakeEncoded();
  void RestoreEncoded(std::string bytes);

  // Completes every record: offsets base_offset, base_offset + 1, ... or the
  // error for all. Idempotent: only the first call runs callbacks.
  void Complete(const absl::StatusOr<int64_t>& base_offset, int64_t log_append_time_ms);

  const TopicPartition& topic_partition() const { return tp_; }
  int32_t record_count() const { return static_cast<int32_t>(records_.size()); }
  size_t estimated_size() const {
    return encoded_size_ > 0 ? encoded_size_ : builder_.uncompressed_size();
  }
  int64_t reserved_bytes() const { return reserved_bytes_; }
  absl::Duration created() const { return created_; }
  uint64_t id() const { return id_; }
  int attempts() const { return attempts_; }
  void add_attempt() { ++attempts_; }
  // A retried batch is not sent again before this time (retry.backoff.ms).
  absl::Duration retry_not_before() const { return retry_not_before_; }
  void set_retry_not_before(absl::Duration t) { retry_not_before_ = t; }
  // The error of the last failed attempt, reported if the batch expires.
  const absl::Status& last_error() const { return last_error_; }
  void set_last_error(absl::Status error) { last_error_ = std::move(error); }
  bool completed() const { return completed_; }

 private:
  struct PendingRecord {
    int64_t timestamp_ms;
    int32_t key_size;
    int32_t value_size;
    SendCallback callback;  // may be empty
  };

  TopicPartition tp_;
  storage::RecordBatchBuilder builder_;
  std::optional<std::string> encoded_;
  size_t encoded_size_ = 0;  // once encoded
  std::vector<PendingRecord> records_;
  // The futures of records sent with Producer::Send: (record index, promise).
  std::vector<std::pair<int32_t, std::promise<SendResult>>> promises_;
  absl::Duration created_;
  uint64_t id_;
  int64_t reserved_bytes_ = 0;
  int attempts_ = 0;
  absl::Duration retry_not_before_ = absl::ZeroDuration();
  absl::Status last_error_;
  bool completed_ = false;
};

}  // namespace fjord::client
