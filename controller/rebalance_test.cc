#include "controller/logic_test_util.h"
#include "gtest/gtest.h"

namespace fjord::controller {
namespace {

using namespace fjord::controller::testing;

TEST(RebalanceTest, LeadershipReturnsToPreferredReplicasOnceBackInTheIsr) {
  Harness h;
  for (int b = 0; b < 3; ++b) h.AddBroker(b);
  h.CreateTopic("t", 6, 3);
  EXPECT_EQ(h.Commit(h.logic().RebalancePreferredLeaders()), 0);  // balanced already
  // Broker 0 is fenced and comes back: it is out of every ISR and leads
  // nothing, so nothing moves until leaders add it back to their ISRs.
  h.Heartbeat(0, false, true);
  h.Heartbeat(0);
  EXPECT_EQ(h.Commit(h.logic().RebalancePreferredLeaders()), 0);
  int preferred_by_0 = 0;
  const Uuid id = h.image().topic_by_name("t")->id;
  for (int p = 0; p < 6; ++p) {
    const auto& part = h.Partition("t", p);
    if (part.preferred_leader() == BrokerId(0)) ++preferred_by_0;
    v1::AlterPartitionRequest req;
    req.set_broker_id(part.leader.value());
    req.set_broker_epoch(h.image().broker(part.leader)->epoch.value());
    auto* t = req.add_topics();
    id.ToProto(t->mutable_topic_id());
    auto* d = t->add_partitions();
    d->set_partition(p);
    d->set_leader_epoch(part.leader_epoch.value());
    d->set_partition_epoch(part.partition_epoch.value());
    for (int b = 0; b < 3; ++b) {
      auto* m = d->add_new_isr_with_epochs();
      m->set_broker_id(b);
      m->set_broker_epoch(-1);
    }
    h.Commit(h.logic().AlterPartition(req));
  }
  ASSERT_GT(preferred_by_0, 0);
  EXPECT_EQ(h.Commit(h.logic().RebalancePreferredLeaders()), preferred_by_0);
  for (int p = 0; p < 6; ++p) {
    EXPECT_EQ(h.Partition("t", p).leader, h.Partition("t", p).preferred_leader());
  }
}

TEST(RebalanceTest, MovesAreBoundedPerCall) {
  ControllerConfig config = TestConfig();
  config.max_rebalance_moves = 1;
  Harness h(config);
  h.AddBroker(0);
  h.AddBroker(1);
  h.CreateTopic("t", 4, 2);
  h.Heartbeat(0, false, true);
  h.Heartbeat(0);
  // Put broker 0 back in every ISR.
  const Uuid id = h.image().topic_by_name("t")->id;
  for (int p = 0; p < 4; ++p) {
    const auto& part = h.Partition("t", p);
    v1::AlterPartitionRequest req;
    req.set_broker_id(1);
    req.set_broker_epoch(h.image().broker(BrokerId(1))->epoch.value());
    auto* t = req.add_topics();
    id.ToProto(t->mutable_topic_id());
    auto* d = t->add_partitions();
    d->set_partition(p);
    d->set_leader_epoch(part.leader_epoch.value());
    d->set_partition_epoch(part.partition_epoch.value());
    for (int b : {1, 0}) {
      auto* m = d->add_new_isr_with_epochs();
      m->set_broker_id(b);
      m->set_broker_epoch(-1);
    }
    h.Commit(h.logic().AlterPartition(req));
  }
  EXPECT_EQ(h.Commit(h.logic().RebalancePreferredLeaders()), 1);
  EXPECT_EQ(h.Commit(h.logic().RebalancePreferredLeaders()), 1);
}

}  // namespace
}  // namespace fjord::controller
