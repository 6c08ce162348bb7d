// The four codecs of Kafka's RecordBatch v2, wrapping a batch's records
// section. Wire formats follow what Kafka clients write:
//   gzip    RFC 1952 gzip member (zlib).
//   snappy  xerial framing: 8-byte magic "\x82SNAPPY\0", version and
//           compatible-version int32s, then blocks of [int32 length][raw
//           snappy]. Decompress also accepts a bare raw snappy buffer.
//   lz4     LZ4 frame format (independent 64 KiB blocks, no content size),
//           which Kafka's magic-2 reader and lz4.frame both accept.
//   zstd    a zstd frame.
//
// Decompression is bounded: it stops with InvalidArgument as soon as the
// output would exceed `max_output_bytes`, and never allocates more than
// that, whatever sizes the input claims (compression-bomb protection).
// Truncated or garbled input is InvalidArgument. Thread-safe (stateless).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fjord::storage {

// Values of the low three attribute bits of a RecordBatch.
enum class Compression : int8_t {
  kNone = 0,
  kGzip = 1,
  kSnappy = 2,
  kLz4 = 3,
  kZstd = 4,
};

const char* CompressionName(Compression c);

// Appends `input` compressed with `codec` to `*out`. kNone appends as is.
absl::Status Compress(Compression codec, std::string_view input, std::string* out);

// Replaces `*out` with `input` decompressed by `codec`; at most
// `max_output_bytes` of output.
absl::Status Decompress(Compression codec, std::string_view input, size_t max_output_bytes,
                        std::string* out);

}  // namespace fjord::storage
