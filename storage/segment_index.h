// The two sparse indexes of a log segment, kept in memory and mirrored to
// files that are appended to as entries are made.
//
//   NNNNNNNNNNNNNNNNNNNN.index      8-byte entries: relativeOffset int32,
//                                   position int32 (big-endian)
//   NNNNNNNNNNNNNNNNNNNN.timeindex 12-byte entries: timestamp int64,
//                                   relativeOffset int32 (big-endian)
//
// An offset-index entry is made for the first batch of a segment and then
// whenever index.interval.bytes of log have been written since the last
// one; it points at a batch's first byte. A time-index entry (maximum
// timestamp so far, base offset of the batch that raised it) is made at the
// same moments when the maximum grew. Both are strictly increasing.
//
// Index files are never trusted: they are rebuildable from the log.
// Loading checks size (a whole number of entries), monotonicity and bounds
// against the log; any doubt means "rebuild", never a wrong answer. A crash
// can leave a partial trailing entry or entries for lost log bytes; both
// fail those checks or are dropped by recovery's rebuild.
//
// Memory: the active segment keeps both indexes in memory. A closed segment
// calls Release(): the in-memory copies are dropped and lookups
// binary-search the files with pread (what Kafka's mmap'ed indexes do,
// without the mapping), so an idle closed segment costs a few hundred bytes
// instead of ~3 MiB per GiB of log. Appending to a released index (after a
// truncation made its segment active again) reloads it first.
//
// Not thread-safe for writers; const lookups may run concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/file_system.h"

namespace fjord::storage {

inline constexpr size_t kOffsetIndexEntrySize = 8;
inline constexpr size_t kTimeIndexEntrySize = 12;

struct OffsetIndexEntry {
  int32_t relative_offset;
  int32_t position;
};
struct TimeIndexEntry {
  int64_t timestamp;
  int32_t relative_offset;
};

class SegmentIndex {
 public:
  // Files are opened (created if missing) but not read.
  static absl::StatusOr<SegmentIndex> Open(FileSystem& fs, const std::string& offset_path,
                                           const std::string& time_path);

  // Reads both files; false (and empty indexes) when either is damaged or
  // inconsistent with a log of `log_size` bytes.
  absl::StatusOr<bool> Load(uint64_t log_size);

  // Records a batch of `size` bytes at `position` with offsets starting at
  // `relative_offset` and `max_timestamp`.
  absl::Status OnBatch(int32_t relative_offset, int32_t position, int64_t max_timestamp,
                       uint32_t size, int64_t index_interval_bytes);
  // Final time entry when a segment closes, so its max timestamp survives.
  absl::Status OnClose(int64_t max_timestamp, int32_t relative_offset);

  // Empties both indexes and their files (before a rebuild).
  absl::Status Reset();
  absl::Status Sync();

  // Drops the in-memory entries; lookups read the files from now on.
  void Release();
  bool resident() const { return resident_; }

  // Position of the last entry with relative offset <= `relative_offset`
  // (0 when none).
  absl::StatusOr<int32_t> LookupPosition(int32_t relative_offset) const;
  // Relative offset of the last time entry with timestamp < `timestamp`, or
  // -1 when none: every batch up to that entry's batch is earlier.
  absl::StatusOr<int32_t> LookupBeforeTimestamp(int64_t timestamp) const;

  // In-memory entries (empty once released).
  const std::vector<OffsetIndexEntry>& offsets() const { return offsets_; }
  const std::vector<TimeIndexEntry>& times() const { return times_; }
  int64_t max_indexed_timestamp() const { return max_indexed_timestamp_; }
  size_t memory_bytes() const {
    return offsets_.capacity() * sizeof(OffsetIndexEntry) +
           times_.capacity() * sizeof(TimeIndexEntry);
  }

 private:
  SegmentIndex(std::unique_ptr<File> offset_file, std::unique_ptr<File> time_file)
      : offset_file_(std::move(offset_file)), time_file_(std::move(time_file)) {}
  absl::Status AppendTime(int64_t timestamp, int32_t relative_offset);
  // Reads the files back into memory after Release() (no checks: they
  // were checked or written by us).
  absl::Status EnsureResident();
  absl::StatusOr<OffsetIndexEntry> ReadOffsetEntry(uint64_t i) const;
  absl::StatusOr<TimeIndexEntry> ReadTimeEntry(uint64_t i) const;

  std::unique_ptr<File> offset_file_;
  std::unique_ptr<File> time_file_;
  std::vector<OffsetIndexEntry> offsets_;
  std::vector<TimeIndexEntry> times_;
  int64_t bytes_since_entry_ = 0;
  int64_t max_timestamp_ = -1;
  int64_t max_indexed_timestamp_ = -1;
  bool resident_ = true;
};

}  // namespace fjord::storage
