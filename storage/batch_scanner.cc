#include "storage/batch_scanner.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace fjord::storage {

namespace {

// With `want_bytes`, every batch is read whole and passed on.
absl::StatusOr<ScanEnd> Scan(const File& file, const ScanOptions& options, bool want_bytes,
                             absl::FunctionRef<absl::StatusOr<bool>(
                                 uint64_t position, const BatchHeader& h, std::string_view batch)>
                                 on_batch) {
  const uint64_t size = file.Size();
  uint64_t pos = options.from_position;
  Offset expected = options.expected_base;
  std::string buf;
  uint64_t buf_start = pos;
  // Makes [pos, pos + want) available in `buf`, reading at least a chunk.
  auto fill = [&](uint64_t want) -> absl::Status {
    if (pos >= buf_start && pos + want <= buf_start + buf.size()) return absl::OkStatus();
    const uint64_t n =
        std::min<uint64_t>(std::max<uint64_t>(want, options.chunk_bytes), size - pos);
    buf.resize(n);
    buf_start = pos;
    ASSIGN_OR_RETURN(const size_t got, file.ReadAt(pos, n, buf.data()));
    if (got != n) return absl::DataLossError("file shrank during scan");
    return absl::OkStatus();
  };
  while (pos < size) {
    if (size - pos < kBatchHeaderSize) {
      return ScanEnd{pos, absl::DataLossError(absl::StrCat("truncated batch header (", size - pos,
                                                           " bytes before end of file)"))};
    }
    RETURN_IF_ERROR(fill(kBatchHeaderSize));
    const std::string_view at(buf.data() + (pos - buf_start), buf.size() - (pos - buf_start));
    absl::StatusOr<BatchHeader> h = DecodeBatchHeader(at.substr(0, kBatchHeaderSize));
    if (!h.ok()) return ScanEnd{pos, h.status()};
    if (h->size_bytes() > size - pos) {
      return ScanEnd{pos, absl::DataLossError(absl::StrCat("batch of ", h->size_bytes(),
                                                           " bytes runs past end of file (",
                                                           size - pos, " bytes left)"))};
    }
    const bool out_of_order =
        options.allow_offset_gaps ? h->base_offset < expected : h->base_offset != expected;
    if (expected != kInvalidOffset && out_of_order) {
      return ScanEnd{pos, absl::DataLossError(absl::StrCat(
                              "batch has base offset ", h->base_offset.value(), ", expected ",
                              options.allow_offset_gaps ? "at least " : "", expected.value()))};
    }
    std::string_view batch;
    if (options.verify_crc || want_bytes) {
      RETURN_IF_ERROR(fill(h->size_bytes()));
      batch = std::string_view(buf.data() + (pos - buf_start), h->size_bytes());
    }
    if (options.verify_crc) {
      const uint32_t crc = ComputeBatchCrc(batch);
      if (crc != h->crc) {
        return ScanEnd{pos, absl::DataLossError(absl::StrCat("CRC32C mismatch (stored ", h->crc,
                                                             ", computed ", crc, ")"))};
      }
    }
    ASSIGN_OR_RETURN(const bool more, on_batch(pos, *h, batch));
    pos += h->size_bytes();
    expected = h->next_offset();
    if (!more) break;
  }
  return ScanEnd{pos, absl::OkStatus()};
}

}  // namespace

absl::StatusOr<ScanEnd> ScanBatches(
    const File& file, const ScanOptions& options,
    absl::FunctionRef<absl::StatusOr<bool>(uint64_t position, const BatchHeader& h)> on_batch) {
  return Scan(
      file, options, /*want_bytes=*/false,
      [&](uint64_t pos, const BatchHeader& h, std::string_view) { return on_batch(pos, h); });
}

absl::StatusOr<ScanEnd> ScanBatchBytes(
    const File& file, const ScanOptions& options,
    absl::FunctionRef<absl::StatusOr<bool>(uint64_t position, const BatchHeader& h,
                                           std::string_view batch)>
        on_batch) {
  return Scan(file, options, /*want_bytes=*/true, on_batch);
}

}  // namespace fjord::storage
