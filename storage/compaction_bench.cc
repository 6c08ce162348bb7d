// Log compaction throughput (Google Benchmark). Build and run optimized:
//
//   bazel run --config=opt //storage:compaction_bench -- --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
//
// Each iteration writes a fresh 64 MiB log (outside the timed region) of
// keyed records: `keys` distinct keys drawn round-robin, 100-byte values,
// 100 records per batch, codec as the second argument (0 none, 3 lz4, 4
// zstd), 8 MiB segments; then times one PartitionLog::Compact over every
// closed segment (the whole log is dirty: the offset map is built over all
// of it, then every segment is copied). bytes_per_second = log bytes read
// by the cleaning (each byte is read twice: map and copy);
// records_per_second = records filtered. Files go to
// $FJORD_BENCH_DIR (default /tmp/fjord-bench).
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

constexpr int64_t kLogBytes = int64_t{64} << 20;
constexpr int kRecordsPerBatch = 100;
constexpr size_t kValueBytes = 100;

std::string BenchDir() {
  const char* root = std::getenv("FJORD_BENCH_DIR");
  const std::string dir = absl::StrCat(root != nullptr ? root : "/tmp/fjord-bench", "/compaction");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// args: distinct keys, codec.
void BM_Compact(benchmark::State& state) {
  const int64_t keys = state.range(0);
  const auto codec = static_cast<Compression>(state.range(1));
  int64_t bytes = 0;
  int64_t written = 0;
  int64_t records = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string dir = BenchDir();
    LogConfig config;
    config.segment_bytes = 8 << 20;
    config.flush_policy = FlushPolicy::kNever;
    auto log = PartitionLog::Open(PosixFileSystem::Get(), SystemClock::Get(), dir, config);
    FJORD_CHECK(log.ok()) << log.status();
    const std::string value(kValueBytes, 'v');
    int64_t next_key = 0;
    while ((*log)->size_bytes() < kLogBytes) {
      RecordBatchBuilder b({.compression = codec});
      for (int i = 0; i < kRecordsPerBatch; ++i) {
        b.Append(1'700'000'000'000, absl::StrCat("key-", next_key++ % keys), value);
      }
      std::string batch = *b.Build();
      FJORD_CHECK((*log)->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(1)).ok());
    }
    FJORD_CHECK((*log)->Roll().ok());
    FJORD_CHECK((*log)->SetHighWatermark((*log)->log_end_offset()).ok());
    CompactionConfig cleaner;
    cleaner.segment_bytes = config.segment_bytes;
    state.ResumeTiming();
    absl::StatusOr<CompactionStats> stats = (*log)->Compact(cleaner);
    state.PauseTiming();
    FJORD_CHECK(stats.ok()) << stats.status();
    bytes += stats->bytes_read;
    written += stats->bytes_written;
    records += stats->records_kept + stats->records_dropped;
    log->reset();
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
  state.SetBytesProcessed(bytes);
  // Compressed logs hold many more records per byte: records/s compares
  // codecs fairly.
  state.counters["records_per_second"] =
      benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
  state.counters["written_bytes_per_iter"] =
      benchmark::Counter(static_cast<double>(written) / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_Compact)
    ->ArgNames({"keys", "codec"})
    ->Args({10'000, 0})
    ->Args({1'000'000, 0})
    ->Args({10'000, 3})
    ->Args({10'000, 4})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

}  // namespace
}  // namespace fjord::storage

BENCHMARK_MAIN();
