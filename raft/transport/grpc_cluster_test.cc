// Three RaftNodes in one process, talking over real gRPC on loopback.
#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "raft/node/raft_node.h"
#include "raft/transport/grpc_transport.h"

namespace fjord::raft {
namespace {

constexpr absl::Duration kWaitMax = absl::Seconds(20);

class CountingStateMachine : public StateMachine {
 public:
  void Apply(const std::vector<Entry>& entries) override {
    absl::MutexLock lock(&mu_);
    for (const Entry& e : entries) last_ = e.data, ++count_;
  }
  std::string Snapshot() override {
    absl::MutexLock lock(&mu_);
    return absl::StrCat(count_, ":", last_);
  }
  absl::Status Restore(const SnapshotMeta&, const std::string& data) override {
    absl::MutexLock lock(&mu_);
    const size_t colon = data.find(':');
    count_ = std::stoull(data.substr(0, colon));
    last_ = data.substr(colon + 1);
    return absl::OkStatus();
  }
  uint64_t count() const {
    absl::MutexLock lock(&mu_);
    return count_;
  }

 private:
  mutable absl::Mutex mu_;
  uint64_t count_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_ ABSL_GUARDED_BY(mu_);
};

struct Member {
  absl::Mutex mu;
  RaftNode* node ABSL_GUARDED_BY(mu) = nullptr;
  std::unique_ptr<RaftGrpcService> service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::unique_ptr<GrpcTransport> transport;
  CountingStateMachine sm;
  std::unique_ptr<RaftNode> raft;
};

TEST(GrpcClusterTest, ThreeNodesReplicateOverLoopback) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::filesystem::path root = std::filesystem::path(tmp ? tmp : "/tmp") / "grpc_cluster";
  std::filesystem::remove_all(root);
  std::map<NodeId, std::unique_ptr<Member>> members;
  std::map<NodeId, std::string> addresses;
  for (int i = 1; i <= 3; ++i) {
    auto m = std::make_unique<Member>();
    Member* raw = m.get();
    m->service = std::make_unique<RaftGrpcService>("test", [raw](Message msg) {
      absl::MutexLock lock(&raw->mu);
      if (raw->node) raw->node->Receive(std::move(msg));
    });
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &m->port);
    builder.RegisterService(m->service.get());
    m->server = builder.BuildAndStart();
    ASSERT_NE(m->server, nullptr);
    ASSERT_GT(m->port, 0);
    addresses[NodeId(i)] = absl::StrCat("127.0.0.1:", m->port);
    members[NodeId(i)] = std::move(m);
  }
  for (auto& [id, m] : members) {
    std::map<NodeId, std::string> peers = addresses;
    peers.erase(id);
    m->transport = std::make_unique<GrpcTransport>("test", peers);
    NodeOptions options{.id = id,
                        .initial_voters = {NodeId(1), NodeId(2), NodeId(3)},
                        .data_dir = (root / absl::StrCat("n", id.value())).string(),
                        .tick_interval = absl::Milliseconds(20)};
    auto node = RaftNode::Start(options, &m->sm, m->transport.get());
    ASSERT_TRUE(node.ok()) << node.status();
    m->raft = std::move(*node);
    absl::MutexLock lock(&m->mu);
    m->node = m->raft.get();
  }

  NodeId leader = kNoNode;
  for (absl::Time deadline = absl::Now() + kWaitMax; leader == kNoNode && absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(10))) {
    for (auto& [id, m] : members) {
      if (m->raft->status().role == Role::kLeader) leader = id;
    }
  }
  ASSERT_NE(leader, kNoNode) << "no leader over gRPC within " << kWaitMax;

  constexpr int kEntries = 200;
  absl::Mutex mu;
  int acked = 0;
  int failed = 0;
  for (int i = 0; i < kEntries; ++i) {
    members[leader]->raft->Propose(std::string(1024, 'x'), [&](absl::StatusOr<LogIndex> r) {
      absl::MutexLock lock(&mu);
      (r.ok() ? acked : failed)++;
    });
  }
  {
    absl::MutexLock lock(&mu);
    auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return acked + failed == kEntries; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&done), kWaitMax)) << "proposals hung";
    EXPECT_EQ(failed, 0);
  }
  for (auto& [id, m] : members) {
    bool caught_up = false;
    for (absl::Time deadline = absl::Now() + kWaitMax; !caught_up && absl::Now() < deadline;
         absl::SleepFor(absl::Milliseconds(10))) {
      caught_up = m->sm.count() == kEntries;
    }
    EXPECT_TRUE(caught_up) << "node " << id << " applied " << m->sm.count();
  }
  // Stop every node and close every client stream before stopping servers:
  // a server's Shutdown waits for the streams still open to it.
  for (auto& [id, m] : members) {
    {
      absl::MutexLock lock(&m->mu);
      m->node = nullptr;
    }
    m->raft.reset();
  }
  for (auto& [id, m] : members) m->transport.reset();
  for (auto& [id, m] : members) m->server->Shutdown(std::chrono::system_clock::now());
}

}  // namespace
}  // namespace fjord::raft
