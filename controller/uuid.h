// Uuid: Kafka's 128-bit id (topic ids, broker incarnation ids) as a value
// type. The proto form is fjord.v1.Uuid; this type adds ordering, hashing and
// Kafka's base64url rendering so maps of topics can be keyed by it.
//
// Zero is "no id"; {0, 1} is reserved (Kafka's METADATA_TOPIC_ID) and never
// generated.
#pragma once

#include <compare>
#include <cstdint>
#include <ostream>
#include <string>

#include "common/random.h"
#include "proto/fjord/v1/common.pb.h"

namespace fjord::controller {

struct Uuid {
  uint64_t high = 0;
  uint64_t low = 0;

  static constexpr Uuid Zero() { return Uuid{0, 0}; }
  // Kafka's METADATA_TOPIC_ID; reserved.
  static constexpr Uuid Reserved() { return Uuid{0, 1}; }

  // A random version-4 id that is neither Zero() nor Reserved().
  static Uuid Random(fjord::Random& random);
  static Uuid FromProto(const v1::Uuid& proto) { return Uuid{proto.high(), proto.low()}; }

  bool IsZero() const { return high == 0 && low == 0; }
  v1::Uuid ToProto() const;
  void ToProto(v1::Uuid* out) const {
    out->set_high(high);
    out->set_low(low);
  }
  // Base64url without padding (22 characters), as Kafka prints ids.
  std::string ToString() const;

  friend constexpr auto operator<=>(const Uuid&, const Uuid&) = default;
  friend constexpr bool operator==(const Uuid&, const Uuid&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const Uuid& u) {
    return H::combine(std::move(h), u.high, u.low);
  }
  friend std::ostream& operator<<(std::ostream& os, const Uuid& u) { return os << u.ToString(); }
};

}  // namespace fjord::controller
