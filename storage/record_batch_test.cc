#include "storage/record_batch.h"

#include <string>

#include "common/random.h"
#include "gtest/gtest.h"
#include "storage/byte_order.h"
#include "storage/record_batch_builder.h"
#include "storage/varint.h"

namespace fjord::storage {
namespace {

std::string Build(BatchOptions options, int records, size_t value_size = 10) {
  RecordBatchBuilder b(options);
  const RecordHeader headers[] = {{"h1", "v1"}, {"h2", std::nullopt}};
  for (int i = 0; i < records; ++i) {
    b.Append(
        1000 + i, "key" + std::to_string(i), std::string(value_size, 'a' + i % 26),
        i % 2 == 0 ? absl::Span<const RecordHeader>(headers) : absl::Span<const RecordHeader>());
  }
  absl::StatusOr<std::string> batch = b.Build();
  EXPECT_TRUE(batch.ok()) << batch.status();
  return *batch;
}

// Recomputes the CRC after a test edits covered bytes on purpose, so the
// structural checks behind the CRC are what is exercised.
void FixCrc(std::string* batch) { StoreBe32(batch->data() + kCrcOffset, ComputeBatchCrc(*batch)); }

TEST(RecordBatchTest, BuildsAndDecodesEveryCodec) {
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kSnappy,
                        Compression::kLz4, Compression::kZstd}) {
    const std::string batch = Build({.compression = c,
                                     .producer_id = ProducerId(7),
                                     .producer_epoch = ProducerEpoch(3),
                                     .base_sequence = 11},
                                    5);
    absl::StatusOr<DecodedBatch> d = DecodedBatch::Decode(batch, {});
    ASSERT_TRUE(d.ok()) << CompressionName(c) << ": " << d.status();
    const BatchHeader& h = d->header();
    EXPECT_EQ(h.compression(), c);
    EXPECT_EQ(h.record_count, 5);
    EXPECT_EQ(h.last_offset_delta, 4);
    EXPECT_EQ(h.base_timestamp, 1000);
    EXPECT_EQ(h.max_timestamp, 1004);
    EXPECT_EQ(h.producer_id, ProducerId(7));
    EXPECT_EQ(h.producer_epoch, ProducerEpoch(3));
    EXPECT_EQ(h.base_sequence, 11);
    ASSERT_EQ(d->records().size(), 5u);
    const Record& r0 = d->records()[0];
    EXPECT_EQ(r0.key, "key0");
    EXPECT_EQ(r0.value, std::string(10, 'a'));
    ASSERT_EQ(r0.headers.size(), 2u);
    EXPECT_EQ(r0.headers[0].key, "h1");
    EXPECT_EQ(r0.headers[0].value, "v1");
    EXPECT_FALSE(r0.headers[1].value.has_value());
    EXPECT_EQ(d->records()[3].timestamp_delta, 3);
    EXPECT_EQ(d->records()[3].offset_delta, 3);
  }
}

TEST(RecordBatchTest, MovedDecodedBatchKeepsRecordViewsValid) {
  const std::string batch = Build({.compression = Compression::kGzip}, 3);
  absl::StatusOr<DecodedBatch> d = DecodedBatch::Decode(batch, {});
  ASSERT_TRUE(d.ok());
  DecodedBatch moved = std::move(*d);
  EXPECT_EQ(moved.records()[2].key, "key2");
}

TEST(RecordBatchTest, NullKeyAndValueAndFlags) {
  RecordBatchBuilder b(
      {.timestamp_type = TimestampType::kLogAppendTime, .transactional = true, .control = true});
  b.Append(5, std::nullopt, std::nullopt);
  absl::StatusOr<std::string> batch = b.Build();
  ASSERT_TRUE(batch.ok());
  absl::StatusOr<DecodedBatch> d = DecodedBatch::Decode(*batch, {});
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->header().is_transactional());
  EXPECT_TRUE(d->header().is_control());
  EXPECT_EQ(d->header().timestamp_type(), TimestampType::kLogAppendTime);
  EXPECT_FALSE(d->records()[0].key.has_value());
  EXPECT_FALSE(d->records()[0].value.has_value());
}

