// Kafka's RecordBatch v2 ("magic 2"), byte for byte. Fjord stores and serves
// batches exactly as producers encoded them; this header is the map of those
// bytes and the validating reader brokers run on every incoming batch.
//
// Layout (all fixed-width fields big-endian):
//
//   offset  size  field
//        0     8  baseOffset
//        8     4  batchLength          bytes after this field (total - 12)
//       12     4  partitionLeaderEpoch
//       16     1  magic                 = 2
//       17     4  crc                   CRC32C of bytes [21, end)
//       21     2  attributes            bits 0-2 codec, 3 timestampType,
//                                       4 isTransactional, 5 isControl,
//                                       6 hasDeleteHorizonMs (KIP-534)
//       23     4  lastOffsetDelta
//       27     8  baseTimestamp
//       35     8  maxTimestamp
//       43     8  producerId
//       51     2  producerEpoch
//       53     4  baseSequence
//       57     4  recordCount
//       61        records (compressed as a whole when codec != none)
//
// Each record: varint length, int8 attributes, varlong timestampDelta,
// varint offsetDelta, varint keyLength (-1 null) + key, varint valueLength
// (-1 null) + value, varint headerCount, then per header varint keyLength +
// key, varint valueLength (-1 null) + value. Varints are zigzag.
//
// The CRC does not cover baseOffset, batchLength or partitionLeaderEpoch, so
// a broker assigns offsets and stamps the leader epoch in place
// (RewriteBaseOffset) without recomputing it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/types.h"
#include "storage/compression.h"

namespace fjord::storage {

inline constexpr size_t kBatchHeaderSize = 61;
// baseOffset + batchLength: the bytes batchLength does not count.
inline constexpr size_t kBatchLogOverhead = 12;
inline constexpr int8_t kMagicV2 = 2;
inline constexpr size_t kCrcOffset = 17;
inline constexpr size_t kAttributesOffset = 21;

inline constexpr int16_t kCompressionMask = 0x07;
inline constexpr int16_t kTimestampTypeBit = 0x08;
inline constexpr int16_t kTransactionalBit = 0x10;
inline constexpr int16_t kControlBit = 0x20;
// Set by log compaction on a batch holding tombstones: baseTimestamp is then
// the delete horizon (ms) after which they may be removed, and record
// timestamp deltas are relative to it (KIP-534).
inline constexpr int16_t kDeleteHorizonBit = 0x40;
inline constexpr int64_t kNoTimestamp = -1;
inline constexpr int32_t kNoSequence = -1;

enum class TimestampType : int8_t { kCreateTime = 0, kLogAppendTime = 1 };

// The decoded 61-byte header.
struct BatchHeader {
  Offset base_offset{0};
  int32_t batch_length = 0;
  LeaderEpoch partition_leader_epoch = kNoLeaderEpoch;
  int8_t magic = kMagicV2;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = 0;
  int64_t max_timestamp = 0;
  ProducerId producer_id = kNoProducerId;
  ProducerEpoch producer_epoch = kNoProducerEpoch;
  int32_t base_sequence = kNoSequence;
  int32_t record_count = 0;

