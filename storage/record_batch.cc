#include "storage/record_batch.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/crc32c.h"
#include "common/status_macros.h"
#include "storage/byte_order.h"
#include "storage/varint.h"

namespace fjord::storage {
namespace {

// Reads a varint length followed by that many bytes; -1 means null.
absl::Status ReadNullableBytes(std::string_view* in, const char* what,
                               std::optional<std::string_view>* out) {
  ASSIGN_OR_RETURN(const int32_t n, ReadVarint(in));
  if (n == -1) {
    *out = std::nullopt;
    return absl::OkStatus();
  }
  if (n < 0 || static_cast<size_t>(n) > in->size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " length ", n, " lies: ", in->size(), " bytes left in the record"));
  }
  *out = in->substr(0, n);
  in->remove_prefix(n);
  return absl::OkStatus();
}

// Parses one record from the front of `*in` into `*r` (reusing its header
// vector's capacity) and advances past it.
absl::Status ParseRecord(std::string_view* in, Record* r) {
  ASSIGN_OR_RETURN(const int32_t length, ReadVarint(in));
  if (length < 0 || static_cast<size_t>(length) > in->size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("record length ", length, " lies: ", in->size(), " bytes left"));
  }
  std::string_view body = in->substr(0, length);
  in->remove_prefix(length);
  if (body.empty()) return absl::InvalidArgumentError("record is empty");
  r->attributes = static_cast<int8_t>(body[0]);
  body.remove_prefix(1);
  ASSIGN_OR_RETURN(r->timestamp_delta, ReadVarlong(&body));
  ASSIGN_OR_RETURN(r->offset_delta, ReadVarint(&body));
  RETURN_IF_ERROR(ReadNullableBytes(&body, "key", &r->key));
  RETURN_IF_ERROR(ReadNullableBytes(&body, "value", &r->value));
  ASSIGN_OR_RETURN(const int32_t header_count, ReadVarint(&body));
  // Each header takes at least 2 bytes, so a count beyond that lies; this
  // bounds the vector below by the real input, not the claim.
  if (header_count < 0 || static_cast<size_t>(header_count) > body.size() / 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("record header count ", header_count, " lies: ", body.size(), " bytes left"));
  }
  r->headers.resize(header_count);
  for (RecordHeader& h : r->headers) {
    std::optional<std::string_view> key;
    RETURN_IF_ERROR(ReadNullableBytes(&body, "header key", &key));
    if (!key.has_value()) return absl::InvalidArgumentError("record header key is null");
    h.key = *key;
    RETURN_IF_ERROR(ReadNullableBytes(&body, "header value", &h.value));
  }
  if (!body.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("record length ", length, " lies: ", body.size(), " bytes left unread"));
  }
  return absl::OkStatus();
}

