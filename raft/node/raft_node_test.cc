// Three RaftNodes in one process over an in-memory transport, each with its
// own RocksDB under TEST_TMPDIR. Waits are bounded and fail with a message;
// nothing asserts on elapsed time.
#include "raft/node/raft_node.h"

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace fjord::raft {
namespace {

constexpr absl::Duration kWaitMax = absl::Seconds(20);

// Appends every entry's data to a list; the snapshot is the joined list.
class ListStateMachine : public StateMachine {
 public:
  void Apply(const std::vector<Entry>& entries) override {
    absl::MutexLock lock(&mu_);
    for (const Entry& e : entries) items_.push_back(e.data);
  }
  std::string Snapshot() override {
    absl::MutexLock lock(&mu_);
    return absl::StrJoin(items_, ",");
  }
  absl::Status Restore(const SnapshotMeta&, const std::string& data) override {
    absl::MutexLock lock(&mu_);
    items_ = data.empty() ? std::vector<std::string>{}
                          : std::vector<std::string>(absl::StrSplit(data, ','));
    return absl::OkStatus();
  }
  std::vector<std::string> items() const {
    absl::MutexLock lock(&mu_);
    return items_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> items_ ABSL_GUARDED_BY(mu_);
};

class LocalNetwork {
 public:
  class Endpoint : public Transport {
   public:
    explicit Endpoint(LocalNetwork* net) : net_(net) {}
    void Send(std::vector<Message> messages) override {
      absl::MutexLock lock(&net_->mu_);
      for (Message& m : messages) {
        auto it = net_->nodes_.find(m.to);
        if (it != net_->nodes_.end() && it->second != nullptr) it->second->Receive(std::move(m));
      }
    }

   private:
    LocalNetwork* net_;
  };
  void Attach(NodeId id, RaftNode* node) {
    absl::MutexLock lock(&mu_);
    nodes_[id] = node;
  }

 private:
  absl::Mutex mu_;
  std::map<NodeId, RaftNode*> nodes_ ABSL_GUARDED_BY(mu_);
};

class RaftNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    root_ = std::filesystem::path(tmp ? tmp : "/tmp") / "raft_node_test";
    std::filesystem::remove_all(root_);
    for (int i = 1; i <= 3; ++i) Start(NodeId(i));
  }
  void TearDown() override {
    for (int i = 1; i <= 3; ++i) Stop(NodeId(i));
  }

  void Start(NodeId id) {
    NodeOptions options{.id = id,
                        .initial_voters = {NodeId(1), NodeId(2), NodeId(3)},
                        .data_dir = (root_ / absl::StrCat("n", id.value())).string(),
                        .tick_interval = absl::Milliseconds(10),
                        .snapshot_every_entries = 20};
    sms_[id] = std::make_unique<ListStateMachine>();
    endpoints_[id] = std::make_unique<LocalNetwork::Endpoint>(&net_);
    auto node = RaftNode::Start(options, sms_[id].get(), endpoints_[id].get());
    ASSERT_TRUE(node.ok()) << node.status();
    nodes_[id] = std::move(*node);
    net_.Attach(id, nodes_[id].get());
  }
  void Stop(NodeId id) {
    net_.Attach(id, nullptr);
    nodes_[id].reset();
  }

  // The leader once all live nodes agree on it, or kNoNode after kWaitMax.
  NodeId WaitForLeader() {
    const absl::Time deadline = absl::Now() + kWaitMax;
    while (absl::Now() < deadline) {
      NodeId leader = kNoNode;
      bool agreed = true;
      for (auto& [id, node] : nodes_) {
        if (!node) continue;
        NodeStatus s = node->status();
        if (s.role == Role::kLeader) leader = id;
        if (s.leader == kNoNode || (leader != kNoNode && s.leader != leader)) agreed = false;
      }
      if (leader != kNoNode && agreed) return leader;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return kNoNode;
  }

  absl::StatusOr<LogIndex> ProposeAndWait(NodeId on, const std::string& data) {
    absl::Notification done;
    absl::StatusOr<LogIndex> result = absl::DeadlineExceededError("no answer");
    nodes_[on]->Propose(data, [&](absl::StatusOr<LogIndex> r) {
      result = std::move(r);
      done.Notify();
    });
    if (!done.WaitForNotificationWithTimeout(kWaitMax)) return absl::DeadlineExceededError("hung");
    return result;
  }

  bool WaitForItems(NodeId id, size_t count) {
    const absl::Time deadline = absl::Now() + kWaitMax;
    while (absl::Now() < deadline) {
      if (sms_[id]->items().size() >= count) return true;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }

  std::filesystem::path root_;
  LocalNetwork net_;
  std::map<NodeId, std::unique_ptr<ListStateMachine>> sms_;
  std::map<NodeId, std::unique_ptr<LocalNetwork::Endpoint>> endpoints_;
  std::map<NodeId, std::unique_ptr<RaftNode>> nodes_;
};

TEST_F(RaftNodeTest, ElectsReplicatesAndServesReads) {
  const NodeId leader = WaitForLeader();
  ASSERT_NE(leader, kNoNode) << "no leader within " << kWaitMax;
  for (int i = 0; i < 50; ++i) {
    absl::StatusOr<LogIndex> index = ProposeAndWait(leader, absl::StrCat("v", i));
    ASSERT_TRUE(index.ok()) << index.status();
  }
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(WaitForItems(NodeId(i), 50)) << "node " << i << " did not apply 50 entries";
    EXPECT_EQ(sms_[NodeId(i)]->items(), sms_[leader]->items());
  }
  absl::Notification read;
  absl::Status read_status;
  nodes_[leader]->ReadIndex([&](absl::Status s) {
    read_status = s;
    read.Notify();
  });
  ASSERT_TRUE(read.WaitForNotificationWithTimeout(kWaitMax));
  EXPECT_TRUE(read_status.ok()) << read_status;

  const NodeId follower = NodeId(leader.value() % 3 + 1);
  absl::StatusOr<LogIndex> refused = ProposeAndWait(follower, "x");
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(LeaderHint(refused.status()), leader) << refused.status();
}

TEST_F(RaftNodeTest, SurvivesLeaderLossAndRestartLosesNothing) {
  const NodeId first = WaitForLeader();
  ASSERT_NE(first, kNoNode) << "no leader within " << kWaitMax;
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(ProposeAndWait(first, absl::StrCat("a", i)).ok());
  Stop(first);
  const NodeId second = WaitForLeader();
  ASSERT_NE(second, kNoNode) << "no new leader after stopping " << first;
  ASSERT_NE(second, first);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(ProposeAndWait(second, absl::StrCat("b", i)).ok());
  // The old leader restarts from its RocksDB (snapshot + log) and catches up,
  // by snapshot if the others compacted past it (every 20 entries here).
  Start(first);
  ASSERT_TRUE(WaitForItems(first, 60)) << "restarted node did not catch up";
  EXPECT_EQ(sms_[first]->items(), sms_[second]->items());
  const std::vector<std::string> items = sms_[first]->items();
  EXPECT_EQ(items.front(), "a0");
  EXPECT_EQ(items.back(), "b29");
}

}  // namespace
}  // namespace fjord::raft
