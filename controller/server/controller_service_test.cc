// DescribeControllers: what DescribeCluster says about each controller's log.
#include "controller/server/controller_service.h"

#include "gtest/gtest.h"

namespace fjord::controller {
namespace {

std::map<NodeId, v1::Endpoint> ThreeVoters() {
  std::map<NodeId, v1::Endpoint> voters;
  for (int id = 1; id <= 3; ++id) {
    v1::Endpoint e;
    e.set_host("127.0.0.1");
    e.set_port(9090 + id);
    voters[NodeId(id)] = e;
  }
  return voters;
}

const v1::DescribeClusterResponse::DescribeClusterController& Controller(
    const v1::DescribeClusterResponse& resp, int id) {
  for (const auto& c : resp.controllers()) {
    if (c.node_id() == id) return c;
  }
  ADD_FAILURE() << "controller " << id << " not listed";
  return resp.controllers(0);
}

TEST(DescribeControllersTest, TheActiveControllerReportsEveryVotersLogEnd) {
  const absl::Time now = absl::FromUnixMillis(1'000'000);
  QuorumControllerStatus st{
      .active = true, .leader = NodeId(1), .commit_index = 40, .metadata_offset = 41};
  const std::vector<raft::PeerProgress> progress = {
      {NodeId(1), LogIndex(41), now},
      {NodeId(2), LogIndex(39), absl::FromUnixMillis(999'500)},
      {NodeId(3), LogIndex(12), absl::InfinitePast()},  // Behind since this leader began.
  };
  v1::DescribeClusterResponse resp;
  resp.set_controller_id(1);
  DescribeControllers(ThreeVoters(), st, progress, now, &resp);
  ASSERT_EQ(resp.controllers_size(), 3);
  EXPECT_EQ(resp.controllers(0).node_id(), 1);
  EXPECT_EQ(resp.controllers(2).node_id(), 3);
  EXPECT_TRUE(Controller(resp, 1).is_active());
  EXPECT_EQ(Controller(resp, 1).log_end_offset(), 41);
  EXPECT_EQ(Controller(resp, 1).last_caught_up_time_ms(), 1'000'000);
  EXPECT_FALSE(Controller(resp, 2).is_active());
  EXPECT_EQ(Controller(resp, 2).log_end_offset(), 39);
  EXPECT_EQ(Controller(resp, 2).last_caught_up_time_ms(), 999'500);
  EXPECT_EQ(Controller(resp, 3).log_end_offset(), 12);
  EXPECT_EQ(Controller(resp, 3).last_caught_up_time_ms(), -1);
  EXPECT_EQ(Controller(resp, 2).endpoints(0).port(), 9092);
}

TEST(DescribeControllersTest, AVoterThatHasNotAnsweredTheLeaderIsUnknown) {
  QuorumControllerStatus st{
      .active = true, .leader = NodeId(2), .commit_index = 7, .metadata_offset = 7};
  const std::vector<raft::PeerProgress> progress = {{NodeId(1), LogIndex(0)},
                                                    {NodeId(2), LogIndex(7)}};
  v1::DescribeClusterResponse resp;
  resp.set_controller_id(2);
  DescribeControllers(ThreeVoters(), st, progress, absl::Now(), &resp);
  EXPECT_EQ(Controller(resp, 1).log_end_offset(), -1);  // Match 0: nothing known yet.
  EXPECT_EQ(Controller(resp, 3).log_end_offset(), -1);  // Not in the progress at all.
  EXPECT_EQ(Controller(resp, 2).log_end_offset(), 7);
}

TEST(DescribeControllersTest, AnInactiveResponderKnowsNoLogEnds) {
  QuorumControllerStatus st{
      .active = false, .leader = NodeId(1), .commit_index = 9, .metadata_offset = 9};
  // Even if its Raft node still held a progress copy, a non-active
  // controller answers -1 everywhere, as the contract says.
  const std::vector<raft::PeerProgress> progress = {{NodeId(2), LogIndex(9), absl::Now()}};
  v1::DescribeClusterResponse resp;
  resp.set_controller_id(1);
  DescribeControllers(ThreeVoters(), st, progress, absl::Now(), &resp);
  for (const auto& c : resp.controllers()) {
    EXPECT_EQ(c.log_end_offset(), -1) << c.node_id();
    EXPECT_EQ(c.last_caught_up_time_ms(), -1) << c.node_id();
  }
}

}  // namespace
}  // namespace fjord::controller
