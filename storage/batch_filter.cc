#include "storage/batch_filter.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "common/status_macros.h"
#include "storage/byte_order.h"
#include "storage/varint.h"

namespace fjord::storage {
namespace {

void AppendNullable(std::string* out, std::optional<std::string_view> bytes) {
  if (!bytes.has_value()) {
    AppendVarint(out, -1);
    return;
  }
  AppendVarint(out, static_cast<int32_t>(bytes->size()));
  out->append(*bytes);
}

// One record re-encoded with `timestamp_delta`, everything else as it was.
void AppendRecord(std::string* out, std::string* body, const Record& r, int64_t timestamp_delta) {
  body->clear();
  body->push_back(static_cast<char>(r.attributes));
  AppendVarlong(body, timestamp_delta);
  AppendVarint(body, r.offset_delta);
  AppendNullable(body, r.key);
  AppendNullable(body, r.value);
  AppendVarint(body, static_cast<int32_t>(r.headers.size()));
  for (const RecordHeader& h : r.headers) {
    AppendNullable(body, h.key);
    AppendNullable(body, h.value);
  }
  AppendVarint(out, static_cast<int32_t>(body->size()));
  out->append(*body);
}

}  // namespace

absl::StatusOr<FilterResult> FilterBatch(
    std::string_view batch, absl::FunctionRef<bool(const Record& record, Offset offset)> keep,
    std::optional<int64_t> stamp_delete_horizon_ms) {
  // Stored batches were validated on append; the limits here only bound
  // memory (a batch can never have been larger than segment.bytes).
  BatchLimits limits;
  limits.max_batch_bytes = std::numeric_limits<int32_t>::max();
  ASSIGN_OR_RETURN(DecodedBatch decoded, DecodedBatch::Decode(batch, limits));
  const BatchHeader& h = decoded.header();
  if (h.is_control()) return absl::InvalidArgumentError("FilterBatch takes data batches only");

  FilterResult result;
  std::vector<const Record*> kept;
  kept.reserve(decoded.records().size());
  for (const Record& r : decoded.records()) {
    if (keep(r, h.base_offset + r.offset_delta)) {
      kept.push_back(&r);
      if (!r.value.has_value()) ++result.tombstones_kept;
    } else {
      ++result.records_dropped;
    }
  }
  result.records_kept = static_cast<int32_t>(kept.size());
  if (kept.empty()) {
    result.outcome = FilterOutcome::kDropAll;
    return result;
  }
  const bool stamp =
      stamp_delete_horizon_ms.has_value() && !h.has_delete_horizon() && result.tombstones_kept > 0;
  if (result.records_dropped == 0 && !stamp) return result;  // kKeepOriginal

  // Timestamps stay what they were: base + delta, re-based when the base
  // becomes the delete horizon.
  const int64_t base_timestamp = stamp ? *stamp_delete_horizon_ms : h.base_timestamp;
  int64_t max_timestamp = kNoTimestamp;
  std::string records;
  std::string body;
  for (const Record* r : kept) {
    const int64_t timestamp = h.base_timestamp + r->timestamp_delta;
    max_timestamp = std::max(max_timestamp, timestamp);
    AppendRecord(&records, &body, *r, timestamp - base_timestamp);
  }
  // A log-append-time batch's maxTimestamp is the append time itself.
  if (h.timestamp_type() == TimestampType::kLogAppendTime) max_timestamp = h.max_timestamp;

  std::string& out = result.bytes;
  out.reserve(kBatchHeaderSize + records.size());
  out.assign(batch.substr(0, kBatchHeaderSize));
  RETURN_IF_ERROR(Compress(h.compression(), records, &out));
  int16_t attributes = h.attributes;
  if (stamp) attributes |= kDeleteHorizonBit;
  char* p = out.data();
  StoreBe32(p + 8, static_cast<uint32_t>(out.size() - kBatchLogOverhead));
  StoreBe16(p + kAttributesOffset, static_cast<uint16_t>(attributes));
  StoreBe64(p + 27, static_cast<uint64_t>(base_timestamp));
  StoreBe64(p + 35, static_cast<uint64_t>(max_timestamp));
  StoreBe32(p + 57, static_cast<uint32_t>(kept.size()));
  StoreBe32(p + kCrcOffset, ComputeBatchCrc(out));
  result.outcome = FilterOutcome::kRewritten;
  return result;
}

}  // namespace fjord::storage
