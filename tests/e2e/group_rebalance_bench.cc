// Benchmark (manual): consumer-group rebalance latency and client commit
// throughput against real processes (1 fjord-controller, 3 fjord-brokers).
//
//   bazel test --config=opt //tests/e2e:group_rebalance_bench --test_output=all
//
// Rebalance: 10 in-process GroupConsumers (one thread each, polling) over a
// 100-partition topic. "Join": the 10th member subscribes; "leave": one
// member closes; each timed until the assignment is stable again (every
// partition owned by exactly one member, each member 10 (join) or 11-12
// (leave) partitions, as the uniform assignor spreads them). Repeated, the
// median and max printed. The heartbeat interval is the broker's
// group.consumer.heartbeat.interval.ms (set below), which dominates.
//
// Commits: one member commits 10 partitions' positions CommitSync in a loop,
// then CommitAsync (ordered, one in flight) in a loop; commits/s printed.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "client/admin.h"
#include "client/group_consumer.h"
#include "common/grpc_runtime.h"
#include "tests/cluster/process_cluster.h"

namespace fjord {
namespace {

constexpr int kMembers = 10;
constexpr int kPartitions = 100;
constexpr int kRounds = 5;
constexpr int kHeartbeatIntervalMs = 500;
constexpr absl::Duration kBound = absl::Seconds(60);

// A member polling on its own thread; publishes its assignment.
class Member {
 public:
  Member(const std::string& bootstrap, int id) {
    auto config = client::ConsumerConfig::FromProperties({{"bootstrap.servers", bootstrap},
                                                          {"group.id", "bench"},
                                                          {"client.id", absl::StrCat("m", id)},
                                                          {"enable.auto.commit", "false"}});
    consumer_ = std::move(*client::GroupConsumer::Create(*config));
    thread_ = std::thread([this] { Run(); });
  }
  ~Member() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<client::TopicPartition> owned() {
    absl::MutexLock lock(&mu_);
    return owned_;
  }

