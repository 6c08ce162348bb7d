// Rewrites one RecordBatch v2 keeping a subset of its records, the way
// Kafka's log cleaner does (MemoryRecords.filterTo): the batch keeps its
// baseOffset, lastOffsetDelta, partitionLeaderEpoch, producer fields,
// timestamp type, transactional/control flags and codec; survivors keep
// their offset deltas (so offsets never change, gaps appear instead); the
// records section is re-encoded and recompressed with the same codec and the
// CRC recomputed. Used by log compaction (partition_log.h, Compact).
//
// Stateless and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "storage/record_batch.h"

namespace fjord::storage {

enum class FilterOutcome {
  kKeepOriginal,  // Every record kept and nothing to stamp: reuse the bytes.
  kDropAll,       // No record kept: the batch disappears.
  kRewritten,     // `bytes` holds the rewritten batch.
};

struct FilterResult {
  FilterOutcome outcome = FilterOutcome::kKeepOriginal;
  std::string bytes;
  int32_t records_kept = 0;
  int32_t records_dropped = 0;
  // Tombstones (null values) among the kept records.
  int32_t tombstones_kept = 0;
};

// Decodes `batch` (a whole, CRC-valid data batch; not a control batch) and
// keeps the records for which `keep(record, offset)` is true. When
// `stamp_delete_horizon_ms` is set, a batch without a delete horizon that
// keeps a tombstone gets this horizon (KIP-534: kDeleteHorizonBit, and
// baseTimestamp becomes the horizon); record timestamps are preserved.
absl::StatusOr<FilterResult> FilterBatch(
    std::string_view batch, absl::FunctionRef<bool(const Record& record, Offset offset)> keep,
    std::optional<int64_t> stamp_delete_horizon_ms);

}  // namespace fjord::storage
