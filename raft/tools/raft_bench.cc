// raft_bench: a 3-node group in one process over loopback gRPC, each node
// with its own RocksDB (every Ready synced). Reports:
//   1. committed 1 KiB entries/s with up to --window proposals outstanding;
//   2. commit latency p50/p99 (propose -> applied on the leader) at half
//      the measured rate;
//   3. failover: stop the leader (its state is as durable as after kill -9,
//      every Ready being synced), time until another node commits an entry,
//      restart it; p50/p99 over --kills runs.
//   bazel run --config=opt //raft/tools:raft_bench -- [--entries=50000 --kills=50]
//     [--window=4096] [--latency-rate=N (default: half the measured rate)]
//     [--async-writes | --sync-writes (NodeOptions::async_storage_writes,
//      off by default: the leader's log writes on their own thread, or on
//      the node thread)]
//     [--stages (per-stage latency of the latency phase, from
//      NodeOptions::on_proposal_stages)]
//     [--latency-seconds=5 (length of the latency phase)]
//     [--timeline (p50/p99/max of the latency phase in 20 slices)]
//     [--pace-ms=1 (the latency phase's proposer sleeps at least this long;
//      0 = one sleep per entry)]
//   --entries=0 with --latency-rate skips the throughput phase, so the
//   latency phase starts on a quiet group rather than right after a burst.
//   Each phase also prints the process's CPU time and the machine's steal.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/grpcpp.h"
#include "raft/node/raft_node.h"
#include "raft/transport/grpc_transport.h"

namespace fjord::raft {
namespace {

constexpr int kTickMs = 50;
constexpr int kElectionTicks = 10;

class NullStateMachine : public StateMachine {
 public:
  void Apply(const std::vector<Entry>&) override {}
  std::string Snapshot() override { return ""; }
  absl::Status Restore(const SnapshotMeta&, const std::string&) override {
    return absl::OkStatus();
  }
};

// Stage durations of answered proposals (NodeOptions::on_proposal_stages),
// collected while `on`.
class StageLog {
 public:
  void Record(const ProposalStages& s) {
    absl::MutexLock lock(&mu_);
    if (!on_) return;
    auto add = [&](const char* name, absl::Time from, absl::Time to) {
      if (from != absl::InfinitePast() && to != absl::InfinitePast()) {
        ms_[name].push_back(absl::ToDoubleMilliseconds(to - from));
      }
    };
    add("1 Propose -> node thread", s.proposed, s.started);
    add("2 node thread -> sent", s.started, s.sent);
    add("3 sent -> commit seen", s.sent, s.committed);
    add("4 commit seen -> callback", s.committed, s.done);
    add("5 Propose -> callback", s.proposed, s.done);
  }
  void Start() {
    absl::MutexLock lock(&mu_);
    ms_.clear();
    on_ = true;
  }
  void Print() {
    absl::MutexLock lock(&mu_);
    on_ = false;
    for (auto& [name, v] : ms_) {
      std::sort(v.begin(), v.end());
      auto at = [&](double p) {
        return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
      };
      std::printf("  %-28s p50 %7.2f  p90 %7.2f  p99 %7.2f  p99.9 %7.2f  max %7.2f ms\n",
                  name.c_str(), at(0.5), at(0.9), at(0.99), at(0.999), v.back());
    }
  }

 private:
  absl::Mutex mu_;
  bool on_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, std::vector<double>> ms_ ABSL_GUARDED_BY(mu_);
};

struct Member {
  absl::Mutex mu;
  RaftNode* node ABSL_GUARDED_BY(mu) = nullptr;
  std::unique_ptr<RaftGrpcService> service;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<GrpcTransport> transport;
  NullStateMachine sm;
  std::unique_ptr<RaftNode> raft;
};

class Cluster {
 public:
  Cluster(const std::filesystem::path& root, bool async_writes, StageLog* stages)
      : root_(root), async_writes_(async_writes), stages_(stages) {
    std::filesystem::remove_all(root_);
    for (int i = 1; i <= 3; ++i) {
      auto m = std::make_unique<Member>();
      Member* raw = m.get();
      m->service = std::make_unique<RaftGrpcService>("bench", [raw](Message msg) {
        absl::MutexLock lock(&raw->mu);
        if (raw->node) raw->node->Receive(std::move(msg));
      });
      int port = 0;
      grpc::ServerBuilder builder;
      builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
      builder.RegisterService(m->service.get());
      m->server = builder.BuildAndStart();
      addresses_[NodeId(i)] = absl::StrCat("127.0.0.1:", port);
      members_[NodeId(i)] = std::move(m);
    }
    for (auto& [id, m] : members_) {
      std::map<NodeId, std::string> peers = addresses_;
      peers.erase(id);
      m->transport = std::make_unique<GrpcTransport>("bench", peers);
      Start(id);
    }
  }

