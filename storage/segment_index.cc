#include "storage/segment_index.h"

#include <algorithm>

#include "common/status_macros.h"
#include "storage/byte_order.h"

namespace fjord::storage {

absl::StatusOr<SegmentIndex> SegmentIndex::Open(FileSystem& fs, const std::string& offset_path,
                                                const std::string& time_path) {
  ASSIGN_OR_RETURN(std::unique_ptr<File> offsets, fs.Open(offset_path, OpenMode::kCreate));
  ASSIGN_OR_RETURN(std::unique_ptr<File> times, fs.Open(time_path, OpenMode::kCreate));
  return SegmentIndex(std::move(offsets), std::move(times));
}

absl::StatusOr<bool> SegmentIndex::Load(uint64_t log_size) {
  offsets_.clear();
  times_.clear();
  std::string raw(offset_file_->Size(), '\0');
  ASSIGN_OR_RETURN(size_t n, offset_file_->ReadAt(0, raw.size(), raw.data()));
  if (n != raw.size() || n % kOffsetIndexEntrySize != 0) return false;
  for (size_t i = 0; i < n; i += kOffsetIndexEntrySize) {
    OffsetIndexEntry e{static_cast<int32_t>(LoadBe32(&raw[i])),
                       static_cast<int32_t>(LoadBe32(&raw[i + 4]))};
    const bool first = offsets_.empty();
    if (first ? (e.relative_offset != 0 || e.position != 0)
              : (e.relative_offset <= offsets_.back().relative_offset ||
                 e.position <= offsets_.back().position)) {
      offsets_.clear();
      return false;
    }
    if (static_cast<uint64_t>(e.position) >= log_size) {
      offsets_.clear();
      return false;
    }
    offsets_.push_back(e);
  }
  if (log_size > 0 && offsets_.empty()) return false;

  raw.assign(time_file_->Size(), '\0');
  ASSIGN_OR_RETURN(n, time_file_->ReadAt(0, raw.size(), raw.data()));
  if (n != raw.size() || n % kTimeIndexEntrySize != 0) {
    offsets_.clear();
    return false;
  }
  for (size_t i = 0; i < n; i += kTimeIndexEntrySize) {
    TimeIndexEntry e{static_cast<int64_t>(LoadBe64(&raw[i])),
                     static_cast<int32_t>(LoadBe32(&raw[i + 8]))};
    if (e.relative_offset < 0 ||
        (!times_.empty() && (e.timestamp <= times_.back().timestamp ||
                             e.relative_offset < times_.back().relative_offset))) {
      offsets_.clear();
      times_.clear();
      return false;
    }
    times_.push_back(e);
  }
  max_indexed_timestamp_ = times_.empty() ? -1 : times_.back().timestamp;
  max_timestamp_ = max_indexed_timestamp_;
  bytes_since_entry_ = 0;
  resident_ = true;
  return true;
}

absl::Status SegmentIndex::AppendTime(int64_t timestamp, int32_t relative_offset) {
  char buf[kTimeIndexEntrySize];
  StoreBe64(buf, static_cast<uint64_t>(timestamp));
  StoreBe32(buf + 8, static_cast<uint32_t>(relative_offset));
  RETURN_IF_ERROR(time_file_->Append(std::string_view(buf, sizeof(buf))));
  times_.push_back({timestamp, relative_offset});
  max_indexed_timestamp_ = timestamp;
  return absl::OkStatus();
}

absl::Status SegmentIndex::OnBatch(int32_t relative_offset, int32_t position, int64_t max_timestamp,
                                   uint32_t size, int64_t index_interval_bytes) {
  RETURN_IF_ERROR(EnsureResident());
  max_timestamp_ = std::max(max_timestamp_, max_timestamp);
  if (offsets_.empty() || bytes_since_entry_ >= index_interval_bytes) {
    // The first entry is always (0, 0), also when log compaction left the
    // first batch starting after the segment's base: every offset of the
    // segment is at or after byte 0.
    const int32_t indexed = offsets_.empty() ? 0 : relative_offset;
    char buf[kOffsetIndexEntrySize];
    StoreBe32(buf, static_cast<uint32_t>(indexed));
    StoreBe32(buf + 4, static_cast<uint32_t>(position));
    RETURN_IF_ERROR(offset_file_->Append(std::string_view(buf, sizeof(buf))));
    offsets_.push_back({indexed, position});
    bytes_since_entry_ = 0;
    if (max_timestamp_ > max_indexed_timestamp()) {
      RETURN_IF_ERROR(AppendTime(max_timestamp_, relative_offset));
    }
  }
  bytes_since_entry_ += size;
  return absl::OkStatus();
}

absl::Status SegmentIndex::OnClose(int64_t max_timestamp, int32_t relative_offset) {
  RETURN_IF_ERROR(EnsureResident());
  max_timestamp_ = std::max(max_timestamp_, max_timestamp);
  if (max_timestamp_ > max_indexed_timestamp()) {
    return AppendTime(max_timestamp_, relative_offset);
  }
  return absl::OkStatus();
}

absl::Status SegmentIndex::Reset() {
  offsets_.clear();
  times_.clear();
  bytes_since_entry_ = 0;
  max_timestamp_ = -1;
  max_indexed_timestamp_ = -1;
  resident_ = true;
  RETURN_IF_ERROR(offset_file_->Truncate(0));
  return time_file_->Truncate(0);
}

absl::Status SegmentIndex::Sync() {
  RETURN_IF_ERROR(offset_file_->Sync());
  return time_file_->Sync();
}

void SegmentIndex::Release() {
  // Swap with empties: assigning {} would keep the capacity.
  std::vector<OffsetIndexEntry>().swap(offsets_);
  std::vector<TimeIndexEntry>().swap(times_);
  resident_ = false;
}

absl::Status SegmentIndex::EnsureResident() {
  if (resident_) return absl::OkStatus();
  const uint64_t offsets = offset_file_->Size() / kOffsetIndexEntrySize;
  for (uint64_t i = 0; i < offsets; ++i) {
    ASSIGN_OR_RETURN(OffsetIndexEntry e, ReadOffsetEntry(i));
    offsets_.push_back(e);
  }
  const uint64_t times = time_file_->Size() / kTimeIndexEntrySize;
  for (uint64_t i = 0; i < times; ++i) {
    ASSIGN_OR_RETURN(TimeIndexEntry e, ReadTimeEntry(i));
    times_.push_back(e);
  }
  resident_ = true;
  return absl::OkStatus();
}

absl::StatusOr<OffsetIndexEntry> SegmentIndex::ReadOffsetEntry(uint64_t i) const {
  char buf[kOffsetIndexEntrySize];
  ASSIGN_OR_RETURN(size_t n, offset_file_->ReadAt(i * sizeof(buf), sizeof(buf), buf));
  if (n != sizeof(buf)) return absl::DataLossError("offset index shrank");
  return OffsetIndexEntry{static_cast<int32_t>(LoadBe32(buf)),
                          static_cast<int32_t>(LoadBe32(buf + 4))};
}

absl::StatusOr<TimeIndexEntry> SegmentIndex::ReadTimeEntry(uint64_t i) const {
  char buf[kTimeIndexEntrySize];
  ASSIGN_OR_RETURN(size_t n, time_file_->ReadAt(i * sizeof(buf), sizeof(buf), buf));
  if (n != sizeof(buf)) return absl::DataLossError("time index shrank");
  return TimeIndexEntry{static_cast<int64_t>(LoadBe64(buf)),
                        static_cast<int32_t>(LoadBe32(buf + 8))};
}

absl::StatusOr<int32_t> SegmentIndex::LookupPosition(int32_t relative_offset) const {
  if (resident_) {
    auto it = std::upper_bound(
        offsets_.begin(), offsets_.end(), relative_offset,
        [](int32_t rel, const OffsetIndexEntry& e) { return rel < e.relative_offset; });
    return it == offsets_.begin() ? 0 : std::prev(it)->position;
  }
  // Binary search on the file: first entry with a larger relative offset.
  uint64_t lo = 0, hi = offset_file_->Size() / kOffsetIndexEntrySize;
  int32_t position = 0;
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    ASSIGN_OR_RETURN(OffsetIndexEntry e, ReadOffsetEntry(mid));
    if (e.relative_offset <= relative_offset) {
      position = e.position;
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return position;
}

absl::StatusOr<int32_t> SegmentIndex::LookupBeforeTimestamp(int64_t timestamp) const {
  if (resident_) {
    auto it =
        std::lower_bound(times_.begin(), times_.end(), timestamp,
                         [](const TimeIndexEntry& e, int64_t ts) { return e.timestamp < ts; });
    return it == times_.begin() ? -1 : std::prev(it)->relative_offset;
  }
  uint64_t lo = 0, hi = time_file_->Size() / kTimeIndexEntrySize;
  int32_t relative = -1;
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    ASSIGN_OR_RETURN(TimeIndexEntry e, ReadTimeEntry(mid));
    if (e.timestamp < timestamp) {
      relative = e.relative_offset;
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return relative;
}

}  // namespace fjord::storage
