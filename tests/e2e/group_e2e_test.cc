// Consumer groups end to end: real fjord-controller and fjord-broker
// processes (the coordinator on the brokers), members as real processes
// (tests/e2e/group_member) or in-process GroupConsumers.
//
// 3 members over 12 partitions, then a 4th joins (only what it takes moves),
// then one is killed with SIGKILL (its partitions move within the session
// timeout); at every moment each partition has at most one owner, and every
// record is processed by its owner. A stale member's commit is rejected.
#include <gtest/gtest.h>

#include <map>

#include "absl/strings/str_split.h"
#include "client/admin.h"
#include "client/group_consumer.h"
#include "client/group_rpc.h"
#include "client/producer.h"
#include "common/grpc_runtime.h"
#include "common/kafka_error.h"
#include "tests/cluster/process_cluster.h"
#include "tests/e2e/group_members.h"

namespace fjord {
namespace {

using client::TopicPartition;
using testing::GroupMembers;

constexpr int kSessionTimeoutMs = 6000;
constexpr int kHeartbeatIntervalMs = 500;
constexpr absl::Duration kBound = absl::Seconds(30);

class GroupEndToEndTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    KeepGrpcInitialized();
    cluster_ = new testing::ProcessCluster(
        {.controllers = 1,
         .brokers = 3,
         .broker_properties = {
             {"offsets.topic.replication.factor", "3"},
             {"offsets.topic.num.partitions", "6"},
             {"group.consumer.session.timeout.ms", std::to_string(kSessionTimeoutMs)},
             {"group.consumer.heartbeat.interval.ms", std::to_string(kHeartbeatIntervalMs)}}});
    ASSERT_TRUE(cluster_->Start().ok());
    absl::Status ready = cluster_->WaitForBrokers(3);
    ASSERT_TRUE(ready.ok()) << ready;
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  static std::unique_ptr<client::Admin> MakeAdmin() {
    auto config = client::AdminConfig::FromProperties(
        {{"bootstrap.servers", cluster_->bootstrap_servers()},
         {"bootstrap.controllers", cluster_->controller_addresses()},
         {"default.api.timeout.ms", "30000"}});
    EXPECT_TRUE(config.ok()) << config.status();
    return std::move(*client::Admin::Create(*config));
  }

  // Creates `topic` and waits until every partition has a leader.
  static void CreateTopic(const std::string& topic, int partitions) {
    auto admin = MakeAdmin();
    auto created = admin->CreateTopics(
        {{.name = topic, .num_partitions = partitions, .replication_factor = 3}});
    ASSERT_TRUE(created.ok() && (*created)[0].status.ok())
        << (created.ok() ? (*created)[0].status : created.status());
    ASSERT_TRUE(GroupMembers::WaitFor(
        [&] {
          auto d = admin->DescribeTopics({topic});
          if (!d.ok() || d->size() != 1 || (*d)[0].partitions.size() != size_t(partitions)) {
            return false;
          }
          for (const auto& p : (*d)[0].partitions) {
            if (p.leader < 0) return false;
          }
          return true;
        },
        kBound))
        << "leaders of " << topic;
  }

  // Produces `count` records with values "i" round-robin over `partitions`.
  static void Produce(const std::string& topic, int partitions, int count) {
    auto config = client::ProducerConfig::FromProperties(
        {{"bootstrap.servers", cluster_->bootstrap_servers()}, {"linger.ms", "5"}});
    ASSERT_TRUE(config.ok());
    auto producer = std::move(*client::Producer::Create(*config));
    std::vector<std::future<absl::StatusOr<client::RecordMetadata>>> futures;
    for (int i = 0; i < count; ++i) {
      futures.push_back(producer->Send(
          {.topic = topic, .partition = i % partitions, .value = std::to_string(i)}));
    }
    producer->Flush();
    for (auto& f : futures) {
      ASSERT_EQ(f.wait_for(std::chrono::seconds(60)), std::future_status::ready);
      auto r = f.get();
      ASSERT_TRUE(r.ok()) << r.status();
    }
  }