// Shared by ValidateBatch and DecodedBatch::Decode. `records` may be null
// (validation only); `scratch` receives the decompressed section. With
// `allow_offset_gaps`, offset deltas need only increase and stay within
// lastOffsetDelta: what log compaction leaves (Kafka keeps a cleaned batch's
// lastOffsetDelta and its survivors' deltas).
absl::StatusOr<BatchHeader> CheckBatch(std::string_view bytes, const BatchLimits& limits,
                                       std::string* scratch, std::vector<Record>* records,
                                       bool allow_offset_gaps) {
  ASSIGN_OR_RETURN(BatchHeader h, ParseBatchHeader(bytes));
  if (h.size_bytes() != bytes.size()) {
    return absl::InvalidArgumentError(absl::StrCat("batchLength ", h.batch_length, " says ",
                                                   h.size_bytes(), " bytes but the buffer has ",
                                                   bytes.size()));
  }
  if (bytes.size() > limits.max_batch_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("batch of ", bytes.size(),
                                                   " bytes is larger than max.message.bytes ",
                                                   limits.max_batch_bytes));
  }
  const uint32_t crc = ComputeBatchCrc(bytes);
  if (crc != h.crc) {
    return absl::DataLossError(absl::StrCat("batch at offset ", h.base_offset.value(),
                                            ": CRC32C mismatch (stored ", h.crc, ", computed ", crc,
                                            ")"));
  }
  if (h.codec_bits() > static_cast<int>(Compression::kZstd)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown compression codec ", h.codec_bits()));
  }
  std::string_view section = bytes.substr(kBatchHeaderSize);
  if (h.compression() != Compression::kNone) {
    RETURN_IF_ERROR(Decompress(h.compression(), section, limits.max_decompressed_bytes, scratch));
    section = *scratch;
  }
  // A record takes at least 7 bytes, so this bounds the vector by the input.
  if (static_cast<size_t>(h.record_count) > section.size() / 7 + 1) {
    return absl::InvalidArgumentError(absl::StrCat("recordCount ", h.record_count,
                                                   " lies: ", section.size(), " bytes of records"));
  }
  Record local;
  if (records != nullptr) records->resize(h.record_count);
  int32_t expected_delta = 0;
  for (int32_t i = 0; i < h.record_count; ++i) {
    Record* r = records != nullptr ? &(*records)[i] : &local;
    if (section.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("recordCount ", h.record_count, " but only ", i, " records present"));
    }
    if (absl::Status s = ParseRecord(&section, r); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("record ", i, ": ", s.message()));
    }
    const bool in_order = allow_offset_gaps ? (r->offset_delta >= expected_delta &&
                                               r->offset_delta <= h.last_offset_delta)
                                            : r->offset_delta == expected_delta;
    if (!in_order) {
      return absl::InvalidArgumentError(
          absl::StrCat("record ", i, " has offsetDelta ", r->offset_delta, ", expected ",
                       allow_offset_gaps ? "at least " : "", expected_delta));
    }
    expected_delta = r->offset_delta + 1;
  }
  if (!section.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("recordCount ", h.record_count, " but ",
                                                   section.size(),
                                                   " bytes of further records follow"));
  }
  if (!allow_offset_gaps && h.record_count > 0 && h.last_offset_delta != h.record_count - 1) {
    return absl::InvalidArgumentError(absl::StrCat("lastOffsetDelta ", h.last_offset_delta,
                                                   " does not match recordCount ", h.record_count));
  }
  return h;
}

// The produce path's one pass over an uncompressed (or decompressed)
// records section: the same checks as ParseRecord + CheckBatch's ordering
// rule (offset deltas 0, 1, 2, ...), with no Status, no allocation and no
// Record filled. False on any problem; ValidateBatch then runs the detailed
// path to say what it was. Sets `*keyless` when a record has a null key.
class FastRecordScan {
 public:
  FastRecordScan(std::string_view section)
      : p_(reinterpret_cast<const uint8_t*>(section.data())), end_(p_ + section.size()) {}

  bool Run(int32_t record_count, bool* keyless) {
    for (int32_t i = 0; i < record_count; ++i) {
      int32_t length;
      if (!Varint(end_, &length) || length <= 0 || length > end_ - p_) return false;
      const uint8_t* const record_end = p_ + length;
      ++p_;  // attributes
      int64_t timestamp_delta;
      int32_t offset_delta, key_length, value_length, header_count;
      if (!Varlong(record_end, &timestamp_delta) || !Varint(record_end, &offset_delta) ||
          offset_delta != i || !Varint(record_end, &key_length)) {
        return false;
      }
      if (key_length == -1) {
        *keyless = true;
      } else if (!Skip(record_end, key_length)) {
        return false;
      }
      if (!Varint(record_end, &value_length) ||
          (value_length != -1 && !Skip(record_end, value_length)) ||
          !Varint(record_end, &header_count) || header_count < 0 ||
          header_count > (record_end - p_) / 2) {
        return false;
      }
      for (int32_t h = 0; h < header_count; ++h) {
        int32_t n;
        // Header keys are never null; values may be.
        if (!Varint(record_end, &n) || !Skip(record_end, n)) return false;
        if (!Varint(record_end, &n) || (n != -1 && !Skip(record_end, n))) return false;
      }
      if (p_ != record_end) return false;
    }
    return p_ == end_;
  }