  // Raw codec bits; may name an unknown codec (5-7) in unvalidated input.
  int codec_bits() const { return attributes & kCompressionMask; }
  Compression compression() const { return static_cast<Compression>(codec_bits()); }
  TimestampType timestamp_type() const {
    return (attributes & kTimestampTypeBit) ? TimestampType::kLogAppendTime
                                            : TimestampType::kCreateTime;
  }
  bool is_transactional() const { return attributes & kTransactionalBit; }
  bool is_control() const { return attributes & kControlBit; }
  bool has_delete_horizon() const { return attributes & kDeleteHorizonBit; }
  Offset last_offset() const { return base_offset + last_offset_delta; }
  Offset next_offset() const { return last_offset() + 1; }
  // Whole batch on the wire / on disk.
  size_t size_bytes() const { return kBatchLogOverhead + static_cast<size_t>(batch_length); }
};

// One record, pointing into the batch (or its decompressed records).
struct RecordHeader {
  std::string_view key;
  std::optional<std::string_view> value;
};
struct Record {
  int8_t attributes = 0;
  int64_t timestamp_delta = 0;
  int32_t offset_delta = 0;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  std::vector<RecordHeader> headers;
};

struct BatchLimits {
  // Kafka's max.message.bytes default (1 MiB + 12).
  size_t max_batch_bytes = 1048588;
  // Bomb protection: most bytes a compressed records section may expand to.
  size_t max_decompressed_bytes = 64 << 20;
};

// Decodes the 61-byte header at the front of `header_bytes` and checks the
// fields alone: enough bytes, magic 2, batchLength at least the header, a
// non-negative record count and lastOffsetDelta. Does not look at the body.
absl::StatusOr<BatchHeader> DecodeBatchHeader(std::string_view header_bytes);

// Decodes the header of the batch at the front of `bytes` and checks what
// can be checked without the body: enough bytes for the header, magic 2,
// batchLength neither below the header nor beyond `bytes`, a non-negative
// record count. Does not check the CRC.
absl::StatusOr<BatchHeader> ParseBatchHeader(std::string_view bytes);

// CRC32C over attributes..end, as stored in the crc field.
uint32_t ComputeBatchCrc(std::string_view batch);

// Full broker-side validation of exactly one batch (`bytes.size()` must equal
// the batch's size): the header checks above, size <= max_batch_bytes, CRC
// (DataLoss on mismatch), known codec, bounded decompression, every record
// well formed with lengths that stay inside the record, recordCount equal to
// the records present, offset deltas 0,1,2,... ending at lastOffsetDelta.
// With `keyless`, also reports whether any record has a null key (compacted
// topics refuse those). An uncompressed batch takes one pass over its bytes
// with no allocation (the produce path's cost per record).
absl::StatusOr<BatchHeader> ValidateBatch(std::string_view bytes, const BatchLimits& limits,
                                          bool* keyless = nullptr);

// A validated batch with its records decoded. Unlike ValidateBatch it
// accepts what log compaction leaves: offset deltas with gaps (increasing,
// at most lastOffsetDelta) and fewer records than lastOffsetDelta + 1.
// Records point into the
// caller's bytes (uncompressed) or into this object's buffer (compressed),
// so it must outlive neither; it is movable.
class DecodedBatch {
 public:
  static absl::StatusOr<DecodedBatch> Decode(std::string_view bytes, const BatchLimits& limits);

  const BatchHeader& header() const { return header_; }
  const std::vector<Record>& records() const { return records_; }

 private:
  BatchHeader header_;
  std::vector<char> decompressed_;  // A vector: moves keep the data pointer.
  std::vector<Record> records_;
};

// Sets baseOffset and partitionLeaderEpoch of the batch at `batch` in place.
// The CRC stays valid: neither field is covered by it.
void RewriteBaseOffset(char* batch, Offset base_offset, LeaderEpoch epoch);
void RewriteBaseOffset(char* batch, Offset base_offset);

// Walks a buffer of concatenated batches by their headers (ParseBatchHeader
// only; validate each with ValidateBatch if the source is untrusted).
//
//   BatchIterator it(bytes);
//   while (it.Next()) Use(it.header(), it.batch());
//   RETURN_IF_ERROR(it.status());
class BatchIterator {
 public:
  explicit BatchIterator(std::string_view bytes) : rest_(bytes) {}
  // Advances to the next batch; false at the end or on error (see status()).
  bool Next();
  const BatchHeader& header() const { return header_; }
  std::string_view batch() const { return batch_; }
  // Byte position of the current batch in the original buffer.
  size_t position() const { return position_; }
  const absl::Status& status() const { return status_; }

 private:
  std::string_view rest_;
  std::string_view batch_;
  BatchHeader header_;
  size_t position_ = 0;
  size_t next_position_ = 0;
  absl::Status status_;
};

}  // namespace fjord::storage
