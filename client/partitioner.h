// Kafka's default partitioning, bit for bit, so a keyed record lands on the
// same partition in Fjord as with Kafka's Java client (and librdkafka's
// "murmur2_random" partitioner).
//
//   keyed:   partition = (Murmur2(key) & 0x7fffffff) % num_partitions
//   keyless: sticky: one partition per batch, changed when a batch is sent.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/random.h"

namespace fjord::client {

// Kafka's Utils.murmur2: MurmurHash2, seed 0x9747b28c, 32-bit.
int32_t Murmur2(std::string_view key);

// Kafka's BuiltInPartitioner.partitionForKey. num_partitions > 0.
int32_t PartitionForKey(std::string_view key, int32_t num_partitions);

// Kafka's sticky partitioner for records without a key: every keyless record
// goes to the same partition until the producer finishes a batch for it, then
// a new partition is chosen at random (different from the last when there is
// more than one). One per topic; not thread-safe (the producer's accumulator
// owns it under its lock).
class StickyPartitioner {
 public:
  explicit StickyPartitioner(Random& random) : random_(random) {}

  // The partition for the next keyless record.
  int32_t Partition(int32_t num_partitions);
  // A batch for `partition` was completed: move on if it was the sticky one.
  void OnNewBatch(int32_t partition, int32_t num_partitions);

 private:
  Random& random_;
  int32_t current_ = -1;
};

}  // namespace fjord::client
