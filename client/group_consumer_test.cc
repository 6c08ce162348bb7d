// GroupConsumer against a scripted coordinator: what it sends (join, owned
// partitions, leave epochs, commits) and in which order, and when the
// rebalance listener runs. Records are not fetched here (the scripted broker
// serves no Fetch); the real-process suites in tests/e2e/ consume data.
#include "client/group_consumer.h"

#include <gtest/gtest.h>

#include <thread>

#include "client/testing/scripted_broker.h"
#include "client/testing/scripted_group_coordinator.h"
#include "common/kafka_error.h"

namespace fjord::client {
namespace {

using testing::ScriptedBroker;
using testing::ScriptedGroupCoordinator;
using Heartbeat = ScriptedGroupCoordinator::Heartbeat;

constexpr absl::Duration kWait = absl::Seconds(10);

// Every callback, in order, with the time it ran.
class RecordingListener : public RebalanceListener {
 public:
  struct Event {
    std::string kind;
    std::vector<TopicPartition> partitions;
    absl::Time at;
  };
  void OnPartitionsRevoked(const std::vector<TopicPartition>& p) override { Add("revoked", p); }
  void OnPartitionsAssigned(const std::vector<TopicPartition>& p) override { Add("assigned", p); }
  void OnPartitionsLost(const std::vector<TopicPartition>& p) override { Add("lost", p); }
  std::vector<Event> events;

 private:
  void Add(const std::string& kind, const std::vector<TopicPartition>& p) {
    events.push_back({kind, p, absl::Now()});
  }
};

std::vector<TopicPartition> Owned(const v1::ConsumerGroupHeartbeatRequest& r) {
  return FromGroupTopicPartitions(r.owned_topic_partitions());
}

class GroupConsumerTest : public ::testing::Test {
 protected:
  GroupConsumerTest() : broker_(1), coordinator_(&broker_) {
    broker_.AddService(&coordinator_);
    broker_.Start();
    broker_.SetCluster({&broker_}, {{"t", {1, 1, 1, 1}}});
    // Every partition has a committed offset, so positions are known
    // without ListOffsets (which the scripted broker does not serve).
    for (int p = 0; p < 4; ++p) coordinator_.SetCommitted({"t", p}, 10 + p);
  }

  std::unique_ptr<GroupConsumer> Make(Properties extra = {}) {
    Properties props = {{"bootstrap.servers", broker_.address()},
                        {"group.id", "g"},
                        {"retry.backoff.ms", "20"},
                        {"request.timeout.ms", "3000"}};
    for (const auto& [k, v] : extra) props[k] = v;
    auto config = ConsumerConfig::FromProperties(props);
    EXPECT_TRUE(config.ok()) << config.status();
    auto consumer = GroupConsumer::Create(*config);
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    return std::move(*consumer);
  }

  // Polls until `done` or the bound; fails the test on timeout.
  void PollUntil(GroupConsumer& consumer, const std::function<bool()>& done,
                 const std::string& what) {
    const absl::Time deadline = absl::Now() + kWait;
    while (!done()) {
      ASSERT_LT(absl::Now(), deadline) << "timed out waiting for " << what;
      auto records = consumer.Poll(absl::Milliseconds(20));
      ASSERT_TRUE(records.ok()) << records.status();
    }
  }

  // Joins and waits for the member id.
  std::string Join(GroupConsumer& consumer, RebalanceListener* listener) {
    EXPECT_TRUE(consumer.Subscribe({"t"}, listener).ok());
    PollUntil(
        consumer, [&] { return consumer.member_epoch() > 0; }, "the join");
    return consumer.member_id();
  }

