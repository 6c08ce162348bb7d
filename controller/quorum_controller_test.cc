// Three QuorumControllers on RaftNodes in one process over an in-memory
// transport, each with its own RocksDB under TEST_TMPDIR. Broker sessions use
// a shared ManualClock the test moves. Waits are bounded and fail with a
// message; nothing asserts on elapsed time (failover time is printed).
#include "controller/quorum_controller.h"

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "common/random.h"
#include "gtest/gtest.h"

namespace fjord::controller {
namespace {

constexpr absl::Duration kWaitMax = absl::Seconds(30);

class LocalNetwork {
 public:
  class Endpoint : public raft::Transport {
   public:
    explicit Endpoint(LocalNetwork* net) : net_(net) {}
    void Send(std::vector<raft::Message> messages) override {
      absl::MutexLock lock(&net_->mu_);
      for (raft::Message& m : messages) {
        auto it = net_->nodes_.find(m.to);
        if (it != net_->nodes_.end() && it->second != nullptr) it->second->Receive(std::move(m));
      }
    }

   private:
    LocalNetwork* net_;
  };
  void Attach(NodeId id, raft::RaftNode* node) {
    absl::MutexLock lock(&mu_);
    nodes_[id] = node;
  }

 private:
  absl::Mutex mu_;
  std::map<NodeId, raft::RaftNode*> nodes_ ABSL_GUARDED_BY(mu_);
};

// Runs an asynchronous controller call and waits for its response.
template <typename R, typename F>
R Call(F&& call) {
  absl::Notification done;
  R response;
  call([&](R r) {
    response = std::move(r);
    done.Notify();
  });
  if (!done.WaitForNotificationWithTimeout(kWaitMax)) {
    ADD_FAILURE() << "no response";
    response.set_error_code(v1::REQUEST_TIMED_OUT);
  }
  return response;
}

class QuorumControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    root_ = std::filesystem::path(tmp ? tmp : "/tmp") / "quorum_controller_test";
    std::filesystem::remove_all(root_);
    for (int i = 1; i <= 3; ++i) Start(NodeId(i));
  }
  void TearDown() override {
    for (int i = 1; i <= 3; ++i) Kill(NodeId(i));
  }

  void Start(NodeId id) {
    QuorumControllerOptions options;
    options.node_id = id;
    options.config.cluster_id = "qc-test";
    options.tick = absl::Milliseconds(10);
    // A restarted controller gets a fresh seed, as a real process would.
    controllers_[id] = std::make_unique<QuorumController>(
        options, clock_, std::make_unique<SeededRandom>(id.value() * 1000 + ++starts_));
    raft::NodeOptions node_options{.id = id,
                                   .initial_voters = {NodeId(1), NodeId(2), NodeId(3)},
                                   .data_dir = (root_ / absl::StrCat("n", id.value())).string(),
                                   .tick_interval = absl::Milliseconds(10),
                                   .snapshot_every_entries = 25};
    endpoints_[id] = std::make_unique<LocalNetwork::Endpoint>(&net_);
    auto node = raft::RaftNode::Start(node_options, controllers_[id]->state_machine(),
                                      endpoints_[id].get());
    ASSERT_TRUE(node.ok()) << node.status();
    nodes_[id] = std::move(*node);
    controllers_[id]->Start(nodes_[id].get());
    net_.Attach(id, nodes_[id].get());
  }

  // kill -9 in spirit: no goodbye to the peers.
  void Kill(NodeId id) {
    net_.Attach(id, nullptr);
    if (controllers_[id]) controllers_[id]->Stop();
    nodes_[id].reset();
    controllers_[id].reset();
  }

  NodeId WaitForActive(NodeId other_than = kNoNode) {
    const absl::Time deadline = absl::Now() + kWaitMax;
    while (absl::Now() < deadline) {
      for (auto& [id, c] : controllers_) {
        if (c && id != other_than && c->status().active) return id;
      }
      absl::SleepFor(absl::Milliseconds(2));
    }
    ADD_FAILURE() << "no active controller within " << kWaitMax;
    return kNoNode;
  }

  // An active controller that every live controller knows as the leader:
  // right after an election a standby may not have heard from the new
  // leader yet (it then answers NOT_CONTROLLER without a leader hint).
  NodeId WaitForSettledActive() {
    const absl::Time deadline = absl::Now() + kWaitMax;
    while (absl::Now() < deadline) {
      const NodeId active = WaitForActive();
      if (active == kNoNode) return kNoNode;
      bool settled = true;
      for (auto& [id, c] : controllers_) {
        if (c && c->status().leader != active) settled = false;
      }
      if (settled) return active;
      absl::SleepFor(absl::Milliseconds(2));
    }
    ADD_FAILURE() << "no leader known to every controller within " << kWaitMax;
    return kNoNode;
  }

