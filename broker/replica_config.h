// Broker-wide replication settings that every Replica reads, with Kafka's
// names and defaults.
#pragma once

#include <cstdint>

#include "absl/time/time.h"
#include "storage/record_batch.h"

namespace fjord::broker {

// Which offset of a replica counts toward acks=all and the high watermark.
enum class DurabilityMode {
  // The replica's flushed (fdatasync'ed) offset: an acknowledged acks=all
  // write survives the loss of power on every broker. Fjord's default.
  kDurable,
  // The replica's log end offset (page cache), as Kafka does by default: an
  // acknowledged write survives broker crashes but not a simultaneous power
  // loss of every ISR member. Opt-in ("log.flush.policy=relaxed").
  kRelaxed,
};

class LogFlusher;

struct ReplicaConfig {
  // min.insync.replicas.
  int32_t min_insync_replicas = 1;
  // replica.lag.time.max.ms.
  absl::Duration replica_lag_time_max = absl::Milliseconds(30000);
  DurabilityMode durability = DurabilityMode::kDurable;
  // message.max.bytes (max_batch_bytes) and decompression bound.
  storage::BatchLimits batch_limits;
  // Under log.flush.policy=always, leader appends return once written and
  // this flusher makes them durable (log_flusher.h); must outlive every
  // replica. Null: each leader append waits for its own group-commit fsync.
  LogFlusher* flusher = nullptr;
};

}  // namespace fjord::broker
