// The coordinator in real brokers (TestCluster: in-process brokers over
// loopback gRPC, real logs): discovery and topic creation, the first
// end-to-end path (join, commit, fetch persisted in __consumer_offsets),
// failover to a new leader of the offsets partition that reloads members and
// offsets, service error codes, and lag.
#include "broker/group/coordinator.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker/group/coordinator_partition.h"
#include "broker/group/test_requests.h"
#include "broker/test_cluster.h"
#include "broker/test_util.h"
#include "common/grpc_runtime.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/fjord/v1/group.grpc.pb.h"

namespace fjord::group {
namespace {

using broker::testing::TestCluster;

constexpr int32_t kOffsetsPartitions = 3;

// Creates topics the way the controller would, placing replicas round robin.
class ClusterTopicCreator final : public TopicCreator {
 public:
  void set_cluster(TestCluster* c, int brokers) {
    absl::MutexLock lock(&mu_);
    cluster_ = c;
    brokers_ = brokers;
  }
  absl::Status CreateTopic(const std::string& name, int32_t partitions, int16_t rf,
                           const std::map<std::string, std::string>& configs) override {
    absl::MutexLock lock(&mu_);
    if (cluster_ == nullptr) return absl::UnavailableError("no cluster yet");
    if (configs.at("cleanup.policy") != "compact") return absl::InvalidArgumentError("policy");
    if (rf > brokers_) return absl::InvalidArgumentError("replication factor > brokers");
    std::vector<std::vector<int32_t>> assignment;
    for (int32_t p = 0; p < partitions; ++p) {
      std::vector<int32_t> replicas;
      for (int r = 0; r < rf; ++r) replicas.push_back((p + r) % brokers_ + 1);
      assignment.push_back(replicas);
    }
    if (cluster_->image()->topic_by_name(name) == nullptr) cluster_->CreateTopic(name, assignment);
    ++created_;
    return absl::OkStatus();
  }
  int created() {
    absl::MutexLock lock(&mu_);
    return created_;
  }

 private:
  absl::Mutex mu_;
  TestCluster* cluster_ ABSL_GUARDED_BY(mu_) = nullptr;
  int brokers_ ABSL_GUARDED_BY(mu_) = 0;
  int created_ ABSL_GUARDED_BY(mu_) = 0;
};

// Polls `done` every 20 ms for up to `limit`.
bool WaitFor(const std::function<bool()>& done, absl::Duration limit = absl::Seconds(20)) {
  const absl::Time deadline = absl::Now() + limit;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return done();
}

class CoordinatorTest : public ::testing::Test {
 protected:
  void Start(int brokers, int16_t rf = 3,
             absl::Duration commit_timeout = absl::Milliseconds(5000)) {
    KeepGrpcInitialized();
    broker::BrokerServerOptions o;
    o.group.offsets_topic_num_partitions = kOffsetsPartitions;
    o.group.offsets_topic_replication_factor = rf;
    o.group.topic_creator = &creator_;
    o.group.tick = absl::Milliseconds(20);
    o.group.lag_interval = absl::ZeroDuration();  // Tests refresh it by hand.
    o.group.group.session_timeout = absl::Seconds(30);
    o.group.commit_timeout = commit_timeout;
    cluster_ = std::make_unique<TestCluster>(brokers, o);
    creator_.set_cluster(cluster_.get(), brokers);
  }

  std::unique_ptr<v1::GroupService::Stub> Stub(const std::string& address) {
    return v1::GroupService::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  }
  std::unique_ptr<v1::GroupService::Stub> Stub(int32_t broker) {
    return Stub(cluster_->broker(broker).address());
  }

