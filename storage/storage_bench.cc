// Storage benchmarks (Google Benchmark). Build and run optimized:
//
//   bazel run --config=opt //storage:storage_bench -- --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true      (one line)
//
// Files go to $FJORD_BENCH_DIR (default /tmp/fjord-bench), on the same file
// system as the `dd` baseline in docs/benchmarks.md. Throughput is
// reported as bytes_per_second of batch bytes appended / read / scanned.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/assert.h"
#include "common/clock.h"
#include "storage/partition_log.h"
#include "storage/posix_file_system.h"
#include "storage/record_batch_builder.h"

namespace fjord::storage {
namespace {

std::string BenchDir(const std::string& name) {
  const char* root = std::getenv("FJORD_BENCH_DIR");
  const std::string dir = absl::StrCat(root != nullptr ? root : "/tmp/fjord-bench", "/", name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// One batch of about `batch_bytes` made of `record_bytes`-byte values.
std::string MakeBatch(int64_t record_bytes, int64_t batch_bytes) {
  RecordBatchBuilder b;
  const std::string value(record_bytes, 'x');
  while (static_cast<int64_t>(b.uncompressed_size()) + record_bytes + 16 <= batch_bytes ||
         b.record_count() == 0) {
    b.Append(1'700'000'000'000, std::nullopt, value);
  }
  return *b.Build();
}

std::unique_ptr<PartitionLog> OpenLog(const std::string& dir, LogConfig config) {
  auto log = PartitionLog::Open(PosixFileSystem::Get(), SystemClock::Get(), dir, config);
  FJORD_CHECK(log.ok()) << log.status();
  return std::move(*log);
}

// Appends are cheap enough that the log would fill the disk; start over
// (outside the timed region) every this many bytes.
constexpr int64_t kResetBytes = int64_t{2} << 30;

// args: record bytes, batch bytes, fsync (0 = FlushPolicy::kNever, 1 = kAlways).
// Threads: concurrent appenders on one log.
std::unique_ptr<PartitionLog> g_log;
void BM_Append(benchmark::State& state) {
  const int64_t record_bytes = state.range(0);
  const int64_t batch_bytes = state.range(1);
  const bool fsync = state.range(2) != 0;
  LogConfig config;
  config.flush_policy = fsync ? FlushPolicy::kAlways : FlushPolicy::kNever;
  config.batch_limits.max_batch_bytes = 2 << 20;
  std::string dir;
  if (state.thread_index() == 0) {
    dir = BenchDir("append");
    g_log = OpenLog(dir, config);
  }
  std::string batch = MakeBatch(record_bytes, batch_bytes);
  int64_t bytes = 0;
  for (auto _ : state) {
    auto r = g_log->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(1));
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    bytes += batch.size();
    if (state.thread_index() == 0 && g_log->size_bytes() > kResetBytes && state.threads() == 1) {
      state.PauseTiming();
      g_log.reset();
      dir = BenchDir("append");
      g_log = OpenLog(dir, config);
      state.ResumeTiming();
    }
  }
  state.SetBytesProcessed(bytes);
  if (state.thread_index() == 0) {
    state.counters["log_MiB"] = g_log->size_bytes() / double(1 << 20);
    g_log.reset();
  }
}
BENCHMARK(BM_Append)
    ->ArgNames({"record", "batch", "fsync"})
    ->ArgsProduct({{100, 1024}, {16 << 10, 256 << 10, 1 << 20}, {0}})
    ->Threads(1)
    ->Threads(8)
    ->Threads(64)
    ->UseRealTime()
    ->MinTime(1.0);
BENCHMARK(BM_Append)
    ->ArgNames({"record", "batch", "fsync"})
    ->ArgsProduct({{100, 1024}, {16 << 10, 1 << 20}, {1}})
    ->Threads(1)
    ->Threads(8)
    ->Threads(64)
    ->UseRealTime()
    ->MinTime(2.0);

// Fills a log of `mib` MiB of 1 MiB batches (1 KiB records).
std::unique_ptr<PartitionLog> FilledLog(const std::string& dir, int64_t mib, LogConfig config) {
  config.flush_policy = FlushPolicy::kNever;
  config.batch_limits.max_batch_bytes = 2 << 20;
  auto log = OpenLog(dir, config);
  std::string batch = MakeBatch(1024, 1 << 20);
  for (int64_t i = 0; i < mib; ++i) {
    FJORD_CHECK(log->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(1)).ok());
  }
  FJORD_CHECK(log->Close().ok());
  return log;
}

// Sequential read from the page cache, 1 MiB per Read call.
void BM_SequentialRead(benchmark::State& state) {
  auto log = FilledLog(BenchDir("read"), 1024, {});
  Offset at(0);
  int64_t bytes = 0;
  for (auto _ : state) {
    auto got = log->Read(at, 1 << 20);
    if (!got.ok() || got->empty()) {
      at = Offset(0);
      continue;
    }
    bytes += got->size();
    BatchIterator it(*got);
    while (it.Next()) at = it.header().next_offset();
    benchmark::DoNotOptimize(got->data());
  }
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_SequentialRead)->UseRealTime()->MinTime(2.0);

// Cost of locating an offset (segment search + sparse index + header scan)
// as the log grows; arg = number of 1 KiB batches, segment.bytes 64 MiB.
void BM_IndexLookup(benchmark::State& state) {
  LogConfig config;
  config.flush_policy = FlushPolicy::kNever;
  config.segment_bytes = 64 << 20;
  auto log = OpenLog(BenchDir("lookup"), config);
  std::string batch = MakeBatch(100, 1024);
  for (int64_t i = 0; i < state.range(0); ++i) {
    FJORD_CHECK(log->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(1)).ok());
  }
  const int64_t end = log->log_end_offset().value();
  uint64_t x = 88172645463325252ull;
  for (auto _ : state) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    auto got = log->Read(Offset(static_cast<int64_t>(x % end)), 1);
    benchmark::DoNotOptimize(got);
  }
  state.counters["segments"] = log->segment_count();
  state.counters["log_MiB"] = log->size_bytes() / double(1 << 20);
}
BENCHMARK(BM_IndexLookup)->RangeMultiplier(10)->Range(1000, 1'000'000)->UseRealTime();

