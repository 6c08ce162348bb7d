// Big-endian (network order) loads and stores, the byte order of every
// fixed-width field in Kafka's RecordBatch and in Fjord's index files.
// Unaligned access is fine: these go through memcpy.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace fjord::storage {

inline uint16_t LoadBe16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof(v));
  return __builtin_bswap16(v);
}
inline uint32_t LoadBe32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return __builtin_bswap32(v);
}
inline uint64_t LoadBe64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return __builtin_bswap64(v);
}

inline void StoreBe16(char* p, uint16_t v) {
  v = __builtin_bswap16(v);
  std::memcpy(p, &v, sizeof(v));
}
inline void StoreBe32(char* p, uint32_t v) {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, sizeof(v));
}
inline void StoreBe64(char* p, uint64_t v) {
  v = __builtin_bswap64(v);
  std::memcpy(p, &v, sizeof(v));
}

inline void AppendBe16(std::string* out, uint16_t v) {
  char b[2];
  StoreBe16(b, v);
  out->append(b, 2);
}
inline void AppendBe32(std::string* out, uint32_t v) {
  char b[4];
  StoreBe32(b, v);
  out->append(b, 4);
}
inline void AppendBe64(std::string* out, uint64_t v) {
  char b[8];
  StoreBe64(b, v);
  out->append(b, 8);
}

}  // namespace fjord::storage
