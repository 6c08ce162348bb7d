// PartitionLog: one partition replica's log: a directory of segments
// (segment.h) plus checkpoints (checkpoint_file.h), with offsets assigned
// here, reads by offset and timestamp, roll, retention, truncation for
// followers, the leader-epoch cache, and durability by policy.
//
// Directory layout:
//   00000000000000000000.log / .index / .timeindex   segment at base 0
//   00000000000000004711.log / .index / .timeindex   next segment, ...
//   recovery-point-offset-checkpoint   everything below it was fsynced
//   replication-offset-checkpoint      high watermark
//   leader-epoch-checkpoint            epoch -> start offset
//   cleaner-offset-checkpoint          log compaction's first dirty offset
//
// Segment lifecycle:
//
//   Create --> active (appends) --roll--> closed (read-only, indexes and
//                 |                          |     data fsynced)
//                 +--TruncateTo drops/cuts---+--retention--> deleted
//                                            |
//                                            +--Compact--> cleaned (closed,
//                                                 with offset gaps; groups
//                                                 of segments merged)
//
// Log compaction (Compact, cleanup.policy=compact), as Kafka's log cleaner:
// only closed segments wholly below min(high watermark, active segment
// base) and older than min.compaction.lag.ms are cleaned. The dirty part
// starts at the cleaner checkpoint; an in-memory map key -> latest offset is
// built over it (bounded by offset_map_max_bytes), then every segment from
// the log start to the end of the mapped part is copied keeping a record
// iff no later record has its key. Keyless records are dropped (invalid in
// a compacted topic; brokers reject them at produce). Tombstones (null
// values) get a delete horizon of now + delete.retention.ms stamped into
// their batch the first time they are cleaned (KIP-534) and are dropped by
// a later cleaning after it. Offsets never change: batches keep their base
// offset and lastOffsetDelta, survivors their offset deltas; emptied
// batches disappear, leaving gaps that reads skip. Control batches are kept
// as they are. Consecutive segments whose sizes add up to at most
// segment.bytes become one cleaned segment named after the first.
//
// The swap of a cleaned group is crash-safe:
//   1. write B.log.cleaned (+ .index.cleaned, .timeindex.cleaned), fsync;
//   2. rename the indexes, then the log, to *.swap; fsync the directory.
//      B.log.swap existing is the commit point;
//   3. write the cleaner checkpoint (first dirty offset) as the group's end;
//   4. delete the group's other segments, newest first;
//   5. rename the index .swap files, then B.log.swap, over B's files;
//      fsync the directory.
// Open accepts a gap between segments only below the cleaner checkpoint
// and still calls any other gap (a lost segment) DataLoss.
// Open rolls back or completes an interrupted swap: every *.cleaned file is
// deleted (not committed); for a B.log.swap, the live segments whose base
// lies in (B, last offset in the swap] are deleted, the cleaner checkpoint
// is raised to the next segment's base, B's index files are
// replaced by the .swap ones (or deleted and rebuilt when absent) and
// B.log.swap renamed to B.log; index .swap files without a log .swap are
// deleted. A group segment past the swap's last offset that a crash left
// behind holds only superseded records: harmless, the next cleaning
// removes them. Readers never see a half-swapped log: the segment list
// changes under the log's exclusive lock after the files are in place.
//
// Durability: `flushed_offset()` is the durable prefix (everything below
// it survived an fdatasync). Under FlushPolicy::kAlways an append returns
// only once its batch is durable (a leader append with AppendWait::kWritten
// returns once written; its caller calls Flush); concurrent appenders and
// flushers share fdatasyncs:
// the first waiter becomes the flush leader and syncs everything appended
// so far while later appenders queue behind it for the next round (group
// commit). A failed fsync, or any failed write, fails the log for good:
// every later write returns the first error and nothing is retried, because
// after a failed fsync the page cache no longer says what is on disk. Reads
// (Read, OffsetForTimestamp) fail too, except when every failure was a full
// disk (ResourceExhausted): such a write never became part of the log, so
// the data already in it is still served (Kafka's "disk full: produce
// fails, reads go on").
//
// Crash recovery (Open): segments at and after the recovery point are
// scanned with CRC checks; a torn or garbled tail there is cut off (and
// later segments deleted), since it was never acknowledged as flushed, and
// a warning names the file, byte and bytes dropped. A bad batch there with
// whole, CRC-valid batches after it is no torn tail: DataLoss, nothing cut.
// Damage below the recovery point is DataLoss naming the file and byte
// position: the replica must be repaired from the leader, never silently
// shortened. Missing or damaged indexes are rebuilt. Then everything kept is
// fsynced and the recovery point moves to the log end.
//
// Thread-safety: all methods are thread-safe. Appends, truncation, roll and
// retention take the log's lock exclusively; reads take it shared. fsyncs
// run outside the log's lock, so appends continue while a flush is in
// flight. Compaction reads and writes without the log's lock (it touches
// only closed segments) and takes it exclusively for the swap; a second
// lock, taken first, keeps truncation and retention from removing segments
// under it. One owner (the partition) is expected to sequence leader appends
// against follower truncation.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "common/clock.h"
#include "common/types.h"
#include "storage/file_system.h"
#include "storage/leader_epoch_cache.h"
#include "storage/log_config.h"
#include "storage/segment.h"

