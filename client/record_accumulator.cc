#include "client/record_accumulator.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/assert.h"

namespace fjord::client {
namespace {

// Worst-case bytes one record adds to a batch beyond its key, value and
// headers: length, attributes, timestamp and offset deltas, key/value
// lengths and header count as varints.
constexpr int64_t kRecordOverhead = 21;
// A new batch reserves completion slots for at most this many records
// (more grow the vector as needed).
constexpr int64_t kMaxReservedRecords = 16384;

int64_t EstimateRecordSize(std::optional<std::string_view> key,
                           std::optional<std::string_view> value,
                           absl::Span<const storage::RecordHeader> headers) {
  int64_t size = kRecordOverhead + (key ? key->size() : 0) + (value ? value->size() : 0);
  for (const storage::RecordHeader& h : headers) {
    size += 10 + h.key.size() + (h.value ? h.value->size() : 0);
  }
  return size;
}

}  // namespace

RecordAccumulator::RecordAccumulator(Options options, Clock& clock)
    : options_(options), clock_(clock), available_memory_(options.buffer_memory) {}

absl::StatusOr<RecordAccumulator::AppendResult> RecordAccumulator::Append(
    TopicPartitionRef tp, int64_t timestamp_ms, std::optional<std::string_view> key,
    std::optional<std::string_view> value, absl::Span<const storage::RecordHeader> headers,
    RecordCompletion&& completion) {
  const int64_t size = EstimateRecordSize(key, value, headers);
  const int64_t with_batch_header = size + static_cast<int64_t>(storage::kBatchHeaderSize);
  if (with_batch_header > options_.max_request_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("MESSAGE_TOO_LARGE: the message is ", with_batch_header,
                     " bytes when serialized which is larger than ", options_.max_request_size,
                     ", which is the value of the max.request.size configuration."));
  }
  if (with_batch_header > options_.buffer_memory) {
    return absl::InvalidArgumentError(
        absl::StrCat("MESSAGE_TOO_LARGE: the message is ", with_batch_header,
                     " bytes when serialized which is larger than the total memory buffer you have "
                     "configured with the buffer.memory configuration (",
                     options_.buffer_memory, ")."));
  }

  absl::MutexLock lock(&mu_);
  if (closed_) return absl::FailedPreconditionError("producer is closed; cannot send");

  // Block until the record's bytes fit in buffer.memory.
  const absl::Time deadline = absl::Now() + options_.max_block;
  while (available_memory_ < with_batch_header && !closed_) {
    if (changed_.WaitWithDeadline(&mu_, deadline) && available_memory_ < with_batch_header) {
      return absl::DeadlineExceededError(
          absl::StrCat("failed to allocate memory within the configured max blocking time ",
                       absl::ToInt64Milliseconds(options_.max_block),
                       " ms (buffer.memory=", options_.buffer_memory, " is full)"));
    }
  }
  if (closed_) return absl::FailedPreconditionError("producer closed while blocked on memory");

  auto found = queues_.find(tp);
  if (found == queues_.end()) {
    found = queues_.emplace(TopicPartition{std::string(tp.topic), tp.partition}, PartitionQueue{})
                .first;
  }
  PartitionQueue& queue = found->second;
  ProducerBatch* open = queue.batches.empty() ? nullptr : queue.batches.back().get();
  // An open batch takes the record unless it would grow past batch.size
  // (a record larger than batch.size still gets a batch of its own).
  const bool fits = open != nullptr && open->attempts() == 0 &&
                    static_cast<int64_t>(open->estimated_size()) + size <= options_.batch_size;
  int64_t reserve = size;
  if (!fits) {
    storage::BatchOptions batch_options;
    batch_options.compression = options_.compression;
    const uint64_t id = next_batch_id_++;
    queue.batches.push_back(
        std::make_unique<ProducerBatch>(found->first, batch_options, clock_.Monotonic(), id));
    incomplete_.insert(id);
    open = queue.batches.back().get();
    // Room for a full batch up front (never more than the request limit),
    // as Kafka's batches take batch.size from its buffer pool, and for as
    // many records of this one's size (bounded).
    const int64_t room = std::min<int64_t>(
        std::max<int64_t>(options_.batch_size, with_batch_header), options_.max_request_size);
    open->Reserve(static_cast<size_t>(room),
                  static_cast<size_t>(std::min<int64_t>(room / size, kMaxReservedRecords)));
    reserve = with_batch_header;
  }
  available_memory_ -= reserve;
  open->Append(timestamp_ms, key, value, headers, std::move(completion), reserve);
  AppendResult result;
  result.new_batch = !fits;
  result.batch_full = queue.batches.size() > 1 ||
                      static_cast<int64_t>(open->estimated_size()) >= options_.batch_size;
  return result;
}

