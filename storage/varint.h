// Kafka's variable-length integers, as used inside RecordBatch v2 records:
// zigzag-encoded, 7 bits per byte, least significant group first, high bit
// set on every byte but the last (protobuf's sint32/sint64 wire format).
//
// Decoding is defensive: input comes from the network and from disk. A
// varint longer than 5 bytes (varlong: 10) or one that runs off the end of
// the buffer is an InvalidArgument, never a crash or an over-read.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace fjord::storage {

inline constexpr int kMaxVarintBytes = 5;
inline constexpr int kMaxVarlongBytes = 10;

// Appends zigzag(v) as a varint / varlong.
void AppendVarint(std::string* out, int32_t v);
void AppendVarlong(std::string* out, int64_t v);

// Bytes AppendVarint(v) / AppendVarlong(v) would write.
int VarintSize(int32_t v);
int VarlongSize(int64_t v);

// Reads one varint / varlong from the front of `*in` and advances `*in`
// past it. On error `*in` is unspecified.
absl::StatusOr<int32_t> ReadVarint(std::string_view* in);
absl::StatusOr<int64_t> ReadVarlong(std::string_view* in);

}  // namespace fjord::storage
