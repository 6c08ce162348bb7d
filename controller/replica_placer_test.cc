#include "controller/replica_placer.h"

#include <map>
#include <set>

#include "common/kafka_error.h"
#include "common/random.h"
#include "gtest/gtest.h"

namespace fjord::controller {
namespace {

std::vector<PlacementBroker> Brokers(int n, int racks) {
  std::vector<PlacementBroker> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({BrokerId(i), racks == 0 ? "" : "rack" + std::to_string(i % racks)});
  }
  return out;
}

TEST(ReplicaPlacerTest, SpreadsReplicasAndLeadersEvenly) {
  SeededRandom random(3);
  auto placement = PlaceReplicas(Brokers(6, 0), 60, 3, random);
  ASSERT_TRUE(placement.ok());
  std::map<BrokerId, int> leaders, replicas;
  for (const auto& p : *placement) {
    ASSERT_EQ(p.size(), 3u);
    EXPECT_EQ(std::set<BrokerId>(p.begin(), p.end()).size(), 3u);  // distinct
    ++leaders[p[0]];
    for (BrokerId b : p) ++replicas[b];
  }
  for (int b = 0; b < 6; ++b) {
    EXPECT_EQ(leaders[BrokerId(b)], 10) << b;
    EXPECT_EQ(replicas[BrokerId(b)], 30) << b;
  }
}

TEST(ReplicaPlacerTest, PutsEachReplicaOfAPartitionOnADifferentRack) {
  SeededRandom random(5);
  std::vector<PlacementBroker> brokers = Brokers(9, 3);
  std::map<BrokerId, std::string> rack;
  for (const auto& b : brokers) rack[b.id] = b.rack;
  auto placement = PlaceReplicas(brokers, 30, 3, random);
  ASSERT_TRUE(placement.ok());
  for (const auto& p : *placement) {
    std::set<std::string> racks;
    for (BrokerId b : p) racks.insert(rack[b]);
    EXPECT_EQ(racks.size(), 3u);
  }
}

TEST(ReplicaPlacerTest, MoreReplicasThanRacksStillUsesEveryRack) {
  SeededRandom random(9);
  std::vector<PlacementBroker> brokers = Brokers(6, 2);
  std::map<BrokerId, std::string> rack;
  for (const auto& b : brokers) rack[b.id] = b.rack;
  auto placement = PlaceReplicas(brokers, 12, 3, random);
  ASSERT_TRUE(placement.ok());
  for (const auto& p : *placement) {
    std::set<std::string> racks;
    for (BrokerId b : p) racks.insert(rack[b]);
    EXPECT_EQ(racks.size(), 2u);
    EXPECT_EQ(std::set<BrokerId>(p.begin(), p.end()).size(), 3u);
  }
}

TEST(ReplicaPlacerTest, DeterministicGivenTheSeedAndIndependentOfBrokerOrder) {
  auto brokers = Brokers(5, 0);
  auto reversed = std::vector<PlacementBroker>(brokers.rbegin(), brokers.rend());
  SeededRandom a(11), b(11), c(12);
  auto pa = PlaceReplicas(brokers, 20, 2, a);
  auto pb = PlaceReplicas(reversed, 20, 2, b);
  auto pc = PlaceReplicas(brokers, 20, 2, c);
  EXPECT_EQ(*pa, *pb);
  EXPECT_NE(*pa, *pc);
}

TEST(ReplicaPlacerTest, TooFewBrokersIsInvalidReplicationFactor) {
  SeededRandom random(1);
  auto placement = PlaceReplicas(Brokers(2, 0), 1, 3, random);
  EXPECT_EQ(ToErrorCode(placement.status()), v1::INVALID_REPLICATION_FACTOR);
  auto single = PlaceReplicas(Brokers(1, 0), 4, 1, random);
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->size(), 4u);
}

}  // namespace
}  // namespace fjord::controller
