// Runs seeded controller simulations (controller_sim.h).
//   --seed=N                   replay one seed (add --trace to print events)
//   --seeds=A..B               run seeds [A, B)
//   --voters=N                 controllers (default 3)
//   --broken=ack-on-append|standby-skips-partition-change
//                              a deliberately broken variant (expect failures)
//   --no-nudge                 no NoOp behind a stalled write (shows a raft/
//                              liveness issue, e.g. --seed=353)
//   FJORD_SIM_SEEDS=A..B       the seed range, for Bazel test targets
// Bazel test sharding (TEST_TOTAL_SHARDS / TEST_SHARD_INDEX) splits the range.
// Exit status 1 on the first failure, whose message names the seed.
#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "common/seed_range.h"
#include "controller/sim/controller_sim.h"

int main(int argc, char** argv) {
  using fjord::controller::sim::Broken;
  using fjord::controller::sim::ControllerSim;
  using fjord::controller::sim::SimOptions;
  fjord::SeedRange seeds;
  SimOptions base;
  absl::StatusOr<std::vector<std::string>> args = seeds.Parse(argc, argv);
  if (!args.ok()) {
    std::cerr << args.status().message() << "\n";
    return 2;
  }
  for (const std::string& arg : *args) {
    if (arg.rfind("--voters=", 0) == 0) {
      base.voters = std::stoi(arg.substr(9));
    } else if (arg == "--broken=ack-on-append") {
      base.broken = Broken::kAckOnAppend;
    } else if (arg == "--broken=standby-skips-partition-change") {
      base.broken = Broken::kStandbySkipsPartitionChange;
    } else if (arg == "--no-nudge") {
      base.stalled_write_nudge_us = 0;
    } else if (arg == "--trace") {
      base.trace = true;
    } else {
      std::cerr << "unknown argument " << arg << "\n";
      return 2;
    }
  }

  const auto start = std::chrono::steady_clock::now();
  uint64_t runs = 0;
  fjord::controller::sim::SimStats total;
  for (uint64_t seed = seeds.first(); seed < seeds.hi; seed += seeds.shards) {
    SimOptions options = base;
    options.seed = seed;
    ControllerSim sim(options);
    absl::Status status = sim.Run();
    if (!status.ok()) {
      std::cerr << "FAILED " << status.message() << "\n";
      return 1;
    }
    ++runs;
    total.events += sim.stats().events;
    total.committed += sim.stats().committed;
    total.writes_acked += sim.stats().writes_acked;
    total.writes_failed += sim.stats().writes_failed;
    total.crashes += sim.stats().crashes;
    total.controlled_shutdowns += sim.stats().controlled_shutdowns;
    total.fenced += sim.stats().fenced;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "passed " << runs << " seeds in [" << seeds.lo << ", " << seeds.hi << ") with "
            << base.voters << " controllers, shard " << seeds.shard << "/" << seeds.shards << ": "
            << total.events << " events, " << total.committed << " entries committed, "
            << total.writes_acked << " writes acknowledged, " << total.writes_failed
            << " failed or unanswered, " << total.crashes << " controller crashes, "
            << total.controlled_shutdowns << " controlled shutdowns, " << total.fenced
            << " brokers fenced at the end; " << seconds << " s\n";
  return 0;
}
