// RequestObserver: how request handlers report what they did, for metrics.
// Called on the handler's thread after the request completes; must be quick
// and thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace fjord::broker {

enum class Rpc { kProduce, kFetch, kListOffsets, kMetadata, kReplicaFetch };

class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  // `records`/`bytes`: appended (Produce) or returned (Fetch, ReplicaFetch).
  virtual void OnRequest(Rpc rpc, absl::Duration latency, int64_t records, int64_t bytes) = 0;
  // The log cleaner (log_cleaner.h): a partition's dirty ratio, and one
  // compaction that read `bytes_read` and wrote `bytes_written`.
  virtual void OnDirtyRatio(const std::string& topic, int32_t partition, double ratio) {
    (void)topic, (void)partition, (void)ratio;
  }
  virtual void OnLogCleaned(const std::string& topic, int32_t partition, int64_t bytes_read,
                            int64_t bytes_written) {
    (void)topic, (void)partition, (void)bytes_read, (void)bytes_written;
  }
};

}  // namespace fjord::broker
