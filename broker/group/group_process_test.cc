// The coordinator in real fjord-controller + fjord-broker processes: the
// offsets topic is created through the real controller on the first
// FindCoordinator, lag shows on the coordinator's /metrics, and after a
// kill -9 of the coordinator's broker the controller moves the offsets
// partition and the new leader serves the same member and offsets.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/grpc_runtime.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/fjord/v1/broker.grpc.pb.h"
#include "proto/fjord/v1/controller.grpc.pb.h"
#include "proto/fjord/v1/group.grpc.pb.h"
#include "storage/test_util.h"
#include "tests/cluster/process_cluster.h"

namespace fjord::group {
namespace {

bool WaitFor(const std::function<bool()>& done, absl::Duration limit) {
  const absl::Time deadline = absl::Now() + limit;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return done();
}

// GET http://127.0.0.1:port/metrics; "" on failure.
std::string Scrape(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string req = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[8192];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return out;
}

// metrics.listen's port from the broker's properties file.
int MetricsPort(const testing::ProcessCluster& cluster, int broker) {
  std::ifstream in(absl::StrCat(cluster.root(), "/broker-", broker, ".properties"));
  std::string line;
  int port = -1;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "metrics.listen=")) {
      std::vector<std::string> parts = absl::StrSplit(line, ':');
      if (!absl::SimpleAtoi(parts.back(), &port)) port = -1;
    }
  }
  return port;
}

class GroupProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KeepGrpcInitialized();
    cluster_ = std::make_unique<testing::ProcessCluster>(testing::ProcessClusterOptions{
        .controllers = 1,
        .brokers = 3,
        .broker_properties = {{"offsets.topic.num.partitions", "6"},
                              {"group.consumer.session.timeout.ms", "30000"}},
        .controller_flags = {{"broker.session.timeout.ms", "3000"}}});
    ASSERT_TRUE(cluster_->Start().ok());
    ASSERT_TRUE(cluster_->WaitForBrokers(3).ok());
  }

  std::unique_ptr<v1::GroupService::Stub> Group(int broker) {
    return v1::GroupService::NewStub(
        grpc::CreateChannel(cluster_->broker_address(broker), grpc::InsecureChannelCredentials()));
  }

  // The coordinator's broker id as `ask` reports it (waits until one is
  // known and, if `not` is given, differs from it).
  int FindCoordinator(int ask, int not_node = -1) {
    auto stub = Group(ask);
    int node = -1;
    v1::FindCoordinatorResponse last;
    WaitFor(
        [&] {
          v1::FindCoordinatorRequest req;
          req.add_keys("g");
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
          last.Clear();
          if (!stub->FindCoordinator(&ctx, req, &last).ok()) return false;
          if (last.coordinators(0).error_code() != v1::NONE) return false;
          node = last.coordinators(0).node_id();
          return node != not_node;
        },
        absl::Seconds(60));
    EXPECT_NE(node, -1) << last.DebugString();
    return node;
  }

  std::unique_ptr<testing::ProcessCluster> cluster_;
};

