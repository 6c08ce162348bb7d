// Three RaftNodes in one process over an in-memory transport, each with its
// own RocksDB under TEST_TMPDIR. Waits are bounded and fail with a message;
// nothing asserts on elapsed time.
#include "raft/node/raft_node.h"

#include <cstdlib>
#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "common/kafka_error.h"
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
        if (net_->isolated_.count(m.from) || net_->isolated_.count(m.to)) continue;
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
  // Drops every message from or to `id` while isolated.
  void SetIsolated(NodeId id, bool isolated) {
    absl::MutexLock lock(&mu_);
    if (isolated) {
      isolated_.insert(id);
    } else {
      isolated_.erase(id);
    }
  }

 private:
  absl::Mutex mu_;
  std::map<NodeId, RaftNode*> nodes_ ABSL_GUARDED_BY(mu_);
  std::set<NodeId> isolated_ ABSL_GUARDED_BY(mu_);
};

// A proposal in flight. The callbacks own it: `done` may run after the test
// stops waiting (at request_timeout or when the node stops). A Mutex, not a
// Notification, carries the result: TSAN sees absl::Mutex through the shim.
struct Pending {
  absl::Mutex mu;
  std::optional<LogIndex> appended ABSL_GUARDED_BY(mu);
  std::optional<absl::StatusOr<LogIndex>> result ABSL_GUARDED_BY(mu);

  bool WaitAppended(absl::Duration wait) {
    absl::MutexLock lock(&mu);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return appended.has_value(); };
    return mu.AwaitWithTimeout(absl::Condition(&ready), wait);
  }
  std::optional<absl::StatusOr<LogIndex>> WaitResult(absl::Duration wait) {
    absl::MutexLock lock(&mu);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return result.has_value(); };
    mu.AwaitWithTimeout(absl::Condition(&ready), wait);
    return result;
  }
};

std::shared_ptr<Pending> StartProposal(RaftNode& node, const std::string& data) {
  auto p = std::make_shared<Pending>();
  node.Propose(
      data,
      [p](LogIndex index, Term) {
        absl::MutexLock lock(&p->mu);
        p->appended = index;
      },
      [p](absl::StatusOr<LogIndex> r) {
        absl::MutexLock lock(&p->mu);
        p->result = std::move(r);
      });
  return p;
}

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
                        .snapshot_every_entries = 20,
                        .request_timeout = request_timeout_,
                        .fail_proposals_on_leadership_loss = fail_fast_,
                        .async_storage_writes = async_writes_};
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

  // The fixture keeps every proposal's state alive until the nodes have
  // stopped, so it is freed on this thread after their threads were joined
  // (a node thread dropping the last reference made TSAN report libstdc++'s
  // shared_ptr release fast path).
  std::shared_ptr<Pending> ProposeTracked(NodeId on, const std::string& data) {
    std::shared_ptr<Pending> p = StartProposal(*nodes_[on], data);
    keep_alive_.push_back(p);
    return p;
  }

  absl::StatusOr<LogIndex> ProposeAndWait(NodeId on, const std::string& data) {
    std::optional<absl::StatusOr<LogIndex>> r = ProposeTracked(on, data)->WaitResult(kWaitMax);
    if (!r.has_value()) return absl::DeadlineExceededError("hung");
    return *r;
  }

  bool WaitForItems(NodeId id, size_t count) {
    const absl::Time deadline = absl::Now() + kWaitMax;
    while (absl::Now() < deadline) {
      if (sms_[id]->items().size() >= count) return true;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }

  // Options of the nodes SetUp starts (derived fixtures change them).
  absl::Duration request_timeout_ = absl::Seconds(10);
  bool fail_fast_ = false;
  bool async_writes_ = false;
  bool WaitUntilNotLeader(NodeId id) {
    const absl::Time deadline = absl::Now() + kWaitMax;
    while (absl::Now() < deadline) {
      if (nodes_[id]->status().role != Role::kLeader) return true;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }

  std::filesystem::path root_;
  LocalNetwork net_;
  std::map<NodeId, std::unique_ptr<ListStateMachine>> sms_;
  std::map<NodeId, std::unique_ptr<LocalNetwork::Endpoint>> endpoints_;
  std::map<NodeId, std::unique_ptr<RaftNode>> nodes_;
  std::vector<std::shared_ptr<void>> keep_alive_;
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
  struct Read {
    absl::Mutex mu;
    std::optional<absl::Status> status ABSL_GUARDED_BY(mu);
  };
  auto read = std::make_shared<Read>();
  keep_alive_.push_back(read);
  nodes_[leader]->ReadIndex([read](absl::Status s) {
    absl::MutexLock lock(&read->mu);
    read->status = s;
  });
  absl::Status read_status;
  {
    absl::MutexLock lock(&read->mu);
    auto answered = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(read->mu) {
      return read->status.has_value();
    };
    ASSERT_TRUE(read->mu.AwaitWithTimeout(absl::Condition(&answered), kWaitMax));
    read_status = *read->status;
  }
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

// Where a proposal will sit is known at append, before it commits.
TEST_F(RaftNodeTest, ProposeReportsTheAppendedIndexBeforeCompletion) {
  const NodeId leader = WaitForLeader();
  ASSERT_NE(leader, kNoNode) << "no leader within " << kWaitMax;
  absl::Mutex mu;
  std::vector<std::string> events;
  std::optional<LogIndex> appended_index;
  absl::StatusOr<LogIndex> result = absl::UnknownError("no answer");
  absl::Notification done;
  nodes_[leader]->Propose(
      "x",
      [&](LogIndex index, Term term) {
        absl::MutexLock lock(&mu);
        events.push_back(absl::StrCat("appended term=", term.value()));
        appended_index = index;
      },
      [&](absl::StatusOr<LogIndex> r) {
        absl::MutexLock lock(&mu);
        events.push_back("done");
        result = std::move(r);
        done.Notify();
      });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kWaitMax)) << "proposal never completed";
  absl::MutexLock lock(&mu);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], absl::StrCat("appended term=", nodes_[leader]->status().term.value()));
  EXPECT_EQ(events[1], "done");
  ASSERT_TRUE(appended_index.has_value());
  EXPECT_EQ(*appended_index, *result);

  // A refused proposal only gets `done`, with the error.
  const NodeId follower = NodeId(leader.value() % 3 + 1);
  std::shared_ptr<Pending> refused = ProposeTracked(follower, "y");
  std::optional<absl::StatusOr<LogIndex>> refusal = refused->WaitResult(kWaitMax);
  ASSERT_TRUE(refusal.has_value()) << "no answer from a follower";
  EXPECT_EQ(ToErrorCode(refusal->status()), v1::NOT_LEADER_OR_FOLLOWER) << refusal->status();
  EXPECT_FALSE(refused->WaitAppended(absl::ZeroDuration()));
}

