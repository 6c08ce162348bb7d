// Three raft_node processes on loopback (ports picked free), real gRPC and
// RocksDB. The leader is killed with SIGKILL: a new leader must commit within
// two election timeouts (the top of the randomized range, 2 x election_ticks
// ticks), and after the old leader restarts every entry acknowledged as
// committed is present, in the same order, on all three nodes. Every wait is
// bounded and fails with a message saying what did not happen.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/cluster/test_env.h"

namespace {

constexpr int kTickMs = 50;
constexpr int kElectionTicks = 10;
constexpr absl::Duration kElectionTimeoutMax = absl::Milliseconds(2 * kElectionTicks * kTickMs);
constexpr absl::Duration kWaitMax = absl::Seconds(30);

struct Status {
  bool ok = false;
  std::string role;
  uint64_t term = 0;
  int leader = -1;
  uint64_t commit = 0;
  std::vector<std::string> items;
};

Status ReadStatus(const std::string& path) {
  Status s;
  std::ifstream in(path);
  std::string header;
  if (!std::getline(in, header)) return s;
  for (absl::string_view kv : absl::StrSplit(header, ' ')) {
    std::vector<std::string> p = absl::StrSplit(kv, '=');
    if (p.size() != 2) return s;
    if (p[0] == "role") s.role = p[1];
    if (p[0] == "term") (void)absl::SimpleAtoi(p[1], &s.term);
    if (p[0] == "leader") (void)absl::SimpleAtoi(p[1], &s.leader);
    if (p[0] == "commit") (void)absl::SimpleAtoi(p[1], &s.commit);
  }
  std::string line;
  while (std::getline(in, line)) s.items.push_back(line);
  s.ok = true;
  return s;
}

class MultiProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    root_ = std::filesystem::path(tmp ? tmp : "/tmp") / "multiprocess";
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
    std::vector<std::string> peers;
    for (int id = 1; id <= 3; ++id) {
      const int port = fjord::testing::FreeLoopbackPort();
      ASSERT_GT(port, 0) << "no free port";
      peers.push_back(absl::StrCat(id, "@127.0.0.1:", port));
    }
    peers_ = absl::StrJoin(peers, ",");
    for (int id = 1; id <= 3; ++id) Spawn(id);
  }
  void TearDown() override {
    std::vector<int> ids;
    for (const auto& [id, pid] : pids_) ids.push_back(id);
    for (int id : ids) Kill(id);
  }

  std::string Path(int id, const std::string& what) {
    return (root_ / absl::StrCat(what, id)).string();
  }
  void Spawn(int id) {
    std::vector<std::string> args = {
        "raft/tools/raft_node",
        absl::StrCat("--id=", id),
        "--peers=" + peers_,
        "--data_dir=" + Path(id, "data"),
        "--status_file=" + Path(id, "status"),
        "--acked_file=" + Path(id, "acked"),
        absl::StrCat("--tick_ms=", kTickMs),
        absl::StrCat("--election_ticks=", kElectionTicks),
        "--snapshot_every=200",
    };
    std::filesystem::remove(Path(id, "status"));
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // Never outlive the test.
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    pids_[id] = pid;
  }
  void Kill(int id) {
    auto it = pids_.find(id);
    if (it == pids_.end()) return;
    kill(it->second, SIGKILL);
    waitpid(it->second, nullptr, 0);
    pids_.erase(it);
  }

  // A leader that every live node recognises, with commit >= min_commit.
  int WaitForLeader(int not_this, uint64_t min_commit, absl::Duration bound) {
    const absl::Time deadline = absl::Now() + bound;
    while (absl::Now() < deadline) {
      for (auto& [id, pid] : pids_) {
        Status s = ReadStatus(Path(id, "status"));
        if (s.ok && s.role == "leader" && id != not_this && s.commit >= min_commit) return id;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    return -1;
  }

  std::vector<std::string> Acked() {
    std::vector<std::string> all;
    for (int id = 1; id <= 3; ++id) {
      std::ifstream in(Path(id, "acked"));
      std::string index, data;
      while (in >> index >> data) all.push_back(data);
    }
    return all;
  }

  std::filesystem::path root_;
  std::string peers_;
  std::map<int, pid_t> pids_;
};

TEST_F(MultiProcessTest, KillLeaderNewLeaderCommitsAndNothingCommittedIsLost) {
  const int first = WaitForLeader(-1, 20, kWaitMax);
  ASSERT_NE(first, -1) << "no leader committing 20 entries within " << kWaitMax;
  uint64_t commit_before = 0;
  for (int id = 1; id <= 3; ++id) {
    commit_before = std::max(commit_before, ReadStatus(Path(id, "status")).commit);
  }
  Kill(first);
  const absl::Time killed = absl::Now();
  const int second = WaitForLeader(first, commit_before + 1, 4 * kElectionTimeoutMax);
  const absl::Duration failover = absl::Now() - killed;
  ASSERT_NE(second, -1) << "no new leader committed after killing leader " << first;
  EXPECT_LE(failover, 2 * kElectionTimeoutMax)
      << "new leader " << second << " committed only after " << failover;
  std::cout << "failover: leader " << first << " killed, leader " << second << " committed after "
            << failover << "\n";

  // Let the new leader commit more, then bring the old leader back.
  ASSERT_NE(WaitForLeader(first, commit_before + 50, kWaitMax), -1) << "no progress after failover";
  Spawn(first);
  const std::vector<std::string> acked = Acked();
  ASSERT_GT(acked.size(), 20u);
  const std::set<std::string> want(acked.begin(), acked.end());
  for (int id = 1; id <= 3; ++id) {
    const absl::Time deadline = absl::Now() + kWaitMax;
    size_t missing = want.size();
    while (absl::Now() < deadline && missing > 0) {
      Status s = ReadStatus(Path(id, "status"));
      const std::set<std::string> have(s.items.begin(), s.items.end());
      missing = 0;
      for (const std::string& a : want) missing += have.count(a) ? 0 : 1;
      if (missing > 0) absl::SleepFor(absl::Milliseconds(20));
    }
    EXPECT_EQ(missing, 0u) << "node " << id << " lacks " << missing << " of " << want.size()
                           << " acknowledged entries";
  }
  // The state machines agree on the order (one history is a prefix of another).
  std::vector<std::vector<std::string>> lists;
  for (int id = 1; id <= 3; ++id) lists.push_back(ReadStatus(Path(id, "status")).items);
  for (size_t a = 0; a < lists.size(); ++a) {
    for (size_t b = a + 1; b < lists.size(); ++b) {
      const size_t n = std::min(lists[a].size(), lists[b].size());
      for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(lists[a][i], lists[b][i]) << "nodes " << a + 1 << " and " << b + 1
                                            << " applied different entries at position " << i;
      }
    }
  }
}

}  // namespace
