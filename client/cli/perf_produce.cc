// `fjord perf produce`: kafka-producer-perf-test for Fjord. Sends
// --num-records records of --record-size bytes (or lines of --payload-file)
// as fast as possible or throttled to --throughput records/s, prints a
// progress line every 5 s (--reporting-interval) and a final line in Kafka's exact format, with
// latencies (send to acknowledgement) from a log-bucketed histogram.
#include <CLI/CLI.hpp>
#include <array>
#include <atomic>
#include <cstdio>
#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "client/cli/command.h"
#include "client/cli/global_options.h"
#include "client/cli/interrupt.h"
#include "client/cli/throttle.h"
#include "client/histogram.h"
#include "client/producer.h"
#include "common/random.h"
#include "common/status_macros.h"

namespace fjord::cli {
namespace {

constexpr int kMaxErrorsPrinted = 10;
constexpr double kBytesPerMb = 1024.0 * 1024.0;

struct PerfProduceOptions {
  std::string topic;
  int64_t num_records = 0;
  int32_t record_size = 0;
  double throughput = -1;
  std::vector<std::string> producer_props;
  std::string config_file;  // --producer.config
  std::string payload_file;
  int64_t reporting_interval_ms = 5000;  // Kafka's tool: every 5 s
};

// Latency and volume, recorded by the producer's completion threads (which
// run the callbacks and print progress, as Kafka's tool does from its
// callback) and read by the sending thread at the end.
//
// A callback takes no lock: each completion thread appends to its own
// buffer (a producer batch's callbacks run back to back on one thread) and
// merges it into the shared histograms under the lock once per
// kMergeEvery records, or sooner when its oldest record waited half a
// reporting interval (at most 100 ms), so progress lines stay current. PrintTotal merges what is
// left, after the producer's Flush: every callback has returned by then, and Flush's wait
// synchronizes with the threads that ran them.
class Stats {
 public:
  // Progress lines go to `progress`: stdout as in Kafka's tool, stderr with
  // --output json so stdout stays one JSON document.
  Stats(absl::Time start, absl::Duration report_interval, std::FILE* progress)
      : start_(start),
        report_interval_(report_interval),
        progress_(progress),
        merge_after_(std::min(report_interval / 2, absl::Milliseconds(100))),
        window_start_(start),
        id_(next_id_.fetch_add(1)) {}

  void Record(absl::Duration latency, size_t bytes, absl::Time now) {
    Buffer& buffer = ThreadBuffer();
    if (buffer.size == 0) buffer.oldest = now;
    buffer.samples[buffer.size++] = {static_cast<uint64_t>(absl::ToInt64Microseconds(latency)),
                                     bytes};
    if (buffer.size == kMergeEvery || now - buffer.oldest >= merge_after_) {
      absl::MutexLock lock(&mu_);
      MergeLocked(buffer);
      if (now - window_start_ >= report_interval_) {
        PrintWindowLocked(now);
        window_.Reset();
        window_bytes_ = 0;
        window_start_ = now;
      }
    }
  }

  void Failed(const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    if (++failed_ <= kMaxErrorsPrinted) {
      std::fprintf(stderr, "record failed: %s\n", ErrorText(status).c_str());
    }
  }

  int64_t failed() {
    absl::MutexLock lock(&mu_);
    return failed_;
  }

  // Kafka's final line (or one JSON object). Call once no callback runs.
  void PrintTotal(absl::Time now, OutputFormat format) {
    absl::MutexLock lock(&mu_);
    for (Buffer& buffer : buffers_) MergeLocked(buffer);
    const double seconds = std::max(absl::ToDoubleSeconds(now - start_), 1e-9);
    const uint64_t count = total_.Count();
    const double records_per_sec = count / seconds;
    const double mb_per_sec = total_bytes_ / kBytesPerMb / seconds;
    const double avg_ms = total_.Mean() / 1000.0;
    const double max_ms = total_.Max() / 1000.0;
    if (format == OutputFormat::kJson) {
      nlohmann::json json = {{"records_sent", count},
                             {"records_failed", failed_},
                             {"records_per_sec", records_per_sec},
                             {"mb_per_sec", mb_per_sec},
                             {"avg_latency_ms", avg_ms},
                             {"max_latency_ms", max_ms},
                             {"p50_ms", total_.ValueAtPercentile(50) / 1000.0},
                             {"p95_ms", total_.ValueAtPercentile(95) / 1000.0},
                             {"p99_ms", total_.ValueAtPercentile(99) / 1000.0},
                             {"p999_ms", total_.ValueAtPercentile(99.9) / 1000.0},
                             {"elapsed_sec", seconds}};
      std::printf("%s\n", json.dump().c_str());
    } else {
      // Kafka prints whole milliseconds for the percentiles.
      std::printf(
          "%llu records sent, %f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max "
          "latency, %llu ms 50th, %llu ms 95th, %llu ms 99th, %llu ms 99.9th.\n",
          static_cast<unsigned long long>(count), records_per_sec, mb_per_sec, avg_ms, max_ms,
          static_cast<unsigned long long>(total_.ValueAtPercentile(50) / 1000),
          static_cast<unsigned long long>(total_.ValueAtPercentile(95) / 1000),
          static_cast<unsigned long long>(total_.ValueAtPercentile(99) / 1000),
          static_cast<unsigned long long>(total_.ValueAtPercentile(99.9) / 1000));
    }
    std::fflush(stdout);
  }