  // FindCoordinator on `ask` until it answers; the coordinator's broker id.
  int32_t FindCoordinator(const std::string& group, int32_t ask = 1) {
    auto stub = Stub(ask);
    int32_t node = -1;
    v1::FindCoordinatorResponse last;
    const bool ok = WaitFor([&] {
      v1::FindCoordinatorRequest req;
      req.add_keys(group);
      grpc::ClientContext ctx;
      last.Clear();
      if (!stub->FindCoordinator(&ctx, req, &last).ok()) return false;
      if (last.coordinators(0).error_code() != v1::NONE) return false;
      node = last.coordinators(0).node_id();
      return true;
    });
    EXPECT_TRUE(ok) << "no coordinator for " << group << ": " << last.DebugString();
    if (ok) {
      EXPECT_EQ(absl::StrCat(last.coordinators(0).host(), ":", last.coordinators(0).port()),
                cluster_->broker(node).address());
    }
    return node;
  }

  // Sends `req` until the answer is not a retriable coordinator error.
  v1::ConsumerGroupHeartbeatResponse Heartbeat(int32_t broker,
                                               const v1::ConsumerGroupHeartbeatRequest& req) {
    auto stub = Stub(broker);
    v1::ConsumerGroupHeartbeatResponse resp;
    WaitFor([&] {
      grpc::ClientContext ctx;
      resp.Clear();
      if (!stub->ConsumerGroupHeartbeat(&ctx, req, &resp).ok()) return false;
      return resp.error_code() != v1::COORDINATOR_LOAD_IN_PROGRESS &&
             resp.error_code() != v1::COORDINATOR_NOT_AVAILABLE;
    });
    return resp;
  }
  v1::ConsumerGroupHeartbeatResponse Join(int32_t broker, const std::string& group,
                                          const std::string& topic) {
    return Heartbeat(broker, testing::JoinRequest(group, {topic}));
  }
  v1::OffsetCommitResponse Commit(int32_t broker, const std::string& group,
                                  const std::string& member, int32_t epoch,
                                  const std::string& topic, int32_t p, int64_t offset) {
    const v1::OffsetCommitRequest req =
        testing::CommitRequest(group, member, epoch, topic, p, offset, "m");
    auto stub = Stub(broker);
    grpc::ClientContext ctx;
    v1::OffsetCommitResponse resp;
    EXPECT_TRUE(stub->OffsetCommit(&ctx, req, &resp).ok());
    return resp;
  }
  v1::OffsetFetchResponse Fetch(int32_t broker, const std::string& group) {
    v1::OffsetFetchRequest req;
    req.set_group_id(group);
    req.set_member_epoch(-1);
    auto stub = Stub(broker);
    v1::OffsetFetchResponse resp;
    WaitFor([&] {
      grpc::ClientContext ctx;
      resp.Clear();
      if (!stub->OffsetFetch(&ctx, req, &resp).ok()) return false;
      return resp.error_code() != v1::COORDINATOR_LOAD_IN_PROGRESS;
    });
    return resp;
  }

  ClusterTopicCreator creator_;
  std::unique_ptr<TestCluster> cluster_;
};

TEST_F(CoordinatorTest, FindCoordinatorCreatesTheOffsetsTopicThenAnswersFromAnyBroker) {
  Start(3);
  auto stub = Stub(2);
  v1::FindCoordinatorRequest req;
  req.add_keys("g");
  req.add_keys("");
  grpc::ClientContext ctx;
  v1::FindCoordinatorResponse first;
  ASSERT_TRUE(stub->FindCoordinator(&ctx, req, &first).ok());
  ASSERT_EQ(first.coordinators_size(), 2);
  EXPECT_EQ(first.coordinators(0).error_code(), v1::COORDINATOR_NOT_AVAILABLE);
  EXPECT_EQ(first.coordinators(0).node_id(), -1);
  EXPECT_EQ(first.coordinators(1).error_code(), v1::INVALID_GROUP_ID);

  const int32_t node = FindCoordinator("g", 2);
  ASSERT_GT(node, 0);
  EXPECT_GE(creator_.created(), 1);
  const controller::TopicImage* t = cluster_->image()->topic_by_name(kOffsetsTopic);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->partitions.size(), static_cast<size_t>(kOffsetsPartitions));
  EXPECT_EQ(t->partitions[CoordinatorPartition("g", kOffsetsPartitions)]->leader.value(), node);
  for (int32_t b = 1; b <= 3; ++b) EXPECT_EQ(FindCoordinator("g", b), node) << "asked " << b;

