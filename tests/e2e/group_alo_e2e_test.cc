// At-least-once through failures, end to end: three member processes commit
// after processing while one is SIGKILLed (a replacement joins) and then the
// group coordinator's broker is SIGKILLed. Every produced record is
// processed (none skipped), and the group's committed offsets, sampled
// throughout, never go backwards.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "absl/strings/str_split.h"
#include "client/admin.h"
#include "client/consumer.h"
#include "client/group_rpc.h"
#include "client/producer.h"
#include "common/grpc_runtime.h"
#include "tests/cluster/process_cluster.h"
#include "tests/e2e/group_members.h"

namespace fjord {
namespace {

using client::TopicPartition;
using testing::GroupMembers;

constexpr int kPartitions = 12;
constexpr int kPerPartition = 400;
constexpr int kRecords = kPartitions * kPerPartition;
constexpr absl::Duration kBound = absl::Seconds(45);

TEST(GroupAtLeastOnceTest, EveryRecordProcessedAcrossMemberAndCoordinatorKills) {
  KeepGrpcInitialized();
  testing::ProcessCluster cluster(
      {.controllers = 1,
       .brokers = 3,
       .broker_properties = {{"offsets.topic.replication.factor", "3"},
                             {"offsets.topic.num.partitions", "6"},
                             {"group.consumer.session.timeout.ms", "6000"},
                             {"group.consumer.heartbeat.interval.ms", "500"}}});
  ASSERT_TRUE(cluster.Start().ok());
  absl::Status ready = cluster.WaitForBrokers(3);
  ASSERT_TRUE(ready.ok()) << ready;

  auto admin_config = client::AdminConfig::FromProperties(
      {{"bootstrap.servers", cluster.bootstrap_servers()},
       {"bootstrap.controllers", cluster.controller_addresses()},
       {"default.api.timeout.ms", "20000"},
       {"request.timeout.ms", "3000"}});
  ASSERT_TRUE(admin_config.ok());
  auto admin = std::move(*client::Admin::Create(*admin_config));
  auto created = admin->CreateTopics(
      {{.name = "alo", .num_partitions = kPartitions, .replication_factor = 3}});
  ASSERT_TRUE(created.ok() && (*created)[0].status.ok());
  ASSERT_TRUE(GroupMembers::WaitFor(
      [&] {
        auto d = admin->DescribeTopics({"alo"});
        if (!d.ok() || d->size() != 1 || (*d)[0].partitions.size() != size_t(kPartitions)) {
          return false;
        }
        for (const auto& p : (*d)[0].partitions) {
          if (p.leader < 0) return false;
        }
        return true;
      },
      kBound));

  {
    auto config = client::ProducerConfig::FromProperties(
        {{"bootstrap.servers", cluster.bootstrap_servers()}, {"linger.ms", "5"}});
    ASSERT_TRUE(config.ok());
    auto producer = std::move(*client::Producer::Create(*config));
    std::vector<std::future<absl::StatusOr<client::RecordMetadata>>> futures;
    for (int i = 0; i < kRecords; ++i) {
      futures.push_back(producer->Send(
          {.topic = "alo", .partition = i % kPartitions, .value = std::to_string(i)}));
    }
    producer->Flush();
    for (auto& f : futures) {
      ASSERT_EQ(f.wait_for(std::chrono::seconds(60)), std::future_status::ready);
      auto r = f.get();
      ASSERT_TRUE(r.ok()) << r.status();
    }
  }

  // What the log holds (a producer retry may have written a batch twice).
  std::vector<TopicPartition> all;
  for (int p = 0; p < kPartitions; ++p) all.push_back({"alo", p});
  auto ends = admin->ListOffsets(all, client::kLatestTimestamp);
  ASSERT_TRUE(ends.ok()) << ends.status();
  size_t in_log = 0;
  for (const auto& [tp, end] : *ends) in_log += end;
  ASSERT_GE(in_log, size_t(kRecords));

  // Committed offsets, sampled; a decrease is a failure.
  std::atomic<bool> sampling{true};
  std::map<TopicPartition, int64_t> last_seen;
  std::vector<std::string> backwards;
  int samples = 0;
  std::thread sampler;
  // Joined on every exit path (an ASSERT returns early).
  struct Joiner {
    std::atomic<bool>& flag;
    std::thread& thread;
    ~Joiner() {
      flag = false;
      if (thread.joinable()) thread.join();
    }
  } joiner{sampling, sampler};
  sampler = std::thread([&] {
    while (sampling) {
      auto offsets = admin->ListConsumerGroupOffsets("alo-group");
      if (offsets.ok()) {
        ++samples;
        for (const auto& [tp, offset] : *offsets) {
          auto it = last_seen.find(tp);
          if (it != last_seen.end() && offset < it->second) {
            backwards.push_back(
                absl::StrCat(tp.topic, "-", tp.partition, ": ", it->second, " -> ", offset));
          }
          last_seen[tp] = offset;
        }
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
  });

  // Slow members (20 records per poll, 100 ms each): the kills land mid-stream.
  const std::vector<std::string> slow = {"--max-poll-records", "20", "--process-delay-ms", "100"};
  GroupMembers members(cluster.bootstrap_servers(), "alo-group", "alo");
  for (int i = 0; i < 3; ++i) members.Start(slow);
  auto processed = [&] { return members.ProcessedCounts().size(); };

  ASSERT_TRUE(GroupMembers::WaitFor([&] { return processed() >= kRecords / 5; }, kBound))
      << "processed only " << processed();
  members.Kill(0);
  members.Start(slow);

  ASSERT_TRUE(GroupMembers::WaitFor([&] { return processed() >= kRecords / 2; }, kBound))
      << "processed only " << processed() << " after the member kill";
  // Kill the coordinator's broker.
  client::Channels channels(1 << 20);
  client::GroupRpc::Options rpc_options;
  rpc_options.bootstrap_servers =
      absl::StrSplit(cluster.bootstrap_servers(), ',', absl::SkipEmpty());
  client::GroupRpc rpc(rpc_options, channels);
  auto coordinator = rpc.FindCoordinator("alo-group", absl::Now() + kBound);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  int coordinator_id = -1;
  for (int id = 101; id <= 103; ++id) {
    if (cluster.broker_address(id) == *coordinator) coordinator_id = id;
  }
  ASSERT_GT(coordinator_id, 0) << "coordinator " << *coordinator << " is not a broker";
  cluster.KillBroker(coordinator_id);
  std::printf("killed coordinator broker %d at %zu records processed\n", coordinator_id,
              processed());

  // Wait for every offset in the log, not just kRecords: a producer retry can
  // have written a batch twice, and those offsets must be processed too.
  EXPECT_TRUE(GroupMembers::WaitFor([&] { return processed() >= in_log; }, absl::Seconds(60)))
      << "processed " << processed() << " of " << in_log << " after the coordinator kill";
  for (int i = 0; i < members.count(); ++i) {
    if (members.running(i)) {
      EXPECT_TRUE(members.Stop(i)) << "member " << i;
    }
  }
  absl::SleepFor(absl::Milliseconds(500));  // one more sample after the final commits
  sampling = false;
  if (sampler.joinable()) sampler.join();

  // None skipped: every offset of every partition was processed.
  const auto counts = members.ProcessedCounts();
  int duplicates = 0;
  for (int p = 0; p < kPartitions; ++p) {
    for (int64_t o = 0; o < ends->at({"alo", p}); ++o) {
      auto it = counts.find({p, o});
      ASSERT_TRUE(it != counts.end()) << "record " << p << "/" << o << " was never processed";
      duplicates += it->second - 1;
    }
  }
  std::printf("%d records processed more than once (at-least-once), %d offset samples\n",
              duplicates, samples);
  EXPECT_GT(samples, 10);
  EXPECT_TRUE(backwards.empty()) << "committed offset went backwards: " << backwards.front();
  // The final commits cover everything.
  auto final_offsets = admin->ListConsumerGroupOffsets("alo-group");
  ASSERT_TRUE(final_offsets.ok()) << final_offsets.status();
  for (int p = 0; p < kPartitions; ++p) {
    EXPECT_EQ(final_offsets->at({"alo", p}), ends->at({"alo", p})) << "partition " << p;
  }
  EXPECT_EQ(members.FindProcessingOutsideOwnership(), "");
}

}  // namespace
}  // namespace fjord
