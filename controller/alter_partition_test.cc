#include "controller/logic_test_util.h"
#include "controller/replication_control.h"
#include "gtest/gtest.h"

namespace fjord::controller {
namespace {

using namespace fjord::controller::testing;

class AlterPartitionTest : public ::testing::Test {
 protected:
  AlterPartitionTest() {
    for (int b = 0; b < 3; ++b) epochs_[b] = h_.AddBroker(b);
    topic_ = h_.CreateTopic("t", 1, 3);
    leader_ = h_.Partition("t", 0).leader.value();
  }

  // A request from the current leader to set the ISR to `isr`.
  v1::AlterPartitionRequest Request(std::vector<int32_t> isr) {
    const auto& p = h_.Partition("t", 0);
    v1::AlterPartitionRequest req;
    req.set_broker_id(leader_);
    req.set_broker_epoch(epochs_[leader_]);
    auto* t = req.add_topics();
    topic_.ToProto(t->mutable_topic_id());
    auto* d = t->add_partitions();
    d->set_partition(0);
    d->set_leader_epoch(p.leader_epoch.value());
    d->set_partition_epoch(p.partition_epoch.value());
    for (int32_t b : isr) {
      auto* m = d->add_new_isr_with_epochs();
      m->set_broker_id(b);
      m->set_broker_epoch(epochs_[b]);
    }
    return req;
  }
  std::vector<int32_t> Others() {
    std::vector<int32_t> out;
    for (int b = 0; b < 3; ++b) {
      if (b != leader_) out.push_back(b);
    }
    return out;
  }
  v1::ErrorCode ErrorFor(const v1::AlterPartitionRequest& req) {
    auto r = h_.logic().AlterPartition(req);
    EXPECT_TRUE(r.records.empty());
    if (r.response.error_code() != v1::NONE) return r.response.error_code();
    return r.response.topics(0).partitions(0).error_code();
  }