 private:
  static constexpr int kMergeEvery = 256;
  struct Sample {
    uint64_t micros;
    size_t bytes;
  };
  // One completion thread's records not merged yet; written by that thread
  // only, merged under mu_ by it (full) or by PrintTotal (at the end).
  struct Buffer {
    std::array<Sample, kMergeEvery> samples;
    int size = 0;
    absl::Time oldest;  // when samples[0] was recorded
  };

  // This thread's buffer for this Stats (registered on first use; owned by
  // the Stats, so a thread that exits leaves nothing dangling).
  Buffer& ThreadBuffer() {
    thread_local uint64_t owner = 0;
    thread_local Buffer* buffer = nullptr;
    if (owner != id_) {
      absl::MutexLock lock(&mu_);
      buffer = &buffers_.emplace_back();
      owner = id_;
    }
    return *buffer;
  }

  void MergeLocked(Buffer& buffer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (int i = 0; i < buffer.size; ++i) {
      const Sample& sample = buffer.samples[i];
      total_.Record(sample.micros);
      total_bytes_ += sample.bytes;
      window_.Record(sample.micros);
      window_bytes_ += sample.bytes;
    }
    buffer.size = 0;
  }

  void PrintWindowLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const double seconds = absl::ToDoubleSeconds(now - window_start_);
    std::fprintf(progress_,
                 "%llu records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg "
                 "latency, %.1f ms max latency.\n",
                 static_cast<unsigned long long>(window_.Count()), window_.Count() / seconds,
                 window_bytes_ / kBytesPerMb / seconds, window_.Mean() / 1000.0,
                 window_.Max() / 1000.0);
    std::fflush(progress_);
  }

  // Tells this Stats' thread buffers from an earlier one's at the same address.
  static inline std::atomic<uint64_t> next_id_{1};

  const absl::Time start_;
  const absl::Duration report_interval_;
  std::FILE* const progress_;
  const absl::Duration merge_after_;
  absl::Mutex mu_;                                   // guards everything below
  std::deque<Buffer> buffers_ ABSL_GUARDED_BY(mu_);  // one per completion thread
  client::Histogram total_ ABSL_GUARDED_BY(mu_);
  uint64_t total_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  client::Histogram window_ ABSL_GUARDED_BY(mu_);
  uint64_t window_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time window_start_ ABSL_GUARDED_BY(mu_);
  int64_t failed_ ABSL_GUARDED_BY(mu_) = 0;
  const uint64_t id_;
};

absl::StatusOr<std::vector<std::string>> Payloads(const PerfProduceOptions& options) {
  if (!options.payload_file.empty()) {
    std::ifstream file(options.payload_file);
    if (!file) return absl::NotFoundError(absl::StrCat("cannot read ", options.payload_file));
    std::stringstream contents;
    contents << file.rdbuf();
    std::vector<std::string> payloads = absl::StrSplit(contents.str(), '\n', absl::SkipEmpty());
    if (payloads.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(options.payload_file, " has no payloads"));
    }
    return payloads;
  }
  if (options.record_size <= 0) {
    return absl::InvalidArgumentError("give --record-size N (> 0) or --payload-file");
  }
  // One random payload reused for every record, as Kafka's tool does.
  SeededRandom random = MakeSystemSeededRandom();
  std::string payload(static_cast<size_t>(options.record_size), 'A');
  for (char& c : payload) c = static_cast<char>('A' + random.Next() % 26);
  return std::vector<std::string>{payload};
}

