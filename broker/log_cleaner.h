// LogCleaner: the broker's background log maintenance (Kafka's LogCleaner
// plus the log manager's retention task) over every hosted replica, with
// each topic's configs read from the current MetadataImage:
//
//   cleanup.policy=compact (or compact,delete): every log.cleaner.backoff.ms
//     the dirtiest partition whose dirty ratio (storage::CleanableState) is
//     at least min.cleanable.dirty.ratio, or whose tombstones are due, is
//     compacted (storage::PartitionLog::Compact) with delete.retention.ms,
//     min.compaction.lag.ms and segment.bytes. One partition per pass, as
//     Kafka's single cleaner thread does.
//   cleanup.policy=delete (or compact,delete): every
//     log.retention.check.interval.ms, retention.ms / retention.bytes delete
//     whole closed segments below the high watermark (log start advances).
//
// A topic without an override gets Kafka's default for that key (segment.bytes
// defaults to the broker's log.segment.bytes).
//
// Threading: Start() runs one thread that calls CleanOnce/RetentionOnce;
// tests call them directly with a manual clock instead. The observer (may be
// null) hears about every cleaning and dirty ratio, on that thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/metadata_cache.h"
#include "broker/replica_manager.h"
#include "broker/request_observer.h"
#include "common/clock.h"
#include "storage/log_config.h"
#include "storage/partition_log.h"

namespace fjord::broker {

struct LogCleanerOptions {
  bool enable = true;                                  // log.cleaner.enable
  absl::Duration backoff = absl::Milliseconds(15000);  // log.cleaner.backoff.ms
  absl::Duration retention_check_interval =
      absl::Milliseconds(300000);                  // log.retention.check.interval.ms
  size_t dedupe_buffer_bytes = size_t{128} << 20;  // log.cleaner.dedupe.buffer.size
};

// One topic's cleanup settings, resolved from the image.
struct TopicCleanupPolicy {
  bool compact = false;
  bool delete_old = true;
  storage::CompactionConfig compaction;
  storage::RetentionLimits retention;
};

// The policy of `topic` in `image`; InvalidArgument naming the key when an
// override does not parse (the controller validates, so this is defensive).
absl::StatusOr<TopicCleanupPolicy> ResolveCleanupPolicy(const controller::MetadataImage& image,
                                                        const std::string& topic,
                                                        int64_t default_segment_bytes);

struct CleanedPartition {
  std::string topic;
  PartitionId partition{0};
  double dirty_ratio = 0;
  storage::CompactionStats stats;
};

class LogCleaner {
 public:
  // All references must outlive the cleaner.
  LogCleaner(ReplicaManager& replicas, MetadataCache& metadata, const Clock& clock,
             LogCleanerOptions options, RequestObserver* observer);
  ~LogCleaner();
  LogCleaner(const LogCleaner&) = delete;
  LogCleaner& operator=(const LogCleaner&) = delete;

  // Starts the thread (no-op when log.cleaner.enable is false).
  void Start();
  // Stops and joins the thread; returns once no cleaning runs.
  void Stop();

  // One cleaner pass: compacts the dirtiest eligible partition, if any.
  absl::StatusOr<std::optional<CleanedPartition>> CleanOnce();
  // One retention pass over delete-policy partitions; segments deleted.
  int RetentionOnce();

 private:
  void Loop();

  ReplicaManager& replicas_;
  MetadataCache& metadata_;
  const Clock& clock_;
  const LogCleanerOptions options_;
  RequestObserver* const observer_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace fjord::broker
