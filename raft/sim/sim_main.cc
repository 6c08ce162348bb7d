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
#include <cstdint>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "common/seed_range.h"
#include "raft/sim/sim_cluster.h"

int main(int argc, char** argv) {
  using fjord::raft::sim::SimCluster;
  using fjord::raft::sim::SimOptions;
  fjord::SeedRange seeds;
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
  absl::StatusOr<std::vector<std::string>> args = seeds.Parse(argc, argv);
  if (!args.ok()) {
    std::cerr << args.status().message() << "\n";
    return 2;
  }
  for (const std::string& arg : *args) {
    if (arg == "--trace") {
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

  const auto start = std::chrono::steady_clock::now();
  uint64_t runs = 0;
  uint64_t events = 0;
  uint64_t committed = 0;
  uint64_t failed = 0;
  for (uint64_t seed = seeds.first(); seed < seeds.hi; seed += seeds.shards) {
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
  std::cout << "passed " << runs << " seeds in [" << seeds.lo << ", " << seeds.hi << ") shard "
            << seeds.shard << "/" << seeds.shards << ": " << events << " events, " << committed
            << " entries committed, " << seconds << " s\n";
  if (failed > 0) {
    std::cout << failed << " seeds failed\n";
    return 1;
  }
  return 0;
}