  Harness h_;
  std::map<int32_t, int64_t> epochs_;
  Uuid topic_;
  int32_t leader_ = -1;
};

TEST_F(AlterPartitionTest, ShrinkAndExpandAreCompareAndSetOnThePartitionEpoch) {
  auto result = h_.logic().AlterPartition(Request({leader_}));
  ASSERT_EQ(result.records.size(), 1u);
  const auto& out = result.response.topics(0).partitions(0);
  EXPECT_EQ(out.error_code(), v1::NONE);
  EXPECT_EQ(out.leader_id(), leader_);
  EXPECT_EQ(out.partition_epoch(), 1);
  EXPECT_EQ(out.leader_epoch(), 0);
  ASSERT_EQ(out.isr_size(), 1);
  auto stale = Request({leader_, Others()[0]});  // built before the change commits
  h_.Commit(std::move(result));
  EXPECT_EQ(h_.Partition("t", 0).isr, std::vector<BrokerId>{BrokerId(leader_)});
  EXPECT_EQ(ErrorFor(stale), v1::INVALID_UPDATE_VERSION);
  auto expand = h_.Commit(h_.logic().AlterPartition(Request({leader_, Others()[0]})));
  EXPECT_EQ(expand.topics(0).partitions(0).partition_epoch(), 2);
  EXPECT_EQ(h_.Partition("t", 0).isr.size(), 2u);
}

TEST_F(AlterPartitionTest, RequestLevelErrors) {
  auto req = Request({leader_});
  req.set_broker_epoch(12345);
  EXPECT_EQ(ErrorFor(req), v1::STALE_BROKER_EPOCH);
  req.set_broker_id(42);
  EXPECT_EQ(ErrorFor(req), v1::BROKER_ID_NOT_REGISTERED);
}

TEST_F(AlterPartitionTest, PartitionErrors) {
  auto wrong_epoch = Request({leader_});
  wrong_epoch.mutable_topics(0)->mutable_partitions(0)->set_leader_epoch(5);
  EXPECT_EQ(ErrorFor(wrong_epoch), v1::FENCED_LEADER_EPOCH);

  auto not_leader = Request({leader_});
  not_leader.set_broker_id(Others()[0]);
  not_leader.set_broker_epoch(epochs_[Others()[0]]);
  EXPECT_EQ(ErrorFor(not_leader), v1::NOT_LEADER_OR_FOLLOWER);

  auto unknown_topic = Request({leader_});
  Uuid{9, 9}.ToProto(unknown_topic.mutable_topics(0)->mutable_topic_id());
  EXPECT_EQ(ErrorFor(unknown_topic), v1::UNKNOWN_TOPIC_ID);

  auto unknown_partition = Request({leader_});
  unknown_partition.mutable_topics(0)->mutable_partitions(0)->set_partition(3);
  EXPECT_EQ(ErrorFor(unknown_partition), v1::UNKNOWN_TOPIC_OR_PARTITION);

  EXPECT_EQ(ErrorFor(Request({})), v1::INVALID_REQUEST);                  // empty ISR
  EXPECT_EQ(ErrorFor(Request({Others()[0]})), v1::INVALID_REQUEST);       // without leader
  EXPECT_EQ(ErrorFor(Request({leader_, leader_})), v1::INVALID_REQUEST);  // duplicate
  auto outsider = Request({leader_});
  outsider.mutable_topics(0)->mutable_partitions(0)->add_new_isr_with_epochs()->set_broker_id(7);
  EXPECT_EQ(ErrorFor(outsider), v1::INVALID_REQUEST);  // not a replica

  auto recovering = Request({leader_});
  recovering.mutable_topics(0)->mutable_partitions(0)->set_leader_recovery_state(v1::RECOVERING);
  EXPECT_EQ(ErrorFor(recovering), v1::INVALID_REQUEST);  // RECOVERED -> RECOVERING

  auto old_epoch = Request({leader_, Others()[0]});
  old_epoch.mutable_topics(0)
      ->mutable_partitions(0)
      ->mutable_new_isr_with_epochs(1)
      ->set_broker_epoch(epochs_[Others()[0]] + 1000);
  EXPECT_EQ(ErrorFor(old_epoch), v1::INELIGIBLE_REPLICA);

  h_.Heartbeat(Others()[1], false, /*want_fence=*/true);
  EXPECT_EQ(ErrorFor(Request({leader_, Others()[1]})), v1::INELIGIBLE_REPLICA);  // fenced
}

TEST_F(AlterPartitionTest, UnknownEpochMinusOneSkipsTheEpochCheck) {
  auto req = Request({leader_, Others()[0]});
  req.mutable_topics(0)->mutable_partitions(0)->mutable_new_isr_with_epochs(1)->set_broker_epoch(
      -1);
  auto r = h_.logic().AlterPartition(req);
  EXPECT_EQ(r.response.topics(0).partitions(0).error_code(), v1::NONE);
  EXPECT_EQ(r.records.size(), 1u);
}

TEST_F(AlterPartitionTest, UnchangedIsrWritesNothingAndReportsTheState) {
  auto current = h_.Partition("t", 0).isr;
  std::vector<int32_t> isr;
  for (BrokerId b : current) isr.push_back(b.value());
  auto r = h_.logic().AlterPartition(Request(isr));
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(r.response.topics(0).partitions(0).error_code(), v1::NONE);
  EXPECT_EQ(r.response.topics(0).partitions(0).partition_epoch(), 0);
}

TEST(AlterPartitionRecoveryTest, AnUncleanLeaderReportsRecovery) {
  Harness h;
  h.AddBroker(0);
  h.AddBroker(1);
  Uuid id = h.CreateTopic("u", 1, 2, {{"unclean.leader.election.enable", "true"}});
  const BrokerId first = h.Partition("u", 0).leader;
  const BrokerId second(1 - first.value());
  h.Heartbeat(second.value(), false, true);  // ISR shrinks to the leader
  h.Heartbeat(second.value());               // back, outside the ISR
  h.Heartbeat(first.value(), false, true);   // the only ISR member goes: unclean
  const auto& p = h.Partition("u", 0);
  ASSERT_EQ(p.leader, second);
  ASSERT_EQ(p.leader_recovery_state, v1::RECOVERING);
  v1::AlterPartitionRequest req;
  req.set_broker_id(second.value());
  req.set_broker_epoch(h.image().broker(second)->epoch.value());
  auto* t = req.add_topics();
  id.ToProto(t->mutable_topic_id());
  auto* d = t->add_partitions();
  d->set_leader_epoch(p.leader_epoch.value());
  d->set_partition_epoch(p.partition_epoch.value());
  d->add_new_isr_with_epochs()->set_broker_id(second.value());
  d->mutable_new_isr_with_epochs(0)->set_broker_epoch(-1);
  d->set_leader_recovery_state(v1::RECOVERED);
  auto resp = h.Commit(h.logic().AlterPartition(req));
  EXPECT_EQ(resp.topics(0).partitions(0).error_code(), v1::NONE);
  EXPECT_EQ(h.Partition("u", 0).leader_recovery_state, v1::RECOVERED);
}

}  // namespace
}  // namespace fjord::controller
