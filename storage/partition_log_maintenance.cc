// PartitionLog's maintenance paths: follower truncation, retention and
// checkpoints (contract in partition_log.h).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "storage/checkpoint_file.h"
#include "storage/partition_log.h"

namespace fjord::storage {

absl::StatusOr<Offset> PartitionLog::TruncateTo(Offset offset) {
  truncations_waiting_.fetch_add(1);
  absl::MutexLock maintenance(&maintenance_mu_);
  truncations_waiting_.fetch_sub(1);
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  const Offset start = segments_.front()->base_offset();
  if (offset < start) {
    return absl::InvalidArgumentError(absl::StrCat("cannot truncate to ", offset.value(),
                                                   ", below the log start ", start.value()));
  }
  if (offset >= LogEndLocked()) return LogEndLocked();
  // Where the log will end: the start of the batch containing `offset`.
  auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                             [](Offset o, const auto& seg) { return o < seg->base_offset(); });
  Segment& target = **std::prev(it);
  Offset new_end = target.base_offset();
  if (offset >= target.next_offset()) {
    new_end = target.next_offset();  // In a compaction gap after its last batch.
  } else if (offset > target.base_offset()) {
    absl::StatusOr<Offset> cut = target.BatchStart(offset);
    if (!cut.ok()) return Fail(cut.status());
    new_end = *cut;
  }
  // Lower the recovery point first: a crash in between must not leave a
  // recovery point above the shortened log.
  if (recovery_point_ > new_end) {
    if (absl::Status s = WriteOffsetCheckpoint(fs_, dir_, kRecoveryPointFile, new_end); !s.ok()) {
      return Fail(s);
    }
    recovery_point_ = new_end;
  }
  {
    absl::MutexLock flush_lock(&flush_mu_);
    ++truncations_;
    durable_ = std::min(durable_, new_end);
  }
  while (segments_.size() > 1 && segments_.back()->base_offset() >= offset) {
    if (absl::Status s = segments_.back()->Delete(); !s.ok()) return Fail(s);
    segments_.pop_back();
  }
  if (absl::Status s = active().TruncateTo(offset, config_.index_interval_bytes); !s.ok()) {
    return Fail(s);
  }
  if (absl::Status s = fs_.SyncDir(dir_); !s.ok()) return Fail(s);
  unsynced_.clear();
  high_watermark_ = std::min(high_watermark_, new_end);
  if (absl::Status s = epochs_.TruncateFromEnd(new_end); !s.ok()) return Fail(s);
  return LogEndLocked();
}

absl::StatusOr<Offset> PartitionLog::TruncateFullyAndStartAt(Offset start) {
  if (start < Offset(0)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot start a log at ", start.value()));
  }
  truncations_waiting_.fetch_add(1);
  absl::MutexLock maintenance(&maintenance_mu_);
  truncations_waiting_.fetch_sub(1);
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  // Recovery point 0 first: until the new segment is in place, a crash
  // leaves old segments (rescanned on open) or none at all, which Open only
  // accepts with no recovery point above 0.
  if (absl::Status s = WriteOffsetCheckpoint(fs_, dir_, kRecoveryPointFile, Offset(0)); !s.ok()) {
    return Fail(s);
  }
  recovery_point_ = Offset(0);
  {
    absl::MutexLock flush_lock(&flush_mu_);
    ++truncations_;
    durable_ = start;
  }
  unsynced_.clear();
  while (!segments_.empty()) {  // Newest first: a crash leaves a prefix.
    if (absl::Status s = segments_.back()->Delete(); !s.ok()) return Fail(s);
    segments_.pop_back();
  }
  absl::StatusOr<std::unique_ptr<Segment>> fresh = Segment::Create(fs_, dir_, start, NowMs());
  if (!fresh.ok()) return Fail(fresh.status());
  segments_.push_back(*std::move(fresh));
  if (absl::Status s = fs_.SyncDir(dir_); !s.ok()) return Fail(s);
  high_watermark_ = start;
  // Every epoch entry described the deleted records.
  if (absl::Status s = epochs_.TruncateFromEnd(Offset(0)); !s.ok()) return Fail(s);
  // Compaction's gap allowance must not cover offsets this log never held.
  first_dirty_ = start;
  for (const auto& [name, offset] : {std::pair<const char*, Offset>{kCleanerOffsetFile, start},
                                     {kRecoveryPointFile, start},
                                     {kHighWatermarkFile, start}}) {
    if (absl::Status s = WriteOffsetCheckpoint(fs_, dir_, name, offset); !s.ok()) return Fail(s);
  }
  recovery_point_ = start;
  return start;
}

absl::StatusOr<int> PartitionLog::ApplyRetention() {
  return ApplyRetention(RetentionLimits{.retention_ms = config_.retention_ms,
                                        .retention_bytes = config_.retention_bytes});
}

absl::StatusOr<int> PartitionLog::ApplyRetention(const RetentionLimits& limits) {
  absl::MutexLock maintenance(&maintenance_mu_);
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  const int64_t now_ms = NowMs();
  int64_t total = 0;
  for (const auto& seg : segments_) total += seg->size_bytes();
  int deleted = 0;
  while (segments_.size() > 1) {
    Segment& oldest = *segments_.front();
    if (oldest.next_offset() > high_watermark_) break;
    const bool by_bytes =
        limits.retention_bytes >= 0 &&
        total - static_cast<int64_t>(oldest.size_bytes()) >= limits.retention_bytes;
    const bool by_time =
        limits.retention_ms >= 0 && oldest.max_timestamp() < now_ms - limits.retention_ms;
    if (!by_bytes && !by_time) break;
    total -= oldest.size_bytes();
    if (absl::Status s = oldest.Delete(); !s.ok()) return Fail(s);
    segments_.erase(segments_.begin());
    ++deleted;
  }
  if (deleted > 0) {
    if (absl::Status s = fs_.SyncDir(dir_); !s.ok()) return Fail(s);
    if (absl::Status s = epochs_.TruncateFromStart(segments_.front()->base_offset()); !s.ok()) {
      return Fail(s);
    }
  }
  return deleted;
}

absl::Status PartitionLog::SetHighWatermark(Offset offset) {
  absl::MutexLock lock(&mu_);
  if (offset > LogEndLocked() || offset < segments_.front()->base_offset()) {
    return absl::InvalidArgumentError(
        absl::StrCat("high watermark ", offset.value(), " outside the log"));
  }
  high_watermark_ = offset;
  return absl::OkStatus();
}

absl::Status PartitionLog::Checkpoint() {
  const Offset flushed = flushed_offset();
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  const Offset rp = std::min(flushed, LogEndLocked());
  if (absl::Status s = WriteOffsetCheckpoint(fs_, dir_, kRecoveryPointFile, rp); !s.ok()) {
    return Fail(s);
  }
  recovery_point_ = rp;
  if (absl::Status s = WriteOffsetCheckpoint(fs_, dir_, kHighWatermarkFile, high_watermark_);
      !s.ok()) {
    return Fail(s);
  }
  return absl::OkStatus();
}

absl::Status PartitionLog::Close() {
  RETURN_IF_ERROR(Flush().status());
  return Checkpoint();
}

}  // namespace fjord::storage
