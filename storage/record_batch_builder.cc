#include "storage/record_batch_builder.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "storage/byte_order.h"
#include "storage/varint.h"

namespace fjord::storage {
namespace {

// Zigzag varints written straight into a buffer sized beforehand (the
// record's size is known before it is written): one resize per record
// instead of a capacity check per field.
char* PutUnsigned(char* p, uint64_t u) {
  while (u >= 0x80) {
    *p++ = static_cast<char>((u & 0x7f) | 0x80);
    u >>= 7;
  }
  *p++ = static_cast<char>(u);
  return p;
}

char* PutVarint(char* p, int32_t v) {
  return PutUnsigned(p, (static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31));
}

char* PutVarlong(char* p, int64_t v) {
  return PutUnsigned(p, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

char* PutNullable(char* p, std::optional<std::string_view> bytes) {
  if (!bytes.has_value()) return PutVarint(p, -1);
  p = PutVarint(p, static_cast<int32_t>(bytes->size()));
  if (!bytes->empty()) std::memcpy(p, bytes->data(), bytes->size());
  return p + bytes->size();
}

int64_t NullableSize(std::optional<std::string_view> bytes) {
  if (!bytes.has_value()) return VarintSize(-1);
  return VarintSize(static_cast<int32_t>(bytes->size())) + static_cast<int64_t>(bytes->size());
}

}  // namespace

void RecordBatchBuilder::Append(int64_t timestamp_ms, std::optional<std::string_view> key,
                                std::optional<std::string_view> value,
                                absl::Span<const RecordHeader> headers) {
  if (record_count_ == 0) base_timestamp_ = timestamp_ms;
  max_timestamp_ = std::max(max_timestamp_, timestamp_ms);
  const int64_t timestamp_delta = timestamp_ms - base_timestamp_;
  // The body's length prefixes it, so it is sized first and then written in
  // place: no scratch copy of the key and value.
  int64_t body_size = 1 + VarlongSize(timestamp_delta) + VarintSize(record_count_) +
                      NullableSize(key) + NullableSize(value) +
                      VarintSize(static_cast<int32_t>(headers.size()));
  for (const RecordHeader& h : headers) body_size += NullableSize(h.key) + NullableSize(h.value);
  // records_ starts with room for the batch header, so Build can hand an
  // uncompressed batch over without copying it.
  if (records_.empty()) records_.resize(kBatchHeaderSize);
  const size_t at = records_.size();
  const size_t record_size =
      static_cast<size_t>(VarintSize(static_cast<int32_t>(body_size)) + body_size);
  records_.resize(at + record_size);
  char* const start = records_.data() + at;
  char* p = PutVarint(start, static_cast<int32_t>(body_size));
  *p++ = 0;  // Record attributes: unused in v2.
  p = PutVarlong(p, timestamp_delta);
  p = PutVarint(p, record_count_);
  p = PutNullable(p, key);
  p = PutNullable(p, value);
  p = PutVarint(p, static_cast<int32_t>(headers.size()));
  for (const RecordHeader& h : headers) {
    p = PutNullable(p, h.key);
    p = PutNullable(p, h.value);
  }
  // golden_batch_test and record_batch_test pin these bytes; a size miscount
  // would leave the record's tail unwritten there.
  static_cast<void>(p);
  ++record_count_;
}

absl::StatusOr<std::string> RecordBatchBuilder::Build() {
  if (record_count_ == 0) return absl::FailedPreconditionError("a batch needs at least one record");
  std::string out;
  if (options_.compression == Compression::kNone) {
    out = std::move(records_);
  } else {
    const std::string_view records = std::string_view(records_).substr(kBatchHeaderSize);
    out.reserve(records_.size());
    out.resize(kBatchHeaderSize);
    RETURN_IF_ERROR(Compress(options_.compression, records, &out));
  }

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
