// raft_node: one Raft group member as a process, for multi-process tests and
// benchmarks. A list state machine (each entry's data appended); while it
// leads, the node proposes its own entries ("<id>-<term>-<seq>") every
// --propose_interval_ms, at most --inflight_max at a time, and appends each
// committed one to --acked_file. Every 20 ms it rewrites --status_file
// atomically:
//   role=<role> term=<t> leader=<id> commit=<i> applied=<i>
//   <data of applied entry 1>
//   ...
// Flags: --id=1 --peers=1@127.0.0.1:7001,2@...,3@... --data_dir=DIR
//        [--tick_ms=50 --election_ticks=10 --propose_interval_ms=5
//         --inflight_max=8 --snapshot_every=1000]
// Runs until killed.
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "raft/node/raft_node.h"
#include "raft/transport/grpc_transport.h"

namespace fjord::raft {
namespace {

class ListStateMachine : public StateMachine {
 public:
  void Apply(const std::vector<Entry>& entries) override {
    absl::MutexLock lock(&mu_);
    for (const Entry& e : entries) items_.push_back(e.data);
  }
  std::string Snapshot() override {
    absl::MutexLock lock(&mu_);
    return absl::StrJoin(items_, "\n");
  }
  absl::Status Restore(const SnapshotMeta&, const std::string& data) override {
    absl::MutexLock lock(&mu_);
    items_.clear();
    if (!data.empty()) items_ = absl::StrSplit(data, '\n');
    return absl::OkStatus();
  }
  std::string Dump() const {
    absl::MutexLock lock(&mu_);
    return absl::StrJoin(items_, "\n");
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> items_ ABSL_GUARDED_BY(mu_);
};

std::map<std::string, std::string> ParseFlags(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || arg.find('=') == std::string::npos) {
      std::fprintf(stderr, "bad flag %s\n", argv[i]);
      std::exit(2);
    }
    const size_t eq = arg.find('=');
    flags[arg.substr(2, eq - 2)] = arg.substr(eq + 1);
  }
  return flags;
}

int IntFlag(const std::map<std::string, std::string>& flags, const std::string& name, int def) {
  auto it = flags.find(name);
  int v = def;
  if (it != flags.end() && !absl::SimpleAtoi(it->second, &v)) {
    std::fprintf(stderr, "bad --%s\n", name.c_str());
    std::exit(2);
  }
  return v;
}

void WriteAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
  }
  std::rename(tmp.c_str(), path.c_str());
}

int Main(int argc, char** argv) {
  // Debian's Abseil is built with assertions on, so every absl::Mutex lock
  // also runs the deadlock detector's graph bookkeeping; lock order is
  // checked by the tests and TSAN instead (as in fjord-broker's main).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  auto flags = ParseFlags(argc, argv);
  const NodeId self(IntFlag(flags, "id", -1));
  std::map<NodeId, std::string> peers;
  std::vector<NodeId> voters;
  for (absl::string_view part : absl::StrSplit(flags["peers"], ',', absl::SkipEmpty())) {
    std::vector<std::string> kv = absl::StrSplit(part, '@');
    int id;
    if (kv.size() != 2 || !absl::SimpleAtoi(kv[0], &id)) {
      std::fprintf(stderr, "bad --peers\n");
      return 2;
    }
    peers[NodeId(id)] = kv[1];
    voters.push_back(NodeId(id));
  }
  if (self == kNoNode || !peers.count(self) || flags["data_dir"].empty()) {
    std::fprintf(stderr, "need --id, --peers including it, --data_dir\n");
    return 2;
  }
  const std::string listen = peers[self];
  peers.erase(self);

  absl::Mutex holder_mu;
  RaftNode* holder = nullptr;
  RaftGrpcService service("fjord-raft-test", [&](Message m) {
    absl::MutexLock lock(&holder_mu);
    if (holder) holder->Receive(std::move(m));
  });
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) {
    std::fprintf(stderr, "cannot listen on %s\n", listen.c_str());
    return 1;
  }
  GrpcTransport transport("fjord-raft-test", peers);
  ListStateMachine sm;
  NodeOptions options{
      .id = self,
      .initial_voters = voters,
      .data_dir = flags["data_dir"],
      .tick_interval = absl::Milliseconds(IntFlag(flags, "tick_ms", 50)),
      .election_ticks = IntFlag(flags, "election_ticks", 10),
      .snapshot_every_entries = static_cast<uint64_t>(IntFlag(flags, "snapshot_every", 1000))};
  absl::StatusOr<std::unique_ptr<RaftNode>> node = RaftNode::Start(options, &sm, &transport);
  if (!node.ok()) {
    std::fprintf(stderr, "start: %s\n", std::string(node.status().message()).c_str());
    return 1;
  }
  {
    absl::MutexLock lock(&holder_mu);
    holder = node->get();
  }

  const std::string status_file = flags["status_file"];
  const std::string acked_file = flags["acked_file"];
  const absl::Duration propose_every = absl::Milliseconds(IntFlag(flags, "propose_interval_ms", 5));
  const int inflight_max = IntFlag(flags, "inflight_max", 8);
  absl::Mutex mu;
  int inflight = 0;
  uint64_t seq = 0;
  FILE* acked = acked_file.empty() ? nullptr : std::fopen(acked_file.c_str(), "a");
  absl::Time next_status = absl::Now();
  while (true) {
    absl::SleepFor(propose_every);
    const NodeStatus st = (*node)->status();
    if (st.role == Role::kLeader) {
      absl::MutexLock lock(&mu);
      if (inflight < inflight_max) {
        ++inflight;
        std::string data = absl::StrCat(self.value(), "-", st.term.value(), "-", seq++);
        (*node)->Propose(data, [&, data](absl::StatusOr<LogIndex> r) {
          absl::MutexLock lock(&mu);
          --inflight;
          if (r.ok() && acked != nullptr) {
            std::fprintf(acked, "%llu %s\n", static_cast<unsigned long long>(r->value()),
                         data.c_str());
            std::fflush(acked);  // Survives kill -9 (page cache).
          }
        });
      }
    }
    if (!status_file.empty() && absl::Now() >= next_status) {
      next_status = absl::Now() + absl::Milliseconds(20);
      WriteAtomically(status_file,
                      absl::StrCat("role=", ToString(st.role), " term=", st.term.value(),
                                   " leader=", st.leader.value(), " commit=", st.commit.value(),
                                   " applied=", st.applied.value(), "\n", sm.Dump()));
    }
  }
}

}  // namespace
}  // namespace fjord::raft

int main(int argc, char** argv) { return fjord::raft::Main(argc, argv); }