 private:
  void Run() {
    (void)consumer_->Subscribe({"bench-topic"});
    while (!stop_) {
      (void)consumer_->Poll(absl::Milliseconds(20));
      absl::MutexLock lock(&mu_);
      owned_ = consumer_->assignment();
    }
    consumer_->Close();
    absl::MutexLock lock(&mu_);
    owned_.clear();
  }
  std::unique_ptr<client::GroupConsumer> consumer_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  std::vector<client::TopicPartition> owned_ ABSL_GUARDED_BY(mu_);
};

bool Stable(std::vector<std::unique_ptr<Member>>& members) {
  std::set<client::TopicPartition> all;
  size_t total = 0;
  const size_t low = kPartitions / members.size();
  for (auto& m : members) {
    auto owned = m->owned();
    if (owned.size() < low || owned.size() > low + 1) return false;
    total += owned.size();
    all.insert(owned.begin(), owned.end());
  }
  return total == kPartitions && all.size() == kPartitions;
}

absl::Duration WaitStable(std::vector<std::unique_ptr<Member>>& members, absl::Time since) {
  while (!Stable(members)) {
    if (absl::Now() - since > kBound) return absl::InfiniteDuration();
    absl::SleepFor(absl::Milliseconds(5));
  }
  return absl::Now() - since;
}

void Report(const std::string& what, std::vector<absl::Duration> samples) {
  std::sort(samples.begin(), samples.end());
  std::printf("%s: median %.0f ms, max %.0f ms over %zu rounds\n", what.c_str(),
              absl::ToDoubleMilliseconds(samples[samples.size() / 2]),
              absl::ToDoubleMilliseconds(samples.back()), samples.size());
}

TEST(GroupRebalanceBench, TimeToStableAssignmentAndCommitThroughput) {
  KeepGrpcInitialized();
  testing::ProcessCluster cluster({.controllers = 1,
                                   .brokers = 3,
                                   .broker_properties = {{"offsets.topic.replication.factor", "3"},
                                                         {"offsets.topic.num.partitions", "6"},
                                                         {"group.consumer.heartbeat.interval.ms",
                                                          std::to_string(kHeartbeatIntervalMs)}}});
  ASSERT_TRUE(cluster.Start().ok());
  ASSERT_TRUE(cluster.WaitForBrokers(3).ok());
  auto admin_config = client::AdminConfig::FromProperties(
      {{"bootstrap.servers", cluster.bootstrap_servers()},
       {"bootstrap.controllers", cluster.controller_addresses()}});
  auto admin = std::move(*client::Admin::Create(*admin_config));
  auto created = admin->CreateTopics(
      {{.name = "bench-topic", .num_partitions = kPartitions, .replication_factor = 3}});
  ASSERT_TRUE(created.ok() && (*created)[0].status.ok());
  absl::SleepFor(absl::Seconds(2));  // leaders elected

  std::vector<std::unique_ptr<Member>> members;
  for (int i = 0; i < kMembers - 1; ++i) {
    members.push_back(std::make_unique<Member>(cluster.bootstrap_servers(), i));
  }
  ASSERT_LT(WaitStable(members, absl::Now()), kBound) << "9 members never stabilized";
  std::vector<absl::Duration> joins, leaves;
  for (int round = 0; round < kRounds; ++round) {
    const absl::Time join_at = absl::Now();
    members.push_back(std::make_unique<Member>(cluster.bootstrap_servers(), 100 + round));
    joins.push_back(WaitStable(members, join_at));
    ASSERT_LT(joins.back(), kBound) << "join round " << round;
    const absl::Time leave_at = absl::Now();
    members.front()->Stop();  // Close: commit, revoke, leave (epoch -1)
    members.erase(members.begin());
    leaves.push_back(WaitStable(members, leave_at));
    ASSERT_LT(leaves.back(), kBound) << "leave round " << round;
  }
  std::printf("heartbeat interval %d ms, %d members, %d partitions\n", kHeartbeatIntervalMs,
              kMembers, kPartitions);
  Report("join -> stable", joins);
  Report("leave -> stable", leaves);
  members.clear();

  // Commit throughput from one member owning every partition.
  auto config =
      client::ConsumerConfig::FromProperties({{"bootstrap.servers", cluster.bootstrap_servers()},
                                              {"group.id", "bench-commit"},
                                              {"enable.auto.commit", "false"},
                                              {"auto.offset.reset", "earliest"}});
  auto consumer = std::move(*client::GroupConsumer::Create(*config));
  ASSERT_TRUE(consumer->Subscribe({"bench-topic"}).ok());
  const absl::Time deadline = absl::Now() + kBound;
  while (consumer->assignment().size() < kPartitions && absl::Now() < deadline) {
    ASSERT_TRUE(consumer->Poll(absl::Milliseconds(50)).ok());
  }
  ASSERT_EQ(consumer->assignment().size(), size_t(kPartitions));
  client::OffsetMap offsets;
  for (int p = 0; p < 10; ++p) offsets[{"bench-topic", p}] = {.offset = 0};
  constexpr int kCommits = 1000;
  absl::Time start = absl::Now();
  for (int i = 0; i < kCommits; ++i) {
    for (auto& [tp, om] : offsets) om.offset = i;
    ASSERT_TRUE(consumer->CommitSync(offsets).ok());
  }
  const double sync_rate = kCommits / absl::ToDoubleSeconds(absl::Now() - start);
  std::atomic<int> done{0}, failed{0};
  start = absl::Now();
  for (int i = 0; i < kCommits; ++i) {
    for (auto& [tp, om] : offsets) om.offset = kCommits + i;
    consumer->CommitAsync(offsets, [&](const client::OffsetMap&, const absl::Status& s) {
      ++done;
      if (!s.ok()) ++failed;
    });
    // Keep the queue under its bound (64): callbacks run inside Poll.
    while (i + 1 - done.load() >= 32) (void)consumer->Poll(absl::Milliseconds(1));
  }
  ASSERT_TRUE(consumer->CommitSync(offsets).ok());  // waits for the queue
  (void)consumer->Poll(absl::ZeroDuration());
  const double async_rate = kCommits / absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("CommitSync (10 partitions each): %.0f commits/s\n", sync_rate);
  std::printf(
      "CommitAsync (10 partitions each, up to 32 queued, %d ran, %d failed): %.0f commits/s\n",
      done.load(), failed.load(), async_rate);
  consumer->Close();
}

}  // namespace
}  // namespace fjord
