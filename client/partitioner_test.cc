#include "client/partitioner.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace fjord::client {
namespace {

// Vectors from Kafka's UtilsTest.testMurmur2, confirmed with kafka-python's
// port (kafka.partitioner.default.murmur2) on this machine.
TEST(Murmur2, MatchesKafka) {
  EXPECT_EQ(Murmur2("21"), -973932308);
  EXPECT_EQ(Murmur2("foobar"), -790332482);
  EXPECT_EQ(Murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(Murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(Murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(Murmur2("abc"), 479470107);
  EXPECT_EQ(Murmur2(""), 275646681);
  EXPECT_EQ(Murmur2(std::string("\x00\xff\x80", 3)), -1788735621);     // bytes >= 0x80
  EXPECT_EQ(Murmur2("\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87"), 2122343024);  // UTF-8 "ключ"
}

// Key -> partition as Kafka's producer computes it (kafka-python agrees).
TEST(PartitionForKey, MatchesKafka) {
  EXPECT_EQ(PartitionForKey("21", 12), 0);
  EXPECT_EQ(PartitionForKey("foobar", 12), 6);
  EXPECT_EQ(PartitionForKey("a-little-bit-long-string", 12), 8);
  EXPECT_EQ(PartitionForKey("a-little-bit-longer-string", 12), 11);
  EXPECT_EQ(PartitionForKey("abc", 12), 3);
  EXPECT_EQ(PartitionForKey("key-0", 12), 1);
  EXPECT_EQ(PartitionForKey("key-0", 3), 1);
  EXPECT_EQ(PartitionForKey("a-little-bit-long-string", 3), 2);
  for (int i = 0; i < 1000; ++i) {
    int32_t p = PartitionForKey("k" + std::to_string(i), 7);
    ASSERT_GE(p, 0);
    ASSERT_LT(p, 7);
  }
}

TEST(StickyPartitioner, SticksUntilBatchCompletes) {
  SeededRandom random(3);
  StickyPartitioner sticky(random);
  const int32_t first = sticky.Partition(6);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(sticky.Partition(6), first);
  sticky.OnNewBatch(first == 0 ? 1 : 0, 6);  // another partition's batch: no move
  EXPECT_EQ(sticky.Partition(6), first);
  sticky.OnNewBatch(first, 6);
  EXPECT_NE(sticky.Partition(6), first);
}

TEST(StickyPartitioner, VisitsAllPartitionsOverTime) {
  SeededRandom random(9);
  StickyPartitioner sticky(random);
  std::set<int32_t> seen;
  for (int i = 0; i < 200; ++i) {
    int32_t p = sticky.Partition(5);
    seen.insert(p);
    sticky.OnNewBatch(p, 5);
  }
  EXPECT_EQ(seen.size(), 5u);
  StickyPartitioner single(random);
  single.OnNewBatch(single.Partition(1), 1);
  EXPECT_EQ(single.Partition(1), 0);
}

}  // namespace
}  // namespace fjord::client
