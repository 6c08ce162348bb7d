// Randomness as an injected dependency. Deterministic code takes a Random&;
// a simulation seeds it and replays bit for bit.
//
// Only raw engine output is used (no <random> distributions, whose results
// differ between standard libraries).
#pragma once

#include <cstdint>

namespace fjord {

class Random {
 public:
  virtual ~Random() = default;
  // 64 uniformly random bits.
  virtual uint64_t Next() = 0;

  // Uniform in [0, n); n > 0. Unbiased (rejection sampling).
  uint64_t Uniform(uint64_t n);
  // Uniform in [lo, hi]; lo <= hi.
  int64_t UniformRange(int64_t lo, int64_t hi);
  // True with probability 1/n.
  bool OneIn(uint64_t n) { return Uniform(n) == 0; }
  // Uniform in [0, 1).
  double NextDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
};

// xoshiro256** seeded through splitmix64. Not thread-safe: one per owner.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed);
  uint64_t Next() override;

 private:
  uint64_t s_[4];
};

// A SeededRandom seeded from the operating system, for production use.
SeededRandom MakeSystemSeededRandom();

}  // namespace fjord
