// Sequential scan of the batches in a .log file, for recovery, index
// rebuilds and lookups. Reads in large chunks (one pread per ~1 MiB), so a
// scan runs at disk or page-cache speed.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "common/types.h"
#include "storage/file_system.h"
#include "storage/record_batch.h"

namespace fjord::storage {

struct ScanOptions {
  uint64_t from_position = 0;
  // The baseOffset the first batch must have; each later batch must follow
  // on. kInvalidOffset skips the check for the first batch.
  Offset expected_base = kInvalidOffset;
  // Offsets need only increase (base >= expected): segments that log
  // compaction rewrote have gaps between batches, as in Kafka.
  bool allow_offset_gaps = false;
  bool verify_crc = false;
  size_t chunk_bytes = 1 << 20;
};

struct ScanEnd {
  // Where the scan stopped: the file size, or the first bad batch.
  uint64_t position = 0;
  // OK for a clean end of file; otherwise what was wrong at `position`.
  absl::Status problem;
};

// Calls `on_batch(position, header)` for each well-formed batch until it
// returns false, the file ends, or a batch is bad (truncated, bad header,
// out-of-sequence offsets, CRC mismatch when verify_crc). A non-OK status
// means I/O failed or `on_batch` failed.
absl::StatusOr<ScanEnd> ScanBatches(
    const File& file, const ScanOptions& options,
    absl::FunctionRef<absl::StatusOr<bool>(uint64_t position, const BatchHeader& h)> on_batch);

// ScanBatches, also handing over each batch's bytes (valid during the call
// only): log compaction's copy loop.
absl::StatusOr<ScanEnd> ScanBatchBytes(
    const File& file, const ScanOptions& options,
    absl::FunctionRef<absl::StatusOr<bool>(uint64_t position, const BatchHeader& h,
                                           std::string_view batch)>
        on_batch);

}  // namespace fjord::storage