TEST_F(GroupProcessTest, OffsetsTopicCreatedLagExportedAndCoordinatorKillLosesNothing) {
  // A topic with 4 partitions.
  auto controller = v1::ControllerService::NewStub(
      grpc::CreateChannel(cluster_->controller_address(1), grpc::InsecureChannelCredentials()));
  v1::CreateTopicsRequest create;
  auto* t = create.add_topics();
  t->set_name("t");
  t->set_num_partitions(4);
  t->set_replication_factor(3);
  create.set_timeout_ms(10000);
  grpc::ClientContext cctx;
  v1::CreateTopicsResponse created;
  ASSERT_TRUE(controller->CreateTopics(&cctx, create, &created).ok());
  ASSERT_EQ(created.topics(0).error_code(), v1::NONE) << created.DebugString();

  const int c = FindCoordinator(101);  // Brokers are 101..103.
  ASSERT_GT(c, 0);
  auto coordinator = Group(c);
  v1::ConsumerGroupHeartbeatRequest join;
  join.set_group_id("g");
  join.set_has_subscription(true);
  join.add_subscribed_topic_names("t");
  join.set_has_owned(true);
  v1::ConsumerGroupHeartbeatResponse member;
  ASSERT_TRUE(WaitFor(
      [&] {
        grpc::ClientContext ctx;
        member.Clear();
        return coordinator->ConsumerGroupHeartbeat(&ctx, join, &member).ok() &&
               member.error_code() == v1::NONE;
      },
      absl::Seconds(30)))
      << member.DebugString();
  ASSERT_EQ(member.assigned_topic_partitions(0).partitions_size(), 4);

  v1::OffsetCommitRequest commit;
  commit.set_group_id("g");
  commit.set_member_id(member.member_id());
  commit.set_member_epoch(member.member_epoch());
  auto* ct = commit.add_topics();
  ct->set_name("t");
  for (int p = 0; p < 4; ++p) {
    auto* cp = ct->add_partitions();
    cp->set_partition(p);
    cp->set_committed_offset(5);
    cp->set_committed_leader_epoch(-1);
  }
  grpc::ClientContext octx;
  v1::OffsetCommitResponse committed;
  ASSERT_TRUE(coordinator->OffsetCommit(&octx, commit, &committed).ok());
  ASSERT_EQ(committed.error_code(), v1::NONE) << committed.DebugString();

  // 10 records into partition 0, through its leader.
  auto b1 = v1::BrokerService::NewStub(
      grpc::CreateChannel(cluster_->broker_address(101), grpc::InsecureChannelCredentials()));
  v1::MetadataRequest mreq;
  mreq.add_topics()->set_topic("t");
  grpc::ClientContext mctx;
  v1::MetadataResponse meta;
  ASSERT_TRUE(b1->Metadata(&mctx, mreq, &meta).ok());
  const int leader = meta.topics(0).partitions(0).leader_id();
  auto producer = v1::BrokerService::NewStub(
      grpc::CreateChannel(cluster_->broker_address(leader), grpc::InsecureChannelCredentials()));
  v1::ProduceRequest produce;
  produce.set_acks(-1);
  produce.set_timeout_ms(10000);
  auto* pt = produce.add_topic_data();
  pt->set_topic("t");
  auto* pp = pt->add_partition_data();
  pp->set_partition(0);
  pp->set_records(storage::testing::MakeBatch(10, 1'700'000'000'000));
  grpc::ClientContext pctx;
  v1::ProduceResponse produced;
  ASSERT_TRUE(producer->Produce(&pctx, produce, &produced).ok());
  ASSERT_EQ(produced.responses(0).partition_responses(0).error_code(), v1::NONE);

  const int metrics_port = MetricsPort(*cluster_, c);
  ASSERT_GT(metrics_port, 0);
  std::string text;
  EXPECT_TRUE(WaitFor(
      [&] {
        text = Scrape(metrics_port);
        return absl::StrContains(
                   text, R"(fjord_consumer_group_lag{group="g",partition="0",topic="t"} 5)") &&
               absl::StrContains(text, R"(fjord_consumer_group_lag_sum{group="g"} 5)");
      },
      absl::Seconds(30)))
      << text;

  // kill -9 the coordinator; the controller fences it and moves the
  // offsets partition's leadership.
  cluster_->KillBroker(c);
  const int ask = c == 101 ? 102 : 101;
  const int next = FindCoordinator(ask, c);
  ASSERT_GT(next, 0);
  ASSERT_NE(next, c);
  auto successor = Group(next);
  v1::OffsetFetchRequest fetch;
  fetch.set_group_id("g");
  fetch.set_member_epoch(-1);
  v1::OffsetFetchResponse offsets;
  ASSERT_TRUE(WaitFor(
      [&] {
        grpc::ClientContext ctx;
        offsets.Clear();
        return successor->OffsetFetch(&ctx, fetch, &offsets).ok() &&
               offsets.error_code() == v1::NONE;
      },
      absl::Seconds(30)))
      << offsets.DebugString();
  ASSERT_EQ(offsets.topics_size(), 1);
  ASSERT_EQ(offsets.topics(0).partitions_size(), 4);
  for (const auto& p : offsets.topics(0).partitions()) {
    EXPECT_EQ(p.committed_offset(), 5) << "partition " << p.partition();
  }
  v1::ConsumerGroupHeartbeatRequest beat;
  beat.set_group_id("g");
  beat.set_member_id(member.member_id());
  beat.set_member_epoch(member.member_epoch());
  grpc::ClientContext hctx;
  v1::ConsumerGroupHeartbeatResponse again;
  ASSERT_TRUE(successor->ConsumerGroupHeartbeat(&hctx, beat, &again).ok());
  EXPECT_EQ(again.error_code(), v1::NONE) << again.error_message();
  EXPECT_EQ(again.member_epoch(), member.member_epoch());
}

}  // namespace
}  // namespace fjord::group