  void Start(NodeId id) {
    Member& m = *members_[id];
    NodeOptions options{.id = id,
                        .initial_voters = {NodeId(1), NodeId(2), NodeId(3)},
                        .data_dir = (root_ / absl::StrCat("n", id.value())).string(),
                        .tick_interval = absl::Milliseconds(kTickMs),
                        .election_ticks = kElectionTicks,
                        .snapshot_every_entries = 20'000,
                        .async_storage_writes = async_writes_};
    if (stages_ != nullptr) {
      options.on_proposal_stages = [this](const ProposalStages& s) { stages_->Record(s); };
    }
    auto node = RaftNode::Start(options, &m.sm, m.transport.get());
    if (!node.ok()) {
      std::fprintf(stderr, "start: %s\n", std::string(node.status().message()).c_str());
      std::exit(1);
    }
    m.raft = std::move(*node);
    absl::MutexLock lock(&m.mu);
    m.node = m.raft.get();
  }
  void Stop(NodeId id) {
    Member& m = *members_[id];
    {
      absl::MutexLock lock(&m.mu);
      m.node = nullptr;
    }
    m.raft.reset();
  }
  NodeId Leader() {
    for (auto& [id, m] : members_) {
      if (m->raft && m->raft->status().role == Role::kLeader) return id;
    }
    return kNoNode;
  }
  RaftNode& node(NodeId id) { return *members_[id]->raft; }

 private:
  std::filesystem::path root_;
  const bool async_writes_;
  StageLog* const stages_;  // Null without --stages.
  std::map<NodeId, std::string> addresses_;
  std::map<NodeId, std::unique_ptr<Member>> members_;
};

NodeId WaitLeader(Cluster& c) {
  for (int i = 0; i < 2000; ++i) {
    NodeId l = c.Leader();
    if (l != kNoNode) return l;
    absl::SleepFor(absl::Milliseconds(2));
  }
  std::fprintf(stderr, "no leader within 4 s\n");
  std::exit(1);
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

// Proposes `count` entries keeping at most `window` outstanding; returns entries/s.
double Throughput(RaftNode& leader, int count, int window) {
  absl::Mutex mu;
  int outstanding = 0;
  int done = 0;
  int failed = 0;
  const std::string payload(1024, 'x');
  const absl::Time start = absl::Now();
  for (int i = 0; i < count; ++i) {
    {
      absl::MutexLock lock(&mu);
      auto room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return outstanding < window; };
      mu.Await(absl::Condition(&room));
      ++outstanding;
    }
    leader.Propose(payload, [&](absl::StatusOr<LogIndex> r) {
      absl::MutexLock lock(&mu);
      --outstanding;
      ++done;
      if (!r.ok()) ++failed;
    });
  }
  absl::MutexLock lock(&mu);
  auto all = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return done == count; };
  mu.Await(absl::Condition(&all));
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (failed > 0) std::fprintf(stderr, "%d proposals failed\n", failed);
  return (count - failed) / seconds;
}

// One answered proposal of the latency phase.
struct Sample {
  double sent_ms;     // When it was proposed, from the start of the phase.
  double latency_ms;  // Propose -> callback.
};

// Proposes at `rate`/s for `duration`; returns every proposal answered within
// 10 s of the last one (all of them, normally: the slowest are the tail we
// measure, so the wait is for every answer).
std::vector<Sample> Latencies(RaftNode& leader, double rate, absl::Duration duration,
                              absl::Duration pace) {
  struct Samples {
    absl::Mutex mu;
    std::vector<Sample> ok ABSL_GUARDED_BY(mu);
    int answered ABSL_GUARDED_BY(mu) = 0;
  };
  auto samples = std::make_shared<Samples>();  // Late answers must find it alive.
  int sent = 0;
  const std::string payload(1024, 'x');
  const absl::Time start = absl::Now();
  while (absl::Now() - start < duration) {
    // Sleeps of at least `pace` (as kafka-producer-perf-test's throttler,
    // which sleeps 2 ms at the least): one sleep per entry at 10,000/s
    // spends a good part of a core on timer wake-ups on this VM, CPU the
    // group under test then lacks. Each entry's latency still runs from its
    // own Propose call.
    const absl::Time due = start + absl::Seconds(sent / rate);
    const absl::Time now = absl::Now();
    if (now < due) absl::SleepFor(std::max(due - now, pace));
    const absl::Time t0 = absl::Now();
    ++sent;
    leader.Propose(payload, [samples, start, t0](absl::StatusOr<LogIndex> r) {
      const absl::Time now = absl::Now();
      absl::MutexLock lock(&samples->mu);
      ++samples->answered;
      if (r.ok()) {
        samples->ok.push_back(
            {absl::ToDoubleMilliseconds(t0 - start), absl::ToDoubleMilliseconds(now - t0)});
      }
    });
  }
  absl::MutexLock lock(&samples->mu);
  auto all = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(samples->mu) { return samples->answered >= sent; };
  if (!samples->mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(10))) {
    std::fprintf(stderr, "%d of %d proposals unanswered after 10 s\n", sent - samples->answered,
                 sent);
  }
  if (static_cast<int>(samples->ok.size()) < samples->answered) {
    std::fprintf(stderr, "%d proposals failed\n",
                 samples->answered - static_cast<int>(samples->ok.size()));
  }
  return samples->ok;
}