TEST(RecordBatchTest, EmptyBuilderFails) {
  RecordBatchBuilder b;
  EXPECT_EQ(b.Build().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(RecordBatchTest, RewriteBaseOffsetKeepsCrcValid) {
  std::string batch = Build({}, 3);
  RewriteBaseOffset(batch.data(), Offset(123456789), LeaderEpoch(9));
  absl::StatusOr<BatchHeader> h = ValidateBatch(batch, {});
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->base_offset, Offset(123456789));
  EXPECT_EQ(h->partition_leader_epoch, LeaderEpoch(9));
  EXPECT_EQ(h->last_offset(), Offset(123456791));
}

TEST(RecordBatchTest, CrcMismatchIsDataLoss) {
  std::string batch = Build({}, 3);
  batch[batch.size() - 3] ^= 0x10;
  absl::Status s = ValidateBatch(batch, {}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("CRC32C mismatch"), std::string::npos) << s;
}

TEST(RecordBatchTest, RejectsBadMagic) {
  std::string batch = Build({}, 1);
  batch[16] = 1;
  absl::Status s = ValidateBatch(batch, {}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("magic 1"), std::string::npos) << s;
}

TEST(RecordBatchTest, RejectsBatchLengthThatLies) {
  std::string batch = Build({}, 2);
  StoreBe32(batch.data() + 8, batch.size());  // 12 bytes too long.
  EXPECT_NE(ValidateBatch(batch, {}).status().message().find("runs past the buffer"),
            std::string::npos);
  StoreBe32(batch.data() + 8, 10);
  EXPECT_NE(ValidateBatch(batch, {}).status().message().find("shorter than the header"),
            std::string::npos);
  EXPECT_FALSE(ValidateBatch(std::string_view(batch).substr(0, 30), {}).ok());
}

TEST(RecordBatchTest, RejectsRecordCountMismatch) {
  std::string batch = Build({}, 3);
  StoreBe32(batch.data() + 57, 4);
  FixCrc(&batch);
  EXPECT_NE(ValidateBatch(batch, {}).status().message().find("only 3 records present"),
            std::string::npos)
      << ValidateBatch(batch, {}).status();
  StoreBe32(batch.data() + 57, 2);
  FixCrc(&batch);
  EXPECT_NE(ValidateBatch(batch, {}).status().message().find("further records"), std::string::npos);
  StoreBe32(batch.data() + 57, 0x7fffffff);
  FixCrc(&batch);
  EXPECT_NE(ValidateBatch(batch, {}).status().message().find("lies"), std::string::npos);
}

TEST(RecordBatchTest, RejectsUnknownCodec) {
  std::string batch = Build({}, 1);
  StoreBe16(batch.data() + kAttributesOffset, 6);
  FixCrc(&batch);
  absl::Status s = ValidateBatch(batch, {}).status();
  EXPECT_NE(s.message().find("unknown compression codec 6"), std::string::npos) << s;
}

TEST(RecordBatchTest, RejectsOversizedBatch) {
  const std::string batch = Build({}, 10, 1000);
  absl::Status s = ValidateBatch(batch, {.max_batch_bytes = 5000}).status();
  EXPECT_NE(s.message().find("max.message.bytes 5000"), std::string::npos) << s;
}

TEST(RecordBatchTest, RejectsDecompressionBomb) {
  const std::string batch = Build({.compression = Compression::kZstd}, 100, 100000);
  EXPECT_LT(batch.size(), 100000u);
  absl::Status s = ValidateBatch(batch, {.max_decompressed_bytes = 1 << 20}).status();
  EXPECT_NE(s.message().find("more than the limit"), std::string::npos) << s;
}

TEST(RecordBatchTest, RejectsKeyLengthThatLies) {
  std::string batch = Build({}, 1);
  // Record layout: len, attrs, tsDelta, offDelta, keyLen at byte 61+4.
  std::string key_len;
  AppendVarint(&key_len, 50);  // One byte, like the real one.
  batch[kBatchHeaderSize + 4] = key_len[0];
  FixCrc(&batch);
  absl::Status s = ValidateBatch(batch, {}).status();
  EXPECT_NE(s.message().find("key length 50 lies"), std::string::npos) << s;
}

TEST(RecordBatchTest, RejectsVarintOverflowInRecord) {
  std::string batch = Build({}, 1);
  for (int i = 0; i < 6; ++i) batch[kBatchHeaderSize + i] = '\xff';
  FixCrc(&batch);
  absl::Status s = ValidateBatch(batch, {}).status();
  EXPECT_NE(s.message().find("longer than 5 bytes"), std::string::npos) << s;
}

TEST(RecordBatchTest, RejectsWrongOffsetDelta) {
  std::string batch = Build({}, 2);
  batch[kBatchHeaderSize + 3] = 2;  // Record 0's offsetDelta: zigzag(1).
  FixCrc(&batch);
  absl::Status s = ValidateBatch(batch, {}).status();
  EXPECT_NE(s.message().find("offsetDelta 1, expected 0"), std::string::npos) << s;
}

TEST(RecordBatchTest, IteratesConcatenatedBatches) {
  std::string buffer;
  for (int i = 0; i < 3; ++i) {
    std::string b = Build({}, i + 1);
    RewriteBaseOffset(b.data(), Offset(i * 10));
    buffer += b;
  }
  BatchIterator it(buffer);
  int n = 0;
  size_t position = 0;
  while (it.Next()) {
    EXPECT_EQ(it.header().base_offset, Offset(n * 10));
    EXPECT_EQ(it.header().record_count, n + 1);
    EXPECT_EQ(it.position(), position);
    EXPECT_TRUE(ValidateBatch(it.batch(), {}).ok());
    position += it.batch().size();
    ++n;
  }
  EXPECT_TRUE(it.status().ok());
  EXPECT_EQ(n, 3);

  BatchIterator torn(std::string_view(buffer).substr(0, buffer.size() - 1));
  n = 0;
  while (torn.Next()) ++n;
  EXPECT_EQ(n, 2);
  EXPECT_FALSE(torn.status().ok());
}

// ValidateBatch's one-pass scan of uncompressed records must accept exactly
// what the detailed decoder accepts under the produce path's rules (offset
// deltas 0, 1, 2, ...; recordCount = lastOffsetDelta + 1), and report null
// keys the same way. Random byte edits and truncations of the records
// section, CRC fixed so the structural checks are what decides.
TEST(RecordBatchTest, FastValidationAgreesWithDecoderOnMutatedBatches) {
  SeededRandom random(20261122);
  const RecordHeader headers[] = {{"h", "v"}, {"k", std::nullopt}};
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    RecordBatchBuilder b(BatchOptions{});
    const int records = static_cast<int>(random.UniformRange(1, 6));
    for (int i = 0; i < records; ++i) {
      std::optional<std::string_view> key;
      if (!random.OneIn(3)) key = "key";
      b.Append(1000 + i, key, std::string(random.Uniform(200), 'v'),
               random.OneIn(2) ? absl::Span<const RecordHeader>(headers)
                               : absl::Span<const RecordHeader>());
    }
    absl::StatusOr<std::string> built = b.Build();
    ASSERT_TRUE(built.ok()) << built.status();
    std::string batch = *built;
    const int edits = static_cast<int>(random.Uniform(4));
    for (int e = 0; e < edits && batch.size() > kBatchHeaderSize; ++e) {
      const size_t at = kBatchHeaderSize + random.Uniform(batch.size() - kBatchHeaderSize);
      switch (random.Uniform(3)) {
        case 0:
          batch[at] = static_cast<char>(random.Next());
          break;
        case 1:
          batch[at] = static_cast<char>(batch[at] ^ (1 << random.Uniform(8)));
          break;
        case 2:
          batch.resize(at);
          StoreBe32(batch.data() + 8, static_cast<uint32_t>(batch.size() - kBatchLogOverhead));
          break;
      }
    }
    if (random.OneIn(10)) StoreBe32(batch.data() + 57, static_cast<uint32_t>(random.Uniform(7)));
    FixCrc(&batch);

    bool keyless = false;
    absl::StatusOr<BatchHeader> fast = ValidateBatch(batch, {}, &keyless);
    absl::StatusOr<DecodedBatch> decoded = DecodedBatch::Decode(batch, {});
    bool reference_ok = decoded.ok();
    bool reference_keyless = false;
    if (decoded.ok()) {
      const BatchHeader& h = decoded->header();
      if (h.record_count > 0 && h.last_offset_delta != h.record_count - 1) reference_ok = false;
      for (size_t i = 0; i < decoded->records().size(); ++i) {
        const Record& r = decoded->records()[i];
        if (r.offset_delta != static_cast<int32_t>(i)) reference_ok = false;
        if (!r.key.has_value()) reference_keyless = true;
      }
    }
    ASSERT_EQ(fast.ok(), reference_ok)
        << "round " << round << ": fast " << fast.status() << ", decoder " << decoded.status();
    if (fast.ok()) {
      ++accepted;
      EXPECT_EQ(keyless, reference_keyless) << "round " << round;
    }
  }
  // Both outcomes must be exercised for the comparison to mean anything.
  EXPECT_GT(accepted, 2000);
  EXPECT_LT(accepted, 18000);
}

}  // namespace
}  // namespace fjord::storage