class FailFastRaftNodeTest : public RaftNodeTest {
 protected:
  FailFastRaftNodeTest() {
    fail_fast_ = true;
    request_timeout_ = absl::Minutes(5);  // Far beyond the test's waits.
  }
};

TEST_F(FailFastRaftNodeTest, AProposalStrandedByLeadershipLossFailsAtOnce) {
  const NodeId leader = WaitForLeader();
  ASSERT_NE(leader, kNoNode) << "no leader within " << kWaitMax;
  ASSERT_TRUE(ProposeAndWait(leader, "before").ok());
  // Cut off, the leader appends but cannot commit; CheckQuorum makes it step
  // down within an election timeout (10 ticks of 10 ms) or so.
  net_.SetIsolated(leader, true);
  std::shared_ptr<Pending> p = ProposeTracked(leader, "stranded");
  std::optional<absl::StatusOr<LogIndex>> r = p->WaitResult(kWaitMax);
  ASSERT_TRUE(r.has_value()) << "no answer within " << kWaitMax
                             << " (request_timeout is 5 minutes)";
  ASSERT_TRUE(p->WaitAppended(absl::ZeroDuration())) << "the isolated leader did not append";
  ASSERT_FALSE(r->ok()) << "a cut-off leader committed";
  EXPECT_EQ(ToErrorCode(r->status()), v1::NOT_LEADER_OR_FOLLOWER) << r->status();
  EXPECT_NE(r->status().message().find("outcome unknown"), std::string::npos) << r->status();
  EXPECT_TRUE(WaitUntilNotLeader(leader)) << "failed the proposal but still leads";
  // The others go on; once healed, the old leader follows them.
  net_.SetIsolated(leader, false);
  const NodeId next = WaitForLeader();
  ASSERT_NE(next, kNoNode) << "no leader after healing";
  ASSERT_TRUE(ProposeAndWait(next, "after").ok());
}

TEST_F(RaftNodeTest, WithoutFailFastAStrandedProposalWaitsForItsTimeout) {
  // The default keeps the historical behaviour: the proposal stays pending
  // after the leadership loss, until request_timeout (10 s here).
  const NodeId leader = WaitForLeader();
  ASSERT_NE(leader, kNoNode) << "no leader within " << kWaitMax;
  net_.SetIsolated(leader, true);
  std::shared_ptr<Pending> p = ProposeTracked(leader, "stranded");
  ASSERT_TRUE(p->WaitAppended(kWaitMax)) << "the isolated leader did not append";
  ASSERT_TRUE(WaitUntilNotLeader(leader)) << "the isolated leader never stepped down";
  EXPECT_FALSE(p->WaitResult(absl::Milliseconds(300)).has_value())
      << "answered early although fail_proposals_on_leadership_loss is off";
  net_.SetIsolated(leader, false);
}