// p50/p99/max of the proposals sent in each `bucket_ms` slice of the phase,
// to tell a steady tail from a few stalls.
void PrintTimeline(const std::vector<Sample>& samples, double bucket_ms) {
  std::map<int, std::vector<double>> buckets;
  for (const Sample& s : samples) {
    buckets[static_cast<int>(s.sent_ms / bucket_ms)].push_back(s.latency_ms);
  }
  for (auto& [k, v] : buckets) {
    std::sort(v.begin(), v.end());
    std::printf("  t=%6.0f ms  n=%5zu  p50 %7.2f  p99 %7.2f  max %7.2f ms\n", k * bucket_ms,
                v.size(), v[v.size() / 2], v[v.size() * 99 / 100], v.back());
  }
}

// The process's CPU time and the machine's CPU-time split, to say how much
// CPU the group spent and how much of the machine the hypervisor took away
// (steal) while a phase ran; and a thread that sleeps 1 ms at a time and
// records how late it wakes, so a stall of the whole machine shows up as
// such rather than as Raft's.
class CpuMeter {
 public:
  CpuMeter() : begin_(Read()), sleeper_([this] { Sleep(); }) {}
  ~CpuMeter() {
    stop_ = true;
    sleeper_.join();
  }

  // "cpu X s (Y ms per 1000 entries), steal Z%, 1 ms sleeps late by p99 A ms, max B ms".
  std::string Since(int entries) {
    const Reading end = Read();
    const double cpu = end.process_s - begin_.process_s;
    const double ticks = end.total_ticks - begin_.total_ticks;
    const double steal = ticks > 0 ? 100 * (end.steal_ticks - begin_.steal_ticks) / ticks : 0;
    std::vector<double> late;
    {
      absl::MutexLock lock(&mu_);
      late = late_ms_;
    }
    std::sort(late.begin(), late.end());
    const double p99 = late.empty() ? 0 : late[late.size() * 99 / 100];
    const double max = late.empty() ? 0 : late.back();
    char out[200];
    std::snprintf(out, sizeof(out),
                  "cpu %.2f s (%.1f ms per 1000 entries), steal %.0f%%, 1 ms sleeps late by p99 "
                  "%.1f ms, max %.1f ms",
                  cpu, entries > 0 ? 1000 * 1000 * cpu / entries : 0, steal, p99, max);
    return out;
  }

 private:
  struct Reading {
    double process_s = 0;
    double steal_ticks = 0;
    double total_ticks = 0;
  };

  static Reading Read() {
    Reading r;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    r.process_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
                  ru.ru_stime.tv_usec / 1e6;
    std::FILE* f = std::fopen("/proc/stat", "r");
    if (f != nullptr) {
      // cpu user nice system idle iowait irq softirq steal ...
      double v[8] = {0};
      if (std::fscanf(f, "cpu %lf %lf %lf %lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3], &v[4],
                      &v[5], &v[6], &v[7]) == 8) {
        r.steal_ticks = v[7];
        for (double x : v) r.total_ticks += x;
      }
      std::fclose(f);
    }
    return r;
  }

  void Sleep() {
    while (!stop_) {
      const absl::Time before = absl::Now();
      absl::SleepFor(absl::Milliseconds(1));
      const double late = absl::ToDoubleMilliseconds(absl::Now() - before) - 1;
      absl::MutexLock lock(&mu_);
      late_ms_.push_back(late);
    }
  }

  const Reading begin_;
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  std::vector<double> late_ms_ ABSL_GUARDED_BY(mu_);
  std::thread sleeper_;  // Last: starts once the rest is built.
};