  v1::FindCoordinatorRequest txn;
  txn.add_keys("g");
  txn.set_key_type(1);
  grpc::ClientContext ctx2;
  v1::FindCoordinatorResponse r;
  ASSERT_TRUE(stub->FindCoordinator(&ctx2, txn, &r).ok());
  EXPECT_EQ(r.coordinators(0).error_code(), v1::INVALID_REQUEST);
}

TEST_F(CoordinatorTest, JoinCommitAndFetchAreServedAndPersisted) {
  Start(3);
  cluster_->CreateTopic("t", {{1, 2, 3}, {2, 3, 1}, {3, 1, 2}, {1, 2, 3}});
  const int32_t c = FindCoordinator("g");
  ASSERT_GT(c, 0);
  v1::ConsumerGroupHeartbeatResponse joined = Join(c, "g", "t");
  ASSERT_EQ(joined.error_code(), v1::NONE) << joined.error_message();
  EXPECT_EQ(joined.member_epoch(), 1);
  ASSERT_TRUE(joined.has_assignment());
  ASSERT_EQ(joined.assigned_topic_partitions_size(), 1);
  EXPECT_EQ(joined.assigned_topic_partitions(0).partitions_size(), 4);

  v1::OffsetCommitResponse committed = Commit(c, "g", joined.member_id(), 1, "t", 2, 17);
  ASSERT_EQ(committed.error_code(), v1::NONE) << committed.error_message();
  EXPECT_EQ(committed.topics(0).partitions(0).error_code(), v1::NONE);
  v1::OffsetFetchResponse fetched = Fetch(c, "g");
  ASSERT_EQ(fetched.error_code(), v1::NONE);
  ASSERT_EQ(fetched.topics_size(), 1);
  EXPECT_EQ(fetched.topics(0).partitions(0).partition(), 2);
  EXPECT_EQ(fetched.topics(0).partitions(0).committed_offset(), 17);
  EXPECT_EQ(fetched.topics(0).partitions(0).metadata(), "m");

  // The records are in the offsets partition on every replica (acks=all).
  const int32_t p = CoordinatorPartition("g", kOffsetsPartitions);
  for (int32_t b = 1; b <= 3; ++b) {
    std::shared_ptr<broker::Replica> r =
        cluster_->broker(b).replicas().Get(kOffsetsTopic, PartitionId(p));
    ASSERT_NE(r, nullptr);
    EXPECT_TRUE(WaitFor([&] { return r->log_end_offset() > Offset(0); })) << "broker " << b;
  }
}

TEST_F(CoordinatorTest, ANewCoordinatorReloadsMembersAndOffsetsAfterTheOldOneDies) {
  Start(3);
  cluster_->CreateTopic("t", {{1, 2, 3}, {2, 3, 1}});
  const int32_t c = FindCoordinator("g");
  ASSERT_GT(c, 0);
  v1::ConsumerGroupHeartbeatResponse a = Join(c, "g", "t");
  ASSERT_EQ(a.error_code(), v1::NONE);
  for (int64_t offset = 1; offset <= 20; ++offset) {
    ASSERT_EQ(Commit(c, "g", a.member_id(), 1, "t", offset % 2, offset).error_code(), v1::NONE);
  }

  // Kill the coordinator's broker and move the offsets partition's
  // leadership to a surviving replica, as the controller would.
  const int32_t p = CoordinatorPartition("g", kOffsetsPartitions);
  const controller::PartitionRegistration reg = cluster_->partition(kOffsetsTopic, p);
  std::vector<int32_t> survivors;
  for (BrokerId b : reg.isr) {
    if (b.value() != c) survivors.push_back(b.value());
  }
  ASSERT_EQ(survivors.size(), 2u);
  cluster_->StopBroker(c);
  cluster_->ElectLeader(kOffsetsTopic, p, survivors[0], survivors);

  const int32_t next = FindCoordinator("g", survivors[1]);
  EXPECT_EQ(next, survivors[0]);
  v1::OffsetFetchResponse fetched = Fetch(next, "g");
  ASSERT_EQ(fetched.error_code(), v1::NONE) << fetched.error_message();
  ASSERT_EQ(fetched.topics_size(), 1);
  ASSERT_EQ(fetched.topics(0).partitions_size(), 2);
  EXPECT_EQ(fetched.topics(0).partitions(0).committed_offset(), 20) << "nothing committed is lost";
  EXPECT_EQ(fetched.topics(0).partitions(1).committed_offset(), 19);

  // The member survived the move: it keeps heartbeating at its epoch and
  // its commits are still accepted; the group is described as before.
  v1::ConsumerGroupHeartbeatRequest beat;
  beat.set_group_id("g");
  beat.set_member_id(a.member_id());
  beat.set_member_epoch(a.member_epoch());
  v1::ConsumerGroupHeartbeatResponse again = Heartbeat(next, beat);
  EXPECT_EQ(again.error_code(), v1::NONE) << again.error_message();
  EXPECT_EQ(again.member_epoch(), 1);
  EXPECT_EQ(Commit(next, "g", a.member_id(), 1, "t", 0, 21).error_code(), v1::NONE);

  auto stub = Stub(next);
  v1::ConsumerGroupDescribeRequest dreq;
  dreq.add_group_ids("g");
  grpc::ClientContext ctx;
  v1::ConsumerGroupDescribeResponse d;
  ASSERT_TRUE(stub->ConsumerGroupDescribe(&ctx, dreq, &d).ok());
  ASSERT_EQ(d.groups_size(), 1);
  EXPECT_EQ(d.groups(0).group_state(), "Stable");
  ASSERT_EQ(d.groups(0).members_size(), 1);
  EXPECT_EQ(d.groups(0).members(0).member_id(), a.member_id());

  // The old coordinator comes back as a follower and does not answer.
  cluster_->StartBroker(c);
  auto old = Stub(c);
  v1::ConsumerGroupHeartbeatResponse refused;
  grpc::ClientContext ctx2;
  ASSERT_TRUE(old->ConsumerGroupHeartbeat(&ctx2, beat, &refused).ok());
  EXPECT_EQ(refused.error_code(), v1::NOT_COORDINATOR);
}

TEST_F(CoordinatorTest, ConcurrentCommitsToOneGroupAllPersistInOrder) {
  Start(3);
  cluster_->CreateTopic("t", {{1, 2, 3}, {2, 3, 1}, {3, 1, 2}, {1, 2, 3}});
  const int32_t c = FindCoordinator("g");
  ASSERT_GT(c, 0);
  v1::ConsumerGroupHeartbeatResponse a = Join(c, "g", "t");
  ASSERT_EQ(a.error_code(), v1::NONE);
  // Several writers at once share appends (group commit); every answer
  // comes after its own record is committed.
  constexpr int kThreads = 8;
  constexpr int kCommits = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 1; k <= kCommits; ++k) {
        if (Commit(c, "g", a.member_id(), 1, "t", i % 4, i * 1000 + k).error_code() != v1::NONE) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto expect_last = [&](int32_t broker) {
    v1::OffsetFetchResponse f = Fetch(broker, "g");
    ASSERT_EQ(f.error_code(), v1::NONE) << f.error_message();
    ASSERT_EQ(f.topics(0).partitions_size(), 4);
    for (const auto& p : f.topics(0).partitions()) {
      // Threads p and p+4 wrote this partition; each one's last commit is
      // k = kCommits; whichever finished last wins.
      const int64_t v = p.committed_offset();
      EXPECT_EQ(v % 1000, kCommits) << "partition " << p.partition() << ": " << v;
      EXPECT_EQ((v / 1000) % 4, p.partition());
    }
  };
  expect_last(c);
  // The log replays to the same offsets on another replica.
  const int32_t p = CoordinatorPartition("g", kOffsetsPartitions);
  std::vector<int32_t> isr;
  for (BrokerId b : cluster_->partition(kOffsetsTopic, p).isr) isr.push_back(b.value());
  const int32_t next = isr[0] == c ? isr[1] : isr[0];
  cluster_->ElectLeader(kOffsetsTopic, p, next, isr);
  EXPECT_EQ(FindCoordinator("g"), next);
  expect_last(next);
}

// Kafka answers a heartbeat that changes nothing from memory; only state
// changes are records that must commit first. Here the offsets partition's
// followers are down, so nothing new commits (acks=all, and the ISR keeps
// them for replica.lag.time.max.ms).
TEST_F(CoordinatorTest, AHeartbeatThatChangesNothingDoesNotWaitForOtherWrites) {
  Start(3, 3, /*commit_timeout=*/absl::Seconds(3));
  cluster_->CreateTopic("t", {{1, 2, 3}, {2, 3, 1}});
  const int32_t c = FindCoordinator("g");
  ASSERT_GT(c, 0);
  v1::ConsumerGroupHeartbeatResponse a = Join(c, "g", "t");
  ASSERT_EQ(a.error_code(), v1::NONE) << a.error_message();
  const int32_t p = CoordinatorPartition("g", kOffsetsPartitions);
  std::shared_ptr<broker::Replica> log =
      cluster_->broker(c).replicas().Get(kOffsetsTopic, PartitionId(p));
  ASSERT_NE(log, nullptr);
  std::vector<int32_t> followers;
  for (BrokerId b : cluster_->partition(kOffsetsTopic, p).replicas) {
    if (b.value() != c) followers.push_back(b.value());
  }
  ASSERT_EQ(followers.size(), 2u);
  ASSERT_TRUE(WaitFor([&] { return log->high_watermark() >= log->log_end_offset(); }))
      << "the join's records never committed";
  for (int32_t f : followers) cluster_->StopBroker(f);

  // A commit is appended and waits for the followers.
  const Offset end = log->log_end_offset();
  std::atomic<bool> commit_answered{false};
  std::thread committer([&] {
    Commit(c, "g", a.member_id(), 1, "t", 0, 5);
    commit_answered = true;
  });
  ASSERT_TRUE(WaitFor([&] { return log->log_end_offset() > end; })) << "the commit never appended";

  v1::ConsumerGroupHeartbeatRequest beat;
  beat.set_group_id("g");
  beat.set_member_id(a.member_id());
  beat.set_member_epoch(1);
  auto call = [&](const v1::ConsumerGroupHeartbeatRequest& req) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    v1::ConsumerGroupHeartbeatResponse r;
    EXPECT_TRUE(Stub(c)->ConsumerGroupHeartbeat(&ctx, req, &r).ok());
    return r;
  };
  v1::ConsumerGroupHeartbeatResponse same = call(beat);
  EXPECT_FALSE(commit_answered.load()) << "the heartbeat waited for the commit";
  EXPECT_EQ(same.error_code(), v1::NONE) << same.error_message();
  EXPECT_EQ(same.member_epoch(), 1);

