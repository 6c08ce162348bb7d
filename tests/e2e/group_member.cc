// group_member: one consumer-group member as its own process, for the group
// end-to-end suites (they kill it with SIGKILL, stop it with SIGTERM, and
// read what it did from its event file).
//
//   group_member --bootstrap H:P,.. --group G --topic T --out FILE
//                [--instance-id I] [--auto-commit] [--max-poll-records N]
//                [--process-delay-ms MS]
//
// It subscribes to T, prints each record it processes and commits after
// processing every batch (at-least-once), unless --auto-commit. Every line
// of FILE starts with the event and the wall-clock time in microseconds:
//   JOINED <us> <member-id>
//   ASSIGNED|REVOKED|LOST <us> p,p,...        (rebalance listener)
//   RECORD <us> <partition> <offset> <value>  (after processing)
//   COMMIT <us> OK|<error>
//   CLOSED <us>                               (after SIGTERM, Close returned)
// Lines are flushed as written, so a SIGKILL loses none that were reported.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/group_consumer.h"
#include "common/grpc_runtime.h"
#include "common/kafka_error.h"

namespace {

volatile std::sig_atomic_t stop_requested = 0;
void OnSignal(int) { stop_requested = 1; }

FILE* out = nullptr;

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

void Line(const std::string& event, const std::string& rest) {
  std::fprintf(out, "%s %lld %s\n", event.c_str(), static_cast<long long>(NowMicros()),
               rest.c_str());
  std::fflush(out);
}

std::string Partitions(const std::vector<fjord::client::TopicPartition>& partitions) {
  return absl::StrJoin(partitions, ",",
                       [](std::string* s, const fjord::client::TopicPartition& tp) {
                         absl::StrAppend(s, tp.partition);
                       });
}

class Listener : public fjord::client::RebalanceListener {
 public:
  void OnPartitionsRevoked(const std::vector<fjord::client::TopicPartition>& p) override {
    Line("REVOKED", Partitions(p));
  }
  void OnPartitionsAssigned(const std::vector<fjord::client::TopicPartition>& p) override {
    Line("ASSIGNED", Partitions(p));
  }
  void OnPartitionsLost(const std::vector<fjord::client::TopicPartition>& p) override {
    Line("LOST", Partitions(p));
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string bootstrap, group, topic, path, instance;
  bool auto_commit = false;
  std::string max_poll_records = "500";
  int process_delay_ms = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--bootstrap") {
      bootstrap = next();
    } else if (arg == "--group") {
      group = next();
    } else if (arg == "--topic") {
      topic = next();
    } else if (arg == "--out") {
      path = next();
    } else if (arg == "--instance-id") {
      instance = next();
    } else if (arg == "--auto-commit") {
      auto_commit = true;
    } else if (arg == "--max-poll-records") {
      max_poll_records = next();
    } else if (arg == "--process-delay-ms") {
      process_delay_ms = std::atoi(next().c_str());
    } else {
      std::fprintf(stderr, "unknown argument %s\n", arg.c_str());
      return 2;
    }
  }
  out = std::fopen(path.c_str(), "a");
  if (out == nullptr) return 2;
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  fjord::KeepGrpcInitialized();

  fjord::client::Properties props = {
      {"bootstrap.servers", bootstrap},      {"group.id", group},
      {"auto.offset.reset", "earliest"},     {"enable.auto.commit", auto_commit ? "true" : "false"},
      {"fetch.max.wait.ms", "100"},          {"retry.backoff.ms", "50"},
      {"max.poll.records", max_poll_records}};
  if (!instance.empty()) props["group.instance.id"] = instance;
  auto config = fjord::client::ConsumerConfig::FromProperties(props);
  if (!config.ok()) {
    std::fprintf(stderr, "config: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  auto consumer = fjord::client::GroupConsumer::Create(*config);
  if (!consumer.ok()) return 2;
  Listener listener;
  if (!(*consumer)->Subscribe({topic}, &listener).ok()) return 2;
  bool joined = false;
  while (!stop_requested) {
    auto records = (*consumer)->Poll(absl::Milliseconds(200));
    if (!joined && (*consumer)->member_epoch() > 0) {
      joined = true;
      Line("JOINED", (*consumer)->member_id());
    }
    if (!records.ok()) {
      Line("ERROR", std::string(records.status().message()));
      absl::SleepFor(absl::Milliseconds(100));
      continue;
    }
    if (records->empty()) continue;
    for (const auto& r : *records) {
      Line("RECORD", absl::StrCat(r.partition, " ", r.offset, " ", r.value.value_or("")));
    }
    // "Processing" takes this long; the records above are reported as
    // processed when it ends (they are printed first so a kill in the middle
    // still leaves them redone by the next owner: at-least-once).
    if (process_delay_ms > 0) absl::SleepFor(absl::Milliseconds(process_delay_ms));
    if (!auto_commit) {
      absl::Status committed = (*consumer)->CommitSync();
      Line("COMMIT", committed.ok() ? "OK" : fjord::ErrorCodeName(fjord::ToErrorCode(committed)));
    }
  }
  (*consumer)->Close();
  Line("CLOSED", "");
  std::fclose(out);
  return 0;
}
