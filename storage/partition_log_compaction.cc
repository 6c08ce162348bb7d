// PartitionLog's log compaction and the recovery of an interrupted swap
// (contract and crash protocol in partition_log.h).
#include <algorithm>
#include <limits>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/assert.h"
#include "common/status_macros.h"
#include "storage/batch_filter.h"
#include "storage/batch_scanner.h"
#include "storage/checkpoint_file.h"
#include "storage/partition_log.h"

namespace fjord::storage {
namespace {

constexpr size_t kBaseDigits = 20;
constexpr char kCleanedSuffix[] = ".cleaned";
constexpr char kSwapSuffix[] = ".swap";
// Per key in the offset map beyond the key bytes: the hash slot, the
// std::string and the offset (an estimate that errs high).
constexpr size_t kMapEntryOverheadBytes = 64;

std::string PathIn(const std::string& dir, Offset base, const char* ext, const char* suffix = "") {
  return absl::StrCat(dir, "/", Segment::FileName(base, ext), suffix);
}

// "00000000000000000042<rest>" -> 42 when `name` is exactly that.
std::optional<Offset> ParseBase(const std::string& name, absl::string_view rest) {
  if (name.size() != kBaseDigits + rest.size() || !absl::EndsWith(name, rest)) return std::nullopt;
  int64_t base = 0;
  if (!absl::SimpleAtoi(name.substr(0, kBaseDigits), &base) || base < 0) return std::nullopt;
  return Offset(base);
}

absl::Status UnlinkIfPresent(FileSystem& fs, const std::string& path) {
  absl::Status s = fs.Unlink(path);
  return absl::IsNotFound(s) ? absl::OkStatus() : s;
}

absl::Status UnlinkSegmentFiles(FileSystem& fs, const std::string& dir, Offset base,
                                const char* suffix) {
  for (const char* ext : {".log", ".index", ".timeindex"}) {
    RETURN_IF_ERROR(UnlinkIfPresent(fs, PathIn(dir, base, ext, suffix)));
  }
  return absl::OkStatus();
}

// Last offset held by the batches of `path`, or `base - 1` when none.
absl::StatusOr<Offset> LastOffsetIn(FileSystem& fs, const std::string& path, Offset base) {
  ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs.Open(path, OpenMode::kExisting));
  Offset last = base - 1;
  ASSIGN_OR_RETURN(
      ScanEnd end,
      ScanBatches(*file, {.expected_base = base, .allow_offset_gaps = true, .verify_crc = true},
                  [&](uint64_t, const BatchHeader& h) {
                    last = h.last_offset();
                    return true;
                  }));
  // Written and fsynced whole before it was renamed to .swap.
  if (!end.problem.ok()) {
    return absl::DataLossError(absl::StrCat(path, ": committed compaction swap is damaged at byte ",
                                            end.position, ": ", end.problem.message()));
  }
  return last;
}

}  // namespace

// One group of consecutive cleanable segments that becomes one segment.
struct PartitionLog::CleanedGroup {
  std::vector<Segment*> sources;
  // Where the group ends: the base of the segment after it.
  Offset end{0};
  std::unique_ptr<Segment> cleaned;
};

absl::Status PartitionLog::RecoverCompactionSwap() {
  ASSIGN_OR_RETURN(const std::vector<std::string> names, fs_.List(dir_));
  bool changed = false;
  std::vector<Offset> live_bases;
  std::vector<Offset> swap_bases;
  for (const std::string& name : names) {
    if (absl::EndsWith(name, kCleanedSuffix)) {
      RETURN_IF_ERROR(fs_.Unlink(absl::StrCat(dir_, "/", name)));  // Never committed.
      changed = true;
    } else if (std::optional<Offset> base = ParseBase(name, ".log")) {
      live_bases.push_back(*base);
    } else if (std::optional<Offset> swap = ParseBase(name, ".log.swap")) {
      swap_bases.push_back(*swap);
    }
  }
  for (const Offset base : swap_bases) {
    // Committed: finish it. The group's other segments may still be there.
    ASSIGN_OR_RETURN(const Offset last,
                     LastOffsetIn(fs_, PathIn(dir_, base, ".log", kSwapSuffix), base));
    std::optional<Offset> next_live;
    for (const Offset live : live_bases) {
      if (live > base && live <= last) RETURN_IF_ERROR(UnlinkSegmentFiles(fs_, dir_, live, ""));
      if (live > base && live > last && (!next_live.has_value() || live < *next_live)) {
        next_live = live;
      }
    }
    // The crash may have come before the swap's checkpoint: everything
    // below the next segment is clean (a leftover of the group there is
    // merely dirty).
    if (next_live.has_value()) {
      ASSIGN_OR_RETURN(std::optional<Offset> checkpoint,
                       ReadOffsetCheckpoint(fs_, dir_, kCleanerOffsetFile));
      if (!checkpoint.has_value() || *checkpoint < *next_live) {
        RETURN_IF_ERROR(WriteOffsetCheckpoint(fs_, dir_, kCleanerOffsetFile, *next_live));
      }
    }
    for (const char* ext : {".index", ".timeindex"}) {
      const std::string swap = PathIn(dir_, base, ext, kSwapSuffix);
      absl::Status renamed = fs_.Rename(swap, PathIn(dir_, base, ext));
      if (absl::IsNotFound(renamed)) {
        // Rebuilt from the log on load: the old ones describe the old file.
        renamed = UnlinkIfPresent(fs_, PathIn(dir_, base, ext));
      }
      RETURN_IF_ERROR(renamed);
    }
    RETURN_IF_ERROR(
        fs_.Rename(PathIn(dir_, base, ".log", kSwapSuffix), PathIn(dir_, base, ".log")));
    changed = true;
  }
  for (const std::string& name : names) {
    // Index .swap files whose log never reached .swap: not committed.
    for (const char* rest : {".index.swap", ".timeindex.swap"}) {
      std::optional<Offset> base = ParseBase(name, rest);
      if (base.has_value() &&
          std::find(swap_bases.begin(), swap_bases.end(), *base) == swap_bases.end()) {
        RETURN_IF_ERROR(fs_.Unlink(absl::StrCat(dir_, "/", name)));
        changed = true;
      }
    }
  }
  return changed ? fs_.SyncDir(dir_) : absl::OkStatus();
}