  // Waits until `pred(image)` holds on every live controller.
  template <typename P>
  bool WaitForAll(P pred) {
    const absl::Time deadline = absl::Now() + kWaitMax;
    while (absl::Now() < deadline) {
      bool all = true;
      for (auto& [id, c] : controllers_) {
        if (c && !pred(*c->image())) all = false;
      }
      if (all) return true;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }

  QuorumController& C(NodeId id) { return *controllers_[id]; }

  int64_t Register(NodeId on, int32_t broker) {
    v1::RegisterBrokerRequest req;
    req.set_broker_id(broker);
    req.set_cluster_id("qc-test");
    req.mutable_incarnation_id()->set_high(broker + 1);
    req.mutable_incarnation_id()->set_low(1);
    auto* l = req.add_listeners();
    l->set_name("PLAINTEXT");
    l->set_host("localhost");
    l->set_port(9092 + broker);
    auto resp = Call<v1::RegisterBrokerResponse>(
        [&](auto done) { C(on).RegisterBroker(req, std::move(done)); });
    EXPECT_EQ(resp.error_code(), v1::NONE) << resp.error_message();
    return resp.broker_epoch();
  }

  v1::BrokerHeartbeatResponse Heartbeat(NodeId on, int32_t broker, int64_t epoch) {
    v1::BrokerHeartbeatRequest req;
    req.set_broker_id(broker);
    req.set_broker_epoch(epoch);
    req.set_current_metadata_offset(C(on).image()->offset().value());
    return Call<v1::BrokerHeartbeatResponse>(
        [&](auto done) { C(on).BrokerHeartbeat(req, std::move(done)); });
  }

  v1::CreateTopicsResponse CreateTopic(NodeId on, const std::string& name) {
    v1::CreateTopicsRequest req;
    auto* t = req.add_topics();
    t->set_name(name);
    t->set_num_partitions(3);
    t->set_replication_factor(3);
    return Call<v1::CreateTopicsResponse>(
        [&](auto done) { C(on).CreateTopics(req, std::move(done)); });
  }

  std::filesystem::path root_;
  int starts_ = 0;
  ManualClock clock_;
  LocalNetwork net_;
  std::map<NodeId, std::unique_ptr<QuorumController>> controllers_;
  std::map<NodeId, std::unique_ptr<raft::RaftNode>> nodes_;
  std::map<NodeId, std::unique_ptr<LocalNetwork::Endpoint>> endpoints_;
};

TEST_F(QuorumControllerTest, StandbysAnswerNotControllerWithTheActiveOne) {
  const NodeId active = WaitForSettledActive();
  ASSERT_NE(active, kNoNode);
  const NodeId standby(active.value() % 3 + 1);
  auto resp = CreateTopic(standby, "t");
  EXPECT_EQ(resp.error_code(), v1::NOT_CONTROLLER);
  EXPECT_EQ(resp.active_controller().controller_id(), active.value());
  for (int b = 0; b < 3; ++b) Heartbeat(active, b, Register(active, b));
  const v1::CreateTopicsResponse created = CreateTopic(active, "t");
  ASSERT_EQ(created.error_code(), v1::NONE) << created.error_message();
  ASSERT_EQ(created.topics_size(), 1);
  EXPECT_EQ(created.topics(0).error_code(), v1::NONE) << created.topics(0).error_message();
  // The response came after commit: the active image already has the topic.
  EXPECT_NE(C(active).image()->topic_by_name("t"), nullptr);
  // Reads are served by any controller from its committed image.
  EXPECT_TRUE(WaitForAll([](const MetadataImage& img) { return img.topic_by_name("t"); }));
  auto cluster = Call<v1::DescribeClusterResponse>(
      [&](auto done) { C(standby).DescribeCluster(std::move(done)); });
  EXPECT_EQ(cluster.brokers_size(), 3);
  EXPECT_EQ(cluster.controller_id(), active.value());
  EXPECT_EQ(cluster.cluster_id(), "qc-test");
}

TEST_F(QuorumControllerTest, FailoverKeepsEveryAcknowledgedTopicAndFencesASilentBroker) {
  const NodeId first = WaitForActive();
  ASSERT_NE(first, kNoNode);
  std::map<int32_t, int64_t> epochs;
  for (int b = 0; b < 3; ++b) epochs[b] = Register(first, b);
  for (int b = 0; b < 3; ++b) EXPECT_FALSE(Heartbeat(first, b, epochs[b]).is_fenced());
  for (int t = 0; t < 10; ++t) {
    ASSERT_EQ(CreateTopic(first, "topic-" + std::to_string(t)).topics(0).error_code(), v1::NONE);
  }
  const int64_t acked_offset = C(first).image()->offset().value();

  const absl::Time killed = absl::Now();
  Kill(first);
  const NodeId second = WaitForActive(first);
  ASSERT_NE(second, kNoNode);
  std::cout << "failover: new active controller " << second.value() << " after "
            << absl::ToDoubleMilliseconds(absl::Now() - killed) << " ms\n";
  auto image = C(second).image();
  EXPECT_GE(image->offset().value(), acked_offset);
  for (int t = 0; t < 10; ++t) {
    EXPECT_NE(image->topic_by_name("topic-" + std::to_string(t)), nullptr) << t;
  }

  // Brokers 0 and 1 keep heartbeating to the new active controller; 2 stops.
  clock_.Advance(absl::Seconds(10));
  for (int b = 0; b < 2; ++b) {
    auto hb = Heartbeat(second, b, epochs[b]);
    EXPECT_EQ(hb.error_code(), v1::NONE) << hb.error_message();
    EXPECT_FALSE(hb.is_fenced());
  }
  const bool fenced = WaitForAll([](const MetadataImage& img) {
    const BrokerRegistration* b = img.broker(BrokerId(2));
    if (b == nullptr || !b->fenced) return false;
    bool clean = true;
    img.topics().ForEach([&](const Uuid&, const std::shared_ptr<const TopicImage>& topic) {
      for (const auto& p : topic->partitions) {
        clean &= p->leader != BrokerId(2) && !p->InIsr(BrokerId(2)) && p->has_leader();
      }
    });
    return clean;
  });
  EXPECT_TRUE(fenced) << "broker 2 was not fenced, or kept a leadership or ISR place";
  EXPECT_EQ(C(second).status().fenced_brokers, 1);

  // The killed controller restarts from its disk and converges.
  Start(first);
  const int64_t target = C(second).image()->offset().value();
  EXPECT_TRUE(WaitForAll([&](const MetadataImage& img) { return img.offset().value() >= target; }));
  auto a = C(second).image();
  auto b = C(first).image();
  if (a->offset() == b->offset()) {
    EXPECT_TRUE(*a == *b);
  }
}

// Writes stream in while the active controller is killed again and again:
// every acknowledged topic must survive, and all controllers must end with
// the same image.
TEST_F(QuorumControllerTest, AcknowledgedWritesSurviveRepeatedLeaderKills) {
  NodeId active = WaitForActive();
  ASSERT_NE(active, kNoNode);
  for (int b = 0; b < 3; ++b) Heartbeat(active, b, Register(active, b));
  struct Acks {
    absl::Mutex mu;
    std::vector<std::string> acked ABSL_GUARDED_BY(mu);
  };
  auto acks = std::make_shared<Acks>();
  for (int round = 0; round < 4; ++round) {
    active = WaitForActive();
    ASSERT_NE(active, kNoNode) << "round " << round;
    for (int k = 0; k < 20; ++k) {
      const std::string name = absl::StrCat("r", round, "-t", k);
      v1::CreateTopicsRequest req;
      auto* t = req.add_topics();
      t->set_name(name);
      t->set_num_partitions(2);
      t->set_replication_factor(2);
      C(active).CreateTopics(req, [acks, name](v1::CreateTopicsResponse r) {
        if (r.error_code() == v1::NONE && r.topics(0).error_code() == v1::NONE) {
          absl::MutexLock lock(&acks->mu);
          acks->acked.push_back(name);
        }
      });
      if (k == 10) absl::SleepFor(absl::Milliseconds(40));  // some commit, some are in flight
    }
    Kill(active);
    const NodeId next = WaitForActive(active);
    ASSERT_NE(next, kNoNode) << "round " << round;
    Start(active);
  }
  active = WaitForActive();
  ASSERT_NE(active, kNoNode);
  // A last write through the final active controller, then everyone agrees.
  // Leadership may still move once after the last restart (the answer is
  // then NOT_CONTROLLER, which a client retries at the new active one).
  v1::CreateTopicsResponse final_write = CreateTopic(active, "final");
  for (int attempt = 0; attempt < 5 && final_write.error_code() == v1::NOT_CONTROLLER; ++attempt) {
    active = WaitForActive();
    ASSERT_NE(active, kNoNode);
    final_write = CreateTopic(active, "final");
  }
  ASSERT_EQ(final_write.error_code(), v1::NONE) << final_write.error_message();
  ASSERT_EQ(final_write.topics_size(), 1);
  ASSERT_EQ(final_write.topics(0).error_code(), v1::NONE) << final_write.topics(0).error_message();
  const int64_t target = C(active).image()->offset().value();
  ASSERT_TRUE(WaitForAll([&](const MetadataImage& img) { return img.offset().value() >= target; }));
  auto reference = C(active).image();
  std::vector<std::string> acked;
  {
    absl::MutexLock lock(&acks->mu);
    acked = acks->acked;
  }
  EXPECT_GT(acked.size(), 0u);
  for (const std::string& name : acked) {
    EXPECT_NE(reference->topic_by_name(name), nullptr) << name << " was acknowledged but lost";
  }
  // Equal images once every controller has applied the same offset.
  EXPECT_TRUE(WaitForAll(
      [&](const MetadataImage& img) { return img.offset() == C(active).image()->offset(); }));
  for (int i = 1; i <= 3; ++i) {
    auto img = C(NodeId(i)).image();
    if (img->offset() == C(active).image()->offset()) {
      EXPECT_TRUE(*img == *C(active).image()) << "controller " << i << " differs";
    }
  }
  std::cout << acked.size() << " of 80 topic creations acknowledged across 4 leader kills\n";
}

}  // namespace
}  // namespace fjord::controller