namespace fjord::storage {

inline constexpr Offset kNoOffsetLimit{std::numeric_limits<int64_t>::max()};

struct AppendResult {
  Offset first_offset;
  Offset last_offset;
};

// Whether a leader append waits for FlushPolicy::kAlways's fdatasync.
enum class AppendWait {
  // Under kAlways, returns once the batch is durable (group commit).
  kDurable,
  // Returns once the batch is written (page cache): the caller makes it
  // durable with Flush() when it needs to, so appends go on while an
  // fdatasync runs (the broker's leader path; see broker/log_flusher.h).
  kWritten,
};

// Where compaction stands (Kafka's LogToClean): bytes of closed,
// cleanable segments before and after the first dirty offset.
struct CleanableState {
  Offset first_dirty{0};
  // Segments below this offset may be cleaned (see Compact).
  Offset first_uncleanable{0};
  int64_t clean_bytes = 0;
  int64_t dirty_bytes = 0;
  // A cleaned batch's delete horizon has passed: tombstones are removable.
  bool tombstones_due = false;
  double dirty_ratio() const {
    const int64_t total = clean_bytes + dirty_bytes;
    return total == 0 ? 0.0 : static_cast<double>(dirty_bytes) / static_cast<double>(total);
  }
};

struct CompactionStats {
  int segments_before = 0;
  int segments_after = 0;
  int64_t bytes_read = 0;
  int64_t bytes_written = 0;
  int64_t records_kept = 0;
  int64_t records_dropped = 0;
  int64_t tombstones_dropped = 0;
  // Everything below is now clean (the new cleaner checkpoint).
  Offset cleaned_up_to{0};
};

class PartitionLog {
 public:
  // Opens (creating if needed) the log in `dir` and recovers it. `fs` and
  // `clock` must outlive the log.
  static absl::StatusOr<std::unique_ptr<PartitionLog>> Open(FileSystem& fs, const Clock& clock,
                                                            std::string dir, LogConfig config);
  PartitionLog(const PartitionLog&) = delete;
  PartitionLog& operator=(const PartitionLog&) = delete;

  // Leader path. `batch` is one batch the caller has checked with
  // ValidateBatch; its baseOffset and partitionLeaderEpoch are overwritten
  // in place (log end offset, `epoch`) and the bytes appended as they are.
  absl::StatusOr<AppendResult> AppendAsLeader(absl::Span<char> batch, LeaderEpoch epoch,
                                              AppendWait wait = AppendWait::kDurable);
  // Follower path: concatenated batches that already carry offsets and
  // epochs (from the leader). The first must start at the log end offset
  // and each next one follow on; CRCs are checked.
  absl::StatusOr<AppendResult> AppendAsFollower(std::string_view batches);

