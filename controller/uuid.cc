#include "controller/uuid.h"

namespace fjord::controller {

Uuid Uuid::Random(fjord::Random& random) {
  while (true) {
    Uuid id{random.Next(), random.Next()};
    // RFC 4122 version 4, variant 1, as java.util.UUID.randomUUID() (which
    // Kafka's Uuid.randomUuid() wraps) produces.
    id.high = (id.high & ~0xF000ULL) | 0x4000ULL;
    id.low = (id.low & ~(0xC0ULL << 56)) | (0x80ULL << 56);
    if (!id.IsZero() && id != Reserved()) return id;
  }
}

v1::Uuid Uuid::ToProto() const {
  v1::Uuid out;
  ToProto(&out);
  return out;
}

std::string Uuid::ToString() const {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char bytes[16];
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<unsigned char>(high >> (56 - 8 * i));
    bytes[8 + i] = static_cast<unsigned char>(low >> (56 - 8 * i));
  }
  std::string out;
  out.reserve(22);
  int i = 0;
  for (; i + 3 <= 16; i += 3) {
    uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  // One byte left (16 = 5 * 3 + 1): two characters, no padding.
  uint32_t v = bytes[i] << 16;
  out += kAlphabet[(v >> 18) & 63];
  out += kAlphabet[(v >> 12) & 63];
  return out;
}

}  // namespace fjord::controller
