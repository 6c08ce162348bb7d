// The domain's numbers, one type each. Kafka's sentinels (-1 for "none") are
// kept where the concept is Kafka's, and named here.
#pragma once

#include <cstdint>

#include "common/strong_int.h"

namespace fjord {

// --- Partition logs (Kafka's vocabulary) ---
// Position of a record in a partition log.
using Offset = StrongInt<struct OffsetTag, int64_t>;
// Generation of a partition's leadership; stamped on every batch.
using LeaderEpoch = StrongInt<struct LeaderEpochTag, int32_t>;
// Version of a partition's controller state (ISR/leader changes); used for
// compare-and-set in AlterPartition.
using PartitionEpoch = StrongInt<struct PartitionEpochTag, int32_t>;
using PartitionId = StrongInt<struct PartitionIdTag, int32_t>;

// --- Cluster membership ---
using BrokerId = StrongInt<struct BrokerIdTag, int32_t>;
// Given by the controller at each registration; fences a broker's old self.
using BrokerEpoch = StrongInt<struct BrokerEpochTag, int64_t>;
// Identity of a controller quorum member (Kafka's node.id).
using NodeId = StrongInt<struct NodeIdTag, int32_t>;

// --- Producers ---
using ProducerId = StrongInt<struct ProducerIdTag, int64_t>;
using ProducerEpoch = StrongInt<struct ProducerEpochTag, int16_t>;

// --- Raft (its own vocabulary: term and index, never epoch and offset) ---
using Term = StrongInt<struct TermTag, uint64_t>;
using LogIndex = StrongInt<struct LogIndexTag, uint64_t>;

inline constexpr Offset kInvalidOffset{-1};
inline constexpr LeaderEpoch kNoLeaderEpoch{-1};
inline constexpr BrokerId kNoBroker{-1};  // Kafka's NO_LEADER / "none".
inline constexpr NodeId kNoNode{-1};
inline constexpr ProducerId kNoProducerId{-1};
inline constexpr ProducerEpoch kNoProducerEpoch{-1};

}  // namespace fjord
