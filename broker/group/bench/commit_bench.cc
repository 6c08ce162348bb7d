// commit_bench: OffsetCommit throughput and latency of the group coordinator
// in an in-process TestCluster (real logs under --dir, loopback gRPC, every
// commit acks=all on the offsets partition's ISR). Each client thread owns
// one group (so groups spread over the offsets partitions, as real
// consumers' do), joins it, then commits `--partitions` offsets per request
// as fast as answers come back, for `--seconds`.
//
//   bazel run --config=opt //broker/group/bench:commit_bench --
//       --brokers 3 --threads 8 --partitions 1 --seconds 10
//
// Prints one line: requests/s, offsets/s, p50/p99 request latency.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker/group/coordinator_partition.h"
#include "broker/test_cluster.h"
#include "common/grpc_runtime.h"
#include "grpcpp/grpcpp.h"
#include "proto/fjord/v1/group.grpc.pb.h"
#include "spdlog/spdlog.h"

namespace fjord::group {
namespace {

class Creator final : public TopicCreator {
 public:
  broker::testing::TestCluster* cluster = nullptr;
  int brokers = 0;
  absl::Status CreateTopic(const std::string& name, int32_t partitions, int16_t rf,
                           const std::map<std::string, std::string>&) override {
    if (cluster == nullptr) return absl::UnavailableError("not yet");
    std::vector<std::vector<int32_t>> a;
    for (int32_t p = 0; p < partitions; ++p) {
      std::vector<int32_t> r;
      for (int i = 0; i < rf; ++i) r.push_back((p + i) % brokers + 1);
      a.push_back(r);
    }
    if (cluster->image()->topic_by_name(name) == nullptr) cluster->CreateTopic(name, a);
    return absl::OkStatus();
  }
};

int Run(int argc, char** argv) {
  CLI::App app{"OffsetCommit throughput of the group coordinator"};
  int brokers = 3, threads = 8, partitions = 1, seconds = 10, offsets_partitions = 50;
  int groups = 0;
  std::string flush = "always";
  app.add_option("--brokers", brokers);
  app.add_option("--threads", threads, "client threads");
  app.add_option("--groups", groups,
                 "groups (0 = one per thread); threads of one group share its member");
  app.add_option("--partitions", partitions, "offsets per OffsetCommit request");
  app.add_option("--seconds", seconds);
  app.add_option("--offsets-partitions", offsets_partitions);
  app.add_option("--flush", flush, "always (fsync before acks) | relaxed");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  KeepGrpcInitialized();

  Creator creator;
  broker::BrokerServerOptions o;
  o.group.offsets_topic_num_partitions = offsets_partitions;
  o.group.offsets_topic_replication_factor = static_cast<int16_t>(std::min(brokers, 3));
  o.group.topic_creator = &creator;
  o.group.lag_interval = absl::ZeroDuration();
  if (flush == "relaxed") {
    o.replica.durability = broker::DurabilityMode::kRelaxed;
    o.log.flush_policy = storage::FlushPolicy::kNever;
  }
  broker::testing::TestCluster cluster(brokers, o);
  creator.cluster = &cluster;
  creator.brokers = brokers;
  std::vector<std::vector<int32_t>> assignment;
  for (int p = 0; p < std::max(partitions, 1); ++p) {
    std::vector<int32_t> r;
    for (int i = 0; i < std::min(brokers, 3); ++i) r.push_back((p + i) % brokers + 1);
    assignment.push_back(r);
  }
  cluster.CreateTopic("bench", assignment);

  // Join one member per group at its coordinator.
  struct Client {
    std::string group, member;
    int32_t epoch = 0;
    std::unique_ptr<v1::GroupService::Stub> stub;
  };
  if (groups <= 0 || groups > threads) groups = threads;
  std::vector<Client> clients(groups);
  auto stub_for = [&](int32_t broker) {
    return v1::GroupService::NewStub(
        grpc::CreateChannel(cluster.broker(broker).address(), grpc::InsecureChannelCredentials()));
  };
  for (int i = 0; i < groups; ++i) {
    Client& c = clients[i];
    c.group = absl::StrCat("bench-group-", i);
    auto any = stub_for(1);
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      v1::FindCoordinatorRequest req;
      req.add_keys(c.group);
      v1::FindCoordinatorResponse resp;
      grpc::ClientContext ctx;
      if (any->FindCoordinator(&ctx, req, &resp).ok() &&
          resp.coordinators(0).error_code() == v1::NONE) {
        c.stub = stub_for(resp.coordinators(0).node_id());
        v1::ConsumerGroupHeartbeatRequest join;
        join.set_group_id(c.group);
        join.set_has_subscription(true);
        join.add_subscribed_topic_names("bench");
        v1::ConsumerGroupHeartbeatResponse joined;
        grpc::ClientContext jctx;
        if (c.stub->ConsumerGroupHeartbeat(&jctx, join, &joined).ok() &&
            joined.error_code() == v1::NONE) {
          c.member = joined.member_id();
          c.epoch = joined.member_epoch();
          break;
        }
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    if (c.member.empty()) {
      std::cerr << "could not join " << c.group << "\n";
      return 1;
    }
  }

  std::atomic<bool> stop{false};
  std::atomic<int64_t> errors{0};
  std::vector<std::vector<double>> latencies(threads);
  std::vector<std::thread> workers;
  const absl::Time start = absl::Now();
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([&, i] {
      Client& c = clients[i % groups];
      int64_t offset = 0;
      while (!stop.load()) {
        v1::OffsetCommitRequest req;
        req.set_group_id(c.group);
        req.set_member_id(c.member);
        req.set_member_epoch(c.epoch);
        auto* t = req.add_topics();
        t->set_name("bench");
        ++offset;
        for (int p = 0; p < partitions; ++p) {
          auto* rp = t->add_partitions();
          rp->set_partition(p);
          rp->set_committed_offset(offset);
          rp->set_committed_leader_epoch(-1);
        }
        v1::OffsetCommitResponse resp;
        grpc::ClientContext ctx;
        const absl::Time t0 = absl::Now();
        grpc::Status s = c.stub->OffsetCommit(&ctx, req, &resp);
        latencies[i].push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
        if (!s.ok() || resp.error_code() != v1::NONE) errors.fetch_add(1);
      }
    });
  }
  absl::SleepFor(absl::Seconds(seconds));
  stop.store(true);
  for (auto& w : workers) w.join();
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double q) {
    return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<size_t>(q * all.size()))];
  };
  const double rps = static_cast<double>(all.size()) / elapsed;
  std::cout << absl::StrCat("brokers=", brokers, " threads=", threads, " groups=", groups,
                            " partitions/commit=", partitions, " flush=", flush, ": ",
                            static_cast<int64_t>(rps), " commits/s, ",
                            static_cast<int64_t>(rps * partitions), " offsets/s, p50 ", pct(0.5),
                            " ms, p99 ", pct(0.99), " ms, errors ", errors.load())
            << std::endl;
  return 0;
}

}  // namespace
}  // namespace fjord::group

int main(int argc, char** argv) { return fjord::group::Run(argc, argv); }
