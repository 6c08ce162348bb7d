#include "broker/group/coordinator_partition.h"

#include <cstdint>

namespace fjord::group {
namespace {

// Decodes one UTF-8 code point at `s[*i]`, advancing *i; U+FFFD when invalid.
uint32_t NextCodePoint(std::string_view s, size_t* i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(*i);
  int extra = 0;
  uint32_t cp = 0;
  if (b0 < 0x80) {
    ++*i;
    return b0;
  } else if ((b0 & 0xe0) == 0xc0) {
    extra = 1, cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    extra = 2, cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    extra = 3, cp = b0 & 0x07;
  } else {
    ++*i;
    return 0xfffd;
  }
  if (*i + extra >= s.size()) {  // Truncated sequence.
    ++*i;
    return 0xfffd;
  }
  for (int k = 1; k <= extra; ++k) {
    if ((byte(*i + k) & 0xc0) != 0x80) {
      ++*i;
      return 0xfffd;
    }
    cp = (cp << 6) | (byte(*i + k) & 0x3f);
  }
  *i += extra + 1;
  return cp;
}

}  // namespace

int32_t JavaStringHashCode(std::string_view utf8) {
  uint32_t h = 0;  // Java int arithmetic wraps; unsigned makes that defined.
  size_t i = 0;
  while (i < utf8.size()) {
    const uint32_t cp = NextCodePoint(utf8, &i);
    if (cp >= 0x10000) {
      const uint32_t v = cp - 0x10000;
      h = 31 * h + (0xd800 + (v >> 10));
      h = 31 * h + (0xdc00 + (v & 0x3ff));
    } else {
      h = 31 * h + cp;
    }
  }
  return static_cast<int32_t>(h);
}

int32_t CoordinatorPartition(std::string_view group_id, int32_t partitions) {
  const int32_t h = JavaStringHashCode(group_id);
  const int32_t abs = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
  return abs % partitions;
}

}  // namespace fjord::group
