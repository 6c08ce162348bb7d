// Which __consumer_offsets partition coordinates a group: Kafka's
// Utils.abs(groupId.hashCode()) % offsets.topic.num.partitions, with Java's
// String.hashCode over UTF-16 code units, so a group maps to the same
// partition number as it would in Kafka.
#pragma once

#include <cstdint>
#include <string_view>

namespace fjord::group {

inline constexpr char kOffsetsTopic[] = "__consumer_offsets";

// Java's String.hashCode() of `utf8` (decoded to UTF-16; invalid bytes count
// as U+FFFD, as Java's decoder would replace them).
int32_t JavaStringHashCode(std::string_view utf8);

// abs(hash) % partitions, with Kafka's Utils.abs (MIN_VALUE -> 0).
int32_t CoordinatorPartition(std::string_view group_id, int32_t partitions);

}  // namespace fjord::group
