// The producer's record accumulator: collects records per partition into
// batches until a batch is full (batch.size) or old enough (linger.ms), holds
// the memory they use under buffer.memory, and hands ready batches to the
// sender thread in partition order.
//
// Threads: Append is called by application threads (it may block for
// memory up to max.block.ms); everything else by the producer's one sender
// thread. One mutex guards the queues and the memory count.
//
// Batch life:
//
//   Append --> [queued in partition deque] --Drain--> [in flight] --Complete--> done
//                  ^                                        |
//                  +---------------- Reenqueue (retry) -----+
//   ExpireBatches fails queued batches older than delivery.timeout.ms.
//
// Ordering: up to `max_in_flight_per_partition` batches of a partition are
// in flight at once, drained oldest first. A retried batch goes back to its
// place in the queue (by creation order) and is sent again only once no
// other batch of its partition is in flight, so when a whole stream fails
// every batch is retried in its original order. A batch that fails alone
// while a later one of its partition succeeds is written after it (Kafka's
// non-idempotent producer behaves the same; a limit of 1 rules it out).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/producer_batch.h"
#include "common/clock.h"
#include "storage/compression.h"

namespace fjord::client {

class RecordAccumulator {
 public:
  struct Options {
    int32_t batch_size = 16384;
    absl::Duration linger = absl::Milliseconds(5);
    int64_t buffer_memory = 32 * 1024 * 1024;
    absl::Duration max_block = absl::Seconds(60);
    absl::Duration delivery_timeout = absl::Minutes(2);
    absl::Duration retry_backoff = absl::Milliseconds(100);
    int32_t max_request_size = 1048576;
    int32_t max_in_flight_per_partition = 5;
    storage::Compression compression = storage::Compression::kNone;
  };

  RecordAccumulator(Options options, Clock& clock);

  // Adds a record to its partition's open batch (or a new one). Blocks while
  // the buffer is full; after max.block.ms fails with DeadlineExceeded. A
  // record larger than max.request.size or buffer.memory fails at once with
  // InvalidArgument (Kafka's MESSAGE_TOO_LARGE); after Close, FailedPrecondition.
  // On success the batch takes `completion` (run on a gRPC or the sender
  // thread when the record completes); on error it is left untouched, for
  // the caller to run.
  struct AppendResult {
    bool new_batch = false;   // the record opened a new batch
    bool batch_full = false;  // its batch can take no more: wake the sender
  };
  absl::StatusOr<AppendResult> Append(TopicPartitionRef tp, int64_t timestamp_ms,
                                      std::optional<std::string_view> key,
                                      std::optional<std::string_view> value,
                                      absl::Span<const storage::RecordHeader> headers,
                                      RecordCompletion&& completion);

  struct ReadyCheck {
    std::vector<TopicPartition> ready;  // sorted; each has a sendable batch now
    // When the sender should look again if nothing else wakes it.
    absl::Duration next_check = absl::InfiniteDuration();
  };
  ReadyCheck Ready();

  // Takes the first batch of each partition in `partitions` (one leader's,
  // sorted) that is ready and below its in-flight limit, until `max_bytes`
  // (at least one batch). Like Kafka's drainIndex, each leader's drains
  // start where its previous drain stopped, so under max_bytes no partition
  // waits behind the others for ever. The batches come back sorted by
  // topic and partition (one entry per topic in the request).
  std::vector<std::unique_ptr<ProducerBatch>> Drain(int32_t leader,
                                                    const std::vector<TopicPartition>& partitions,
                                                    size_t max_bytes);

  // A drained batch failed retriably: back to the front of its queue.
  void Reenqueue(std::unique_ptr<ProducerBatch> batch);

  // A drained batch is done: runs its callbacks, frees its memory.
  void Complete(std::unique_ptr<ProducerBatch> batch, const absl::StatusOr<int64_t>& base_offset,
                int64_t log_append_time_ms = -1);

  // Fails queued batches older than delivery.timeout.ms; returns how many.
  int ExpireBatches();

  // Makes every queued batch ready now, then waits until every batch that
  // existed when Flush was called has completed.
  void Flush();

  // No more appends; every queued batch is ready.
  void Close();
  // Fails every queued batch with `status` (forced close).
  void AbortQueued(const absl::Status& status);

  bool HasIncomplete();
  int64_t available_memory();

 private:
  struct PartitionQueue {
    std::deque<std::unique_ptr<ProducerBatch>> batches;
    int32_t in_flight = 0;
  };

  bool IsReadyLocked(const PartitionQueue& queue, absl::Duration now,
                     absl::Duration* next_check) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLocked(ProducerBatch& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  Clock& clock_;

  absl::Mutex mu_;
  // Guards: queues, memory, and the set of incomplete batches; signals
  // memory freed and batches completed.
  absl::CondVar changed_;
  std::map<TopicPartition, PartitionQueue, TopicPartitionLess> queues_ ABSL_GUARDED_BY(mu_);
  // Per leader: where its next Drain starts in its partition list.
  std::map<int32_t, size_t> drain_index_ ABSL_GUARDED_BY(mu_);
  int64_t available_memory_ ABSL_GUARDED_BY(mu_);
  std::set<uint64_t> incomplete_ ABSL_GUARDED_BY(mu_);
  uint64_t next_batch_id_ ABSL_GUARDED_BY(mu_) = 1;
  int flushes_in_progress_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace fjord::client
