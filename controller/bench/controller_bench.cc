// Benchmarks of the metadata image and the controller logic. Numbers and
// commands are recorded in docs/benchmarks.md. Run with
//   bazel run --config=opt //controller/bench:controller_bench
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "benchmark/benchmark.h"
#include "common/clock.h"
#include "common/random.h"
#include "controller/controller_logic.h"
#include "controller/metadata_delta.h"
#include "controller/snapshot.h"

namespace fjord::controller {
namespace {

constexpr int kBrokers = 12;
constexpr int kPartitionsPerTopic = 10;
constexpr int kReplicationFactor = 3;

int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// An image of `partitions` partitions (topics of 10, 3 replicas, 12 brokers)
// built through the controller logic, as a real cluster would build it.
std::shared_ptr<const MetadataImage> BuildImage(int64_t partitions) {
  ManualClock clock;
  SeededRandom random(1);
  ControllerConfig config;
  config.cluster_id = "bench";
  ControllerLogic logic(config, clock, random);
  auto commit = [&](const std::vector<v1::MetadataRecord>& records) {
    if (records.empty()) return;
    absl::Status s = logic.Replay(ToBatch(records), logic.image().offset() + 1);
    if (!s.ok()) std::abort();
  };
  for (int b = 0; b < kBrokers; ++b) {
    v1::RegisterBrokerRequest req;
    req.set_broker_id(b);
    req.set_cluster_id("bench");
    req.mutable_incarnation_id()->set_high(b + 1);
    req.mutable_incarnation_id()->set_low(1);
    auto* l = req.add_listeners();
    l->set_name("PLAINTEXT");
    l->set_host("broker-" + std::to_string(b));
    l->set_port(9092);
    req.set_rack("rack-" + std::to_string(b % 3));
    auto reg = logic.RegisterBroker(req, logic.image().offset() + 1);
    int64_t epoch = reg.response.broker_epoch();
    commit(reg.records);
    v1::BrokerHeartbeatRequest hb;
    hb.set_broker_id(b);
    hb.set_broker_epoch(epoch);
    hb.set_current_metadata_offset(logic.image().offset().value());
    commit(logic.BrokerHeartbeat(hb).records);
  }
  for (int64_t t = 0; t * kPartitionsPerTopic < partitions; ++t) {
    v1::CreateTopicsRequest req;
    auto* topic = req.add_topics();
    topic->set_name("topic-" + std::to_string(t));
    topic->set_num_partitions(kPartitionsPerTopic);
    topic->set_replication_factor(kReplicationFactor);
    commit(logic.CreateTopics(req).records);
  }
  return logic.image_ptr();
}

void BM_SnapshotLoad(benchmark::State& state) {
  std::string bytes;
  {
    auto image = BuildImage(state.range(0));
    bytes = WriteSnapshot(*image, {.cluster_id = "bench"});
  }
  for (auto _ : state) {
    auto loaded = LoadSnapshot(bytes, "bench");
    if (!loaded.ok()) state.SkipWithError("load failed");
    benchmark::DoNotOptimize(loaded);
  }
  state.counters["snapshot_MB"] = static_cast<double>(bytes.size()) / 1e6;
  // Memory: see main(); in this process the allocator still holds the
  // memory of building the image.
}
BENCHMARK(BM_SnapshotLoad)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond);

void BM_SnapshotWrite(benchmark::State& state) {
  auto image = BuildImage(state.range(0));
  for (auto _ : state) {
    benchmark::DoNotOptimize(WriteSnapshot(*image, {.cluster_id = "bench"}));
  }
}
BENCHMARK(BM_SnapshotWrite)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond);

// One PartitionChangeRecord replayed onto a large image and published: the
// cost structural sharing keeps small.
void BM_ReplayOneChange(benchmark::State& state) {
  auto image = BuildImage(state.range(0));
  const TopicImage* topic = image->topic_by_name("topic-0");
  int64_t offset = image->offset().value();
  v1::MetadataRecordBatch batch;
  auto* change = batch.add_records()->mutable_partition_change();
  change->set_partition_id(0);
  topic->id.ToProto(change->mutable_topic_id());
  for (auto _ : state) {
    MetadataDelta delta(image);
    if (!delta.ReplayBatch(batch, Offset(++offset)).ok()) state.SkipWithError("replay");
    image = delta.Apply();
  }
}
BENCHMARK(BM_ReplayOneChange)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMicrosecond);

// CreateTopics (10 partitions, 3 replicas, 12 brokers) decided and replayed,
// on a cluster already holding state.range(0) partitions.
void BM_CreateTopics(benchmark::State& state) {
  ManualClock clock;
  SeededRandom random(2);
  ControllerConfig config;
  config.cluster_id = "bench";
  ControllerLogic logic(config, clock, random, BuildImage(state.range(0)));
  int64_t n = 0;
  for (auto _ : state) {
    v1::CreateTopicsRequest req;
    auto* topic = req.add_topics();
    topic->set_name("new-" + std::to_string(n++));
    topic->set_num_partitions(kPartitionsPerTopic);
    topic->set_replication_factor(kReplicationFactor);
    auto result = logic.CreateTopics(req);
    if (result.records.empty()) state.SkipWithError("create failed");
    if (!logic.Replay(ToBatch(result.records), logic.image().offset() + 1).ok()) {
      state.SkipWithError("replay failed");
    }
  }
  state.counters["partitions_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kPartitionsPerTopic), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_CreateTopics)->Arg(0)->Arg(100'000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace fjord::controller

// Memory is measured in a fresh process, where the allocator holds nothing
// from building the image:
//   controller_bench --write_snapshot=/tmp/s100k --partitions=100000
//   controller_bench --load_snapshot=/tmp/s100k
int main(int argc, char** argv) {
  using namespace fjord::controller;
  std::string write_path, load_path;
  int64_t partitions = 100'000;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--write_snapshot=", 0) == 0) write_path = arg.substr(17);
    if (arg.rfind("--load_snapshot=", 0) == 0) load_path = arg.substr(16);
    if (arg.rfind("--partitions=", 0) == 0) partitions = std::stoll(arg.substr(13));
  }
  if (!write_path.empty()) {
    std::ofstream(write_path, std::ios::binary)
        << WriteSnapshot(*BuildImage(partitions), {.cluster_id = "bench"});
    return 0;
  }
  if (!load_path.empty()) {
    std::ifstream in(load_path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const int64_t before = ResidentBytes();
    fjord::SystemClock& clock = fjord::SystemClock::Get();
    const absl::Duration start = clock.Monotonic();
    auto loaded = LoadSnapshot(bytes, "bench");
    const absl::Duration took = clock.Monotonic() - start;
    if (!loaded.ok()) return 1;
    std::printf(
        "partitions=%lld snapshot_bytes=%zu load_ms=%.1f image_rss_MB=%.1f process_rss_MB=%.1f\n",
        static_cast<long long>(loaded->image->partition_count()), bytes.size(),
        absl::ToDoubleMilliseconds(took), (ResidentBytes() - before) / 1e6, ResidentBytes() / 1e6);
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
