#include "common/crc32c.h"

#include <isa-l.h>

namespace fjord {

uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t size) {
  // ISA-L's crc32_iscsi neither pre- nor post-inverts; the standard CRC32C
  // inverts both, so the running state is the complement of the finished CRC.
  // ISA-L takes a non-const pointer but does not write through it.
  auto* bytes = static_cast<unsigned char*>(const_cast<void*>(data));
  return ~crc32_iscsi(bytes, static_cast<int>(size), ~crc);
}

uint32_t Crc32c(const void* data, size_t size) { return Crc32cExtend(0, data, size); }

}  // namespace fjord
