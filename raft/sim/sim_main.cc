// Runs seeded simulations. Seeds come from the command line or environment:
//   --seed=N            replay one seed (add --trace to print every event)
//   --seeds=A..B        run seeds [A, B)
//   FJORD_SIM_SEEDS=A..B the same, for Bazel test targets
//   --broken=NAME       run a deliberately broken variant (forget_vote,
//                       send_before_persist, commit_prior_term,
//                       vote_without_log_check, count_self_before_persist)
//   --keep-going        count failing seeds instead of stopping at the first
// Bazel test sharding (TEST_TOTAL_SHARDS / TEST_SHARD_INDEX) splits the range.
// Exit status 1 on the first failure, whose message names the seed.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <string>

#include "raft/sim/sim_cluster.h"

namespace {

bool ParseRange(const std::string& text, uint64_t* lo, uint64_t* hi) {
  const size_t dots = text.find("..");
  if (dots == std::string::npos) return false;
  *lo = std::stoull(text.substr(0, dots));
  *hi = std::stoull(text.substr(dots + 2));
  return *lo < *hi;
}

}  // namespace

int main(int argc, char** argv) {
  using fjord::raft::sim::SimCluster;
  using fjord::raft::sim::SimOptions;
  uint64_t lo = 0;
  uint64_t hi = 100;
  bool trace = false;
  bool keep_going = false;
  fjord::raft::sim::Broken broken = fjord::raft::sim::Broken::kNone;
  const std::map<std::string, fjord::raft::sim::Broken> kBroken = {
      {"forget_vote", fjord::raft::sim::Broken::kForgetVoteOnRestart},
      {"send_before_persist", fjord::raft::sim::Broken::kSendBeforePersist},
      {"commit_prior_term", fjord::raft::sim::Broken::kCommitPriorTermByCount},
      {"vote_without_log_check", fjord::raft::sim::Broken::kVoteWithoutLogCheck},
      {"count_self_before_persist", fjord::raft::sim::Broken::kCountSelfBeforePersist},
  };
  if (const char* env = std::getenv("FJORD_SIM_SEEDS")) {
    if (!ParseRange(env, &lo, &hi)) {
      std::cerr << "bad FJORD_SIM_SEEDS=" << env << " (want A..B)\n";
      return 2;
    }
  }
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--seed=", 0) == 0) {
      lo = std::stoull(arg.substr(7));
      hi = lo + 1;
    } else if (arg.rfind("--seeds=", 0) == 0) {
      if (!ParseRange(arg.substr(8), &lo, &hi)) {
        std::cerr << "bad " << arg << " (want A..B)\n";
        return 2;
      }
    } else if (arg == "--trace") {
      trace = true;
    } else if (arg == "--keep-going") {
      keep_going = true;
    } else if (arg.rfind("--broken=", 0) == 0) {
      auto it = kBroken.find(arg.substr(9));
      if (it == kBroken.end()) {
        std::cerr << "unknown " << arg << "\n";
        return 2;
      }
      broken = it->second;
    } else {
      std::cerr << "unknown argument " << arg << "\n";
      return 2;
    }
  }
  uint64_t shards = 1;
  uint64_t shard = 0;
  if (const char* n = std::getenv("TEST_TOTAL_SHARDS")) shards = std::stoull(n);
  if (const char* i = std::getenv("TEST_SHARD_INDEX")) shard = std::stoull(i);
  if (const char* f = std::getenv("TEST_SHARD_STATUS_FILE")) {
    if (FILE* touch = std::fopen(f, "w")) std::fclose(touch);
  }

  const auto start = std::chrono::steady_clock::now();
  uint64_t runs = 0;
  uint64_t events = 0;
  uint64_t committed = 0;
  uint64_t failed = 0;
  for (uint64_t seed = lo + shard; seed < hi; seed += shards) {
    SimOptions options = SimOptions::FromSeed(seed);
    options.trace = trace;
    options.broken = broken;
    SimCluster cluster(options);
    absl::Status status = cluster.Run();
    if (!status.ok()) {
      std::cerr << "FAILED " << status.message() << "\n";
      if (!keep_going) return 1;
      ++failed;
      continue;
    }
    ++runs;
    events += cluster.stats().events;
    committed += cluster.stats().committed;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "passed " << runs << " seeds in [" << lo << ", " << hi << ") shard " << shard << "/"
            << shards << ": " << events << " events, " << committed << " entries committed, "
            << seconds << " s\n";
  if (failed > 0) {
    std::cout << failed << " seeds failed\n";
    return 1;
  }
  return 0;
}
