#include "storage/segment.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"
#include "storage/batch_scanner.h"

namespace fjord::storage {
namespace {

std::string PathOf(const std::string& dir, Offset base, const char* ext,
                   const std::string& suffix = "") {
  return absl::StrCat(dir, "/", Segment::FileName(base, ext), suffix);
}

}  // namespace

std::string Segment::FileName(Offset base, const char* extension) {
  return absl::StrFormat("%020d%s", base.value(), extension);
}

Segment::Segment(FileSystem& fs, std::string dir, Offset base, std::shared_ptr<File> log,
                 SegmentIndex index, int64_t now_ms, std::string suffix)
    : fs_(fs),
      dir_(std::move(dir)),
      base_(base),
      suffix_(std::move(suffix)),
      log_path_(PathOf(dir_, base, ".log", suffix_)),
      log_(std::move(log)),
      index_(std::move(index)),
      next_(base),
      offset_of_max_timestamp_(base),
      created_ms_(now_ms) {}

absl::StatusOr<std::unique_ptr<Segment>> Segment::Create(FileSystem& fs, const std::string& dir,
                                                         Offset base, int64_t now_ms) {
  ASSIGN_OR_RETURN(std::unique_ptr<File> log,
                   fs.Open(PathOf(dir, base, ".log"), OpenMode::kCreateTruncate));
  ASSIGN_OR_RETURN(SegmentIndex index, SegmentIndex::Open(fs, PathOf(dir, base, ".index"),
                                                          PathOf(dir, base, ".timeindex")));
  RETURN_IF_ERROR(index.Reset());
  return std::unique_ptr<Segment>(
      new Segment(fs, dir, base, std::move(log), std::move(index), now_ms));
}

absl::StatusOr<std::unique_ptr<Segment>> Segment::CreateWithSuffix(FileSystem& fs,
                                                                   const std::string& dir,
                                                                   Offset base, int64_t now_ms,
                                                                   const std::string& suffix) {
  ASSIGN_OR_RETURN(std::unique_ptr<File> log,
                   fs.Open(PathOf(dir, base, ".log", suffix), OpenMode::kCreateTruncate));
  ASSIGN_OR_RETURN(SegmentIndex index, SegmentIndex::Open(fs, PathOf(dir, base, ".index", suffix),
                                                          PathOf(dir, base, ".timeindex", suffix)));
  RETURN_IF_ERROR(index.Reset());
  return std::unique_ptr<Segment>(
      new Segment(fs, dir, base, std::move(log), std::move(index), now_ms, suffix));
}

absl::StatusOr<std::unique_ptr<Segment>> Segment::Open(FileSystem& fs, const std::string& dir,
                                                       Offset base, int64_t now_ms) {
  ASSIGN_OR_RETURN(std::unique_ptr<File> log,
                   fs.Open(PathOf(dir, base, ".log"), OpenMode::kExisting));
  ASSIGN_OR_RETURN(SegmentIndex index, SegmentIndex::Open(fs, PathOf(dir, base, ".index"),
                                                          PathOf(dir, base, ".timeindex")));
  return std::unique_ptr<Segment>(
      new Segment(fs, dir, base, std::move(log), std::move(index), now_ms));
}

void Segment::Track(const BatchHeader& h, uint64_t end_position) {
  if (h.max_timestamp > max_timestamp_) {
    max_timestamp_ = h.max_timestamp;
    offset_of_max_timestamp_ = h.base_offset;
  }
  next_ = h.next_offset();
  size_ = end_position;
}

absl::Status Segment::CorruptAt(uint64_t position, const absl::Status& problem) const {
  return absl::DataLossError(absl::StrCat(log_path_, ": corrupt batch at byte ", position,
                                          " (offset ", next_.value(),
                                          ") inside data already flushed: ", problem.message()));
}

absl::Status Segment::LoadClean(int64_t index_interval_bytes) {
  const uint64_t file_size = log_->Size();
  ASSIGN_OR_RETURN(const bool loaded, index_.Load(file_size));
  if (loaded && file_size > 0) {
    // Check the first header and read the batches after the
    // last index entry (end offset, max timestamp): a few preads, not a scan.
    const OffsetIndexEntry last = index_.offsets().back();
    std::string first(kBatchHeaderSize, '\0');
    ASSIGN_OR_RETURN(size_t n, log_->ReadAt(0, first.size(), first.data()));
    absl::StatusOr<BatchHeader> h0 = DecodeBatchHeader(std::string_view(first.data(), n));
    if (h0.ok() && h0->base_offset >= base_) {
      max_timestamp_ = index_.max_indexed_timestamp();
      ScanOptions options{.from_position = static_cast<uint64_t>(last.position),
                          .expected_base = base_ + last.relative_offset,
                          .allow_offset_gaps = true,
                          .chunk_bytes = 64 << 10};
      next_ = base_ + last.relative_offset;
      ASSIGN_OR_RETURN(ScanEnd end,
                       ScanBatches(*log_, options, [&](uint64_t pos, const BatchHeader& h) {
                         Track(h, pos + h.size_bytes());
                         return true;
                       }));
      if (end.problem.ok() && end.position == file_size) {
        index_.Release();
        return absl::OkStatus();
      }
    }
  }
  // Damaged or inconsistent indexes: rebuild from the log; everything here
  // was flushed, so any bad batch is corruption.
  next_ = base_;
  size_ = 0;
  max_timestamp_ = -1;
  bool truncated = false;
  RETURN_IF_ERROR(
      Recover(Offset(std::numeric_limits<int64_t>::max()), index_interval_bytes, &truncated));
  index_.Release();
  return absl::OkStatus();
}

absl::Status Segment::Recover(Offset recovery_point, int64_t index_interval_bytes,
                              bool* truncated) {
  *truncated = false;
  RETURN_IF_ERROR(index_.Reset());
  next_ = base_;
  size_ = 0;
  max_timestamp_ = -1;
  ScanOptions options{.expected_base = base_, .allow_offset_gaps = true, .verify_crc = true};
  ASSIGN_OR_RETURN(
      ScanEnd end,
      ScanBatches(*log_, options, [&](uint64_t pos, const BatchHeader& h) -> absl::StatusOr<bool> {
        RETURN_IF_ERROR(index_.OnBatch(static_cast<int32_t>(h.base_offset - base_),
                                       static_cast<int32_t>(pos), h.max_timestamp, h.size_bytes(),
                                       index_interval_bytes));
        Track(h, pos + h.size_bytes());
        return true;
      }));
  if (end.problem.ok()) return absl::OkStatus();
  if (next_ < recovery_point) return CorruptAt(end.position, end.problem);
  // Past the recovery point a crash leaves a torn tail: the last batch cut
  // short, or unwritten (zero) bytes. A bad batch followed by a whole,
  // CRC-valid batch is not that: it was damaged after the bytes behind it
  // were written, and cutting it would silently drop them.
  ASSIGN_OR_RETURN(std::optional<std::string> valid_after, DescribeValidBatchesAfter(end.position));
  if (valid_after.has_value()) {
    return absl::DataLossError(absl::StrCat(log_path_, ": corrupt batch at byte ", end.position,
                                            " (offset ", next_.value(),
                                            "): ", end.problem.message(), "; ", *valid_after,
                                            " follow it, so it is not a torn tail: not truncated"));
  }
  const uint64_t file_size = log_->Size();
  RETURN_IF_ERROR(log_->Truncate(end.position));
  spdlog::warn(
      "{}: recovery cut a torn tail at byte {} (offset {}): {}; {} unflushed bytes dropped",
      log_path_, end.position, next_.value(), std::string(end.problem.message()),
      file_size - end.position);
  *truncated = true;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> Segment::DescribeValidBatchesAfter(
    uint64_t position) const {
  std::string header(kBatchHeaderSize, '\0');
  ASSIGN_OR_RETURN(const size_t n, log_->ReadAt(position, header.size(), header.data()));
  // Without a readable length there is no telling where a next batch starts.
  absl::StatusOr<BatchHeader> bad = DecodeBatchHeader(std::string_view(header.data(), n));
  if (!bad.ok() || bad->size_bytes() > log_->Size() - position) return std::optional<std::string>();
  int64_t batches = 0;
  Offset first, last;
  ScanOptions options{.from_position = position + bad->size_bytes(),
                      .expected_base = next_,
                      .allow_offset_gaps = true,
                      .verify_crc = true};
  ASSIGN_OR_RETURN(ScanEnd end, ScanBatches(*log_, options, [&](uint64_t, const BatchHeader& h) {
                     if (batches++ == 0) first = h.base_offset;
                     last = h.last_offset();
                     return true;
                   }));
  (void)end;
  if (batches == 0) return std::optional<std::string>();
  return std::optional<std::string>(
      absl::StrCat(batches, " valid batches (offsets ", first.value(), "..", last.value(), ")"));
}

absl::Status Segment::Append(std::string_view batch, const BatchHeader& h,
                             int64_t index_interval_bytes) {
  const uint64_t position = size_;
  RETURN_IF_ERROR(log_->Append(batch));
  RETURN_IF_ERROR(index_.OnBatch(static_cast<int32_t>(h.base_offset - base_),
                                 static_cast<int32_t>(position), h.max_timestamp, h.size_bytes(),
                                 index_interval_bytes));
  Track(h, position + batch.size());
  return absl::OkStatus();
}

absl::StatusOr<std::pair<uint64_t, BatchHeader>> Segment::FindBatch(Offset offset) const {
  if (offset >= next_) return absl::NotFoundError("offset past segment end");
  const int32_t relative = offset < base_ ? 0 : static_cast<int32_t>(offset - base_);
  ASSIGN_OR_RETURN(const int32_t from, index_.LookupPosition(relative));
  ScanOptions options{.from_position = static_cast<uint64_t>(from),
                      .allow_offset_gaps = true,
                      .chunk_bytes = 16 << 10};
  std::optional<std::pair<uint64_t, BatchHeader>> found;
  ASSIGN_OR_RETURN(ScanEnd end,
                   ScanBatches(*log_, options, [&](uint64_t pos, const BatchHeader& h) {
                     if (h.last_offset() < offset) return true;
                     found.emplace(pos, h);
                     return false;
                   }));
  if (!found.has_value()) {
    return absl::DataLossError(absl::StrCat(log_path_, ": offset ", offset.value(),
                                            " not found by byte ", end.position, ": ",
                                            end.problem.message()));
  }
  return *found;
}

absl::StatusOr<Offset> Segment::BatchStart(Offset offset) const {
  ASSIGN_OR_RETURN(auto found, FindBatch(offset));
  return found.second.base_offset;
}

absl::StatusOr<std::string> Segment::Read(Offset offset, size_t max_bytes,
                                          Offset max_offset) const {
  std::string out;
  // Empty also when compaction emptied it and `offset` is below its base.
  if (offset >= next_ || empty()) return out;
  ASSIGN_OR_RETURN(auto found, FindBatch(offset));
  const auto& [position, first] = found;
  if (first.base_offset >= max_offset) return out;
  // Read up to max_bytes (at least the first batch), then cut at the last
  // whole batch that fits.
  const uint64_t want =
      std::min<uint64_t>(std::max<uint64_t>(max_bytes, first.size_bytes()), size_ - position);
  out.resize(want);
  ASSIGN_OR_RETURN(const size_t n, log_->ReadAt(position, want, out.data()));
  out.resize(n);
  size_t keep = 0;
  BatchIterator it(out);
  while (it.Next()) {
    if (it.header().base_offset >= max_offset) break;
    keep = it.position() + it.batch().size();
  }
  out.resize(keep);
  return out;
}

absl::StatusOr<std::optional<Offset>> Segment::FindOffsetForTimestamp(int64_t timestamp_ms) const {
  if (max_timestamp_ < timestamp_ms) return std::optional<Offset>();
  ASSIGN_OR_RETURN(const int32_t before, index_.LookupBeforeTimestamp(timestamp_ms));
  int32_t from = 0;
  if (before >= 0) {
    ASSIGN_OR_RETURN(from, index_.LookupPosition(before));
  }
  ScanOptions options{.from_position = static_cast<uint64_t>(from),
                      .allow_offset_gaps = true,
                      .chunk_bytes = 64 << 10};
  std::optional<Offset> found;
  ASSIGN_OR_RETURN(ScanEnd end, ScanBatches(*log_, options, [&](uint64_t, const BatchHeader& h) {
                     if (h.max_timestamp < timestamp_ms) return true;
                     found = h.base_offset;
                     return false;
                   }));
  (void)end;
  return found;
}

absl::Status Segment::TruncateTo(Offset offset, int64_t index_interval_bytes) {
  if (offset >= next_) return absl::OkStatus();
  uint64_t position = 0;
  if (offset > base_) {
    ASSIGN_OR_RETURN(auto found, FindBatch(offset));
    position = found.first;
  }
  RETURN_IF_ERROR(log_->Truncate(position));
  RETURN_IF_ERROR(log_->Sync());
  // Rebuild the indexes and bookkeeping for what remains (headers only).
  RETURN_IF_ERROR(index_.Reset());
  next_ = base_;
  size_ = 0;
  max_timestamp_ = -1;
  ASSIGN_OR_RETURN(
      ScanEnd end,
      ScanBatches(*log_, {.expected_base = base_, .allow_offset_gaps = true},
                  [&](uint64_t pos, const BatchHeader& h) -> absl::StatusOr<bool> {
                    RETURN_IF_ERROR(index_.OnBatch(static_cast<int32_t>(h.base_offset - base_),
                                                   static_cast<int32_t>(pos), h.max_timestamp,
                                                   h.size_bytes(), index_interval_bytes));
                    Track(h, pos + h.size_bytes());
                    return true;
                  }));
  if (!end.problem.ok()) return CorruptAt(end.position, end.problem);
  return index_.Sync();
}

absl::Status Segment::Close() {
  if (!empty()) {
    RETURN_IF_ERROR(
        index_.OnClose(max_timestamp_, static_cast<int32_t>(offset_of_max_timestamp_ - base_)));
  }
  RETURN_IF_ERROR(log_->Sync());
  RETURN_IF_ERROR(index_.Sync());
  index_.Release();
  return absl::OkStatus();
}

absl::Status Segment::Delete() {
  // Log first: a crash in between leaves orphan indexes, which recovery
  // deletes. Nothing reads this segment once its owner drops it (reads run
  // under the partition log's lock), so the deleter may truncate it.
  RETURN_IF_ERROR(DeleteFileInBackground(fs_, log_path_));
  RETURN_IF_ERROR(DeleteFileInBackground(fs_, PathOf(dir_, base_, ".index", suffix_)));
  return DeleteFileInBackground(fs_, PathOf(dir_, base_, ".timeindex", suffix_));
}

}  // namespace fjord::storage
