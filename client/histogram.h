// A log-bucketed latency histogram in the style of HdrHistogram (no Debian
// package exists). Values are unsigned 64-bit (Fjord records microseconds).
//
// Layout: values below 2^kSubBucketBits are counted exactly; above that, each
// power-of-two range [2^n, 2^(n+1)) is split into 2^(kSubBucketBits-1) equal
// sub-buckets. Any recorded value is therefore reported within a relative
// error of 2^-(kSubBucketBits-1) (under 1.6% with 7 bits; typically far less),
// in fixed memory (3,776 counters, ~30 KiB) whatever the range.
//
// Not thread-safe: one owner records; combine per-thread histograms with Merge.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace fjord::client {

class Histogram {
 public:
  static constexpr int kSubBucketBits = 7;
  static constexpr uint64_t kSubBucketCount = uint64_t{1} << kSubBucketBits;  // 128
  static constexpr uint64_t kSubBucketHalf = kSubBucketCount / 2;             // 64
  static constexpr int kBucketCount = 64 - kSubBucketBits + 1;                // 58
  static constexpr size_t kCounterCount = (kBucketCount + 1) * kSubBucketHalf;

  void Record(uint64_t value) { RecordN(value, 1); }
  void RecordN(uint64_t value, uint64_t count);
  void Merge(const Histogram& other);
  void Reset();

  uint64_t Count() const { return count_; }
  uint64_t Min() const { return count_ == 0 ? 0 : min_; }
  uint64_t Max() const { return max_; }
  double Mean() const;
  // The value at `percentile` (0..100]: the smallest recorded value such that
  // at least `percentile`% of values are <= it, reported as the upper end of
  // its sub-bucket (never above Max()). 0 when empty.
  uint64_t ValueAtPercentile(double percentile) const;

  // Bucket arithmetic, exposed for tests.
  static size_t IndexOf(uint64_t value);
  static uint64_t HighestEquivalent(size_t index);
  static uint64_t LowestEquivalent(size_t index);

 private:
  std::array<uint64_t, kCounterCount> counts_{};
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  // Sum as long double: 2^64 values of 2^64 would overflow uint64.
  long double sum_ = 0;
};

}  // namespace fjord::client