  // A state change still waits for its records: B's join is not answered
  // while they cannot commit.
  EXPECT_EQ(call(testing::JoinRequest("g", {"t"})).error_code(), v1::COORDINATOR_NOT_AVAILABLE);
  // A is now asked to revoke (a change: not answered either), and after
  // that even its heartbeat that changes nothing waits for A's own records.
  EXPECT_EQ(call(beat).error_code(), v1::COORDINATOR_NOT_AVAILABLE);
  EXPECT_EQ(call(beat).error_code(), v1::COORDINATOR_NOT_AVAILABLE);
  committer.join();

  for (int32_t f : followers) cluster_->StartBroker(f);
  v1::ConsumerGroupHeartbeatResponse later = Heartbeat(c, beat);
  EXPECT_EQ(later.error_code(), v1::NONE) << later.error_message();
  EXPECT_EQ(later.member_epoch(), 1);
  ASSERT_TRUE(later.has_assignment());
  EXPECT_EQ(later.assigned_topic_partitions(0).partitions_size(), 1) << "revoking one of two";
}

TEST_F(CoordinatorTest, ServiceErrorCodes) {
  Start(3);
  cluster_->CreateTopic("t", {{1, 2, 3}});
  const int32_t c = FindCoordinator("g");
  ASSERT_GT(c, 0);
  const int32_t other = c % 3 + 1;

  v1::ConsumerGroupHeartbeatRequest join;
  join.set_group_id("g");
  join.set_has_subscription(true);
  join.add_subscribed_topic_names("t");
  auto stub = Stub(other);
  v1::ConsumerGroupHeartbeatResponse r;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub->ConsumerGroupHeartbeat(&ctx, join, &r).ok());
  EXPECT_EQ(r.error_code(), v1::NOT_COORDINATOR);

  v1::ConsumerGroupHeartbeatResponse a = Join(c, "g", "t");
  ASSERT_EQ(a.error_code(), v1::NONE);
  EXPECT_EQ(Commit(c, "g", a.member_id(), 0, "t", 0, 5).error_code(), v1::STALE_MEMBER_EPOCH);
  EXPECT_EQ(Commit(c, "g", "ghost", 1, "t", 0, 5).error_code(), v1::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(Commit(c, "g", "", -1, "t", 0, 5).error_code(), v1::NON_EMPTY_GROUP);
  EXPECT_EQ(Commit(c, "", "", -1, "t", 0, 5).error_code(), v1::INVALID_GROUP_ID);

  auto cs = Stub(c);
  v1::DeleteGroupsRequest del;
  del.add_group_ids("g");
  grpc::ClientContext ctx2;
  v1::DeleteGroupsResponse dr;
  ASSERT_TRUE(cs->DeleteGroups(&ctx2, del, &dr).ok());
  EXPECT_EQ(dr.results(0).error_code(), v1::NON_EMPTY_GROUP);

  v1::ListGroupsRequest lreq;
  grpc::ClientContext ctx3;
  v1::ListGroupsResponse lr;
  ASSERT_TRUE(cs->ListGroups(&ctx3, lreq, &lr).ok());
  ASSERT_EQ(lr.groups_size(), 1);
  EXPECT_EQ(lr.groups(0).group_id(), "g");
  EXPECT_EQ(lr.groups(0).group_state(), "Stable");
}

