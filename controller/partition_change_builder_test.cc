#include "controller/partition_change_builder.h"

#include <set>

#include "controller/logic_test_util.h"
#include "gtest/gtest.h"

namespace fjord::controller {
namespace {

using testing::Ids;

const Uuid kTopic{1, 2};

PartitionRegistration Part(std::vector<BrokerId> replicas, std::vector<BrokerId> isr,
                           int32_t leader) {
  PartitionRegistration p;
  p.replicas = std::move(replicas);
  p.isr = std::move(isr);
  p.leader = BrokerId(leader);
  return p;
}

PartitionChangeBuilder::BrokerFilter Except(std::set<int32_t> down) {
  return [down](BrokerId b) { return down.count(b.value()) == 0; };
}

TEST(PartitionChangeBuilderTest, NothingToChangeGivesNoRecord) {
  auto p = Part(Ids({1, 2, 3}), Ids({1, 2, 3}), 1);
  EXPECT_FALSE(PartitionChangeBuilder(p, kTopic, PartitionId(0), Except({}), false).Build());
}

TEST(PartitionChangeBuilderTest, IneligibleLeaderIsReplacedInReplicaOrder) {
  auto p = Part(Ids({1, 2, 3}), Ids({3, 2, 1}), 1);
  auto r = PartitionChangeBuilder(p, kTopic, PartitionId(4), Except({1}), false)
               .SetTargetIsr(Ids({3, 2}))
               .Build();
  ASSERT_TRUE(r.has_value());
  const auto& c = r->partition_change();
  EXPECT_EQ(c.partition_id(), 4);
  EXPECT_EQ(c.leader(), 2);  // replica order, not ISR order
  EXPECT_EQ(c.isr().broker_ids_size(), 2);
  EXPECT_FALSE(c.has_leader_recovery_state());
}

TEST(PartitionChangeBuilderTest, ShrinkingTheIsrKeepsAnEligibleLeader) {
  auto p = Part(Ids({1, 2, 3}), Ids({1, 2, 3}), 2);
  auto r = PartitionChangeBuilder(p, kTopic, PartitionId(0), Except({}), false)
               .SetTargetIsr(Ids({2}))
               .Build();
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->partition_change().has_leader());
}

TEST(PartitionChangeBuilderTest, EmptyTargetIsrKeepsTheLastMemberAndGoesLeaderless) {
  auto p = Part(Ids({1, 2}), Ids({1}), 1);
  auto r = PartitionChangeBuilder(p, kTopic, PartitionId(0), Except({1}), false)
               .SetTargetIsr({})
               .Build();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->partition_change().leader(), -1);
  EXPECT_FALSE(r->partition_change().has_isr());
}

TEST(PartitionChangeBuilderTest, UncleanElectionTakesAReplicaOutsideTheIsr) {
  auto p = Part(Ids({1, 2}), Ids({1}), 1);
  auto r =
      PartitionChangeBuilder(p, kTopic, PartitionId(0), Except({1}), true).SetTargetIsr({}).Build();
  ASSERT_TRUE(r.has_value());
  const auto& c = r->partition_change();
  EXPECT_EQ(c.leader(), 2);
  ASSERT_EQ(c.isr().broker_ids_size(), 1);
  EXPECT_EQ(c.isr().broker_ids(0), 2);
  EXPECT_EQ(c.leader_recovery_state(), v1::RECOVERING);
}

TEST(PartitionChangeBuilderTest, PreferredElectionMovesToTheFirstReplicaOnlyIfInIsr) {
  auto p = Part(Ids({1, 2}), Ids({1, 2}), 2);
  auto r = PartitionChangeBuilder(p, kTopic, PartitionId(0), Except({}), false)
               .SetElection(Election::kPreferred)
               .Build();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->partition_change().leader(), 1);
  auto out_of_isr = Part(Ids({1, 2}), Ids({2}), 2);
  EXPECT_FALSE(PartitionChangeBuilder(out_of_isr, kTopic, PartitionId(0), Except({}), false)
                   .SetElection(Election::kPreferred)
                   .Build());
}

TEST(PartitionChangeBuilderTest, LeaderlessPartitionElectsWhenAMemberReturns) {
  auto p = Part(Ids({1, 2}), Ids({2}), -1);
  auto r = PartitionChangeBuilder(p, kTopic, PartitionId(0), Except({}), false).Build();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->partition_change().leader(), 2);
}

}  // namespace
}  // namespace fjord::controller