  ScriptedBroker broker_;
  ScriptedGroupCoordinator coordinator_;
};

TEST_F(GroupConsumerTest, JoinSendsEpochZeroSubscriptionAndRebalanceTimeout) {
  auto consumer = Make({{"client.rack", "r1"}, {"group.remote.assignor", "range"}});
  const std::string member = Join(*consumer, nullptr);
  EXPECT_EQ(member, "member-1");
  const Heartbeat join = coordinator_.heartbeats().front();
  EXPECT_EQ(join.request.member_epoch(), 0);
  EXPECT_EQ(join.request.member_id(), "");
  EXPECT_TRUE(join.request.has_subscription());
  ASSERT_EQ(join.request.subscribed_topic_names_size(), 1);
  EXPECT_EQ(join.request.subscribed_topic_names(0), "t");
  EXPECT_EQ(join.request.rebalance_timeout_ms(), 300000);  // max.poll.interval.ms
  EXPECT_EQ(join.request.rack_id(), "r1");
  EXPECT_EQ(join.request.server_assignor(), "range");
  EXPECT_TRUE(join.request.has_owned());
  EXPECT_EQ(join.request.owned_topic_partitions_size(), 0);
  EXPECT_FALSE(join.request.has_instance_id());
}

TEST_F(GroupConsumerTest, RevokesAndReportsBeforeTakingNewPartitions) {
  auto consumer = Make({{"enable.auto.commit", "true"}});
  RecordingListener listener;
  const std::string member = Join(*consumer, &listener);
  coordinator_.SetAssignment(member, {{"t", 0}, {"t", 1}});
  PollUntil(
      *consumer, [&] { return consumer->assignment().size() == 2; }, "first assignment");
  // Positions come from the committed offsets.
  EXPECT_EQ(*consumer->Position({"t", 0}), 10);
  EXPECT_EQ(*consumer->Position({"t", 1}), 11);
  ASSERT_TRUE(consumer->Seek({"t", 0}, 42).ok());  // "processed" up to 42

  coordinator_.SetAssignment(member, {{"t", 1}, {"t", 2}});
  PollUntil(
      *consumer,
      [&] {
        return consumer->assignment() == std::vector<TopicPartition>{{"t", 1}, {"t", 2}};
      },
      "second assignment");

  ASSERT_EQ(listener.events.size(), 3u);
  EXPECT_EQ(listener.events[0].kind, "assigned");
  EXPECT_EQ(listener.events[1].kind, "revoked");
  EXPECT_EQ(listener.events[1].partitions, (std::vector<TopicPartition>{{"t", 0}}));
  EXPECT_EQ(listener.events[2].kind, "assigned");
  EXPECT_EQ(listener.events[2].partitions, (std::vector<TopicPartition>{{"t", 2}}));
  const absl::Time revoked_at = listener.events[1].at;

  // Auto-commit committed t-0 at 42 before the revocation callback ran.
  bool committed_before = false;
  for (const auto& c : coordinator_.commits()) {
    for (const auto& t : c.request.topics()) {
      for (const auto& p : t.partitions()) {
        if (p.partition() == 0 && p.committed_offset() == 42 && c.at <= revoked_at &&
            c.result == v1::NONE) {
          committed_before = true;
        }
      }
    }
  }
  EXPECT_TRUE(committed_before);
  EXPECT_EQ(coordinator_.committed({"t", 0}), 42);

  // The coordinator heard "owns {t-1}" (revocation acknowledged) after the
  // callback and before "owns {t-1, t-2}".
  ASSERT_TRUE(coordinator_.WaitForHeartbeat(
      [](const Heartbeat& h) {
        return h.request.has_owned() && Owned(h.request).size() == 2 &&
               Owned(h.request)[1] == TopicPartition{"t", 2};
      },
      kWait));
  absl::Time ack_at = absl::InfiniteFuture(), take_at = absl::InfiniteFuture();
  for (const Heartbeat& h : coordinator_.heartbeats()) {
    if (!h.request.has_owned()) continue;
    const auto owned = Owned(h.request);
    if (owned == std::vector<TopicPartition>{{"t", 1}} && ack_at == absl::InfiniteFuture()) {
      ack_at = h.at;
    }
    if (owned == std::vector<TopicPartition>{{"t", 1}, {"t", 2}}) take_at = h.at;
  }
  EXPECT_GE(ack_at, revoked_at);
  EXPECT_LE(ack_at, take_at);
}

TEST_F(GroupConsumerTest, FencedMemberLosesPartitionsAndRejoinsWithEpochZero) {
  auto consumer = Make({{"enable.auto.commit", "false"}});
  RecordingListener listener;
  const std::string member = Join(*consumer, &listener);
  coordinator_.SetAssignment(member, {{"t", 3}});
  PollUntil(
      *consumer, [&] { return consumer->assignment().size() == 1; }, "assignment");
  const size_t before = coordinator_.heartbeats().size();

  coordinator_.Fence(member);
  PollUntil(
      *consumer, [&] { return !listener.events.empty() && listener.events.back().kind == "lost"; },
      "OnPartitionsLost");
  EXPECT_EQ(listener.events.back().partitions, (std::vector<TopicPartition>{{"t", 3}}));
  EXPECT_TRUE(consumer->assignment().empty());
  // Rejoined: epoch 0, the same member id (FENCED keeps it), owning nothing.
  ASSERT_TRUE(coordinator_.WaitForHeartbeat(
      [&](const Heartbeat& h) { return h.request.member_epoch() == 0 && h.request.has_owned(); },
      kWait));
  bool rejoined = false;
  const auto all = coordinator_.heartbeats();
  for (size_t i = before; i < all.size(); ++i) {
    if (all[i].request.member_epoch() == 0) {
      rejoined = true;
      EXPECT_EQ(all[i].request.member_id(), member);
      EXPECT_EQ(all[i].request.owned_topic_partitions_size(), 0);
      EXPECT_TRUE(all[i].request.has_subscription());
      EXPECT_GE(all[i].at, listener.events.back().at);  // only after the lost callback
    }
  }
  EXPECT_TRUE(rejoined);
  PollUntil(
      *consumer, [&] { return consumer->member_epoch() > 0; }, "rejoin");
  // Getting partitions again works as for a new member.
  coordinator_.SetAssignment(member, {{"t", 3}});
  PollUntil(
      *consumer, [&] { return consumer->assignment().size() == 1; }, "reassignment");
  EXPECT_EQ(listener.events.back().kind, "assigned");
}

TEST_F(GroupConsumerTest, AutoCommitsEveryInterval) {
  auto consumer = Make({{"auto.commit.interval.ms", "200"}});
  const std::string member = Join(*consumer, nullptr);
  coordinator_.SetAssignment(member, {{"t", 0}});
  PollUntil(
      *consumer, [&] { return consumer->assignment().size() == 1; }, "assignment");
  const size_t before = coordinator_.commits().size();
  const absl::Time start = absl::Now();
  int64_t position = 100;
  while (absl::Now() - start < absl::Milliseconds(1100)) {
    ASSERT_TRUE(consumer->Seek({"t", 0}, ++position).ok());
    ASSERT_TRUE(consumer->Poll(absl::Milliseconds(10)).ok());
  }
  const auto commits = coordinator_.commits();
  const int made = static_cast<int>(commits.size() - before);
  EXPECT_GE(made, 3) << "expected about 5 auto-commits in 1.1 s at 200 ms";
  EXPECT_LE(made, 7);
  for (size_t i = before + 1; i < commits.size(); ++i) {
    EXPECT_GE(commits[i].at - commits[i - 1].at, absl::Milliseconds(150));
  }
  EXPECT_GT(*coordinator_.committed({"t", 0}), 100);
}

TEST_F(GroupConsumerTest, NoAutoCommitWhenDisabled) {
  auto consumer = Make({{"enable.auto.commit", "false"}, {"auto.commit.interval.ms", "50"}});
  const std::string member = Join(*consumer, nullptr);
  coordinator_.SetAssignment(member, {{"t", 0}});
  PollUntil(
      *consumer, [&] { return consumer->assignment().size() == 1; }, "assignment");
  ASSERT_TRUE(consumer->Seek({"t", 0}, 77).ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(consumer->Poll(absl::Milliseconds(20)).ok());
  consumer->Close();
  EXPECT_TRUE(coordinator_.commits().empty());
}

TEST_F(GroupConsumerTest, CloseCommitsRevokesAndLeavesWithEpochMinusOne) {
  auto consumer = Make({{"auto.commit.interval.ms", "600000"}});
  RecordingListener listener;
  const std::string member = Join(*consumer, &listener);
  coordinator_.SetAssignment(member, {{"t", 1}});
  PollUntil(
      *consumer, [&] { return consumer->assignment().size() == 1; }, "assignment");
  ASSERT_TRUE(consumer->Seek({"t", 1}, 500).ok());
  consumer->Close();
  EXPECT_EQ(coordinator_.committed({"t", 1}), 500);
  ASSERT_FALSE(listener.events.empty());
  EXPECT_EQ(listener.events.back().kind, "revoked");
  const Heartbeat last = coordinator_.heartbeats().back();
  EXPECT_EQ(last.request.member_epoch(), -1);
  EXPECT_EQ(last.request.member_id(), member);
  EXPECT_LE(coordinator_.commits().back().at, last.at);
  EXPECT_TRUE(coordinator_.members().empty());
  EXPECT_FALSE(consumer->Poll(absl::Milliseconds(1)).ok());
}

TEST_F(GroupConsumerTest, StaticMemberSendsInstanceIdAndLeavesWithEpochMinusTwo) {
  auto consumer = Make({{"group.instance.id", "instance-a"}, {"enable.auto.commit", "false"}});
  Join(*consumer, nullptr);
  EXPECT_EQ(coordinator_.heartbeats().front().request.instance_id(), "instance-a");
  consumer->Close();
  const Heartbeat last = coordinator_.heartbeats().back();
  EXPECT_EQ(last.request.member_epoch(), -2);
  EXPECT_EQ(last.request.instance_id(), "instance-a");
}

TEST_F(GroupConsumerTest, HeartbeatsContinueWhileTheApplicationIsBusy) {
  auto consumer = Make();
  Join(*consumer, nullptr);
  const size_t before = coordinator_.heartbeats().size();
  absl::SleepFor(absl::Milliseconds(600));  // no Poll: "processing"
  const size_t during = coordinator_.heartbeats().size() - before;
  EXPECT_GE(during, 5u) << "heartbeat interval is 50 ms";
}

TEST_F(GroupConsumerTest, FindsTheCoordinatorAgainAfterNotCoordinator) {
  coordinator_.FailHeartbeats(3, v1::NOT_COORDINATOR);
  auto consumer = Make();
  Join(*consumer, nullptr);
  EXPECT_GE(coordinator_.heartbeats().size(), 4u);
}

TEST_F(GroupConsumerTest, FatalHeartbeatErrorSurfacesFromPoll) {
  coordinator_.FailHeartbeats(1, v1::GROUP_MAX_SIZE_REACHED);
  auto consumer = Make();
  ASSERT_TRUE(consumer->Subscribe({"t"}).ok());
  const absl::Time deadline = absl::Now() + kWait;
  absl::Status status;
  while (status.ok() && absl::Now() < deadline) {
    status = consumer->Poll(absl::Milliseconds(20)).status();
  }
  EXPECT_EQ(ToErrorCode(status), v1::GROUP_MAX_SIZE_REACHED) << status;
}

TEST_F(GroupConsumerTest, CommitAsyncCallbackRunsOnThePollThread) {
  auto consumer = Make({{"enable.auto.commit", "false"}});
  const std::string member = Join(*consumer, nullptr);
  coordinator_.SetAssignment(member, {{"t", 2}});
  PollUntil(
      *consumer, [&] { return consumer->assignment().size() == 1; }, "assignment");
  const std::thread::id app = std::this_thread::get_id();
  std::optional<absl::Status> result;
  consumer->CommitAsync({{{"t", 2}, {.offset = 99}}},
                        [&](const OffsetMap& offsets, const absl::Status& status) {
                          EXPECT_EQ(std::this_thread::get_id(), app);
                          EXPECT_EQ(offsets.at({"t", 2}).offset, 99);
                          result = status;
                        });
  PollUntil(
      *consumer, [&] { return result.has_value(); }, "the commit callback");
  EXPECT_TRUE(result->ok()) << *result;
  EXPECT_EQ(coordinator_.committed({"t", 2}), 99);
}

TEST(GroupConsumerStaleEpoch, CommitIsRetriedUnderTheEpochTheNextHeartbeatBrings) {
  // A long heartbeat interval: the commit reaches the coordinator before the
  // heartbeat that carries the member's new epoch.
  ScriptedBroker broker(1);
  ScriptedGroupCoordinator coordinator(&broker, /*heartbeat_interval_ms=*/3000);
  broker.AddService(&coordinator);
  broker.Start();
  broker.SetCluster({&broker}, {{"t", {1}}});
  coordinator.SetCommitted({"t", 0}, 1);
  auto config = ConsumerConfig::FromProperties({{"bootstrap.servers", broker.address()},
                                                {"group.id", "g"},
                                                {"enable.auto.commit", "false"},
                                                {"request.timeout.ms", "5000"}});
  ASSERT_TRUE(config.ok());
  auto consumer = std::move(*GroupConsumer::Create(*config));
  ASSERT_TRUE(consumer->Subscribe({"t"}).ok());
  const absl::Time deadline = absl::Now() + kWait;
  while (consumer->member_epoch() <= 0 && absl::Now() < deadline) {
    ASSERT_TRUE(consumer->Poll(absl::Milliseconds(20)).ok());
  }
  const std::string member = consumer->member_id();
  coordinator.SetAssignmentBumpingEpochNow(member, {{"t", 0}});

  const absl::Time start = absl::Now();
  absl::Status committed = consumer->CommitSync({{{"t", 0}, {.offset = 5}}});
  EXPECT_TRUE(committed.ok()) << committed;
  EXPECT_LT(absl::Now() - start, absl::Seconds(2)) << "waited for the periodic heartbeat";
  EXPECT_EQ(coordinator.committed({"t", 0}), 5);
  const auto commits = coordinator.commits();
  ASSERT_EQ(commits.size(), 2u);
  EXPECT_EQ(commits[0].result, v1::STALE_MEMBER_EPOCH);
  EXPECT_EQ(commits[1].result, v1::NONE);
  EXPECT_GT(commits[1].request.member_epoch(), commits[0].request.member_epoch());
  consumer->Close();
}

TEST(GroupConsumerConfig, GroupIdIsRequired) {
  auto config = ConsumerConfig::FromProperties({{"bootstrap.servers", "127.0.0.1:1"}});
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(ToErrorCode(GroupConsumer::Create(*config).status()), v1::INVALID_GROUP_ID);
}

}  // namespace
}  // namespace fjord::client