  // Whole batches from the one containing `offset`: up to `max_bytes` but
  // always at least one batch (as Kafka does), never a batch whose base
  // offset is >= `max_offset`, never crossing a segment. Empty at the log
  // end; OutOfRange below the log start or beyond the end.
  absl::StatusOr<std::string> Read(Offset offset, size_t max_bytes,
                                   Offset max_offset = kNoOffsetLimit) const;
  // Base offset of the first batch with maxTimestamp >= `timestamp_ms`;
  // std::nullopt when every batch is older.
  absl::StatusOr<std::optional<Offset>> OffsetForTimestamp(int64_t timestamp_ms) const;

  // Removes all records at and after `offset` (a batch containing `offset`
  // goes whole); returns the new log end offset. InvalidArgument below the
  // log start. Durable when it returns.
  absl::StatusOr<Offset> TruncateTo(Offset offset);
  // Kafka's truncateFullyAndStartAt, for a follower whose log ends below its
  // leader's log start (the leader deleted the records it would fetch
  // next): deletes every segment and starts over, empty, at `start` (log
  // start = log end = high watermark = `start`, no leader epochs). Durable
  // when it returns; a crash part-way leaves a prefix of the old log or the
  // empty new one, and the follower resets again.
  absl::StatusOr<Offset> TruncateFullyAndStartAt(Offset start);

  // Makes everything appended so far durable; returns flushed_offset().
  // Shares fdatasyncs with concurrent callers (group commit); appends go on
  // while it runs.
  absl::StatusOr<Offset> Flush();
  // FlushPolicy::kInterval: flushes when flush.ms has passed since the last
  // flush. Call from the owner's timer.
  absl::Status MaybeFlush();
  // Starts a new segment now (if the active one is not empty).
  absl::Status Roll();
  // Deletes closed segments past retention.ms / retention.bytes that lie
  // wholly below the high watermark, advancing the log start; returns how
  // many. The first form uses the LogConfig's limits.
  absl::StatusOr<int> ApplyRetention();
  absl::StatusOr<int> ApplyRetention(const RetentionLimits& limits);

  // Log compaction (see the file comment). CleanableState reports the
  // dirty ratio the caller compares with min.cleanable.dirty.ratio;
  // Compact cleans whatever is dirty regardless of the ratio (zero
  // segments touched when nothing is) and returns what it did. A failure
  // while writing the cleaned copy leaves the log as it was; a failure
  // during the swap fails the log (Open then finishes or undoes the swap).
  absl::StatusOr<CleanableState> GetCleanableState(const CompactionConfig& config) const;
  absl::StatusOr<CompactionStats> Compact(const CompactionConfig& config);

  // The high watermark is set by replication; it may not pass the log end.
  absl::Status SetHighWatermark(Offset offset);
  // Writes the recovery-point (= flushed offset) and high-watermark
  // checkpoints. Call periodically and before shutdown.
  absl::Status Checkpoint();
  // Flush + Checkpoint.
  absl::Status Close();

  // Leader-epoch lookups for divergence detection (leader_epoch_cache.h).
  std::pair<LeaderEpoch, Offset> EndOffsetForEpoch(LeaderEpoch epoch) const;
  std::optional<LeaderEpoch> latest_epoch() const;

  Offset log_start_offset() const;
  Offset log_end_offset() const;
  Offset high_watermark() const;
  Offset flushed_offset() const;
  Offset recovery_point() const;
  int64_t size_bytes() const;
  FlushPolicy flush_policy() const { return config_.flush_policy; }
  size_t segment_count() const;
  size_t memory_bytes() const;
  // OK, or the error that failed the log.
  absl::Status health() const;

