// Multi-process test: three fjord-controller processes on loopback with free
// ports. The test plays three brokers over gRPC, kills -9 the active
// controller, and checks that another takes over, that every topic created
// before the kill is there, and that a broker whose heartbeats stop is fenced
// and loses its leaderships. Waits are bounded with clear messages.
//
// Failover is asserted: another controller accepts a write within two
// election timeouts of the kill. fjord-controller runs its RaftNode with the
// default NodeOptions (50 ms ticks, election timeout drawn from 10-20 ticks),
// so the bound is 2 x 1 s: failure detection takes at most one (randomized)
// timeout, which leaves a whole timeout for the votes, the new leader's
// NoOpRecord commit (two fsyncs) and the client's retry. On a box so loaded
// that runnable threads wait for a CPU, Raft's ticks (and so its timeouts)
// stretch in wall time: a StallMeter thread measures how late a 5 ms sleep
// wakes up during the failover, and that stall is added to the bound (it is
// ~0 on an idle box, and printed).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "controller/metadata_delta.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/fjord/v1/controller.grpc.pb.h"
#include "raft/node/raft_node.h"
#include "tests/cluster/test_env.h"

namespace fjord::controller {
namespace {

constexpr absl::Duration kWaitMax = absl::Seconds(30);
constexpr int kNodes = 3;

// Sums how late a thread sleeping 5 ms at a time wakes up: time the box gave
// no CPU to a runnable thread.
class StallMeter {
 public:
  StallMeter()
      : thread_([this] {
          constexpr absl::Duration kNap = absl::Milliseconds(5);
          while (!stop_) {
            const absl::Time before = absl::Now();
            absl::SleepFor(kNap);
            const absl::Duration late = absl::Now() - before - kNap;
            if (late > absl::Milliseconds(1)) stall_us_ += absl::ToInt64Microseconds(late);
          }
        }) {}
  ~StallMeter() { Stop(); }
  absl::Duration Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return absl::Microseconds(stall_us_.load());
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> stall_us_{0};
  std::thread thread_;
};

// The longest election timeout fjord-controller's RaftNode draws.
absl::Duration MaxElectionTimeout() {
  const raft::NodeOptions defaults;
  return defaults.tick_interval * (2 * defaults.election_ticks);
}

class ControllerClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    root_ = std::filesystem::path(tmp ? tmp : "/tmp") / "controller_cluster";
    std::filesystem::remove_all(root_);
    std::vector<std::string> voters;
    for (int i = 1; i <= kNodes; ++i) {
      ports_[i] = ::fjord::testing::FreeLoopbackPort();
      voters.push_back(absl::StrCat(i, "@127.0.0.1:", ports_[i]));
    }
    voters_ = absl::StrJoin(voters, ",");
    for (int i = 1; i <= kNodes; ++i) {
      ASSERT_EQ(::fjord::testing::RunProcess(
                    {::fjord::testing::Runfile("controller/server/fjord-controller"), "format",
                     "--cluster.id=mp-cluster", absl::StrCat("--node.id=", i),
                     "--controller.quorum.voters=" + voters_, "--metadata.log.dir=" + Dir(i)}),
                0);
      Start(i);
      // A controller still starting refuses connections, and gRPC then
      // backs off reconnecting (1 s, growing): short backoffs keep that out
      // of the measured failover time.
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 20);
      args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 20);
      args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
      stubs_[i] = v1::ControllerService::NewStub(grpc::CreateCustomChannel(
          absl::StrCat("127.0.0.1:", ports_[i]), grpc::InsecureChannelCredentials(), args));
    }
  }
  void TearDown() override {
    stop_heartbeats_ = true;
    if (heartbeats_.joinable()) heartbeats_.join();
    for (auto& [i, pid] : pids_) {
      if (pid <= 0) continue;
      kill(pid, SIGTERM);
      const absl::Time limit = absl::Now() + kWaitMax;
      while (waitpid(pid, nullptr, WNOHANG) == 0) {
        if (absl::Now() > limit) {
          ADD_FAILURE() << "controller " << i << " still running " << kWaitMax
                        << " after SIGTERM; killed";
          kill(pid, SIGKILL);
          waitpid(pid, nullptr, 0);
          break;
        }
        absl::SleepFor(absl::Milliseconds(20));
      }
      pid = -1;
    }
    if (HasFailure()) {
      for (int i = 1; i <= kNodes; ++i) {
        std::ifstream in(root_ / absl::StrCat("c", i, ".log"));
        std::cout << "---- controller " << i << " log ----\n" << in.rdbuf() << "\n";
      }
    }
  }

  std::string Dir(int i) { return (root_ / absl::StrCat("c", i)).string(); }

  void Start(int i) {
    std::vector<std::string> args = {
        ::fjord::testing::Runfile("controller/server/fjord-controller"),
        "start",
        absl::StrCat("--node.id=", i),
        "--controller.quorum.voters=" + voters_,
        "--metadata.log.dir=" + Dir(i),
        "--broker.session.timeout.ms=3000",
        "--log.level=warn"};
    pids_[i] = ::fjord::testing::SpawnProcess(args);
  }

  void Kill9(int i) {
    kill(pids_[i], SIGKILL);
    waitpid(pids_[i], nullptr, 0);
    pids_[i] = -1;
  }

  // Sends a write to every live controller until one accepts it (follows
  // NOT_CONTROLLER), within kWaitMax. Returns the node that answered.
  template <typename Req, typename Resp, typename Rpc>
  int Write(const Req& req, Resp* resp, Rpc rpc) {
    const absl::Time deadline = absl::Now() + kWaitMax;
    while (absl::Now() < deadline) {
      for (int i = 1; i <= kNodes; ++i) {
        if (pids_[i] <= 0) continue;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        Resp r;
        grpc::Status s = (stubs_[i].get()->*rpc)(&ctx, req, &r);
        if (s.ok() && r.error_code() != v1::NOT_CONTROLLER &&
            r.error_code() != v1::REQUEST_TIMED_OUT) {
          *resp = r;
          return i;
        }
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    ADD_FAILURE() << "no controller accepted the write within " << kWaitMax;
    return -1;
  }

  // The committed image of controller `i`, read through FetchMetadata.
  std::shared_ptr<const MetadataImage> FetchImage(int i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::FetchMetadataRequest req;
    req.set_cluster_id("mp-cluster");
    req.set_broker_id(-1);
    req.set_broker_epoch(-1);
    req.set_fetch_offset(0);
    auto reader = stubs_[i]->FetchMetadata(&ctx, req);
    auto image = MetadataImage::Empty();
    std::unique_ptr<MetadataDelta> delta = std::make_unique<MetadataDelta>(image);
    v1::MetadataBatch msg;
    while (reader->Read(&msg)) {
      if (msg.error_code() != v1::NONE) break;
      if (msg.is_snapshot()) {
        if (msg.has_snapshot_header())
          delta = std::make_unique<MetadataDelta>(MetadataImage::Empty());
        for (const auto& r : msg.snapshot_records()) EXPECT_TRUE(delta->Replay(r).ok());
        if (msg.snapshot_done()) delta->SetOffset(Offset(msg.end_offset()));
      }
      for (const auto& e : msg.entries()) {
        EXPECT_TRUE(delta->ReplayBatch(e.batch(), Offset(e.offset())).ok());
      }
      if (msg.end_offset() >= 0 && msg.end_offset() >= msg.high_watermark()) break;
    }
    ctx.TryCancel();
    return delta->Apply();
  }

  std::filesystem::path root_;
  std::map<int, int> ports_;
  std::map<int, pid_t> pids_;
  std::string voters_;
  std::map<int, std::unique_ptr<v1::ControllerService::Stub>> stubs_;
  std::atomic<bool> stop_heartbeats_{false};
  std::thread heartbeats_;
};

TEST_F(ControllerClusterTest, KillTheActiveControllerLoseNothingAndFenceASilentBroker) {
  using Stub = v1::ControllerService::Stub;
  std::map<int32_t, int64_t> epochs;
  int active = -1;
  for (int32_t b = 0; b < 3; ++b) {
    v1::RegisterBrokerRequest req;
    req.set_broker_id(b);
    req.set_cluster_id("mp-cluster");
    req.mutable_incarnation_id()->set_high(b + 1);
    req.mutable_incarnation_id()->set_low(42);
    auto* l = req.add_listeners();
    l->set_name("PLAINTEXT");
    l->set_host("127.0.0.1");
    l->set_port(19092 + b);
    v1::RegisterBrokerResponse resp;
    active = Write(req, &resp, &Stub::RegisterBroker);
    ASSERT_EQ(resp.error_code(), v1::NONE) << resp.error_message();
    epochs[b] = resp.broker_epoch();
  }
  auto heartbeat = [&](int32_t b) {
    v1::BrokerHeartbeatRequest req;
    req.set_broker_id(b);
    req.set_broker_epoch(epochs[b]);
    req.set_current_metadata_offset(1 << 30);  // the test "broker" is always caught up
    v1::BrokerHeartbeatResponse resp;
    Write(req, &resp, &Stub::BrokerHeartbeat);
    return resp;
  };
  for (int32_t b = 0; b < 3; ++b) EXPECT_FALSE(heartbeat(b).is_fenced());
  // Brokers 0 and 1 heartbeat from now on; broker 2 only until the kill.
  std::atomic<bool> broker2_alive{true};
  heartbeats_ = std::thread([&] {
    while (!stop_heartbeats_) {
      for (int32_t b = 0; b < 3; ++b) {
        if (b < 2 || broker2_alive) heartbeat(b);
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
  });
  for (int t = 0; t < 5; ++t) {
    v1::CreateTopicsRequest req;
    auto* topic = req.add_topics();
    topic->set_name(absl::StrCat("topic-", t));
    topic->set_num_partitions(6);
    topic->set_replication_factor(3);
    v1::CreateTopicsResponse resp;
    active = Write(req, &resp, &Stub::CreateTopics);
    ASSERT_EQ(resp.topics(0).error_code(), v1::NONE) << resp.topics(0).error_message();
  }

  StallMeter stall_meter;
  const absl::Time killed = absl::Now();
  broker2_alive = false;
  Kill9(active);
  // The first write another controller accepts: a config change on an
  // existing topic (independent of broker liveness).
  v1::IncrementalAlterConfigsRequest probe;
  auto* resource = probe.add_resources();
  resource->mutable_resource()->set_type(v1::ConfigResource::TOPIC);
  resource->mutable_resource()->set_name("topic-0");
  auto* retention = resource->add_configs();
  retention->set_name("retention.ms");
  retention->set_config_operation(v1::AlterableConfig::SET);
  retention->set_value("3600000");
  v1::IncrementalAlterConfigsResponse probe_resp;
  // Like Write(), and notes what each controller says (its Raft leader and
  // term, the write's error) as it changes, to explain a slow failover.
  int new_active = -1;
  std::string timeline;
  std::map<int, std::string> said;
  auto note = [&](int i, const std::string& what) {
    if (said[i] == what) return;
    said[i] = what;
    absl::StrAppend(&timeline, "  +", absl::ToInt64Milliseconds(absl::Now() - killed),
                    " ms controller ", i, ": ", what, "\n");
  };
  for (absl::Time deadline = absl::Now() + kWaitMax; new_active < 0 && absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(20))) {
    for (int i = 1; i <= kNodes && new_active < 0; ++i) {
      if (pids_[i] <= 0) continue;
      grpc::ClientContext describe_ctx;
      describe_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
      v1::DescribeClusterResponse described;
      grpc::Status s = stubs_[i]->DescribeCluster(&describe_ctx, {}, &described);
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      v1::IncrementalAlterConfigsResponse r;
      grpc::Status w = stubs_[i]->IncrementalAlterConfigs(&ctx, probe, &r);
      note(i, absl::StrCat("raft leader ", s.ok() ? described.controller_id() : -2, " epoch ",
                           s.ok() ? described.controller_epoch() : -2, "; write: ",
                           w.ok() ? v1::ErrorCode_Name(r.error_code()) : w.error_message()));
      if (w.ok() && r.error_code() != v1::NOT_CONTROLLER &&
          r.error_code() != v1::REQUEST_TIMED_OUT) {
        probe_resp = r;
        new_active = i;
      }
    }
  }
  const absl::Duration takeover = absl::Now() - killed;
  const absl::Duration stall = stall_meter.Stop();
  ASSERT_GT(new_active, 0) << "no controller took over";
  ASSERT_NE(new_active, active);
  ASSERT_EQ(probe_resp.error_code(), v1::NONE) << probe_resp.error_message();
  ASSERT_EQ(probe_resp.responses(0).error_code(), v1::NONE)
      << probe_resp.responses(0).error_message();
  const absl::Duration takeover_max = 2 * MaxElectionTimeout() + stall;
  std::cout << "failover: controller " << new_active << " active and accepting writes "
            << absl::ToDoubleMilliseconds(takeover) << " ms after kill -9 of " << active
            << " (bound: two election timeouts "
            << absl::ToDoubleMilliseconds(2 * MaxElectionTimeout()) << " ms + scheduling stall "
            << absl::ToDoubleMilliseconds(stall) << " ms)\n"
            << timeline;
  EXPECT_LE(takeover, takeover_max)
      << "failover slower than two election timeouts (plus the measured scheduling stall)";

  v1::CreateTopicsRequest after;
  after.add_topics()->set_name("after-failover");
  after.mutable_topics(0)->set_num_partitions(1);
  after.mutable_topics(0)->set_replication_factor(2);
  v1::CreateTopicsResponse after_resp;
  // Under heavy load the brokers' sessions may lapse during the failover and
  // they are briefly fenced (too few live brokers for 2 replicas): retry.
  for (absl::Time deadline = absl::Now() + kWaitMax; absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(100))) {
    Write(after, &after_resp, &Stub::CreateTopics);
    if (after_resp.topics_size() == 1 && after_resp.topics(0).error_code() == v1::NONE) break;
  }
  ASSERT_EQ(after_resp.topics(0).error_code(), v1::NONE) << after_resp.topics(0).error_message();
  std::cout << "failover: topic created " << absl::ToDoubleMilliseconds(absl::Now() - killed)
            << " ms after the kill\n";

  // DescribeCluster from the active controller names it and its log end.
  {
    grpc::ClientContext ctx;
    v1::DescribeClusterResponse described;
    ASSERT_TRUE(stubs_[new_active]->DescribeCluster(&ctx, {}, &described).ok());
    bool listed = false;
    for (const auto& c : described.controllers()) {
      if (c.node_id() != new_active) continue;
      listed = true;
      EXPECT_TRUE(c.is_active());
      EXPECT_GE(c.log_end_offset(), described.high_watermark());
      EXPECT_GT(c.last_caught_up_time_ms(), 0);
    }
    EXPECT_TRUE(listed);
  }

  auto image = FetchImage(new_active);
  for (int t = 0; t < 5; ++t) {
    EXPECT_NE(image->topic_by_name(absl::StrCat("topic-", t)), nullptr) << t;
  }
  EXPECT_NE(image->topic_by_name("after-failover"), nullptr);

  // Broker 2's session (3 s) expires: fenced, out of every ISR and leadership.
  bool fenced = false;
  for (absl::Time deadline = absl::Now() + kWaitMax; !fenced && absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(200))) {
    image = FetchImage(new_active);
    const BrokerRegistration* b2 = image->broker(BrokerId(2));
    if (b2 == nullptr || !b2->fenced) continue;
    // It leads nothing and is in no ISR, except as the kept last member of a
    // leaderless partition (possible only if 0 and 1 were fenced too, under
    // load, while 2 was the last in-sync replica).
    fenced = true;
    image->topics().ForEach([&](const Uuid&, const std::shared_ptr<const TopicImage>& topic) {
      for (const auto& p : topic->partitions) {
        fenced &= p->leader != BrokerId(2) &&
                  (!p->InIsr(BrokerId(2)) || (!p->has_leader() && p->isr.size() == 1));
      }
    });
  }
  EXPECT_TRUE(fenced) << "broker 2 not fenced, or still leads or sits in an ISR";
  EXPECT_FALSE(image->broker(BrokerId(0))->fenced);
  EXPECT_FALSE(image->broker(BrokerId(1))->fenced);
}

}  // namespace
}  // namespace fjord::controller