TEST_F(CoordinatorTest, LagIsTheHighWatermarkMinusTheCommittedOffset) {
  Start(3);
  // Partition 0 led by the coordinator's broker or not: both paths count.
  cluster_->CreateTopic("t", {{1, 2, 3}, {2, 3, 1}, {3, 1, 2}});
  const int32_t c = FindCoordinator("g");
  ASSERT_GT(c, 0);
  for (int32_t p = 0; p < 3; ++p) {
    const int32_t leader = cluster_->partition("t", p).leader.value();
    auto bs = cluster_->Stub(leader);
    v1::ProduceRequest req;
    req.set_acks(-1);
    req.set_timeout_ms(10000);
    auto* td = req.add_topic_data();
    td->set_topic("t");
    auto* pd = td->add_partition_data();
    pd->set_partition(p);
    pd->set_records(broker::testing::MakeBatches(1, 10));
    grpc::ClientContext ctx;
    v1::ProduceResponse resp;
    ASSERT_TRUE(bs->Produce(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.responses(0).partition_responses(0).error_code(), v1::NONE);
  }
  for (int32_t p = 0; p < 3; ++p) {
    ASSERT_EQ(Commit(c, "g", "", -1, "t", p, 3 + p).error_code(), v1::NONE);
  }
  GroupCoordinator& coordinator = cluster_->broker(c).groups();
  coordinator.RefreshLag();
  std::vector<LagEntry> lag = coordinator.LagSnapshot();
  ASSERT_EQ(lag.size(), 3u);
  for (const LagEntry& e : lag) {
    EXPECT_EQ(e.group_id, "g");
    EXPECT_EQ(e.high_watermark, 10) << "partition " << e.partition;
    EXPECT_EQ(e.lag(), 10 - 3 - e.partition);
  }
  // Other brokers do not coordinate "g" and report nothing for it.
  for (int32_t b = 1; b <= 3; ++b) {
    if (b == c) continue;
    cluster_->broker(b).groups().RefreshLag();
    for (const LagEntry& e : cluster_->broker(b).groups().LagSnapshot()) EXPECT_NE(e.group_id, "g");
  }
}

}  // namespace
}  // namespace fjord::group
