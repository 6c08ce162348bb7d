// The broker's controller clients (registration/heartbeats, the metadata
// stream, AlterPartition) against an in-process test double of
// ControllerService. The real controller's service is tested by its owner.
#include <atomic>
#include <memory>

#include "absl/synchronization/notification.h"
#include "broker/alter_partition_client.h"
#include "broker/broker_lifecycle.h"
#include "broker/broker_server.h"
#include "broker/metadata_follower.h"
#include "controller/image_test_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "storage/posix_file_system.h"

namespace fjord::broker {
namespace {

using controller::testing::PartitionRec;
using controller::testing::RegisterBrokerRec;
using controller::testing::TopicRec;

void WaitFor(const std::function<bool()>& condition, const std::string& what) {
  const absl::Time limit = absl::Now() + absl::Seconds(30);
  while (!condition()) {
    ASSERT_LT(absl::Now(), limit) << "timed out waiting for " << what;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

// Voter 1 is a standby that points at voter 2; voter 2 answers.
class FakeController final : public v1::ControllerService::Service {
 public:
  FakeController(int32_t id, bool active, int32_t broker_port)
      : id_(id), active_(active), broker_port_(broker_port) {}

  grpc::Status RegisterBroker(grpc::ServerContext*, const v1::RegisterBrokerRequest* req,
                              v1::RegisterBrokerResponse* resp) override {
    if (!Active(resp->mutable_active_controller(), resp)) return grpc::Status::OK;
    EXPECT_EQ(req->cluster_id(), "c");
    EXPECT_EQ(req->listeners_size(), 1);
    resp->set_broker_epoch(42);
    return grpc::Status::OK;
  }
  grpc::Status BrokerHeartbeat(grpc::ServerContext*, const v1::BrokerHeartbeatRequest* req,
                               v1::BrokerHeartbeatResponse* resp) override {
    if (!Active(resp->mutable_active_controller(), resp)) return grpc::Status::OK;
    EXPECT_EQ(req->broker_epoch(), 42);
    last_metadata_offset_ = req->current_metadata_offset();
    ++heartbeats_;
    resp->set_is_fenced(false);
    resp->set_should_shut_down(req->want_shut_down());
    return grpc::Status::OK;
  }
  grpc::Status AlterPartition(grpc::ServerContext*, const v1::AlterPartitionRequest* req,
                              v1::AlterPartitionResponse* resp) override {
    if (!Active(resp->mutable_active_controller(), resp)) return grpc::Status::OK;
    auto* t = resp->add_topics();
    *t->mutable_topic_id() = req->topics(0).topic_id();
    const auto& in = req->topics(0).partitions(0);
    auto* p = t->add_partitions();
    p->set_partition(in.partition());
    p->set_leader_id(req->broker_id());
    p->set_leader_epoch(in.leader_epoch());
    p->set_partition_epoch(in.partition_epoch() + 1);
    for (const auto& b : in.new_isr_with_epochs()) p->add_isr(b.broker_id());
    return grpc::Status::OK;
  }
  grpc::Status FetchMetadata(grpc::ServerContext* ctx, const v1::FetchMetadataRequest* req,
                             grpc::ServerWriter<v1::MetadataBatch>* writer) override {
    v1::MetadataBatch b;
    if (!Active(b.mutable_active_controller(), &b)) {
      writer->Write(b);
      return grpc::Status::OK;
    }
    EXPECT_EQ(req->fetch_offset(), 0);
    // A snapshot with the broker, then one log entry creating a topic.
    b.set_is_snapshot(true);
    b.mutable_snapshot_header()->set_last_included_offset(5);
    v1::MetadataRecord reg = RegisterBrokerRec(1, 42, /*fenced=*/false);
    reg.mutable_register_broker()->mutable_endpoints(0)->set_host("127.0.0.1");
    reg.mutable_register_broker()->mutable_endpoints(0)->set_port(broker_port_);
    *b.add_snapshot_records() = reg;
    b.set_snapshot_done(true);
    writer->Write(b);
    v1::MetadataBatch e;
    auto* entry = e.add_entries();
    entry->set_offset(7);
    *entry->mutable_batch()->add_records() = TopicRec("t", {9, 9});
    *entry->mutable_batch()->add_records() = PartitionRec({9, 9}, 0, {1}, {1}, 1);
    e.set_end_offset(7);
    writer->Write(e);
    while (!ctx->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
    return grpc::Status::OK;
  }

  std::atomic<int> heartbeats_{0};
  std::atomic<int64_t> last_metadata_offset_{-1};

 private:
  template <typename Resp>
  bool Active(v1::ActiveController* hint, Resp* resp) {
    if (active_) return true;
    resp->set_error_code(v1::NOT_CONTROLLER);
    hint->set_controller_id(2);
    return false;
  }
  const int32_t id_;
  const bool active_;
  const int32_t broker_port_;
};

struct Controllers {
  explicit Controllers(int32_t broker_port)
      : standby(1, false, broker_port), active(2, true, broker_port) {
    for (auto* svc : {&standby, &active}) {
      grpc::ServerBuilder builder;
      int port = 0;
      builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
      builder.RegisterService(svc);
      servers.push_back(builder.BuildAndStart());
      ports.push_back(port);
    }
  }
  ~Controllers() {
    for (auto& s : servers) s->Shutdown(std::chrono::system_clock::now());
  }
  std::string voters() const {
    return "1@127.0.0.1:" + std::to_string(ports[0]) + ",2@127.0.0.1:" + std::to_string(ports[1]);
  }
  FakeController standby, active;
  std::vector<std::unique_ptr<grpc::Server>> servers;
  std::vector<int> ports;
};

TEST(ControllerClientTest, ParsesQuorumVoters) {
  auto v = ParseQuorumVoters("1@a:9093, 2@b:9093");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)[1].id, 2);
  EXPECT_EQ((*v)[1].address, "b:9093");
  EXPECT_FALSE(ParseQuorumVoters("a:9093").ok());
  EXPECT_FALSE(ParseQuorumVoters("").ok());
}

TEST(ControllerClientTest, BrokerRegistersFollowsMetadataHeartbeatsAndShutsDown) {
  const std::string dir = std::string(getenv("TEST_TMPDIR")) + "/client-broker";
  BrokerServerOptions o{.id = BrokerId(1), .cluster_id = "c", .log_dir = dir};
  // The controllers must know the broker's port, so the broker starts first,
  // with a sender that forwards to the AlterPartitionClient made below.
  std::unique_ptr<ControllerChannel> channel;
  std::unique_ptr<AlterPartitionClient> alter;
  std::atomic<int64_t> epoch{-1};
  struct Forward final : AlterPartitionSender {
    AlterPartitionClient* client = nullptr;
    void Send(IsrProposal p, Done d) override { client->Send(std::move(p), std::move(d)); }
  } forward;
  auto broker =
      BrokerServer::Start(o, storage::PosixFileSystem::Get(), SystemClock::Get(), forward);
  ASSERT_TRUE(broker.ok()) << broker.status();
  Controllers controllers((*broker)->port());
  channel = std::make_unique<ControllerChannel>(*ParseQuorumVoters(controllers.voters()));
  alter = std::make_unique<AlterPartitionClient>(*channel, BrokerId(1),
                                                 [&] { return BrokerEpoch(epoch.load()); });
  forward.client = alter.get();

  MetadataFollower follower(
      *channel, {.cluster_id = "c", .id = BrokerId(1)}, [&] { return BrokerEpoch(epoch.load()); },
      [&](controller::ImagePtr image) {
        EXPECT_TRUE((*broker)->ApplyImage(std::move(image)).ok());
      });
  v1::Endpoint listener;
  listener.set_name("PLAINTEXT");
  listener.set_host("127.0.0.1");
  listener.set_port((*broker)->port());
  BrokerLifecycle lifecycle(
      *channel,
      {.id = BrokerId(1),
       .cluster_id = "c",
       .listeners = {listener},
       .heartbeat_interval = absl::Milliseconds(10),
       .retry_backoff = absl::Milliseconds(10)},
      [&] { return follower.applied_offset(); },
      [&](BrokerEpoch e) {
        epoch = e.value();
        (*broker)->SetBrokerEpoch(e);
      });
  lifecycle.Start();
  follower.Start();

  WaitFor([&] { return lifecycle.registered(); }, "registration via the hinted controller");
  EXPECT_EQ(lifecycle.broker_epoch(), BrokerEpoch(42));
  EXPECT_EQ((*broker)->broker_epoch(), BrokerEpoch(42));
  WaitFor([&] { return follower.applied_offset() == 7; }, "snapshot at 5 then entry 7");
  auto replica = (*broker)->replicas().Get("t", PartitionId(0));
  ASSERT_NE(replica, nullptr);
  EXPECT_EQ(replica->role(), Replica::Role::kLeader);
  WaitFor([&] { return controllers.active.last_metadata_offset_ == 7; },
          "a heartbeat reporting the applied offset");
  EXPECT_FALSE(lifecycle.fenced());

  absl::Notification answered;
  absl::StatusOr<PartitionState> result;
  alter->Send({.topic_id = {9, 9},
               .partition = PartitionId(0),
               .leader_epoch = LeaderEpoch(0),
               .partition_epoch = PartitionEpoch(3),
               .isr = {{BrokerId(1), BrokerEpoch(42)}}},
              [&](absl::StatusOr<PartitionState> r) {
                result = std::move(r);
                answered.Notify();
              });
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(30)));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->partition_epoch, PartitionEpoch(4));
  EXPECT_EQ(result->isr, std::vector<BrokerId>{BrokerId(1)});

  EXPECT_TRUE(lifecycle.ControlledShutdown(absl::Seconds(30)));
  follower.Stop();
  (*broker)->Shutdown();
  EXPECT_EQ(controllers.standby.heartbeats_, 0);
}

}  // namespace
}  // namespace fjord::broker
