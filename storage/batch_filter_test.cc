#include "storage/batch_filter.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "storage/record_batch_builder.h"

namespace fjord::storage {
namespace {

constexpr int64_t kTs = 1'700'000'000'000;

std::string Build(Compression codec, BatchOptions options = {}) {
  options.compression = codec;
  options.base_offset = Offset(100);
  options.partition_leader_epoch = LeaderEpoch(7);
  RecordBatchBuilder b(options);
  b.Append(kTs, "a", "a1");
  b.Append(kTs + 5, "b", std::nullopt);  // tombstone
  b.Append(kTs + 9, "c", "c1", {{RecordHeader{"h", "hv"}}});
  b.Append(kTs + 3, "d", "d1");
  return *b.Build();
}

class FilterByCodec : public ::testing::TestWithParam<Compression> {};

TEST_P(FilterByCodec, KeepsOffsetsTimestampsAndCodecOfSurvivors) {
  const std::string batch = Build(GetParam());
  absl::StatusOr<FilterResult> f = FilterBatch(
      batch, [](const Record& r, Offset) { return *r.key != "a" && *r.key != "d"; }, std::nullopt);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->outcome, FilterOutcome::kRewritten);
  EXPECT_EQ(f->records_kept, 2);
  EXPECT_EQ(f->records_dropped, 2);
  EXPECT_EQ(f->tombstones_kept, 1);
  absl::StatusOr<DecodedBatch> d = DecodedBatch::Decode(f->bytes, BatchLimits{});
  ASSERT_TRUE(d.ok()) << d.status();
  const BatchHeader& h = d->header();
  EXPECT_EQ(h.base_offset, Offset(100));
  EXPECT_EQ(h.last_offset_delta, 3);  // Kafka keeps the original last offset.
  EXPECT_EQ(h.partition_leader_epoch, LeaderEpoch(7));
  EXPECT_EQ(h.compression(), GetParam());
  EXPECT_EQ(h.record_count, 2);
  EXPECT_EQ(h.max_timestamp, kTs + 9);
  EXPECT_EQ(ComputeBatchCrc(f->bytes), h.crc);
  ASSERT_EQ(d->records().size(), 2u);
  EXPECT_EQ(d->records()[0].offset_delta, 1);
  EXPECT_EQ(*d->records()[0].key, "b");
  EXPECT_FALSE(d->records()[0].value.has_value());
  EXPECT_EQ(h.base_timestamp + d->records()[0].timestamp_delta, kTs + 5);
  EXPECT_EQ(d->records()[1].offset_delta, 2);
  EXPECT_EQ(*d->records()[1].value, "c1");
  ASSERT_EQ(d->records()[1].headers.size(), 1u);
  EXPECT_EQ(*d->records()[1].headers[0].value, "hv");
  // The strict produce-path check rejects the gaps; Decode accepts them.
  EXPECT_FALSE(ValidateBatch(f->bytes, BatchLimits{}).ok());
}

TEST_P(FilterByCodec, StampsDeleteHorizonKeepingRecordTimestamps) {
  const std::string batch = Build(GetParam());
  const int64_t horizon = kTs + 86'400'000;
  absl::StatusOr<FilterResult> f = FilterBatch(
      batch, [](const Record&, Offset) { return true; }, horizon);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->outcome, FilterOutcome::kRewritten);
  absl::StatusOr<DecodedBatch> d = DecodedBatch::Decode(f->bytes, BatchLimits{});
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->header().has_delete_horizon());
  EXPECT_EQ(d->header().base_timestamp, horizon);
  const std::vector<int64_t> want = {kTs, kTs + 5, kTs + 9, kTs + 3};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(d->header().base_timestamp + d->records()[i].timestamp_delta, want[i]) << i;
  }
  // Already stamped: nothing more to do.
  absl::StatusOr<FilterResult> again = FilterBatch(
      f->bytes, [](const Record&, Offset) { return true; }, horizon + 1);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->outcome, FilterOutcome::kKeepOriginal);
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, FilterByCodec,
                         ::testing::Values(Compression::kNone, Compression::kGzip,
                                           Compression::kSnappy, Compression::kLz4,
                                           Compression::kZstd));

TEST(FilterBatch, KeepAllDropAllAndFlags) {
  const std::string batch = Build(Compression::kNone, {.transactional = true,
                                                       .producer_id = ProducerId(42),
                                                       .producer_epoch = ProducerEpoch(3),
                                                       .base_sequence = 17});
  absl::StatusOr<FilterResult> all = FilterBatch(
      batch, [](const Record&, Offset) { return true; }, std::nullopt);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->outcome, FilterOutcome::kKeepOriginal);
  absl::StatusOr<FilterResult> none = FilterBatch(
      batch, [](const Record&, Offset) { return false; }, std::nullopt);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->outcome, FilterOutcome::kDropAll);
  absl::StatusOr<FilterResult> some = FilterBatch(
      batch, [](const Record&, Offset o) { return o == Offset(103); }, std::nullopt);
  ASSERT_TRUE(some.ok());
  absl::StatusOr<DecodedBatch> d = DecodedBatch::Decode(some->bytes, BatchLimits{});
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->header().is_transactional());
  EXPECT_EQ(d->header().producer_id, ProducerId(42));
  EXPECT_EQ(d->header().producer_epoch, ProducerEpoch(3));
  EXPECT_EQ(d->header().base_sequence, 17);
  EXPECT_EQ(d->header().last_offset(), Offset(103));
}

TEST(FilterBatch, RefusesControlBatches) {
  const std::string batch = Build(Compression::kNone, {.transactional = true, .control = true});
  EXPECT_FALSE(FilterBatch(
                   batch, [](const Record&, Offset) { return true; }, std::nullopt)
                   .ok());
}

}  // namespace
}  // namespace fjord::storage
