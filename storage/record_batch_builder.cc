#include "storage/record_batch_builder.h"

#include <algorithm>

#include "absl/status/status.h"
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

}  // namespace

void RecordBatchBuilder::Append(int64_t timestamp_ms, std::optional<std::string_view> key,
                                std::optional<std::string_view> value,
                                absl::Span<const RecordHeader> headers) {
  if (record_count_ == 0) base_timestamp_ = timestamp_ms;
  max_timestamp_ = std::max(max_timestamp_, timestamp_ms);
  body_.clear();
  body_.push_back(0);  // Record attributes: unused in v2.
  AppendVarlong(&body_, timestamp_ms - base_timestamp_);
  AppendVarint(&body_, record_count_);
  AppendNullable(&body_, key);
  AppendNullable(&body_, value);
  AppendVarint(&body_, static_cast<int32_t>(headers.size()));
  for (const RecordHeader& h : headers) {
    AppendNullable(&body_, h.key);
    AppendNullable(&body_, h.value);
  }
  AppendVarint(&records_, static_cast<int32_t>(body_.size()));
  records_.append(body_);
  ++record_count_;
}

absl::StatusOr<std::string> RecordBatchBuilder::Build() {
  if (record_count_ == 0) return absl::FailedPreconditionError("a batch needs at least one record");
  std::string out;
  out.reserve(kBatchHeaderSize + records_.size());
  out.resize(kBatchHeaderSize);
  RETURN_IF_ERROR(Compress(options_.compression, records_, &out));

  int16_t attributes = static_cast<int16_t>(options_.compression);
  if (options_.timestamp_type == TimestampType::kLogAppendTime) attributes |= kTimestampTypeBit;
  if (options_.transactional) attributes |= kTransactionalBit;
  if (options_.control) attributes |= kControlBit;

  char* p = out.data();
  StoreBe64(p, static_cast<uint64_t>(options_.base_offset.value()));
  StoreBe32(p + 8, static_cast<uint32_t>(out.size() - kBatchLogOverhead));
  StoreBe32(p + 12, static_cast<uint32_t>(options_.partition_leader_epoch.value()));
  p[16] = kMagicV2;
  StoreBe16(p + kAttributesOffset, static_cast<uint16_t>(attributes));
  StoreBe32(p + 23, static_cast<uint32_t>(record_count_ - 1));
  StoreBe64(p + 27, static_cast<uint64_t>(base_timestamp_));
  StoreBe64(p + 35, static_cast<uint64_t>(max_timestamp_));
  StoreBe64(p + 43, static_cast<uint64_t>(options_.producer_id.value()));
  StoreBe16(p + 51, static_cast<uint16_t>(options_.producer_epoch.value()));
  StoreBe32(p + 53, static_cast<uint32_t>(options_.base_sequence));
  StoreBe32(p + 57, static_cast<uint32_t>(record_count_));
  StoreBe32(p + kCrcOffset, ComputeBatchCrc(out));

  records_.clear();
  record_count_ = 0;
  base_timestamp_ = kNoTimestamp;
  max_timestamp_ = kNoTimestamp;
  return out;
}

}  // namespace fjord::storage
