#include "client/histogram.h"

#include <algorithm>
#include <cmath>

#include "common/assert.h"

namespace fjord::client {
namespace {

// Which power-of-two bucket `value` is in; bucket 0 holds [0, kSubBucketCount).
int BucketOf(uint64_t value) {
  const int magnitude = 63 - __builtin_clzll(value | (Histogram::kSubBucketCount - 1));
  return magnitude - (Histogram::kSubBucketBits - 1);
}

}  // namespace

size_t Histogram::IndexOf(uint64_t value) {
  const int bucket = BucketOf(value);
  const uint64_t sub = value >> bucket;  // in [half, count) for bucket > 0
  return static_cast<size_t>(bucket) * kSubBucketHalf + sub;
}

uint64_t Histogram::LowestEquivalent(size_t index) {
  if (index < kSubBucketCount) return index;
  const int bucket = static_cast<int>(index / kSubBucketHalf) - 1;
  const uint64_t sub = index - static_cast<uint64_t>(bucket) * kSubBucketHalf;
  return sub << bucket;
}

uint64_t Histogram::HighestEquivalent(size_t index) {
  if (index < kSubBucketCount) return index;
  const int bucket = static_cast<int>(index / kSubBucketHalf) - 1;
  return LowestEquivalent(index) + ((uint64_t{1} << bucket) - 1);
}

void Histogram::RecordN(uint64_t value, uint64_t count) {
  if (count == 0) return;
  const size_t index = IndexOf(value);
  FJORD_DCHECK(index < kCounterCount) << "value " << value;
  counts_[index] += count;
  count_ += count;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += static_cast<long double>(value) * count;
}

void Histogram::Merge(const Histogram& other) {
  for (size_t i = 0; i < kCounterCount; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void Histogram::Reset() { *this = Histogram(); }

double Histogram::Mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

uint64_t Histogram::ValueAtPercentile(double percentile) const {
  if (count_ == 0) return 0;
  percentile = std::clamp(percentile, 0.0, 100.0);
  // The rank of the value asked for, 1-based; at least the first value.
  uint64_t rank = static_cast<uint64_t>(std::ceil(percentile / 100.0 * count_));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kCounterCount; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(HighestEquivalent(i), max_);
  }
  return max_;
}

}  // namespace fjord::client
