// ReplicaPlacer: automatic replica placement for new partitions.
//
// The algorithm is Kafka's rack-aware round-robin (AdminUtils
// assignReplicasToBrokersRackAware, from which StripedReplicaPlacer
// descends):
//   1. Brokers are grouped by rack and interleaved into one list that
//      alternates racks (r1b1, r2b1, r3b1, r1b2, ...); racks and brokers
//      within a rack are first shuffled with the injected Random.
//   2. Partition p's first replica (its preferred leader) is list[(start + p)
//      % n], so leaders stripe evenly over brokers.
//   3. Further replicas follow at a shift from the first that grows every n
//      partitions, skipping brokers already chosen and, while some rack has
//      no replica yet, brokers of racks that already have one.
// Without racks (all brokers rack "") step 3 simply spreads over brokers.
//
// Deterministic given the Random's state. Pure otherwise.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/random.h"
#include "common/types.h"

namespace fjord::controller {

struct PlacementBroker {
  BrokerId id;
  std::string rack;  // "" = none
};

// Replica lists (preferred leader first) for `num_partitions` new partitions
// of `replication_factor` replicas on `brokers` (the usable brokers, any
// order). Fails with INVALID_REPLICATION_FACTOR if there are fewer brokers
// than replicas. Callers validate that both counts are positive.
absl::StatusOr<std::vector<std::vector<BrokerId>>> PlaceReplicas(
    std::vector<PlacementBroker> brokers, int32_t num_partitions, int32_t replication_factor,
    Random& random);

}  // namespace fjord::controller
