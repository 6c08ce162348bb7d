// PartitionLog::Open and crash recovery (contract in partition_log.h).
#include <algorithm>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"
#include "storage/checkpoint_file.h"
#include "storage/partition_log.h"

namespace fjord::storage {
namespace {

constexpr size_t kBaseDigits = 20;

// "00000000000000000042.log" -> 42.
std::optional<Offset> ParseSegmentName(const std::string& name) {
  if (name.size() != kBaseDigits + 4 || !absl::EndsWith(name, ".log")) return std::nullopt;
  int64_t base = 0;
  if (!absl::SimpleAtoi(name.substr(0, kBaseDigits), &base) || base < 0) return std::nullopt;
  return Offset(base);
}

}  // namespace

PartitionLog::PartitionLog(FileSystem& fs, const Clock& clock, std::string dir, LogConfig config,
                           LeaderEpochCache epochs)
    : fs_(fs),
      clock_(clock),
      dir_(std::move(dir)),
      config_(std::move(config)),
      epochs_(std::move(epochs)),
      last_flush_(clock.Monotonic()) {}

absl::StatusOr<std::unique_ptr<PartitionLog>> PartitionLog::Open(FileSystem& fs, const Clock& clock,
                                                                 std::string dir,
                                                                 LogConfig config) {
  RETURN_IF_ERROR(config.Validate());
  RETURN_IF_ERROR(fs.CreateDir(dir));
  ASSIGN_OR_RETURN(LeaderEpochCache epochs, LeaderEpochCache::Load(fs, dir));
  std::unique_ptr<PartitionLog> log(
      new PartitionLog(fs, clock, std::move(dir), std::move(config), std::move(epochs)));
  absl::MutexLock maintenance(&log->maintenance_mu_);
  absl::MutexLock lock(&log->mu_);
  RETURN_IF_ERROR(log->RecoverCompactionSwap());
  ASSIGN_OR_RETURN(std::optional<Offset> first_dirty,
                   ReadOffsetCheckpoint(log->fs_, log->dir_, kCleanerOffsetFile));
  log->first_dirty_ = first_dirty.value_or(Offset(0));
  RETURN_IF_ERROR(log->Recover());
  return log;
}

absl::Status PartitionLog::Recover() {
  ASSIGN_OR_RETURN(const std::vector<std::string> names, fs_.List(dir_));
  std::vector<Offset> bases;
  for (const std::string& name : names) {
    const std::string path = absl::StrCat(dir_, "/", name);
    if (absl::EndsWith(name, kDeletedSuffix)) {
      RETURN_IF_ERROR(fs_.UnlinkInBackground(path));  // A deletion a crash cut short.
    } else if (absl::EndsWith(name, ".tmp")) {
      RETURN_IF_ERROR(fs_.Unlink(path));  // A checkpoint write cut short.
    } else if (std::optional<Offset> base = ParseSegmentName(name)) {
      bases.push_back(*base);
    } else if (absl::EndsWith(name, ".index") || absl::EndsWith(name, ".timeindex")) {
      const std::string log_name = name.substr(0, kBaseDigits) + ".log";
      if (!std::binary_search(names.begin(), names.end(), log_name)) {
        RETURN_IF_ERROR(fs_.Unlink(path));  // Orphan of a deleted segment.
      }
    }
  }
  std::sort(bases.begin(), bases.end());
  ASSIGN_OR_RETURN(std::optional<Offset> rp, ReadOffsetCheckpoint(fs_, dir_, kRecoveryPointFile));
  const Offset recovery_point = rp.value_or(Offset(0));
  const int64_t now_ms = NowMs();

  bool drop_rest = false;
  std::vector<Segment*> scanned;
  for (size_t i = 0; i < bases.size(); ++i) {
    ASSIGN_OR_RETURN(std::unique_ptr<Segment> seg, Segment::Open(fs_, dir_, bases[i], now_ms));
    // A gap before a segment below the cleaner checkpoint is what
    // compaction left (the checkpoint is written before a swap); anywhere
    // else a gap or an overlap is damage.
    const bool compacted_gap =
        segments_.empty() || (segments_.back()->next_offset() < seg->base_offset() &&
                              seg->base_offset() <= first_dirty_);
    if (!drop_rest && !segments_.empty() && !compacted_gap &&
        segments_.back()->next_offset() != seg->base_offset()) {
      if (segments_.back()->next_offset() < recovery_point) {
        return absl::DataLossError(
            absl::StrCat(seg->log_path(), ": segment starts at offset ", seg->base_offset().value(),
                         " but the previous one ends at ", segments_.back()->next_offset().value(),
                         ", below the recovery point ", recovery_point.value()));
      }
      drop_rest = true;  // Segments after a cut-off tail are unflushed too.
    }
    if (drop_rest) {
      spdlog::warn("{}: deleted by recovery: it follows a cut tail ({} unflushed bytes)",
                   seg->log_path(), seg->log_file()->Size());
      RETURN_IF_ERROR(seg->Delete());
      continue;
    }
    const bool wholly_flushed = i + 1 < bases.size() && bases[i + 1] <= recovery_point;
    if (wholly_flushed) {
      RETURN_IF_ERROR(seg->LoadClean(config_.index_interval_bytes));
    } else {
      bool truncated = false;
      RETURN_IF_ERROR(seg->Recover(recovery_point, config_.index_interval_bytes, &truncated));
      drop_rest = truncated;
      scanned.push_back(seg.get());
    }
    segments_.push_back(std::move(seg));
  }
  if (segments_.empty()) {
    if (recovery_point > Offset(0)) {
      return absl::DataLossError(
          absl::StrCat(dir_, ": no segments, but the recovery point is ", recovery_point.value()));
    }
    ASSIGN_OR_RETURN(std::unique_ptr<Segment> seg, Segment::Create(fs_, dir_, Offset(0), now_ms));
    segments_.push_back(std::move(seg));
  }
  const Offset log_end = LogEndLocked();
  if (log_end < recovery_point) {
    return absl::DataLossError(absl::StrCat(active().log_path(), ": log ends at offset ",
                                            log_end.value(), ", below the recovery point ",
                                            recovery_point.value()));
  }
  // What survived may sit in the page cache only (a process crash, not a
  // power cut): make it durable before calling it flushed.
  for (Segment* seg : scanned) {
    RETURN_IF_ERROR(seg->SyncLog());
    RETURN_IF_ERROR(seg->SyncIndexes());
    if (seg != &active()) seg->ReleaseIndex();
  }
  RETURN_IF_ERROR(fs_.SyncDir(dir_));
  RETURN_IF_ERROR(WriteOffsetCheckpoint(fs_, dir_, kRecoveryPointFile, log_end));
  recovery_point_ = log_end;
  {
    absl::MutexLock lock(&flush_mu_);
    durable_ = log_end;
  }
  RETURN_IF_ERROR(epochs_.TruncateFromEnd(log_end));
  RETURN_IF_ERROR(epochs_.TruncateFromStart(segments_.front()->base_offset()));
  ASSIGN_OR_RETURN(std::optional<Offset> hw, ReadOffsetCheckpoint(fs_, dir_, kHighWatermarkFile));
  high_watermark_ = std::clamp(hw.value_or(Offset(0)), segments_.front()->base_offset(), log_end);
  return absl::OkStatus();
}

}  // namespace fjord::storage
