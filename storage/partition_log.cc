#include "storage/partition_log.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "storage/checkpoint_file.h"

namespace fjord::storage {

absl::Status PartitionLog::Fail(absl::Status status) {
  // A full disk (ENOSPC/EDQUOT) fails a write before the log counts it, so
  // what the log holds is still exactly what it says; any other failure (an
  // fsync error above all) means it may not be, and reads stop too.
  if (!absl::IsResourceExhausted(status)) reads_failed_ = true;
  if (failure_.ok()) {
    failure_ = absl::Status(
        status.code(),
        absl::StrCat("partition log ", dir_, " failed and is offline: ", status.message()));
  }
  return failure_;
}

absl::Status PartitionLog::AssignEpoch(LeaderEpoch epoch, Offset start) {
  absl::Status s = epochs_.Assign(epoch, start);
  // A stale epoch is the caller's error; failing to persist the checkpoint
  // is an I/O error and fails the log like any other.
  if (s.ok() || absl::IsInvalidArgument(s)) return s;
  return Fail(s);
}

absl::StatusOr<AppendResult> PartitionLog::AppendAsLeader(absl::Span<char> batch, LeaderEpoch epoch,
                                                          AppendWait wait) {
  AppendResult result;
  int64_t records = 0;
  {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(failure_);
    const std::string_view bytes(batch.data(), batch.size());
    ASSIGN_OR_RETURN(BatchHeader h, ParseBatchHeader(bytes));
    if (h.size_bytes() != bytes.size()) {
      return absl::InvalidArgumentError("AppendAsLeader takes exactly one batch");
    }
    if (bytes.size() > config_.batch_limits.max_batch_bytes) {
      return absl::InvalidArgumentError(absl::StrCat("batch of ", bytes.size(),
                                                     " bytes is larger than max.message.bytes ",
                                                     config_.batch_limits.max_batch_bytes));
    }
    h.base_offset = LogEndLocked();
    h.partition_leader_epoch = epoch;
    RETURN_IF_ERROR(AssignEpoch(epoch, h.base_offset));
    RewriteBaseOffset(batch.data(), h.base_offset, epoch);
    ASSIGN_OR_RETURN(result, AppendLocked(bytes, h));
    records = h.last_offset_delta + 1;
  }
  RETURN_IF_ERROR(AfterAppend(result, records, wait));
  return result;
}

absl::StatusOr<AppendResult> PartitionLog::AppendAsFollower(std::string_view batches) {
  std::optional<AppendResult> result;
  int64_t records = 0;
  {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(failure_);
    BatchIterator it(batches);
    while (it.Next()) {
      const BatchHeader& h = it.header();
      // A gap is what the leader's log compaction left; going back is not.
      if (h.base_offset < LogEndLocked()) {
        return absl::InvalidArgumentError(
            absl::StrCat("follower batch at offset ", h.base_offset.value(),
                         " starts below the log end ", LogEndLocked().value()));
      }
      if (ComputeBatchCrc(it.batch()) != h.crc) {
        return absl::DataLossError(
            absl::StrCat("follower batch at offset ", h.base_offset.value(), ": CRC mismatch"));
      }
      if (!epochs_.latest_epoch().has_value() ||
          h.partition_leader_epoch > *epochs_.latest_epoch()) {
        RETURN_IF_ERROR(AssignEpoch(h.partition_leader_epoch, h.base_offset));
      }
      ASSIGN_OR_RETURN(AppendResult one, AppendLocked(it.batch(), h));
      if (!result.has_value()) result = one;
      result->last_offset = one.last_offset;
      records += h.last_offset_delta + 1;
    }
    RETURN_IF_ERROR(it.status());
    if (!result.has_value()) return absl::InvalidArgumentError("no batches to append");
  }
  RETURN_IF_ERROR(AfterAppend(*result, records, AppendWait::kDurable));
  return *result;
}

absl::StatusOr<AppendResult> PartitionLog::AppendLocked(std::string_view batch,
                                                        const BatchHeader& h) {
  Segment* seg = &active();
  const bool too_big =
      seg->size_bytes() + batch.size() > static_cast<uint64_t>(config_.segment_bytes);
  const bool too_old = absl::Milliseconds(NowMs() - seg->rolling_timestamp()) > config_.segment_ms;
  if (!seg->empty() && (too_big || too_old)) {
    RETURN_IF_ERROR(RollLocked());
    seg = &active();
  }
  if (absl::Status s = seg->Append(batch, h, config_.index_interval_bytes); !s.ok()) {
    return Fail(s);
  }
  if (unsynced_.empty() || unsynced_.back() != seg->log_file()) {
    unsynced_.push_back(seg->log_file());
  }
  return AppendResult{h.base_offset, h.last_offset()};
}

absl::Status PartitionLog::AfterAppend(const AppendResult& result, int64_t records,
                                       AppendWait wait) {
  switch (config_.flush_policy) {
    case FlushPolicy::kAlways:
      return wait == AppendWait::kDurable ? WaitDurable(result.last_offset + 1) : absl::OkStatus();
    case FlushPolicy::kInterval: {
      bool due = false;
      {
        absl::MutexLock lock(&mu_);
        unflushed_records_ += records;
        due = unflushed_records_ >= config_.flush_messages;
      }
      return due ? Flush().status() : absl::OkStatus();
    }
    case FlushPolicy::kNever:
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::Status PartitionLog::RollLocked() {
  Segment& old = active();
  if (old.empty()) return absl::OkStatus();
  if (absl::Status s = old.Close(); !s.ok()) return Fail(s);
  const Offset end = old.next_offset();
  {
    absl::MutexLock lock(&flush_mu_);
    durable_ = std::max(durable_, end);
  }
  unsynced_.clear();
  absl::StatusOr<std::unique_ptr<Segment>> seg = Segment::Create(fs_, dir_, end, NowMs());
  if (!seg.ok()) return Fail(seg.status());
  // The new file's directory entry must be durable before its data can be.
  if (absl::Status s = fs_.SyncDir(dir_); !s.ok()) return Fail(s);
  segments_.push_back(std::move(*seg));
  return absl::OkStatus();
}

absl::Status PartitionLog::Roll() {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  return RollLocked();
}

absl::Status PartitionLog::ReadableLocked() const {
  return reads_failed_ ? failure_ : absl::OkStatus();
}

absl::StatusOr<std::string> PartitionLog::Read(Offset offset, size_t max_bytes,
                                               Offset max_offset) const {
  absl::ReaderMutexLock lock(&mu_);
  RETURN_IF_ERROR(ReadableLocked());
  const Offset start = segments_.front()->base_offset();
  const Offset end = LogEndLocked();
  if (offset < start || offset > end) {
    return absl::OutOfRangeError(absl::StrCat("offset ", offset.value(), " outside the log [",
                                              start.value(), ", ", end.value(), "]"));
  }
  auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                             [](Offset o, const auto& seg) { return o < seg->base_offset(); });
  // A compacted segment may end before the next one starts, or be empty:
  // an offset in such a gap reads from the next batch that exists.
  for (it = std::prev(it);; ++it) {
    ASSIGN_OR_RETURN(std::string out, (*it)->Read(offset, max_bytes, max_offset));
    if (!out.empty() || std::next(it) == segments_.end() ||
        (*std::next(it))->base_offset() >= max_offset) {
      return out;
    }
  }
}

absl::StatusOr<std::optional<Offset>> PartitionLog::OffsetForTimestamp(int64_t timestamp_ms) const {
  absl::ReaderMutexLock lock(&mu_);
  RETURN_IF_ERROR(ReadableLocked());
  for (const auto& seg : segments_) {
    if (seg->max_timestamp() >= timestamp_ms) return seg->FindOffsetForTimestamp(timestamp_ms);
  }
  return std::optional<Offset>();
}

std::pair<LeaderEpoch, Offset> PartitionLog::EndOffsetForEpoch(LeaderEpoch epoch) const {
  absl::ReaderMutexLock lock(&mu_);
  return epochs_.EndOffsetFor(epoch, LogEndLocked());
}

std::optional<LeaderEpoch> PartitionLog::latest_epoch() const {
  absl::ReaderMutexLock lock(&mu_);
  return epochs_.latest_epoch();
}

Offset PartitionLog::log_start_offset() const {
  absl::ReaderMutexLock lock(&mu_);
  return segments_.front()->base_offset();
}

Offset PartitionLog::log_end_offset() const {
  absl::ReaderMutexLock lock(&mu_);
  return LogEndLocked();
}

Offset PartitionLog::high_watermark() const {
  absl::ReaderMutexLock lock(&mu_);
  return high_watermark_;
}

Offset PartitionLog::recovery_point() const {
  absl::ReaderMutexLock lock(&mu_);
  return recovery_point_;
}

Offset PartitionLog::flushed_offset() const {
  absl::MutexLock lock(&flush_mu_);
  return durable_;
}

int64_t PartitionLog::size_bytes() const {
  absl::ReaderMutexLock lock(&mu_);
  int64_t total = 0;
  for (const auto& seg : segments_) total += seg->size_bytes();
  return total;
}

size_t PartitionLog::segment_count() const {
  absl::ReaderMutexLock lock(&mu_);
  return segments_.size();
}

size_t PartitionLog::memory_bytes() const {
  absl::ReaderMutexLock lock(&mu_);
  size_t total = sizeof(*this);
  for (const auto& seg : segments_) total += seg->memory_bytes();
  return total;
}

absl::Status PartitionLog::health() const {
  absl::ReaderMutexLock lock(&mu_);
  return failure_;
}

}  // namespace fjord::storage
