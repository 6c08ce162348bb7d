// One segment of a partition log: a .log file of whole RecordBatch v2
// batches stored exactly as received, plus its SegmentIndex
// (segment_index.h). Files, in the partition directory:
//
//   NNNNNNNNNNNNNNNNNNNN.log        batches back to back; NNN.. is the
//                                   segment's base offset, 20 digits
//   NNNNNNNNNNNNNNNNNNNN.index      sparse offset index
//   NNNNNNNNNNNNNNNNNNNN.timeindex  sparse time index
//
// Invariants of a .log file: the first batch's baseOffset is at least the
// segment's base offset and each next batch starts after the previous
// batch's lastOffset (equal to the base, and at lastOffset+1, unless log
// compaction removed batches: Kafka's offset gaps); positions fit in int32
// (segment.bytes < 2 GiB).
//
// Log compaction (partition_log.h) writes a cleaned segment under the same
// names with a ".cleaned" suffix (NNN.log.cleaned, ...) through
// CreateCleaned(), then renames them into place.
//
// What a crash can leave, and how the two load paths treat it:
// - Recover() (segments at or after the recovery point): any suffix of the
//   appended bytes may be missing, and the last batch may be torn. Every
//   batch is re-read and its CRC checked; a torn tail at or after the
//   recovery point (a bad batch with no whole, CRC-valid batch after it)
//   ends the segment: the file is truncated there, with a warning logged.
//   A bad batch before the recovery point was once durable, and a bad batch
//   followed by valid ones was damaged after they were written: both are
//   DataLoss naming the file and byte position, and nothing is truncated.
//   (A kill -9 keeps the page cache but can land inside a write of the last
//   batch; a power cut can also leave unwritten zeros.)
// - LoadClean() (segments wholly before the recovery point): the indexes
//   are loaded and checked; if they are damaged or disagree with the log,
//   they are rebuilt by a full verified scan where any bad batch is
//   DataLoss.
//
// Not thread-safe: PartitionLog serializes writers and lets readers in
// under a shared lock (reads are const and use pread).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/types.h"
#include "storage/file_system.h"
#include "storage/record_batch.h"
#include "storage/segment_index.h"

namespace fjord::storage {

class Segment {
 public:
  // "00000000000000000042.log" for (42, ".log").
  static std::string FileName(Offset base, const char* extension);

  // Creates empty files (truncating leftovers) for a new segment.
  static absl::StatusOr<std::unique_ptr<Segment>> Create(FileSystem& fs, const std::string& dir,
                                                         Offset base, int64_t now_ms);
  // A new segment whose three files carry `suffix` after their extension
  // (log compaction's "NNN.log.cleaned"); see the class comment.
  static absl::StatusOr<std::unique_ptr<Segment>> CreateWithSuffix(FileSystem& fs,
                                                                   const std::string& dir,
                                                                   Offset base, int64_t now_ms,
                                                                   const std::string& suffix);
  // Opens an existing segment's files; call LoadClean() or Recover() next.
  static absl::StatusOr<std::unique_ptr<Segment>> Open(FileSystem& fs, const std::string& dir,
                                                       Offset base, int64_t now_ms);

  absl::Status LoadClean(int64_t index_interval_bytes);
  // `*truncated` tells whether a torn tail was cut off.
  absl::Status Recover(Offset recovery_point, int64_t index_interval_bytes, bool* truncated);

  // Appends one batch whose header is `h` (offsets already assigned).
  absl::Status Append(std::string_view batch, const BatchHeader& h, int64_t index_interval_bytes);

  // Whole batches starting with the one containing `offset`, stopping before
  // a batch with baseOffset >= `max_offset` and when adding the next batch
  // would exceed `max_bytes` (but always at least one batch). Empty when
  // `offset` >= next_offset().
  absl::StatusOr<std::string> Read(Offset offset, size_t max_bytes, Offset max_offset) const;

  // Base offset of the batch containing `offset` (< next_offset()): where
  // TruncateTo(offset) will cut.
  absl::StatusOr<Offset> BatchStart(Offset offset) const;

  // Base offset of the first batch whose maxTimestamp >= `timestamp_ms`.
  absl::StatusOr<std::optional<Offset>> FindOffsetForTimestamp(int64_t timestamp_ms) const;

  // Removes every batch whose last offset >= `offset` (a batch containing
  // `offset` goes whole), then syncs. Afterwards next_offset() <= offset.
  absl::Status TruncateTo(Offset offset, int64_t index_interval_bytes);

  // On roll: final time-index entry, fsync of the log and indexes, and the
  // in-memory index copies released (segment_index.h).
  absl::Status Close();
  absl::Status SyncLog() { return log_->Sync(); }
  absl::Status SyncIndexes() { return index_.Sync(); }
  // Drops the in-memory index copies of a segment no longer appended to.
  void ReleaseIndex() { index_.Release(); }
  // Renames the three files to <name>.deleted and hands them to the file
  // system's background deletion (DeleteFileInBackground); call only once
  // no reader can reach this segment any more.
  absl::Status Delete();

  Offset base_offset() const { return base_; }
  // One past the last offset stored; base_offset() when empty.
  Offset next_offset() const { return next_; }
  uint64_t size_bytes() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t max_timestamp() const { return max_timestamp_; }
  // The wall time segment.ms counts from: when this segment was created, or
  // loaded by this process. Not the first batch's timestamp (Kafka's
  // choice): producer clocks would then decide how often segments roll.
  int64_t rolling_timestamp() const { return created_ms_; }
  const std::shared_ptr<File>& log_file() const { return log_; }
  const std::string& log_path() const { return log_path_; }
  // Heap bytes held for this open segment (indexes and bookkeeping).
  size_t memory_bytes() const {
    return sizeof(*this) + index_.memory_bytes() + log_path_.capacity() * 4;
  }

 private:
  Segment(FileSystem& fs, std::string dir, Offset base, std::shared_ptr<File> log,
          SegmentIndex index, int64_t now_ms, std::string suffix = "");
  // Finds the first batch whose last offset >= `offset`: its position and
  // header. NotFound when there is none.
  absl::StatusOr<std::pair<uint64_t, BatchHeader>> FindBatch(Offset offset) const;
  void Track(const BatchHeader& h, uint64_t end_position);
  absl::Status CorruptAt(uint64_t position, const absl::Status& problem) const;
  // For Recover: if the bad batch at `position` has a readable length and
  // whole, CRC-valid batches follow it, says which ("3 valid batches
  // (offsets 28..39)"); std::nullopt for a torn tail.
  absl::StatusOr<std::optional<std::string>> DescribeValidBatchesAfter(uint64_t position) const;

  FileSystem& fs_;
  const std::string dir_;
  const Offset base_;
  const std::string suffix_;
  const std::string log_path_;
  std::shared_ptr<File> log_;
  SegmentIndex index_;
  Offset next_;
  uint64_t size_ = 0;
  int64_t max_timestamp_ = -1;
  Offset offset_of_max_timestamp_;
  int64_t created_ms_;
};

}  // namespace fjord::storage
