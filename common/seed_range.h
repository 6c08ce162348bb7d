// SeedRange: which seeds a simulation binary runs (raft/sim, controller/sim),
// from the same flags and environment everywhere:
//   --seed=N              one seed (replay)
//   --seeds=A..B          seeds [A, B)
//   FJORD_SIM_SEEDS=A..B  the same, for Bazel test targets (flags win)
// and Bazel's test sharding (TEST_TOTAL_SHARDS, TEST_SHARD_INDEX), which
// splits the range: shard i runs A+i, A+i+shards, ...
//
// Usage:
//   SeedRange seeds;
//   absl::StatusOr<std::vector<std::string>> rest = seeds.Parse(argc, argv);
//   ... the binary's own flags in *rest ...
//   for (uint64_t seed = seeds.first(); seed < seeds.hi; seed += seeds.shards) ...
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fjord {

struct SeedRange {
  uint64_t lo = 0;
  uint64_t hi = 100;  // Exclusive.
  uint64_t shards = 1;
  uint64_t shard = 0;

  uint64_t first() const { return lo + shard; }

  // All of the below in order: FJORD_SIM_SEEDS, the seed flags among
  // argv[1..], Bazel's sharding. Returns the other arguments, in order.
  absl::StatusOr<std::vector<std::string>> Parse(int argc, const char* const* argv);

  // FJORD_SIM_SEEDS, if set.
  absl::Status ReadEnvironment();
  // True if `arg` is --seed= or --seeds= (then `*status` says whether it
  // parsed); false for any other argument.
  bool ParseFlag(const std::string& arg, absl::Status* status);
  // Bazel's sharding variables; touches TEST_SHARD_STATUS_FILE to tell
  // Bazel the binary shards.
  void ReadSharding();
};

// "A..B" with A < B.
bool ParseSeedInterval(const std::string& text, uint64_t* lo, uint64_t* hi);

}  // namespace fjord