// Recovery scan speed: reopen a 1 GiB log with no recovery point, so every
// batch is read and CRC-checked and the indexes are rebuilt.
void BM_Recovery(benchmark::State& state) {
  const std::string dir = BenchDir("recovery");
  FilledLog(dir, 1024, {}).reset();
  int64_t bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::filesystem::remove(dir + "/recovery-point-offset-checkpoint");
    state.ResumeTiming();
    auto log = OpenLog(dir, {});
    bytes += log->size_bytes();
  }
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_Recovery)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

// Heap memory per open segment: arg = MiB per segment (default
// index.interval.bytes 4096, 1 KiB batches).
void BM_MemoryPerSegment(benchmark::State& state) {
  LogConfig config;
  config.flush_policy = FlushPolicy::kNever;
  config.segment_bytes = state.range(0) << 20;
  const std::string dir = BenchDir("memory");
  {
    auto log = OpenLog(dir, config);
    std::string batch = MakeBatch(100, 1024);
    const int64_t batches = 4 * (state.range(0) << 20) / static_cast<int64_t>(batch.size());
    for (int64_t i = 0; i < batches; ++i) {
      FJORD_CHECK(log->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(1)).ok());
    }
    FJORD_CHECK(log->Close().ok());
  }
  std::unique_ptr<PartitionLog> log;
  for (auto _ : state) log = OpenLog(dir, config);
  // After reopening, closed segments have released their indexes; the last
  // one is active and keeps its index in memory.
  const double with_full_active = log->memory_bytes();
  const double segments = log->segment_count();
  FJORD_CHECK(log->Roll().ok());  // Close the full active segment too.
  const double closed = log->memory_bytes() / (segments + 1);
  state.counters["segments"] = segments;
  state.counters["closed_segment_bytes"] = closed;
  state.counters["active_segment_bytes"] = with_full_active - (segments - 1) * closed;
}
BENCHMARK(BM_MemoryPerSegment)->Arg(16)->Arg(128)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace fjord::storage

BENCHMARK_MAIN();
