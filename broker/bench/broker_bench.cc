// broker_bench: produce throughput and ack latency of in-process brokers
// (BrokerServer over real gRPC on loopback, real logs on disk, replication
// over real ReplicaFetch streams), plus the memory of one broker hosting
// 1,000 idle partitions. A program, not a test: it prints numbers.
//
//   bazel run -c opt //broker/bench:broker_bench -- --seconds=10 --dir=/var/tmp/fjord-bench
//
// Each run: `producers` threads, each sending one request at a time
// (max.in.flight 1) of one batch holding `batch_records` records of
// `record_bytes` value bytes, to partition 0 of a topic with the given
// replication factor, for `seconds`. Latency is the Produce round trip as the
// producer sees it: with acks=all it includes fsync on every ISR replica
// (durable mode, group commit) and replication.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "broker/test_cluster.h"
#include "grpcpp/grpcpp.h"
#include "spdlog/spdlog.h"
#include "storage/record_batch_builder.h"

namespace fjord::broker {
namespace {

struct Scenario {
  int replication_factor;
  int record_bytes;
  int acks;
};

std::string Batch(int records, int value_bytes) {
  storage::RecordBatchBuilder b;
  const std::string value(value_bytes, 'x');
  for (int i = 0; i < records; ++i) b.Append(1'700'000'000'000, std::nullopt, value);
  return *b.Build();
}

int64_t RssKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return -1;
}

void RunScenario(const Scenario& s, int producers, int batch_records, absl::Duration duration) {
  testing::TestCluster cluster(s.replication_factor);
  std::vector<int32_t> replicas;
  for (int i = 1; i <= s.replication_factor; ++i) replicas.push_back(i);
  cluster.CreateTopic("bench", {replicas});
  const std::string batch = Batch(batch_records, s.record_bytes);
  std::atomic<bool> stop{false};
  std::vector<std::vector<double>> latencies(producers);
  std::atomic<int64_t> errors{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      auto stub = cluster.Stub(1);
      v1::ProduceRequest req;
      req.set_acks(s.acks);
      req.set_timeout_ms(30000);
      auto* pd = req.add_topic_data();
      pd->set_topic("bench");
      auto* part = pd->add_partition_data();
      part->set_partition(0);
      part->set_records(batch);
      while (!stop) {
        const absl::Time start = absl::Now();
        grpc::ClientContext ctx;
        v1::ProduceResponse resp;
        grpc::Status st = stub->Produce(&ctx, req, &resp);
        if (!st.ok() || resp.responses(0).partition_responses(0).error_code() != v1::NONE) {
          ++errors;
          continue;
        }
        latencies[p].push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
      }
    });
  }
  absl::SleepFor(duration);
  stop = true;
  for (auto& t : threads) t.join();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  const double secs = absl::ToDoubleSeconds(duration);
  const double records = static_cast<double>(all.size()) * batch_records;
  auto pct = [&](double q) {
    return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<size_t>(q * all.size()))];
  };
  std::cout << absl::StrFormat("| %d | %5d B | %-4s | %10.0f | %7.1f | %6.2f | %6.2f | %lld |",
                               s.replication_factor, s.record_bytes, s.acks == -1 ? "all" : "1",
                               records / secs, records * s.record_bytes / secs / (1 << 20),
                               pct(0.5), pct(0.99), static_cast<long long>(errors.load()))
            << std::endl;
}

void IdlePartitions(int partitions) {
  const int64_t before = RssKiB();
  testing::TestCluster cluster(1);
  const int64_t one_broker = RssKiB();
  std::vector<std::vector<int32_t>> assignment(partitions, std::vector<int32_t>{1});
  cluster.CreateTopic("idle", assignment);
  absl::SleepFor(absl::Seconds(2));
  const int64_t after = RssKiB();
  std::cout << absl::StrFormat(
                   "process RSS: %.1f MiB before the broker, %.1f MiB with an empty broker, "
                   "%.1f MiB with %d idle partitions (%.1f KiB per partition)",
                   before / 1024.0, one_broker / 1024.0, after / 1024.0, partitions,
                   static_cast<double>(after - one_broker) / partitions)
            << std::endl;
}

}  // namespace
}  // namespace fjord::broker

int main(int argc, char** argv) {
  CLI::App app{"broker_bench: Fjord broker produce throughput, ack latency, idle memory"};
  int seconds = 10, producers = 4, batch_records = 0, idle = 1000;
  std::string dir = "/var/tmp/fjord-broker-bench";
  app.add_option("--seconds", seconds, "Duration of each scenario");
  app.add_option("--producers", producers, "Concurrent producers (one request in flight each)");
  app.add_option("--batch-records", batch_records,
                 "Records per batch (default: ~16 KiB batches, Kafka's batch.size)");
  app.add_option("--dir", dir, "Where the logs go (a real disk: fsync matters)");
  app.add_option("--idle-partitions", idle, "Partitions for the memory measurement");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  setenv("TEST_TMPDIR", dir.c_str(), 1);
  std::cout << "| RF | record | acks | records/s | MiB/s | p50 ms | p99 ms | errors |\n"
               "|---|---|---|---|---|---|---|---|"
            << std::endl;
  for (int rf : {1, 3}) {
    for (int bytes : {100, 1024}) {
      for (int acks : {1, -1}) {
        const int records = batch_records > 0 ? batch_records : std::max(1, 16384 / (bytes + 20));
        fjord::broker::RunScenario({rf, bytes, acks}, producers, records, absl::Seconds(seconds));
      }
    }
  }
  fjord::broker::IdlePartitions(idle);
  return 0;
}