 private:
  PartitionLog(FileSystem& fs, const Clock& clock, std::string dir, LogConfig config,
               LeaderEpochCache epochs);
  absl::Status Recover() ABSL_EXCLUSIVE_LOCKS_REQUIRED(maintenance_mu_, mu_);
  absl::StatusOr<AppendResult> AppendLocked(std::string_view batch, const BatchHeader& h)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RollLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Fail(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // OK while reads may be served: no failure, or only a full disk.
  absl::Status ReadableLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status AssignEpoch(LeaderEpoch epoch, Offset start) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Group commit: returns once `target` is durable (or the log failed).
  absl::Status WaitDurable(Offset target) ABSL_LOCKS_EXCLUDED(mu_, flush_mu_);
  // One flush round: fdatasync of every file with unsynced appends; returns
  // the log end offset they covered.
  absl::StatusOr<Offset> SyncUnsynced() ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status AfterAppend(const AppendResult& result, int64_t records, AppendWait wait);
  Segment& active() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return *segments_.back(); }
  Offset LogEndLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return segments_.back()->next_offset();
  }
  int64_t NowMs() const { return absl::ToUnixMillis(clock_.Wall()); }
  // Open's first step: finishes or rolls back an interrupted compaction
  // swap (file comment).
  absl::Status RecoverCompactionSwap();
  // Segments [0, n) that compaction may touch, and the offset they end at.
  std::pair<size_t, Offset> CleanableSegmentsLocked(const CompactionConfig& config,
                                                    int64_t now_ms) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The offset at which segments_[i] ends (the next segment's base).
  Offset SegmentEndLocked(size_t i) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  struct CleanedGroup;
  // Writes the cleaned copy of `group` and swaps it in.
  absl::Status SwapInCleaned(CleanedGroup& group) ABSL_EXCLUSIVE_LOCKS_REQUIRED(maintenance_mu_)
      ABSL_LOCKS_EXCLUDED(mu_);

  FileSystem& fs_;
  const Clock& clock_;
  const std::string dir_;
  const LogConfig config_;

  // Held by Compact, TruncateTo and ApplyRetention for their whole run, so
  // no segment compaction reads is removed under it. Taken before mu_.
  mutable absl::Mutex maintenance_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // TruncateTo calls waiting for maintenance_mu_: a running compaction
  // gives up (Kafka aborts cleaning before truncating).
  std::atomic<int> truncations_waiting_{0};
  // First offset not yet cleaned (cleaner-offset-checkpoint).
  Offset first_dirty_ ABSL_GUARDED_BY(maintenance_mu_){0};
  // Earliest delete horizon stamped by a cleaning; -1 when none known.
  // INT64_MAX when no tombstone is kept.
  int64_t next_delete_horizon_ms_ ABSL_GUARDED_BY(maintenance_mu_) = -1;

  // Guards the segment list and all log state below. Readers share it.
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Segment>> segments_ ABSL_GUARDED_BY(mu_);
  LeaderEpochCache epochs_ ABSL_GUARDED_BY(mu_);
  Offset high_watermark_ ABSL_GUARDED_BY(mu_){0};
  Offset recovery_point_ ABSL_GUARDED_BY(mu_){0};
  std::vector<std::shared_ptr<File>> unsynced_ ABSL_GUARDED_BY(mu_);
  int64_t unflushed_records_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  // Set by any failure other than a full disk; then reads fail as well.
  bool reads_failed_ ABSL_GUARDED_BY(mu_) = false;

  // Guards group-commit state only. Order: mu_ may be held when taking
  // flush_mu_, never the reverse.
  mutable absl::Mutex flush_mu_ ABSL_ACQUIRED_AFTER(mu_);
  absl::CondVar flush_done_;
  Offset durable_ ABSL_GUARDED_BY(flush_mu_){0};
  bool flushing_ ABSL_GUARDED_BY(flush_mu_) = false;
  uint64_t truncations_ ABSL_GUARDED_BY(flush_mu_) = 0;
  absl::Status flush_failure_ ABSL_GUARDED_BY(flush_mu_);
  absl::Duration last_flush_ ABSL_GUARDED_BY(flush_mu_);
};

}  // namespace fjord::storage
