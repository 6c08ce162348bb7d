#include "storage/leader_epoch_cache.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace fjord::storage {

absl::StatusOr<LeaderEpochCache> LeaderEpochCache::Load(FileSystem& fs, std::string dir) {
  ASSIGN_OR_RETURN(EpochEntries entries, ReadEpochCheckpoint(fs, dir));
  for (size_t i = 1; i < entries.size(); ++i) {
    if (entries[i].first <= entries[i - 1].first || entries[i].second < entries[i - 1].second) {
      return absl::DataLossError(
          absl::StrCat(dir, "/", kLeaderEpochFile, ": entries not increasing at line ", i + 3));
    }
  }
  return LeaderEpochCache(&fs, std::move(dir), std::move(entries));
}

absl::Status LeaderEpochCache::Assign(LeaderEpoch epoch, Offset start) {
  if (!entries_.empty()) {
    const auto& [last_epoch, last_start] = entries_.back();
    if (epoch == last_epoch) return absl::OkStatus();
    if (epoch < last_epoch) {
      return absl::InvalidArgumentError(absl::StrCat(
          "leader epoch ", epoch.value(), " is older than the latest epoch ", last_epoch.value()));
    }
    if (start < last_start) {
      return absl::InvalidArgumentError(
          absl::StrCat("epoch ", epoch.value(), " start ", start.value(), " before epoch ",
                       last_epoch.value(), " start ", last_start.value()));
    }
    // Two epochs with no records between them: the older one is empty.
    if (start == last_start) entries_.pop_back();
  }
  entries_.emplace_back(epoch, start);
  return WriteEpochCheckpoint(*fs_, dir_, entries_);
}

std::pair<LeaderEpoch, Offset> LeaderEpochCache::EndOffsetFor(LeaderEpoch epoch,
                                                              Offset log_end) const {
  if (entries_.empty() || epoch < entries_.front().first) return {kNoLeaderEpoch, kInvalidOffset};
  if (epoch >= entries_.back().first) return {entries_.back().first, log_end};
  // The first entry with a larger epoch ends the one we want.
  size_t i = 0;
  while (entries_[i + 1].first <= epoch) ++i;
  return {entries_[i].first, entries_[i + 1].second};
}

absl::Status LeaderEpochCache::TruncateFromEnd(Offset end) {
  const size_t before = entries_.size();
  while (!entries_.empty() && entries_.back().second >= end) entries_.pop_back();
  if (entries_.size() == before) return absl::OkStatus();
  return WriteEpochCheckpoint(*fs_, dir_, entries_);
}

absl::Status LeaderEpochCache::TruncateFromStart(Offset start) {
  size_t first_kept = 0;
  while (first_kept + 1 < entries_.size() && entries_[first_kept + 1].second <= start) {
    ++first_kept;
  }
  if (first_kept == 0 && (entries_.empty() || entries_[0].second >= start)) {
    return absl::OkStatus();
  }
  entries_.erase(entries_.begin(), entries_.begin() + first_kept);
  if (entries_[0].second < start) entries_[0].second = start;
  return WriteEpochCheckpoint(*fs_, dir_, entries_);
}

std::optional<LeaderEpoch> LeaderEpochCache::latest_epoch() const {
  if (entries_.empty()) return std::nullopt;
  return entries_.back().first;
}

}  // namespace fjord::storage
