// RequestObserver: how request handlers report what they did, for metrics.
// Called on the handler's thread after the request completes; must be quick
// and thread-safe.
#pragma once

#include <cstdint>

#include "absl/time/time.h"

namespace fjord::broker {

enum class Rpc { kProduce, kFetch, kListOffsets, kMetadata, kReplicaFetch };

class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  // `records`/`bytes`: appended (Produce) or returned (Fetch, ReplicaFetch).
  virtual void OnRequest(Rpc rpc, absl::Duration latency, int64_t records, int64_t bytes) = 0;
};

}  // namespace fjord::broker