 private:
  bool Skip(const uint8_t* limit, int32_t n) {
    if (n < 0 || n > limit - p_) return false;
    p_ += n;
    return true;
  }
  // Zigzag varints as ReadVarint/ReadVarlong accept them: at most 5 (10)
  // bytes, and no bits beyond 32 (64) in the last one.
  bool Varint(const uint8_t* limit, int32_t* out) {
    uint64_t u;
    if (!Unsigned(limit, kMaxVarintBytes, 32, &u)) return false;
    const uint32_t z = static_cast<uint32_t>(u);
    *out = static_cast<int32_t>((z >> 1) ^ (~(z & 1) + 1));
    return true;
  }
  bool Varlong(const uint8_t* limit, int64_t* out) {
    uint64_t z;
    if (!Unsigned(limit, kMaxVarlongBytes, 64, &z)) return false;
    *out = static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
    return true;
  }
  bool Unsigned(const uint8_t* limit, int max_bytes, int width, uint64_t* out) {
    if (p_ < limit && *p_ < 0x80) {  // The common one-byte case.
      *out = *p_++;
      return true;
    }
    uint64_t result = 0;
    for (int i = 0; i < max_bytes && p_ + i < limit; ++i) {
      const uint8_t b = p_[i];
      result |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) {
        const int used_bits = 7 * i;
        if (used_bits + 7 > width && (b >> (width - used_bits)) != 0) return false;
        p_ += i + 1;
        *out = result;
        return true;
      }
    }
    return false;
  }

  const uint8_t* p_;
  const uint8_t* const end_;
};

}  // namespace

absl::StatusOr<BatchHeader> DecodeBatchHeader(std::string_view bytes) {
  if (bytes.size() < kBatchHeaderSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch header needs ", kBatchHeaderSize, " bytes, buffer has ", bytes.size()));
  }
  const char* p = bytes.data();
  BatchHeader h;
  h.base_offset = Offset(static_cast<int64_t>(LoadBe64(p)));
  h.batch_length = static_cast<int32_t>(LoadBe32(p + 8));
  h.partition_leader_epoch = LeaderEpoch(static_cast<int32_t>(LoadBe32(p + 12)));
  h.magic = static_cast<int8_t>(p[16]);
  h.crc = LoadBe32(p + kCrcOffset);
  h.attributes = static_cast<int16_t>(LoadBe16(p + kAttributesOffset));
  h.last_offset_delta = static_cast<int32_t>(LoadBe32(p + 23));
  h.base_timestamp = static_cast<int64_t>(LoadBe64(p + 27));
  h.max_timestamp = static_cast<int64_t>(LoadBe64(p + 35));
  h.producer_id = ProducerId(static_cast<int64_t>(LoadBe64(p + 43)));
  h.producer_epoch = ProducerEpoch(static_cast<int16_t>(LoadBe16(p + 51)));
  h.base_sequence = static_cast<int32_t>(LoadBe32(p + 53));
  h.record_count = static_cast<int32_t>(LoadBe32(p + 57));
  if (h.magic != kMagicV2) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported magic ", static_cast<int>(h.magic), ", expected 2"));
  }
  if (h.batch_length < static_cast<int32_t>(kBatchHeaderSize - kBatchLogOverhead)) {
    return absl::InvalidArgumentError(
        absl::StrCat("batchLength ", h.batch_length, " is shorter than the header"));
  }
  if (h.record_count < 0) {
    return absl::InvalidArgumentError(absl::StrCat("negative recordCount ", h.record_count));
  }
  if (h.last_offset_delta < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("negative lastOffsetDelta ", h.last_offset_delta));
  }
  return h;
}

