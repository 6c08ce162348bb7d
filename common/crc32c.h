// CRC32C (Castagnoli), the checksum of Kafka's RecordBatch v2 and of Fjord's
// own on-disk files. Backed by ISA-L's crc32_iscsi (SSE4.2/PCLMUL assembly
// with a portable fallback chosen at run time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace fjord {

// CRC32C of `size` bytes at `data`.
uint32_t Crc32c(const void* data, size_t size);
inline uint32_t Crc32c(std::string_view bytes) { return Crc32c(bytes.data(), bytes.size()); }

// Continues `crc` (a finished CRC32C of earlier bytes) over more bytes:
// Crc32cExtend(Crc32c(a), b) == Crc32c(a + b).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t size);

}  // namespace fjord
