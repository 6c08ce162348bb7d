// Per-partition log settings, named after Kafka's topic configs and with
// Kafka's defaults unless noted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "storage/record_batch.h"

namespace fjord::storage {

// flush policy: when appended data is fdatasync'ed.
enum class FlushPolicy {
  // Every append waits until it is durable; concurrent appenders share one
  // fdatasync (group commit). Fjord's default (architecture: acks=all
  // writes are fsynced before the ack).
  kAlways,
  // After flush_messages unflushed records, or when MaybeFlush() finds
  // flush_ms elapsed since the last flush.
  kInterval,
  // Only on explicit Flush(), segment roll and Close(); durability comes
  // from replication (Kafka's default behaviour).
  kNever,
};

// Hears each flush round of a PartitionLog (one fdatasync per file with
// unsynced appends; group commit shares a round among appenders), e.g. for
// a latency histogram. Called on the flushing thread with no log lock held;
// must be thread-safe and quick.
class FlushObserver {
 public:
  virtual ~FlushObserver() = default;
  virtual void OnFlush(absl::Duration latency) = 0;
};

struct LogConfig {
  int64_t segment_bytes = int64_t{1} << 30;              // segment.bytes
  absl::Duration segment_ms = absl::Hours(24 * 7);       // segment.ms
  int64_t index_interval_bytes = 4096;                   // index.interval.bytes
  int64_t retention_bytes = -1;                          // retention.bytes, -1 = no limit
  int64_t retention_ms = int64_t{7} * 24 * 3600 * 1000;  // retention.ms, -1 = forever
  FlushPolicy flush_policy = FlushPolicy::kAlways;
  int64_t flush_messages = std::numeric_limits<int64_t>::max();  // flush.messages
  int64_t flush_ms = std::numeric_limits<int64_t>::max();        // flush.ms
  // max.message.bytes and decompression bound, for batches the log checks.
  BatchLimits batch_limits;
  // May be null; must outlive every log opened with this config.
  FlushObserver* flush_observer = nullptr;

  absl::Status Validate() const {
    if (segment_bytes < static_cast<int64_t>(kBatchHeaderSize) ||
        segment_bytes > std::numeric_limits<int32_t>::max()) {
      return absl::InvalidArgumentError(
          absl::StrCat("segment.bytes ", segment_bytes, " outside [61, 2^31-1]"));
    }
    if (index_interval_bytes < 0) return absl::InvalidArgumentError("index.interval.bytes < 0");
    if (flush_messages < 1) return absl::InvalidArgumentError("flush.messages < 1");
    if (flush_ms < 0) return absl::InvalidArgumentError("flush.ms < 0");
    return absl::OkStatus();
  }
};

// Time/size retention for cleanup.policy=delete, passed per call so topic
// config changes apply without reopening the log.
struct RetentionLimits {
  int64_t retention_ms = int64_t{7} * 24 * 3600 * 1000;  // retention.ms, -1 = forever
  int64_t retention_bytes = -1;                          // retention.bytes, -1 = no limit
};

// Log compaction for cleanup.policy=compact (PartitionLog::Compact), with
// Kafka's topic config names and defaults; passed per call like
// RetentionLimits.
struct CompactionConfig {
  double min_cleanable_dirty_ratio = 0.5;           // min.cleanable.dirty.ratio
  int64_t delete_retention_ms = 86400000;           // delete.retention.ms
  int64_t min_compaction_lag_ms = 0;                // min.compaction.lag.ms
  int64_t segment_bytes = int64_t{1} << 30;         // segment.bytes: cleaned groups stay below
  size_t offset_map_max_bytes = size_t{128} << 20;  // log.cleaner.dedupe.buffer.size

  absl::Status Validate() const {
    if (!(min_cleanable_dirty_ratio >= 0 && min_cleanable_dirty_ratio <= 1)) {
      return absl::InvalidArgumentError("min.cleanable.dirty.ratio outside [0, 1]");
    }
    if (delete_retention_ms < 0) return absl::InvalidArgumentError("delete.retention.ms < 0");
    if (min_compaction_lag_ms < 0) return absl::InvalidArgumentError("min.compaction.lag.ms < 0");
    if (segment_bytes < static_cast<int64_t>(kBatchHeaderSize)) {
      return absl::InvalidArgumentError("segment.bytes too small");
    }
    return absl::OkStatus();
  }
};

}  // namespace fjord::storage