Offset PartitionLog::SegmentEndLocked(size_t i) const {
  return i + 1 < segments_.size() ? segments_[i + 1]->base_offset() : LogEndLocked();
}

std::pair<size_t, Offset> PartitionLog::CleanableSegmentsLocked(const CompactionConfig& config,
                                                                int64_t now_ms) const {
  // Never the active segment, nothing at or above the high watermark, and
  // nothing younger than min.compaction.lag.ms (Kafka's first uncleanable
  // offset).
  const Offset limit = std::min(high_watermark_, segments_.back()->base_offset());
  size_t n = 0;
  for (size_t i = 0; i + 1 < segments_.size(); ++i) {
    if (SegmentEndLocked(i) > limit) break;
    if (config.min_compaction_lag_ms > 0 &&
        segments_[i]->max_timestamp() > now_ms - config.min_compaction_lag_ms) {
      break;
    }
    n = i + 1;
  }
  return {n, n > 0 ? SegmentEndLocked(n - 1) : segments_.front()->base_offset()};
}

absl::StatusOr<CleanableState> PartitionLog::GetCleanableState(
    const CompactionConfig& config) const {
  RETURN_IF_ERROR(config.Validate());
  const int64_t now_ms = NowMs();
  absl::MutexLock maintenance(&maintenance_mu_);
  absl::ReaderMutexLock lock(&mu_);
  RETURN_IF_ERROR(ReadableLocked());
  CleanableState state;
  const auto [n, end] = CleanableSegmentsLocked(config, now_ms);
  state.first_dirty = std::max(first_dirty_, segments_.front()->base_offset());
  state.first_uncleanable = end;
  for (size_t i = 0; i < n; ++i) {
    const int64_t size = static_cast<int64_t>(segments_[i]->size_bytes());
    (SegmentEndLocked(i) <= state.first_dirty ? state.clean_bytes : state.dirty_bytes) += size;
  }
  // -1: not known since Open; Kafka treats that as due as well.
  state.tombstones_due = state.clean_bytes > 0 && now_ms >= next_delete_horizon_ms_;
  return state;
}