// The leader's view of every member's log, as DescribeCluster reports it.
TEST_F(RaftNodeTest, TheLeaderReportsEachMembersMatchIndex) {
  const NodeId leader = WaitForLeader();
  ASSERT_NE(leader, kNoNode) << "no leader within " << kWaitMax;
  absl::StatusOr<LogIndex> last;
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE((last = ProposeAndWait(leader, absl::StrCat("v", i))).ok());
  // Every member has (or will soon have acknowledged) the last entry.
  auto match_of = [&](NodeId id) {
    for (const PeerProgress& p : nodes_[leader]->progress()) {
      if (p.id == id) return p;
    }
    return PeerProgress{};
  };
  const absl::Time before = absl::Now();
  for (int i = 1; i <= 3; ++i) {
    const NodeId id(i);
    const absl::Time deadline = absl::Now() + kWaitMax;
    while (match_of(id).match < *last && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    EXPECT_GE(match_of(id).match, *last) << "node " << i << " in the leader's progress";
    EXPECT_NE(match_of(id).last_caught_up, absl::InfinitePast()) << "node " << i;
  }
  EXPECT_EQ(nodes_[leader]->progress().size(), 3u);
  for (int i = 1; i <= 3; ++i) {
    if (NodeId(i) == leader) continue;
    EXPECT_TRUE(nodes_[NodeId(i)]->progress().empty()) << i;
  }
  // A follower cut off falls behind; the other keeps up.
  const NodeId cut = NodeId(leader.value() % 3 + 1);
  const NodeId other = NodeId(cut.value() % 3 + 1);
  ASSERT_NE(other, leader);
  const LogIndex cut_match = match_of(cut).match;
  net_.SetIsolated(cut, true);
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE((last = ProposeAndWait(leader, absl::StrCat("w", i))).ok());
  const absl::Time deadline = absl::Now() + kWaitMax;
  while (match_of(other).match < *last && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_GE(match_of(other).match, *last);
  EXPECT_EQ(match_of(cut).match, cut_match) << "an isolated follower cannot have acknowledged more";
  EXPECT_LT(match_of(cut).last_caught_up, absl::Now());
  EXPECT_GE(match_of(other).last_caught_up, before);
  net_.SetIsolated(cut, false);
}

// The same with the leader's log written on its StorageWriter thread.
class AsyncWritesRaftNodeTest : public RaftNodeTest {
 protected:
  void SetUp() override {
    async_writes_ = true;
    RaftNodeTest::SetUp();
  }
};

TEST_F(AsyncWritesRaftNodeTest, ElectsReplicatesAndSnapshots) {
  const NodeId leader = WaitForLeader();
  ASSERT_NE(leader, kNoNode) << "no leader within " << kWaitMax;
  // Enough entries for snapshots (every 20), which drain the writer first.
  for (int i = 0; i < 50; ++i) {
    absl::StatusOr<LogIndex> index = ProposeAndWait(leader, absl::StrCat("v", i));
    ASSERT_TRUE(index.ok()) << index.status();
  }
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(WaitForItems(NodeId(i), 50)) << "node " << i << " did not apply 50 entries";
    EXPECT_EQ(sms_[NodeId(i)]->items(), sms_[leader]->items());
  }
}

TEST_F(AsyncWritesRaftNodeTest, SurvivesLeaderLossAndRestartLosesNothing) {
  const NodeId first = WaitForLeader();
  ASSERT_NE(first, kNoNode) << "no leader within " << kWaitMax;
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(ProposeAndWait(first, absl::StrCat("a", i)).ok());
  Stop(first);
  const NodeId second = WaitForLeader();
  ASSERT_NE(second, kNoNode) << "no new leader after stopping " << first;
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(ProposeAndWait(second, absl::StrCat("b", i)).ok());
  // Restarting from what the writer thread left on disk loses nothing
  // that was acknowledged.
  Start(first);
  ASSERT_TRUE(WaitForItems(first, 60)) << "restarted node did not catch up";
  EXPECT_EQ(sms_[first]->items(), sms_[second]->items());
  EXPECT_EQ(sms_[first]->items().back(), "b29");
}

TEST_F(AsyncWritesRaftNodeTest, TheLeaderReportsEachMembersMatchIndex) {
  const NodeId leader = WaitForLeader();
  ASSERT_NE(leader, kNoNode) << "no leader within " << kWaitMax;
  absl::StatusOr<LogIndex> last = ProposeAndWait(leader, "x");
  ASSERT_TRUE(last.ok()) << last.status();
  // The leader's own match is what its writer has persisted.
  const absl::Time deadline = absl::Now() + kWaitMax;
  LogIndex own;
  while (own < *last && absl::Now() < deadline) {
    for (const PeerProgress& p : nodes_[leader]->progress()) {
      if (p.id == leader) own = p.match;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_GE(own, *last);
}

}  // namespace
}  // namespace fjord::raft
