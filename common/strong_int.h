// StrongInt<Tag, T>: a distinct integer type per domain concept, so an offset
// can never be passed where a leader epoch is expected.
//
//   using Offset = StrongInt<struct OffsetTag, int64_t>;
//   Offset next = last + 1;            // arithmetic with plain integers
//   int64_t gap = end - start;         // the difference of two is a plain count
//   Offset bad = epoch;                // does not compile
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>
#include <type_traits>

#include "fmt/format.h"

namespace fjord {

template <typename Tag, typename T>
class StrongInt {
  static_assert(std::is_integral_v<T>);

 public:
  using ValueType = T;

  constexpr StrongInt() = default;
  constexpr explicit StrongInt(T value) : value_(value) {}

  constexpr T value() const { return value_; }

  friend constexpr auto operator<=>(StrongInt, StrongInt) = default;
  friend constexpr bool operator==(StrongInt, StrongInt) = default;

  constexpr StrongInt operator+(T delta) const { return StrongInt(value_ + delta); }
  constexpr StrongInt operator-(T delta) const { return StrongInt(value_ - delta); }
  constexpr T operator-(StrongInt other) const { return value_ - other.value_; }
  constexpr StrongInt& operator+=(T delta) {
    value_ += delta;
    return *this;
  }
  constexpr StrongInt& operator-=(T delta) {
    value_ -= delta;
    return *this;
  }
  constexpr StrongInt& operator++() {
    ++value_;
    return *this;
  }
  constexpr StrongInt operator++(int) { return StrongInt(value_++); }
  constexpr StrongInt& operator--() {
    --value_;
    return *this;
  }

  template <typename H>
  friend H AbslHashValue(H h, StrongInt v) {
    return H::combine(std::move(h), v.value_);
  }
  friend std::ostream& operator<<(std::ostream& os, StrongInt v) { return os << v.value_; }

 private:
  T value_{};
};

}  // namespace fjord

template <typename Tag, typename T>
struct std::hash<fjord::StrongInt<Tag, T>> {
  size_t operator()(fjord::StrongInt<Tag, T> v) const { return std::hash<T>()(v.value()); }
};

template <typename Tag, typename T>
struct fmt::formatter<fjord::StrongInt<Tag, T>> : fmt::formatter<T> {
  template <typename FormatContext>
  auto format(fjord::StrongInt<Tag, T> v, FormatContext& ctx) const {
    return fmt::formatter<T>::format(v.value(), ctx);
  }
};
