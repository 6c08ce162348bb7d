// RegisterBroker, BrokerHeartbeat (unfence, fence, controlled shutdown),
// session expiry, UnregisterBroker, AllocateProducerIds, DescribeCluster.
#include "controller/controller_logic.h"
#include "controller/logic_test_util.h"
#include "gtest/gtest.h"

namespace fjord::controller {
namespace {

using namespace fjord::controller::testing;

TEST(RegisterBrokerTest, EpochIsTheRecordOffsetAndTheBrokerStartsFenced) {
  Harness h;
  auto result = h.logic().RegisterBroker(h.RegisterRequest(4, "r1"), Offset(7));
  ASSERT_EQ(result.records.size(), 1u);
  const auto& r = result.records[0].register_broker();
  EXPECT_EQ(r.broker_id(), 4);
  EXPECT_EQ(r.broker_epoch(), 7);
  EXPECT_TRUE(r.fenced());
  EXPECT_FALSE(r.in_controlled_shutdown());
  EXPECT_EQ(r.rack(), "r1");
  EXPECT_EQ(result.response.error_code(), v1::NONE);
  EXPECT_EQ(result.response.broker_epoch(), 7);
  // Handlers do not mutate.
  EXPECT_EQ(h.image().broker(BrokerId(4)), nullptr);
}

TEST(RegisterBrokerTest, RejectsAnotherClusterAndMalformedRequests) {
  Harness h;
  auto req = h.RegisterRequest(1);
  req.set_cluster_id("other");
  auto result = h.logic().RegisterBroker(req, h.next_offset());
  EXPECT_EQ(result.response.error_code(), v1::INCONSISTENT_CLUSTER_ID);
  EXPECT_EQ(result.response.broker_epoch(), -1);
  EXPECT_TRUE(result.records.empty());

  std::vector<v1::RegisterBrokerRequest> bad(4, h.RegisterRequest(1));
  bad[0].clear_listeners();
  *bad[1].add_listeners() = bad[1].listeners(0);  // duplicate listener name
  bad[2].set_broker_id(-1);
  bad[3].clear_incarnation_id();
  for (const auto& b : bad) {
    auto r = h.logic().RegisterBroker(b, h.next_offset());
    EXPECT_EQ(r.response.error_code(), v1::INVALID_REQUEST) << b.DebugString();
    EXPECT_TRUE(r.records.empty());
  }
}

TEST(RegisterBrokerTest, RetryWithTheSameIncarnationKeepsTheEpoch) {
  Harness h;
  int64_t epoch = h.AddBroker(1);
  auto retry = h.logic().RegisterBroker(h.RegisterRequest(1), h.next_offset());
  EXPECT_TRUE(retry.records.empty());
  EXPECT_EQ(retry.response.error_code(), v1::NONE);
  EXPECT_EQ(retry.response.broker_epoch(), epoch);
}

TEST(RegisterBrokerTest, NewIncarnationWhileTheOldSessionLivesIsADuplicate) {
  Harness h;
  h.AddBroker(1);
  auto result = h.logic().RegisterBroker(h.RegisterRequest(1, "", 2), h.next_offset());
  EXPECT_EQ(result.response.error_code(), v1::DUPLICATE_BROKER_REGISTRATION);
  EXPECT_TRUE(result.records.empty());
}

TEST(RegisterBrokerTest, NewIncarnationAfterExpiryReplacesTheOldSelfAndItsLeaderships) {
  Harness h;
  int64_t old_epoch = h.AddBroker(0);
  h.AddBroker(1);
  h.CreateTopic("t", 4, 2);
  h.clock().Advance(absl::Seconds(10));
  h.Heartbeat(1);
  auto result = h.logic().RegisterBroker(h.RegisterRequest(0, "", 2), h.next_offset());
  ASSERT_EQ(result.response.error_code(), v1::NONE);
  EXPECT_GT(result.response.broker_epoch(), old_epoch);
  EXPECT_TRUE(result.records.back().has_register_broker());
  h.Commit(std::move(result));
  const BrokerRegistration* b = h.image().broker(BrokerId(0));
  EXPECT_TRUE(b->fenced);
  for (int p = 0; p < 4; ++p) {
    EXPECT_EQ(h.Partition("t", p).leader, BrokerId(1)) << p;
    EXPECT_EQ(h.Partition("t", p).isr, Ids({1})) << p;
  }
}

TEST(BrokerHeartbeatTest, UnknownBrokerAndStaleEpoch) {
  Harness h;
  v1::BrokerHeartbeatRequest req;
  req.set_broker_id(3);
  req.set_broker_epoch(1);
  auto r = h.logic().BrokerHeartbeat(req);
  EXPECT_EQ(r.response.error_code(), v1::BROKER_ID_NOT_REGISTERED);
  EXPECT_TRUE(r.response.is_fenced());
  int64_t epoch = h.AddBroker(3);
  req.set_broker_epoch(epoch - 1);
  r = h.logic().BrokerHeartbeat(req);
  EXPECT_EQ(r.response.error_code(), v1::STALE_BROKER_EPOCH);
  EXPECT_TRUE(r.records.empty());
}

TEST(BrokerHeartbeatTest, UnfencesOnlyOnceCaughtUpToTheRegistration) {
  Harness h;
  auto reg = h.Commit(h.logic().RegisterBroker(h.RegisterRequest(2), h.next_offset()));
  v1::BrokerHeartbeatRequest req;
  req.set_broker_id(2);
  req.set_broker_epoch(reg.broker_epoch());
  req.set_current_metadata_offset(reg.broker_epoch() - 1);
  auto behind = h.logic().BrokerHeartbeat(req);
  EXPECT_TRUE(behind.records.empty());
  EXPECT_FALSE(behind.response.is_caught_up());
  EXPECT_TRUE(behind.response.is_fenced());
  req.set_want_fence(true);
  req.set_current_metadata_offset(reg.broker_epoch());
  EXPECT_TRUE(h.logic().BrokerHeartbeat(req).records.empty());  // wants to stay fenced
  req.set_want_fence(false);
  auto caught_up = h.logic().BrokerHeartbeat(req);
  ASSERT_EQ(caught_up.records.size(), 1u);
  EXPECT_EQ(caught_up.records[0].unfence_broker().id(), 2);
  EXPECT_EQ(caught_up.records[0].unfence_broker().epoch(), reg.broker_epoch());
  EXPECT_TRUE(caught_up.response.is_caught_up());
  EXPECT_FALSE(caught_up.response.is_fenced());
  h.Commit(std::move(caught_up));
  EXPECT_FALSE(h.image().broker(BrokerId(2))->fenced);
}

TEST(SessionTest, ExpiryFencesTheBrokerAndMovesItsLeadershipsAndIsrPlaces) {
  Harness h;
  for (int b = 0; b < 3; ++b) h.AddBroker(b);
  h.CreateTopic("t", 6, 3);
  h.clock().Advance(absl::Milliseconds(8999));
  EXPECT_EQ(h.logic().FenceStaleBrokers().response, kNoBroker);  // not yet
  h.Heartbeat(1);
  h.Heartbeat(2);
  h.clock().Advance(absl::Milliseconds(1));
  auto result = h.logic().FenceStaleBrokers();
  EXPECT_EQ(result.response, BrokerId(0));
  EXPECT_TRUE(result.records.back().has_fence_broker());
  h.Commit(std::move(result));
  EXPECT_TRUE(h.image().broker(BrokerId(0))->fenced);
  for (int p = 0; p < 6; ++p) {
    const auto& part = h.Partition("t", p);
    EXPECT_NE(part.leader, BrokerId(0));
    EXPECT_TRUE(part.has_leader());
    EXPECT_FALSE(part.InIsr(BrokerId(0)));
    EXPECT_EQ(part.isr.size(), 2u);
  }
  EXPECT_EQ(h.logic().FenceStaleBrokers().response, kNoBroker);  // one at a time, now none
  EXPECT_EQ(h.logic().fenced_broker_count(), 1);
}

TEST(SessionTest, FencingTheLastIsrMemberLeavesTheIsrAndNoLeader) {
  Harness h;
  h.AddBroker(0);
  h.AddBroker(1);
  h.CreateTopic("t", 2, 1);
  h.clock().Advance(absl::Seconds(10));
  h.Heartbeat(1);
  h.Commit(h.logic().FenceStaleBrokers());
  int offline = 0;
  for (int p = 0; p < 2; ++p) {
    const auto& part = h.Partition("t", p);
    if (part.replicas == Ids({0})) {
      EXPECT_EQ(part.leader, kNoBroker);
      EXPECT_EQ(part.isr, Ids({0}));
      ++offline;
    }
  }
  EXPECT_EQ(offline, 1);
  EXPECT_EQ(h.logic().offline_partition_count(), 1);
  // When broker 0 comes back and catches up, it leads again.
  h.clock().Advance(absl::Seconds(1));
  auto hb = h.Heartbeat(0);
  EXPECT_FALSE(hb.is_fenced());
  EXPECT_EQ(h.logic().offline_partition_count(), 0);
}

TEST(SessionTest, UncleanElectionOnlyWhereTheTopicAllowsIt) {
  for (bool unclean : {false, true}) {
    Harness h;
    h.AddBroker(0);
    h.AddBroker(1);
    h.CreateTopic("t", 1, 2, {{"unclean.leader.election.enable", unclean ? "true" : "false"}});
    // Fence the non-leader first: the ISR shrinks to the leader.
    const BrokerId leader = h.Partition("t", 0).leader;
    const BrokerId other(1 - leader.value());
    h.clock().Advance(absl::Seconds(10));
    h.Heartbeat(leader.value());
    h.Commit(h.logic().FenceStaleBrokers());
    EXPECT_EQ(h.Partition("t", 0).isr, std::vector<BrokerId>{leader});
    // The other comes back (out of the ISR), then the leader's session ends.
    h.Heartbeat(other.value());  // unfenced: caught up
    h.clock().Advance(absl::Seconds(10));
    h.Heartbeat(other.value());
    h.Commit(h.logic().FenceStaleBrokers());
    const auto& p = h.Partition("t", 0);
    if (unclean) {
      EXPECT_EQ(p.leader, other);
      EXPECT_EQ(p.isr, std::vector<BrokerId>{other});
      EXPECT_EQ(p.leader_recovery_state, v1::RECOVERING);
      EXPECT_EQ(h.logic().unclean_election_count(), 1);
    } else {
      EXPECT_EQ(p.leader, kNoBroker);
      EXPECT_EQ(p.isr, std::vector<BrokerId>{leader});
      EXPECT_EQ(h.logic().unclean_election_count(), 0);
    }
  }
}

TEST(BrokerHeartbeatTest, WantFenceFencesAnActiveBroker) {
  Harness h;
  h.AddBroker(0);
  h.AddBroker(1);
  h.CreateTopic("t", 2, 2);
  auto hb = h.Heartbeat(0, false, /*want_fence=*/true);
  EXPECT_TRUE(hb.is_fenced());
  EXPECT_TRUE(h.image().broker(BrokerId(0))->fenced);
  for (int p = 0; p < 2; ++p) EXPECT_EQ(h.Partition("t", p).leader, BrokerId(1));
}

TEST(BrokerHeartbeatTest, ControlledShutdownMovesLeadershipThenSaysShutDown) {
  Harness h;
  for (int b = 0; b < 3; ++b) h.AddBroker(b);
  h.CreateTopic("t", 6, 2);
  auto first = h.logic().BrokerHeartbeat([&] {
    v1::BrokerHeartbeatRequest req;
    req.set_broker_id(0);
    req.set_broker_epoch(h.image().broker(BrokerId(0))->epoch.value());
    req.set_current_metadata_offset(h.image().offset().value());
    req.set_want_shut_down(true);
    return req;
  }());
  ASSERT_FALSE(first.records.empty());
  EXPECT_TRUE(first.records[0].broker_registration_change().in_controlled_shutdown());
  EXPECT_FALSE(first.response.should_shut_down());
  h.Commit(std::move(first));
  EXPECT_TRUE(h.image().broker(BrokerId(0))->in_controlled_shutdown);
  for (int p = 0; p < 6; ++p) {
    EXPECT_NE(h.Partition("t", p).leader, BrokerId(0));
    EXPECT_FALSE(h.Partition("t", p).InIsr(BrokerId(0)));
  }
  auto second = h.Heartbeat(0, /*want_shut_down=*/true);
  EXPECT_TRUE(second.should_shut_down());
  // A broker in controlled shutdown is not elected.
  h.Heartbeat(1, /*want_shut_down=*/false, /*want_fence=*/true);
  for (int p = 0; p < 6; ++p) EXPECT_NE(h.Partition("t", p).leader, BrokerId(0));
}

TEST(UnregisterBrokerTest, RemovesTheBrokerAndItsLeaderships) {
  Harness h;
  v1::UnregisterBrokerRequest req;
  req.set_broker_id(0);
  EXPECT_EQ(h.logic().UnregisterBroker(req).response.error_code(), v1::BROKER_ID_NOT_REGISTERED);
  h.AddBroker(0);
  h.AddBroker(1);
  h.CreateTopic("t", 2, 2);
  auto resp = h.Commit(h.logic().UnregisterBroker(req));
  EXPECT_EQ(resp.error_code(), v1::NONE);
  EXPECT_EQ(h.image().broker(BrokerId(0)), nullptr);
  for (int p = 0; p < 2; ++p) EXPECT_EQ(h.Partition("t", p).leader, BrokerId(1));
}

TEST(AllocateProducerIdsTest, HandsOutConsecutiveBlocks) {
  Harness h;
  int64_t epoch = h.AddBroker(0);
  v1::AllocateProducerIdsRequest req;
  req.set_broker_id(0);
  req.set_broker_epoch(epoch);
  auto first = h.Commit(h.logic().AllocateProducerIds(req));
  auto second = h.Commit(h.logic().AllocateProducerIds(req));
  EXPECT_EQ(first.producer_id_start(), 0);
  EXPECT_EQ(first.producer_id_len(), 1000);
  EXPECT_EQ(second.producer_id_start(), 1000);
  EXPECT_EQ(h.image().next_producer_id(), 2000);
  req.set_broker_epoch(epoch + 100);
  auto stale = h.logic().AllocateProducerIds(req);
  EXPECT_EQ(stale.response.error_code(), v1::STALE_BROKER_EPOCH);
  EXPECT_EQ(stale.response.producer_id_start(), -1);
  EXPECT_TRUE(stale.records.empty());
  req.set_broker_id(9);
  EXPECT_EQ(h.logic().AllocateProducerIds(req).response.error_code(), v1::BROKER_ID_NOT_REGISTERED);
}

TEST(DescribeClusterTest, ListsBrokersByIdWithTheirState) {
  Harness h;
  h.AddBroker(2, "r2");
  h.AddBroker(0, "r0");
  h.Commit(h.logic().RegisterBroker(h.RegisterRequest(1), h.next_offset()));
  auto resp = h.logic().DescribeCluster();
  EXPECT_EQ(resp.cluster_id(), "test-cluster");
  EXPECT_EQ(resp.high_watermark(), h.image().offset().value());
  ASSERT_EQ(resp.brokers_size(), 3);
  EXPECT_EQ(resp.brokers(0).broker_id(), 0);
  EXPECT_EQ(resp.brokers(0).rack(), "r0");
  EXPECT_FALSE(resp.brokers(0).fenced());
  EXPECT_TRUE(resp.brokers(1).fenced());
  EXPECT_EQ(resp.brokers(2).broker_id(), 2);
}

}  // namespace
}  // namespace fjord::controller