  static std::unique_ptr<client::GroupConsumer> MakeConsumer(const std::string& group) {
    auto config = client::ConsumerConfig::FromProperties(
        {{"bootstrap.servers", cluster_->bootstrap_servers()},
         {"group.id", group},
         {"enable.auto.commit", "false"},
         {"auto.offset.reset", "earliest"},
         {"request.timeout.ms", "5000"}});
    EXPECT_TRUE(config.ok()) << config.status();
    auto consumer = client::GroupConsumer::Create(*config);
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    return std::move(*consumer);
  }

  static testing::ProcessCluster* cluster_;
};

testing::ProcessCluster* GroupEndToEndTest::cluster_ = nullptr;

std::string Describe(const std::map<int32_t, int>& owners) {
  std::string out;
  for (const auto& [p, m] : owners) absl::StrAppend(&out, p, "->", m, " ");
  return out;
}

TEST_F(GroupEndToEndTest, OneOwnerPerPartitionWhileMembersJoinAndDie) {
  constexpr int kPartitions = 12;
  constexpr int kRecords = 1200;
  CreateTopic("owned", kPartitions);
  Produce("owned", kPartitions, kRecords);

  GroupMembers members(cluster_->bootstrap_servers(), "owners", "owned");
  for (int i = 0; i < 3; ++i) members.Start();
  // Every running member owns `each` partitions and they cover the topic.
  auto balanced = [&](size_t each) {
    if (!members.Stable(kPartitions)) return false;
    for (int i = 0; i < members.count(); ++i) {
      if (members.running(i) && members.Log(i).owned.size() != each) return false;
    }
    return true;
  };
  ASSERT_TRUE(GroupMembers::WaitFor([&] { return balanced(4); }, kBound))
      << "3 members never owned 4 of the 12 partitions each: " << Describe(members.Owners());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(members.Log(i).owned.size(), 4u) << "member " << i;

  // A 4th member: only the partitions it takes change owner.
  const std::map<int32_t, int> before = members.Owners();
  const int fourth = members.Start();
  ASSERT_TRUE(GroupMembers::WaitFor([&] { return balanced(3); },  // uniform: 12 over 4
                                    kBound))
      << "the 4th member never got partitions: " << Describe(members.Owners());
  const std::map<int32_t, int> after = members.Owners();
  int moved = 0;
  for (const auto& [p, owner] : after) {
    if (before.at(p) != owner) {
      ++moved;
      EXPECT_EQ(owner, fourth) << "partition " << p << " moved between old members";
    }
  }
  EXPECT_EQ(moved, static_cast<int>(members.Log(fourth).owned.size()));
  EXPECT_EQ(moved, 3);  // uniform: 12 / 4

  // SIGKILL a member: its partitions move once the session times out.
  const int victim = 1;
  const std::set<int32_t> orphaned = members.Log(victim).owned;
  ASSERT_FALSE(orphaned.empty());
  const absl::Time killed = absl::Now();
  members.Kill(victim);
  ASSERT_TRUE(GroupMembers::WaitFor(
      [&] {
        const auto owners = members.Owners();
        for (int32_t p : orphaned) {
          if (!owners.contains(p)) return false;
        }
        return members.Stable(kPartitions);
      },
      kBound))
      << "the killed member's partitions never moved: " << Describe(members.Owners());
  const absl::Duration moved_after = absl::Now() - killed;
  std::printf("partitions of the killed member moved after %s (session timeout %d ms)\n",
              absl::FormatDuration(moved_after).c_str(), kSessionTimeoutMs);
  // The session timeout, plus heartbeat intervals for the survivors to hear
  // of it, plus a margin for the shared 2-core box, where the coordinator's
  // heartbeat answers (which wait for __consumer_offsets' high watermark)
  // were seen taking 1-5 s.
  EXPECT_LT(moved_after, absl::Milliseconds(kSessionTimeoutMs + 2 * kHeartbeatIntervalMs + 4000));

  // Every record in the log processed (the survivors resume from the
  // commits). The log ends are asked, not assumed: a producer retry may
  // have written a batch twice.
  std::vector<TopicPartition> all;
  for (int p = 0; p < kPartitions; ++p) all.push_back({"owned", p});
  auto ends = MakeAdmin()->ListOffsets(all, client::kLatestTimestamp);
  ASSERT_TRUE(ends.ok()) << ends.status();
  size_t in_log = 0;
  for (const auto& [tp, end] : *ends) in_log += end;
  ASSERT_GE(in_log, size_t(kRecords));
  ASSERT_TRUE(
      GroupMembers::WaitFor([&] { return members.ProcessedCounts().size() == in_log; }, kBound))
      << "processed " << members.ProcessedCounts().size() << " of " << in_log;
  for (int i = 0; i < members.count(); ++i) {
    if (members.running(i)) {
      EXPECT_TRUE(members.Stop(i)) << "member " << i << " did not close";
    }
  }
  for (int i = 0; i < members.count(); ++i) {
    const testing::MemberLog log = members.Log(i);
    EXPECT_TRUE(log.commit_errors.empty())
        << "member " << i << " commit error " << log.commit_errors.front();
    if (i != victim) {
      EXPECT_TRUE(log.closed) << "member " << i;
    }
  }
  EXPECT_EQ(members.FindOverlap(), "");
  EXPECT_EQ(members.FindProcessingOutsideOwnership(), "");
}

TEST_F(GroupEndToEndTest, StaleMembersCommitIsRejected) {
  CreateTopic("stale", 2);
  auto a = MakeConsumer("stale-group");
  ASSERT_TRUE(a->Subscribe({"stale"}).ok());
  ASSERT_TRUE(GroupMembers::WaitFor(
      [&] {
        EXPECT_TRUE(a->Poll(absl::Milliseconds(50)).ok());
        return a->assignment().size() == 2;
      },
      kBound));
  const std::string a_id = a->member_id();
  const int32_t old_epoch = a->member_epoch();
  ASSERT_TRUE(a->CommitSync({{{"stale", 0}, {.offset = 0}}}).ok());

  // B joins: A gives up a partition and moves to a newer epoch.
  auto b = MakeConsumer("stale-group");
  ASSERT_TRUE(b->Subscribe({"stale"}).ok());
  ASSERT_TRUE(GroupMembers::WaitFor(
      [&] {
        EXPECT_TRUE(a->Poll(absl::Milliseconds(20)).ok());
        EXPECT_TRUE(b->Poll(absl::Milliseconds(20)).ok());
        return a->assignment().size() == 1 && b->assignment().size() == 1 &&
               a->member_epoch() > old_epoch;
      },
      kBound));

  client::Channels channels(1 << 20);
  client::GroupRpc::Options rpc_options;
  rpc_options.bootstrap_servers =
      absl::StrSplit(cluster_->bootstrap_servers(), ',', absl::SkipEmpty());
  client::GroupRpc rpc(rpc_options, channels);
  auto commit = [&](const std::string& member, int32_t epoch) {
    v1::OffsetCommitRequest request;
    request.set_group_id("stale-group");
    request.set_member_id(member);
    request.set_member_epoch(epoch);
    auto* t = request.add_topics();
    t->set_name("stale");
    auto* p = t->add_partitions();
    p->set_partition(0);
    p->set_committed_offset(7);
    auto response = rpc.Call<v1::OffsetCommitRequest, v1::OffsetCommitResponse>(
        "stale-group", request, &v1::GroupService::Stub::OffsetCommit,
        [](const v1::OffsetCommitResponse& r) { return r.error_code(); }, absl::Now() + kBound);
    EXPECT_TRUE(response.ok()) << response.status();
    if (response->error_code() != v1::NONE) return response->error_code();
    return response->topics(0).partitions(0).error_code();
  };
  EXPECT_EQ(commit(a_id, old_epoch), v1::STALE_MEMBER_EPOCH);
  EXPECT_EQ(commit("no-such-member", 5), v1::UNKNOWN_MEMBER_ID);
  auto committed = a->Committed({{"stale", 0}});
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_EQ(committed->at({"stale", 0}), 0) << "a rejected commit changed the offset";
  a->Close();
  b->Close();
}

}  // namespace
}  // namespace fjord