bool RecordAccumulator::IsReadyLocked(const PartitionQueue& queue, absl::Duration now,
                                      absl::Duration* next_check) const {
  if (queue.batches.empty() || queue.in_flight >= options_.max_in_flight_per_partition) {
    return false;
  }
  const ProducerBatch& first = *queue.batches.front();
  // A retry waits until the partition's other batches in flight are back:
  // if they fail too they queue up behind it in their original order, so a
  // broken stream never reorders a partition.
  if (first.attempts() > 0 && queue.in_flight > 0) return false;
  if (first.attempts() > 0 && now < first.retry_not_before()) {
    *next_check = std::min(*next_check, first.retry_not_before() - now);
    return false;
  }
  const bool full = queue.batches.size() > 1 ||
                    static_cast<int64_t>(first.estimated_size()) >= options_.batch_size;
  const absl::Duration linger_end = first.created() + options_.linger;
  if (full || first.attempts() > 0 || closed_ || flushes_in_progress_ > 0 || now >= linger_end) {
    return true;
  }
  *next_check = std::min(*next_check, linger_end - now);
  return false;
}

RecordAccumulator::ReadyCheck RecordAccumulator::Ready() {
  absl::MutexLock lock(&mu_);
  ReadyCheck check;
  const absl::Duration now = clock_.Monotonic();
  for (const auto& [tp, queue] : queues_) {
    if (IsReadyLocked(queue, now, &check.next_check)) check.ready.push_back(tp);
  }
  return check;
}

std::vector<std::unique_ptr<ProducerBatch>> RecordAccumulator::Drain(
    int32_t leader, const std::vector<TopicPartition>& partitions, size_t max_bytes) {
  absl::MutexLock lock(&mu_);
  std::vector<std::unique_ptr<ProducerBatch>> drained;
  if (partitions.empty()) return drained;
  const absl::Duration now = clock_.Monotonic();
  absl::Duration ignored = absl::InfiniteDuration();
  size_t bytes = 0;
  size_t& next = drain_index_[leader];
  const size_t start = next % partitions.size();
  for (size_t i = 0; i < partitions.size(); ++i) {
    const size_t at = (start + i) % partitions.size();
    auto it = queues_.find(partitions[at]);
    if (it == queues_.end() || !IsReadyLocked(it->second, now, &ignored)) continue;
    PartitionQueue& queue = it->second;
    const size_t size = queue.batches.front()->estimated_size();
    if (!drained.empty() && bytes + size > max_bytes) {
      next = at;  // the partition that did not fit goes first next time
      break;
    }
    next = at + 1;
    bytes += size;
    queue.batches.front()->add_attempt();
    drained.push_back(std::move(queue.batches.front()));
    queue.batches.pop_front();
    ++queue.in_flight;
  }
  std::sort(drained.begin(), drained.end(), [](const auto& a, const auto& b) {
    return a->topic_partition() < b->topic_partition();
  });
  return drained;
}