absl::StatusOr<CompactionStats> PartitionLog::Compact(const CompactionConfig& config) {
  RETURN_IF_ERROR(config.Validate());
  const int64_t now_ms = NowMs();
  absl::MutexLock maintenance(&maintenance_mu_);
  std::vector<Segment*> segs;
  std::vector<Offset> ends;
  Offset first_dirty;
  {
    absl::ReaderMutexLock lock(&mu_);
    RETURN_IF_ERROR(failure_);
    const size_t n = CleanableSegmentsLocked(config, now_ms).first;
    for (size_t i = 0; i < n; ++i) {
      segs.push_back(segments_[i].get());
      ends.push_back(SegmentEndLocked(i));
    }
    first_dirty = std::max(first_dirty_, segments_.front()->base_offset());
  }
  // From here the segments in `segs` are closed and immutable, and only
  // this thread may remove them (maintenance_mu_): read them unlocked.
  CompactionStats stats;
  stats.cleaned_up_to = first_dirty;
  size_t dirty = 0;
  while (dirty < segs.size() && ends[dirty] <= first_dirty) ++dirty;
  int64_t clean_bytes = 0;
  for (size_t i = 0; i < dirty; ++i) clean_bytes += segs[i]->size_bytes();
  const bool tombstones_due = clean_bytes > 0 && now_ms >= next_delete_horizon_ms_;
  if (dirty == segs.size() && !tombstones_due) return stats;

  auto aborted = [&]() -> absl::Status {
    if (truncations_waiting_.load() > 0) {
      return absl::AbortedError("compaction gave way to a truncation");
    }
    return absl::OkStatus();
  };

  // The offset map: latest offset of every key in the dirty part, bounded
  // by offset_map_max_bytes (checked after each segment, so one segment
  // always fits).
  absl::flat_hash_map<std::string, Offset> latest;
  size_t map_bytes = 0;
  size_t mapped_end = dirty;
  for (size_t i = dirty; i < segs.size() && map_bytes < config.offset_map_max_bytes; ++i) {
    ASSIGN_OR_RETURN(
        ScanEnd end,
        ScanBatchBytes(
            *segs[i]->log_file(), {.allow_offset_gaps = true, .chunk_bytes = 1 << 20},
            [&](uint64_t, const BatchHeader& h, std::string_view batch) -> absl::StatusOr<bool> {
              RETURN_IF_ERROR(aborted());
              stats.bytes_read += static_cast<int64_t>(batch.size());
              if (h.is_control()) return true;
              BatchLimits limits;
              limits.max_batch_bytes = std::numeric_limits<int32_t>::max();
              ASSIGN_OR_RETURN(DecodedBatch d, DecodedBatch::Decode(batch, limits));
              for (const Record& r : d.records()) {
                if (!r.key.has_value()) continue;
                auto [it, inserted] =
                    latest.try_emplace(std::string(*r.key), h.base_offset + r.offset_delta);
                if (inserted) {
                  map_bytes += r.key->size() + kMapEntryOverheadBytes;
                } else {
                  it->second = h.base_offset + r.offset_delta;
                }
              }
              return true;
            }));
    if (!end.problem.ok()) {
      return absl::DataLossError(absl::StrCat(segs[i]->log_path(), ": bad batch at byte ",
                                              end.position, ": ", end.problem.message()));
    }
    mapped_end = i + 1;
  }
  const size_t to_clean = std::max(mapped_end, dirty);
  const Offset cleaned_up_to = to_clean > 0 ? ends[to_clean - 1] : first_dirty;

  // Group consecutive segments whose sizes add up to at most segment.bytes
  // (Kafka's groupSegmentsBySize) and whose offsets fit int32 deltas.
  std::vector<CleanedGroup> groups;
  for (size_t i = 0; i < to_clean;) {
    CleanedGroup g;
    int64_t size = 0;
    const Offset base = segs[i]->base_offset();
    while (i < to_clean &&
           (g.sources.empty() ||
            (size + static_cast<int64_t>(segs[i]->size_bytes()) <= config.segment_bytes &&
             ends[i] - base <= std::numeric_limits<int32_t>::max()))) {
      size += static_cast<int64_t>(segs[i]->size_bytes());
      g.sources.push_back(segs[i]);
      ++i;
    }
    groups.push_back(std::move(g));
  }

  const std::optional<int64_t> horizon =
      now_ms + std::min(config.delete_retention_ms, std::numeric_limits<int64_t>::max() - now_ms);
  int64_t next_horizon = std::numeric_limits<int64_t>::max();
  size_t group_first = 0;
  for (CleanedGroup& g : groups) {
    group_first += g.sources.size();
    g.end = ends[group_first - 1];
    const Offset base = g.sources.front()->base_offset();
    ASSIGN_OR_RETURN(g.cleaned, Segment::CreateWithSuffix(fs_, dir_, base, now_ms, kCleanedSuffix));
    absl::Status copied = [&]() -> absl::Status {
      for (Segment* src : g.sources) {
        ASSIGN_OR_RETURN(
            ScanEnd end,
            ScanBatchBytes(
                *src->log_file(), {.allow_offset_gaps = true, .chunk_bytes = 1 << 20},
                [&](uint64_t, const BatchHeader& h,
                    std::string_view batch) -> absl::StatusOr<bool> {
                  RETURN_IF_ERROR(aborted());
                  std::string_view out = batch;
                  FilterResult f;
                  if (!h.is_control()) {
                    const bool drop_tombstones =
                        h.has_delete_horizon() && now_ms >= h.base_timestamp;
                    ASSIGN_OR_RETURN(f, FilterBatch(
                                            batch,
                                            [&](const Record& r, Offset offset) {
                                              // Keyless records are invalid in a
                                              // compacted log; Kafka's cleaner drops them.
                                              if (!r.key.has_value()) return false;
                                              auto it = latest.find(
                                                  absl::string_view(r.key->data(), r.key->size()));
                                              if (it != latest.end() && offset < it->second)
                                                return false;
                                              if (!r.value.has_value() && drop_tombstones) {
                                                ++stats.tombstones_dropped;
                                                return false;
                                              }
                                              return true;
                                            },
                                            horizon));
                    stats.records_kept += f.records_kept;
                    stats.records_dropped += f.records_dropped;
                    if (f.outcome == FilterOutcome::kDropAll) return true;
                    if (f.outcome == FilterOutcome::kRewritten) out = f.bytes;
                    if (f.tombstones_kept > 0) {
                      next_horizon = std::min(next_horizon,
                                              h.has_delete_horizon() ? h.base_timestamp : *horizon);
                    }
                  }
                  ASSIGN_OR_RETURN(const BatchHeader nh, ParseBatchHeader(out));
                  if (g.cleaned->size_bytes() + out.size() >
                      static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
                    return absl::ResourceExhaustedError("cleaned segment would pass 2 GiB");
                  }
                  RETURN_IF_ERROR(g.cleaned->Append(out, nh, config_.index_interval_bytes));
                  stats.bytes_written += static_cast<int64_t>(out.size());
                  return true;
                }));
        if (!end.problem.ok()) {
          return absl::DataLossError(absl::StrCat(src->log_path(), ": bad batch at byte ",
                                                  end.position, ": ", end.problem.message()));
        }
      }
      return g.cleaned->Close();
    }();
    if (!copied.ok()) {
      // This group is not committed: the log is as it was (earlier groups
      // are swapped in and stay, cleaned up to this group's base). Leave no
      // litter.
      (void)g.cleaned->Delete();
      return copied;
    }
    RETURN_IF_ERROR(SwapInCleaned(g));
  }
  stats.segments_before = static_cast<int>(to_clean);
  stats.segments_after = static_cast<int>(groups.size());
  stats.cleaned_up_to = cleaned_up_to;
  first_dirty_ = cleaned_up_to;
  next_delete_horizon_ms_ = next_horizon;
  return stats;
}