absl::Status RunPerfProduce(const GlobalOptions& global, const PerfProduceOptions& options) {
  if (options.throughput == 0) {
    return absl::InvalidArgumentError("--throughput must be positive or -1 (no limit)");
  }
  ASSIGN_OR_RETURN(std::vector<std::string> payloads, Payloads(options));
  ASSIGN_OR_RETURN(std::vector<std::string> client_lines,
                   ClientPropertyLines(options.config_file, options.producer_props));
  ASSIGN_OR_RETURN(client::Properties properties, BuildProperties(global, {}, client_lines, {}));
  ASSIGN_OR_RETURN(client::ProducerConfig config,
                   client::ProducerConfig::FromProperties(properties));
  // Debian's Abseil is built without NDEBUG, so every absl::Mutex lock also
  // runs the deadlock detector (a global graph under a global lock): a cost
  // per lock that no release build pays. A benchmark measures the code, not
  // the detector.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  ASSIGN_OR_RETURN(std::unique_ptr<client::Producer> producer, client::Producer::Create(config));
  InstallInterruptHandler();

  SeededRandom random = MakeSystemSeededRandom();
  const absl::Time start = absl::Now();
  Stats stats(start, absl::Milliseconds(options.reporting_interval_ms),
              global.format() == OutputFormat::kJson ? stderr : stdout);
  std::optional<TokenBucket> bucket;
  // A burst of 10 ms worth of records keeps the rate smooth.
  if (options.throughput > 0) bucket.emplace(options.throughput, options.throughput / 100, start);

  for (int64_t i = 0; i < options.num_records && !Interrupted(); ++i) {
    if (bucket) {
      for (absl::Duration wait = bucket->Acquire(absl::Now()); wait > absl::ZeroDuration();
           wait = bucket->Acquire(absl::Now())) {
        absl::SleepFor(wait);
      }
    }
    const std::string& payload =
        payloads.size() == 1 ? payloads[0] : payloads[random.Next() % payloads.size()];
    // The callback's captures (8 + 8 bytes) fit std::function's small
    // buffer: Produce allocates nothing per record. The record's size comes
    // back in its metadata.
    const int64_t sent_ns = absl::ToUnixNanos(absl::Now());
    // The send time is the record's create time: the producer need not
    // read the clock again.
    producer->Produce(
        {.topic = options.topic, .value = payload, .timestamp_ms = sent_ns / 1'000'000},
        [&stats, sent_ns](const absl::StatusOr<client::RecordMetadata>& result) {
          if (result.ok()) {
            const absl::Time now = absl::Now();
            stats.Record(now - absl::FromUnixNanos(sent_ns),
                         static_cast<size_t>(result->serialized_value_size), now);
          } else {
            stats.Failed(result.status());
          }
        });
  }
  producer->Flush();
  stats.PrintTotal(absl::Now(), global.format());
  producer->Close();
  if (Interrupted()) return absl::CancelledError("interrupted");
  if (const int64_t failed = stats.failed(); failed > 0) {
    return absl::AbortedError(absl::StrCat(failed, " of ", options.num_records, " records failed"));
  }
  return absl::OkStatus();
}

}  // namespace

void AddPerfProduceCommand(CLI::App& perf, const GlobalOptions& global, Commands& commands) {
  auto options = std::make_shared<PerfProduceOptions>();
  CLI::App* app =
      perf.add_subcommand("produce", "Producer benchmark (like kafka-producer-perf-test)");
  app->add_option("--topic", options->topic, "Topic to produce to")->required();
  app->add_option("--num-records", options->num_records, "Number of records to send")
      ->required()
      ->check(CLI::PositiveNumber);
  app->add_option("--record-size", options->record_size, "Record value size in bytes")
      ->check(CLI::PositiveNumber);
  app->add_option("--throughput", options->throughput,
                  "Target records/sec, -1 for as fast as possible")
      ->capture_default_str();
  app->add_option("--producer-props", options->producer_props,
                  "Producer properties key=value ... (also --producer-property, repeatable)");
  app->add_option("--producer-property", options->producer_props)->allow_extra_args(false);
  app->add_option("--payload-file", options->payload_file,
                  "File of newline-separated payloads, one picked at random per record");
  app->add_option("--reporting-interval", options->reporting_interval_ms,
                  "Milliseconds between progress lines")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app->add_option("--producer.config", options->config_file,
                  "Producer properties file (Kafka's format), before the -property flags");
  commands.push_back({app, [&global, options] { return RunPerfProduce(global, *options); }});
}

}  // namespace fjord::cli