// Stops the leader; returns ms until another node commits a new entry.
double Failover(Cluster& c) {
  const NodeId old = WaitLeader(c);
  c.Stop(old);
  const absl::Time killed = absl::Now();
  while (true) {
    NodeId leader = c.Leader();
    if (leader != kNoNode && leader != old) {
      // The callback may run after we stop waiting (a loaded box): it owns
      // its state, or a late answer would notify a dead Notification.
      struct Probe {
        absl::Notification done;
        std::atomic<bool> ok{false};
      };
      auto probe = std::make_shared<Probe>();
      c.node(leader).Propose("probe", [probe](absl::StatusOr<LogIndex> r) {
        probe->ok = r.ok();
        probe->done.Notify();
      });
      if (probe->done.WaitForNotificationWithTimeout(absl::Seconds(5)) && probe->ok) break;
    }
    absl::SleepFor(absl::Milliseconds(1));
    if (absl::Now() - killed > absl::Seconds(30)) {
      std::fprintf(stderr, "no commit within 30 s of failover\n");
      std::exit(1);
    }
  }
  const double ms = absl::ToDoubleMilliseconds(absl::Now() - killed);
  c.Start(old);
  return ms;
}

int Main(int argc, char** argv) {
  int entries = 50'000;
  int kills = 50;
  int window = 4096;
  double latency_rate = 0;  // Entries/s for the latency phase; 0 = half the measured rate.
  bool async_writes = NodeOptions{}.async_storage_writes;
  bool stages = false;
  bool timeline = false;
  double latency_seconds = 5;
  double pace_ms = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--entries=", 0) == 0) (void)absl::SimpleAtoi(a.substr(10), &entries);
    if (a.rfind("--kills=", 0) == 0) (void)absl::SimpleAtoi(a.substr(8), &kills);
    if (a.rfind("--window=", 0) == 0) (void)absl::SimpleAtoi(a.substr(9), &window);
    if (a.rfind("--latency-rate=", 0) == 0) (void)absl::SimpleAtod(a.substr(15), &latency_rate);
    if (a == "--async-writes") async_writes = true;
    if (a == "--sync-writes") async_writes = false;
    if (a == "--stages") stages = true;
    if (a == "--timeline") timeline = true;
    if (a.rfind("--pace-ms=", 0) == 0) (void)absl::SimpleAtod(a.substr(10), &pace_ms);
    if (a.rfind("--latency-seconds=", 0) == 0) {
      (void)absl::SimpleAtod(a.substr(18), &latency_seconds);
    }
  }
  // Debian's Abseil is built with assertions on, so every absl::Mutex lock
  // also runs the deadlock detector's graph bookkeeping; lock order is
  // checked by the tests and TSAN instead (as in fjord-broker's main).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const char* tmp = std::getenv("TMPDIR");
  StageLog stage_log;
  Cluster cluster(std::filesystem::path(tmp ? tmp : "/tmp") / "fjord_raft_bench", async_writes,
                  stages ? &stage_log : nullptr);
  // Each phase asks for the leader afresh: on a loaded VM a stall of the
  // whole machine can outlast the election timeout and move leadership.
  (void)Throughput(cluster.node(WaitLeader(cluster)), 2000, window);  // Warm-up.
  if (entries > 0) {
    CpuMeter meter;
    const double rate = Throughput(cluster.node(WaitLeader(cluster)), entries, window);
    std::printf("throughput: %.0f committed 1 KiB entries/s (%d entries, window %d; %s)\n", rate,
                entries, window, meter.Since(entries).c_str());
    if (latency_rate <= 0) latency_rate = rate / 2;
  }
  if (latency_rate > 0) {
    if (stages) stage_log.Start();
    CpuMeter meter;
    const std::vector<Sample> samples =
        Latencies(cluster.node(WaitLeader(cluster)), latency_rate, absl::Seconds(latency_seconds),
                  absl::Milliseconds(pace_ms));
    std::vector<double> lat;
    for (const Sample& s : samples) lat.push_back(s.latency_ms);
    std::printf(
        "latency at %.0f entries/s for %.0f s (sleeps >= %.1f ms): p50 %.2f ms, p99 %.2f ms (%zu "
        "samples; %s)\n",
        latency_rate, latency_seconds, pace_ms, Percentile(lat, 0.50), Percentile(lat, 0.99),
        lat.size(), meter.Since(static_cast<int>(lat.size())).c_str());
    if (stages) stage_log.Print();
    if (timeline) PrintTimeline(samples, 1000 * latency_seconds / 20);
  }
  std::vector<double> failovers;
  for (int i = 0; i < kills; ++i) failovers.push_back(Failover(cluster));
  std::printf(
      "failover (stop leader -> next commit, election timeout %d-%d ms): p50 %.0f ms, p99 %.0f ms, "
      "max %.0f ms over %d kills\n",
      kElectionTicks * kTickMs, 2 * kElectionTicks * kTickMs, Percentile(failovers, 0.5),
      Percentile(failovers, 0.99), Percentile(failovers, 1.0), kills);
  std::fflush(stdout);
  std::_Exit(0);  // Skip orderly teardown of servers with open streams.
}

}  // namespace
}  // namespace fjord::raft

int main(int argc, char** argv) { return fjord::raft::Main(argc, argv); }