absl::StatusOr<BatchHeader> ParseBatchHeader(std::string_view bytes) {
  ASSIGN_OR_RETURN(BatchHeader h, DecodeBatchHeader(bytes));
  if (h.size_bytes() > bytes.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batchLength ", h.batch_length, " runs past the buffer (", bytes.size(), " bytes)"));
  }
  return h;
}

uint32_t ComputeBatchCrc(std::string_view batch) {
  return Crc32c(batch.data() + kAttributesOffset, batch.size() - kAttributesOffset);
}

absl::StatusOr<BatchHeader> ValidateBatch(std::string_view bytes, const BatchLimits& limits,
                                          bool* keyless) {
  // Fast path: header and CRC as CheckBatch does them, then one tight pass
  // over the records. Anything it does not accept goes through CheckBatch,
  // which finds the same problem and describes it.
  absl::StatusOr<BatchHeader> h = ParseBatchHeader(bytes);
  if (h.ok() && h->size_bytes() == bytes.size() && bytes.size() <= limits.max_batch_bytes &&
      h->codec_bits() == static_cast<int>(Compression::kNone) && ComputeBatchCrc(bytes) == h->crc &&
      (h->record_count == 0 || h->last_offset_delta == h->record_count - 1)) {
    bool any_keyless = false;
    if (FastRecordScan(bytes.substr(kBatchHeaderSize)).Run(h->record_count, &any_keyless)) {
      if (keyless != nullptr) *keyless = any_keyless;
      return h;
    }
  }
  std::string scratch;
  if (keyless == nullptr) {
    return CheckBatch(bytes, limits, &scratch, nullptr, /*allow_offset_gaps=*/false);
  }
  std::vector<Record> records;
  ASSIGN_OR_RETURN(BatchHeader checked, CheckBatch(bytes, limits, &scratch, &records,
                                                   /*allow_offset_gaps=*/false));
  *keyless = std::any_of(records.begin(), records.end(),
                         [](const Record& r) { return !r.key.has_value(); });
  return checked;
}

absl::StatusOr<DecodedBatch> DecodedBatch::Decode(std::string_view bytes,
                                                  const BatchLimits& limits) {
  DecodedBatch d;
  std::string scratch;
  ASSIGN_OR_RETURN(BatchHeader header, ParseBatchHeader(bytes));
  if (header.compression() == Compression::kNone) {
    ASSIGN_OR_RETURN(d.header_, CheckBatch(bytes, limits, &scratch, &d.records_,
                                           /*allow_offset_gaps=*/true));
    return d;
  }
  // Decompress into the vector the records will point into: validate once
  // to learn the section, then parse the owned copy.
  ASSIGN_OR_RETURN(d.header_,
                   CheckBatch(bytes, limits, &scratch, nullptr, /*allow_offset_gaps=*/true));
  d.decompressed_.assign(scratch.begin(), scratch.end());
  std::string_view section(d.decompressed_.data(), d.decompressed_.size());
  d.records_.resize(d.header_.record_count);
  for (Record& r : d.records_) RETURN_IF_ERROR(ParseRecord(&section, &r));
  return d;
}

void RewriteBaseOffset(char* batch, Offset base_offset, LeaderEpoch epoch) {
  StoreBe64(batch, static_cast<uint64_t>(base_offset.value()));
  StoreBe32(batch + 12, static_cast<uint32_t>(epoch.value()));
}

void RewriteBaseOffset(char* batch, Offset base_offset) {
  StoreBe64(batch, static_cast<uint64_t>(base_offset.value()));
}

bool BatchIterator::Next() {
  if (!status_.ok() || rest_.empty()) return false;
  absl::StatusOr<BatchHeader> h = ParseBatchHeader(rest_);
  if (!h.ok()) {
    status_ = absl::InvalidArgumentError(
        absl::StrCat("batch at byte ", next_position_, ": ", h.status().message()));
    return false;
  }
  header_ = *h;
  position_ = next_position_;
  batch_ = rest_.substr(0, h->size_bytes());
  rest_.remove_prefix(h->size_bytes());
  next_position_ += h->size_bytes();
  return true;
}

}  // namespace fjord::storage