void RecordAccumulator::Reenqueue(std::unique_ptr<ProducerBatch> batch) {
  absl::MutexLock lock(&mu_);
  batch->set_retry_not_before(clock_.Monotonic() + options_.retry_backoff);
  PartitionQueue& queue = queues_.at(batch->topic_partition());
  FJORD_CHECK(queue.in_flight > 0);
  --queue.in_flight;
  // Back in its place: batches of a partition are queued in creation (= id)
  // order, and several in-flight batches may come back in any order.
  auto at = std::upper_bound(
      queue.batches.begin(), queue.batches.end(), batch->id(),
      [](uint64_t id, const std::unique_ptr<ProducerBatch>& b) { return id < b->id(); });
  queue.batches.insert(at, std::move(batch));
}

void RecordAccumulator::FinishLocked(ProducerBatch& batch) {
  available_memory_ += batch.reserved_bytes();
  incomplete_.erase(batch.id());
  changed_.SignalAll();
}

void RecordAccumulator::Complete(std::unique_ptr<ProducerBatch> batch,
                                 const absl::StatusOr<int64_t>& base_offset,
                                 int64_t log_append_time_ms) {
  // Callbacks run outside the lock: they may call Append.
  batch->Complete(base_offset, log_append_time_ms);
  absl::MutexLock lock(&mu_);
  PartitionQueue& queue = queues_.at(batch->topic_partition());
  FJORD_CHECK(queue.in_flight > 0);
  --queue.in_flight;
  FinishLocked(*batch);
}

int RecordAccumulator::ExpireBatches() {
  std::vector<std::unique_ptr<ProducerBatch>> expired;
  {
    absl::MutexLock lock(&mu_);
    const absl::Duration now = clock_.Monotonic();
    for (auto& [tp, queue] : queues_) {
      while (!queue.batches.empty() &&
             now - queue.batches.front()->created() >= options_.delivery_timeout) {
        expired.push_back(std::move(queue.batches.front()));
        queue.batches.pop_front();
      }
    }
  }
  for (auto& batch : expired) {
    const TopicPartition& tp = batch->topic_partition();
    batch->Complete(
        absl::DeadlineExceededError(absl::StrCat(
            "Expiring ", batch->record_count(), " record(s) for ", tp.topic, "-", tp.partition,
            ": ", absl::ToInt64Milliseconds(clock_.Monotonic() - batch->created()),
            " ms has passed since batch creation (delivery.timeout.ms=",
            absl::ToInt64Milliseconds(options_.delivery_timeout), ")",
            batch->last_error().ok()
                ? ""
                : absl::StrCat("; last error: ", batch->last_error().message()))),
        -1);
    absl::MutexLock lock(&mu_);
    FinishLocked(*batch);
  }
  return static_cast<int>(expired.size());
}

void RecordAccumulator::Flush() {
  absl::MutexLock lock(&mu_);
  const uint64_t last_id = next_batch_id_ - 1;
  ++flushes_in_progress_;
  changed_.SignalAll();
  auto done = [this, last_id]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return incomplete_.empty() || *incomplete_.begin() > last_id;
  };
  while (!done()) changed_.Wait(&mu_);
  --flushes_in_progress_;
}

void RecordAccumulator::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  changed_.SignalAll();
}

void RecordAccumulator::AbortQueued(const absl::Status& status) {
  std::vector<std::unique_ptr<ProducerBatch>> aborted;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [tp, queue] : queues_) {
      for (auto& batch : queue.batches) aborted.push_back(std::move(batch));
      queue.batches.clear();
    }
  }
  for (auto& batch : aborted) {
    batch->Complete(status, -1);
    absl::MutexLock lock(&mu_);
    FinishLocked(*batch);
  }
}

bool RecordAccumulator::HasIncomplete() {
  absl::MutexLock lock(&mu_);
  return !incomplete_.empty();
}

int64_t RecordAccumulator::available_memory() {
  absl::MutexLock lock(&mu_);
  return available_memory_;
}

}  // namespace fjord::client