absl::Status PartitionLog::SwapInCleaned(CleanedGroup& g) {
  const Offset base = g.sources.front()->base_offset();
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(failure_);
  // 2. Commit: indexes first, the log last; B.log.swap is the commit point.
  for (const char* ext : {".index", ".timeindex", ".log"}) {
    if (absl::Status s = fs_.Rename(PathIn(dir_, base, ext, kCleanedSuffix),
                                    PathIn(dir_, base, ext, kSwapSuffix));
        !s.ok()) {
      return Fail(s);
    }
  }
  if (absl::Status s = fs_.SyncDir(dir_); !s.ok()) return Fail(s);
  // 3. Everything below the group's end is clean now; Open accepts the
  // gap the group may leave before its successor only below the checkpoint.
  if (g.end > first_dirty_) {
    if (absl::Status s = WriteOffsetCheckpoint(fs_, dir_, kCleanerOffsetFile, g.end); !s.ok()) {
      return Fail(s);
    }
    first_dirty_ = g.end;
  }
  // 4. The group's other segments, newest first.
  auto first = std::find_if(segments_.begin(), segments_.end(),
                            [&](const auto& seg) { return seg.get() == g.sources.front(); });
  FJORD_CHECK(first != segments_.end());
  const size_t at = static_cast<size_t>(first - segments_.begin());
  for (size_t k = g.sources.size(); k-- > 1;) {
    FJORD_CHECK(segments_[at + k].get() == g.sources[k]);
    if (absl::Status s = segments_[at + k]->Delete(); !s.ok()) return Fail(s);
  }
  // 5. Into place: indexes before the log, so B's indexes never describe
  // the other file once B.log.swap is gone.
  for (const char* ext : {".index", ".timeindex", ".log"}) {
    if (absl::Status s = fs_.Rename(PathIn(dir_, base, ext, kSwapSuffix), PathIn(dir_, base, ext));
        !s.ok()) {
      return Fail(s);
    }
  }
  if (absl::Status s = fs_.SyncDir(dir_); !s.ok()) return Fail(s);
  absl::StatusOr<std::unique_ptr<Segment>> seg = Segment::Open(fs_, dir_, base, NowMs());
  if (!seg.ok()) return Fail(seg.status());
  if (absl::Status s = (*seg)->LoadClean(config_.index_interval_bytes); !s.ok()) return Fail(s);
  segments_.erase(segments_.begin() + static_cast<std::ptrdiff_t>(at) + 1,
                  segments_.begin() + static_cast<std::ptrdiff_t>(at + g.sources.size()));
  segments_[at] = std::move(*seg);
  g.cleaned.reset();
  return absl::OkStatus();
}

}  // namespace fjord::storage
