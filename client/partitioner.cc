#include "client/partitioner.h"

#include "common/assert.h"

namespace fjord::client {

int32_t Murmur2(std::string_view key) {
  // Unsigned arithmetic gives the same bits as Java's wrapping int math.
  const uint32_t seed = 0x9747b28c;
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const uint32_t length = static_cast<uint32_t>(key.size());
  uint32_t h = seed ^ length;

  const uint32_t length4 = length / 4;
  for (uint32_t i = 0; i < length4; ++i) {
    const uint32_t i4 = i * 4;
    uint32_t k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) |
                 (static_cast<uint32_t>(data[i4 + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }

  // The tail, as Java's fall-through switch does.
  const uint32_t tail = length & ~3u;
  switch (length % 4) {
    case 3:
      h ^= static_cast<uint32_t>(data[tail + 2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint32_t>(data[tail + 1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= data[tail];
      h *= m;
  }

  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int32_t PartitionForKey(std::string_view key, int32_t num_partitions) {
  FJORD_CHECK(num_partitions > 0);
  // Kafka's Utils.toPositive: clear the sign bit (not abs()).
  const uint32_t positive = static_cast<uint32_t>(Murmur2(key)) & 0x7fffffffu;
  return static_cast<int32_t>(positive % static_cast<uint32_t>(num_partitions));
}

int32_t StickyPartitioner::Partition(int32_t num_partitions) {
  FJORD_CHECK(num_partitions > 0);
  if (current_ < 0 || current_ >= num_partitions) {
    current_ = static_cast<int32_t>(random_.Uniform(static_cast<uint64_t>(num_partitions)));
  }
  return current_;
}

void StickyPartitioner::OnNewBatch(int32_t partition, int32_t num_partitions) {
  if (partition != current_ || num_partitions <= 1) return;
  // Pick uniformly among the other partitions.
  const auto offset = static_cast<int32_t>(random_.Uniform(num_partitions - 1)) + 1;
  current_ = (current_ + offset) % num_partitions;
}

}  // namespace fjord::client
