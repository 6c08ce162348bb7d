#include "storage/varint.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fjord::storage {
namespace {

void AppendUnsigned(std::string* out, uint64_t u) {
  char buf[kMaxVarlongBytes];
  int n = 0;
  while (u >= 0x80) {
    buf[n++] = static_cast<char>((u & 0x7f) | 0x80);
    u >>= 7;
  }
  buf[n++] = static_cast<char>(u);
  out->append(buf, n);
}

int UnsignedSize(uint64_t u) {
  int n = 1;
  while (u >= 0x80) {
    u >>= 7;
    ++n;
  }
  return n;
}

absl::StatusOr<uint64_t> ReadUnsigned(std::string_view* in, int max_bytes, const char* what) {
  uint64_t result = 0;
  for (int i = 0; i < max_bytes; ++i) {
    if (static_cast<size_t>(i) >= in->size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " runs past the end of the buffer after ", i, " bytes"));
    }
    const uint8_t b = static_cast<uint8_t>((*in)[i]);
    result |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      // The last byte of a 5-byte varint may only carry 4 more bits (32 in
      // total); of a 10-byte varlong only 1 more bit (64 in total).
      const int used_bits = 7 * i;
      const int width = max_bytes == kMaxVarintBytes ? 32 : 64;
      if (used_bits + 7 > width && (b >> (width - used_bits)) != 0) {
        return absl::InvalidArgumentError(absl::StrCat(what, " overflows ", width, " bits"));
      }
      in->remove_prefix(i + 1);
      return result;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat(what, " is longer than ", max_bytes, " bytes (overflow)"));
}

}  // namespace

void AppendVarint(std::string* out, int32_t v) {
  AppendUnsigned(out, (static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31));
}

void AppendVarlong(std::string* out, int64_t v) {
  AppendUnsigned(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

int VarintSize(int32_t v) {
  return UnsignedSize((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31));
}

int VarlongSize(int64_t v) {
  return UnsignedSize((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

absl::StatusOr<int32_t> ReadVarint(std::string_view* in) {
  absl::StatusOr<uint64_t> u = ReadUnsigned(in, kMaxVarintBytes, "varint");
  if (!u.ok()) return u.status();
  const uint32_t z = static_cast<uint32_t>(*u);
  return static_cast<int32_t>((z >> 1) ^ (~(z & 1) + 1));
}

absl::StatusOr<int64_t> ReadVarlong(std::string_view* in) {
  absl::StatusOr<uint64_t> u = ReadUnsigned(in, kMaxVarlongBytes, "varlong");
  if (!u.ok()) return u.status();
  return static_cast<int64_t>((*u >> 1) ^ (~(*u & 1) + 1));
}

}  // namespace fjord::storage
