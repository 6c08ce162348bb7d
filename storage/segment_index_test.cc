#include "storage/segment_index.h"

#include <string>

#include "gtest/gtest.h"
#include "storage/byte_order.h"
#include "storage/fault_file_system.h"

namespace fjord::storage {
namespace {

constexpr char kOffsets[] = "/d/0.index";
constexpr char kTimes[] = "/d/0.timeindex";

std::string OffsetEntries(std::initializer_list<std::pair<int32_t, int32_t>> entries) {
  std::string out;
  for (auto [rel, pos] : entries) {
    AppendBe32(&out, rel);
    AppendBe32(&out, pos);
  }
  return out;
}

TEST(SegmentIndexTest, EntriesEveryIntervalAndLookups) {
  FaultFileSystem fs;
  auto index = SegmentIndex::Open(fs, kOffsets, kTimes);
  ASSERT_TRUE(index.ok());
  // Ten 100-byte batches of 2 records; an entry every 250 bytes.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(index->OnBatch(2 * i, 100 * i, 1000 + 10 * i, 100, 250).ok());
  }
  // Entries at batches 0, 3, 6, 9.
  ASSERT_EQ(index->offsets().size(), 4u);
  EXPECT_EQ(index->offsets()[1].relative_offset, 6);
  EXPECT_EQ(index->offsets()[1].position, 300);
  // The same answers from memory and, once released, from the files.
  for (bool released : {false, true}) {
    if (released) index->Release();
    EXPECT_EQ(index->resident(), !released);
    EXPECT_EQ(*index->LookupPosition(0), 0);
    EXPECT_EQ(*index->LookupPosition(5), 0);
    EXPECT_EQ(*index->LookupPosition(6), 300);
    EXPECT_EQ(*index->LookupPosition(7), 300);
    EXPECT_EQ(*index->LookupPosition(100), 900);
    // Time entries follow the offset entries: (1000,0) (1030,6) (1060,12) (1090,18).
    EXPECT_EQ(*index->LookupBeforeTimestamp(1000), -1);
    EXPECT_EQ(*index->LookupBeforeTimestamp(1031), 6);
    EXPECT_EQ(*index->LookupBeforeTimestamp(5000), 18);
  }
  // Appending after a release reloads first, so nothing is lost.
  ASSERT_TRUE(index->OnBatch(20, 1000, 2000, 100, 0).ok());
  EXPECT_TRUE(index->resident());
  EXPECT_EQ(index->offsets().size(), 5u);
  EXPECT_EQ(*index->LookupPosition(25), 1000);
  EXPECT_EQ(fs.Contents(kOffsets)->size(), 5 * kOffsetIndexEntrySize);
  EXPECT_EQ(fs.Contents(kTimes)->size(), 5 * kTimeIndexEntrySize);
}

TEST(SegmentIndexTest, LoadAcceptsWhatItWrote) {
  FaultFileSystem fs;
  {
    auto index = SegmentIndex::Open(fs, kOffsets, kTimes);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(index->OnBatch(i, 50 * i, 5 + i, 50, 0).ok());
    ASSERT_TRUE(index->OnClose(100, 9).ok());
  }
  auto index = SegmentIndex::Open(fs, kOffsets, kTimes);
  ASSERT_TRUE(*index->Load(500));
  EXPECT_EQ(index->offsets().size(), 10u);
  EXPECT_EQ(index->max_indexed_timestamp(), 100);
}

TEST(SegmentIndexTest, LoadRejectsDamage) {
  struct Case {
    const char* name;
    std::string offsets;
    uint64_t log_size;
  };
  const Case cases[] = {
      {"partial entry", OffsetEntries({{0, 0}}) + "xyz", 1000},
      {"not starting at 0", OffsetEntries({{1, 0}}), 1000},
      {"offsets not increasing", OffsetEntries({{0, 0}, {5, 100}, {5, 200}}), 1000},
      {"positions not increasing", OffsetEntries({{0, 0}, {5, 100}, {6, 100}}), 1000},
      {"position past the log", OffsetEntries({{0, 0}, {5, 1000}}), 1000},
      {"missing for a non-empty log", "", 1000},
  };
  for (const Case& c : cases) {
    FaultFileSystem fs;
    ASSERT_TRUE((*fs.Open(kOffsets, OpenMode::kCreate))->Append(c.offsets).ok());
    auto index = SegmentIndex::Open(fs, kOffsets, kTimes);
    ASSERT_TRUE(index.ok());
    auto loaded = index->Load(c.log_size);
    ASSERT_TRUE(loaded.ok());
    EXPECT_FALSE(*loaded) << c.name;
    EXPECT_TRUE(index->offsets().empty()) << c.name;
  }
}

TEST(SegmentIndexTest, LoadRejectsTimeIndexGoingBackwards) {
  FaultFileSystem fs;
  ASSERT_TRUE((*fs.Open(kOffsets, OpenMode::kCreate))->Append(OffsetEntries({{0, 0}})).ok());
  std::string times;
  AppendBe64(&times, 50);
  AppendBe32(&times, 0);
  AppendBe64(&times, 40);
  AppendBe32(&times, 3);
  ASSERT_TRUE((*fs.Open(kTimes, OpenMode::kCreate))->Append(times).ok());
  auto index = SegmentIndex::Open(fs, kOffsets, kTimes);
  EXPECT_FALSE(*index->Load(100));
}

}  // namespace
}  // namespace fjord::storage
