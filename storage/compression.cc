#include "storage/compression.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "storage/byte_order.h"

namespace fjord::storage {
namespace {

constexpr char kXerialMagic[8] = {'\x82', 'S', 'N', 'A', 'P', 'P', 'Y', '\0'};
constexpr size_t kXerialHeaderSize = 16;        // magic + version + compatible version.
constexpr size_t kXerialBlockSize = 32 * 1024;  // xerial's (and Kafka's) default.
// Output grows in chunks of this size, so memory tracks real output only.
constexpr size_t kOutputChunk = 64 * 1024;

absl::Status TooBig(Compression codec, size_t limit) {
  return absl::InvalidArgumentError(absl::StrCat(
      CompressionName(codec), " payload decompresses to more than the limit of ", limit, " bytes"));
}

// Grows `out` by up to one chunk, never beyond `limit`; false when full.
bool Grow(std::string* out, size_t used, size_t limit) {
  if (used >= limit) return false;
  out->resize(std::min(limit, used + kOutputChunk));
  return true;
}

absl::Status GzipCompress(std::string_view in, std::string* out) {
  z_stream zs{};
  // 15 window bits + 16: write a gzip header and trailer.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return absl::InternalError("deflateInit2 failed");
  }
  const size_t start = out->size();
  out->resize(start + deflateBound(&zs, in.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = in.size();
  zs.next_out = reinterpret_cast<Bytef*>(out->data() + start);
  zs.avail_out = out->size() - start;
  const int rc = deflate(&zs, Z_FINISH);
  const size_t produced = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return absl::InternalError("gzip deflate did not finish");
  out->resize(start + produced);
  return absl::OkStatus();
}

absl::Status GzipDecompress(std::string_view in, size_t limit, std::string* out) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return absl::InternalError("inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = in.size();
  size_t used = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (used == out->size() && !Grow(out, used, limit)) {
      inflateEnd(&zs);
      return TooBig(Compression::kGzip, limit);
    }
    zs.next_out = reinterpret_cast<Bytef*>(out->data() + used);
    zs.avail_out = out->size() - used;
    rc = inflate(&zs, Z_NO_FLUSH);
    used = out->size() - zs.avail_out;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // Input ended early.
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) break;
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    return absl::InvalidArgumentError(
        absl::StrCat("gzip payload is truncated or corrupt (zlib code ", rc, ")"));
  }
  out->resize(used);
  return absl::OkStatus();
}

absl::Status SnappyCompress(std::string_view in, std::string* out) {
  out->append(kXerialMagic, sizeof(kXerialMagic));
  AppendBe32(out, 1);  // version
  AppendBe32(out, 1);  // minimum compatible version
  std::string block;
  for (size_t pos = 0; pos < in.size(); pos += kXerialBlockSize) {
    const size_t n = std::min(kXerialBlockSize, in.size() - pos);
    block.clear();
    snappy::Compress(in.data() + pos, n, &block);
    AppendBe32(out, block.size());
    out->append(block);
  }
  return absl::OkStatus();
}

// Appends one raw snappy buffer's output, checking its claimed length
// against the remaining budget before allocating.
absl::Status SnappyRawAppend(std::string_view in, size_t limit, std::string* out) {
  size_t claimed = 0;
  if (!snappy::GetUncompressedLength(in.data(), in.size(), &claimed)) {
    return absl::InvalidArgumentError("snappy payload has a corrupt length preamble");
  }
  if (claimed > limit - out->size()) return TooBig(Compression::kSnappy, limit);
  const size_t start = out->size();
  out->resize(start + claimed);
  if (!snappy::RawUncompress(in.data(), in.size(), out->data() + start)) {
    return absl::InvalidArgumentError("snappy payload is truncated or corrupt");
  }
  return absl::OkStatus();
}

absl::Status SnappyDecompress(std::string_view in, size_t limit, std::string* out) {
  out->clear();
  if (in.size() < kXerialHeaderSize || std::string_view(in.data(), sizeof(kXerialMagic)) !=
                                           std::string_view(kXerialMagic, sizeof(kXerialMagic))) {
    return SnappyRawAppend(in, limit, out);
  }
  in.remove_prefix(kXerialHeaderSize);
  while (!in.empty()) {
    if (in.size() < 4) return absl::InvalidArgumentError("snappy xerial block header truncated");
    const uint32_t n = LoadBe32(in.data());
    in.remove_prefix(4);
    if (n > in.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("snappy xerial block claims ", n, " bytes but ", in.size(), " remain"));
    }
    if (absl::Status s = SnappyRawAppend(in.substr(0, n), limit, out); !s.ok()) return s;
    in.remove_prefix(n);
  }
  return absl::OkStatus();
}

absl::Status Lz4Compress(std::string_view in, std::string* out) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  const size_t start = out->size();
  out->resize(start + LZ4F_compressFrameBound(in.size(), &prefs));
  const size_t n =
      LZ4F_compressFrame(out->data() + start, out->size() - start, in.data(), in.size(), &prefs);
  if (LZ4F_isError(n)) return absl::InternalError(LZ4F_getErrorName(n));
  out->resize(start + n);
  return absl::OkStatus();
}

absl::Status Lz4Decompress(std::string_view in, size_t limit, std::string* out) {
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) {
    return absl::InternalError("LZ4F_createDecompressionContext failed");
  }
  std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> ctx(
      raw, &LZ4F_freeDecompressionContext);
  size_t used = 0;
  size_t hint = 1;
  while (hint != 0) {
    if (in.empty()) return absl::InvalidArgumentError("lz4 frame is truncated");
    if (used == out->size() && !Grow(out, used, limit)) return TooBig(Compression::kLz4, limit);
    size_t dst = out->size() - used;
    size_t src = in.size();
    hint = LZ4F_decompress(ctx.get(), out->data() + used, &dst, in.data(), &src, nullptr);
    if (LZ4F_isError(hint)) {
      return absl::InvalidArgumentError(
          absl::StrCat("lz4 frame is corrupt: ", LZ4F_getErrorName(hint)));
    }
    used += dst;
    in.remove_prefix(src);
  }
  out->resize(used);
  return absl::OkStatus();
}

absl::Status ZstdCompress(std::string_view in, std::string* out) {
  const size_t start = out->size();
  out->resize(start + ZSTD_compressBound(in.size()));
  const size_t n = ZSTD_compress(out->data() + start, out->size() - start, in.data(), in.size(), 3);
  if (ZSTD_isError(n)) return absl::InternalError(ZSTD_getErrorName(n));
  out->resize(start + n);
  return absl::OkStatus();
}

absl::Status ZstdDecompress(std::string_view in, size_t limit, std::string* out) {
  std::unique_ptr<ZSTD_DStream, decltype(&ZSTD_freeDStream)> ds(ZSTD_createDStream(),
                                                                &ZSTD_freeDStream);
  if (ds == nullptr) return absl::InternalError("ZSTD_createDStream failed");
  ZSTD_initDStream(ds.get());
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  size_t used = 0;
  size_t rc = 1;
  while (rc != 0) {
    if (used == out->size() && !Grow(out, used, limit)) return TooBig(Compression::kZstd, limit);
    ZSTD_outBuffer output{out->data(), out->size(), used};
    rc = ZSTD_decompressStream(ds.get(), &output, &input);
    if (ZSTD_isError(rc)) {
      return absl::InvalidArgumentError(
          absl::StrCat("zstd frame is corrupt: ", ZSTD_getErrorName(rc)));
    }
    const bool progressed = output.pos != used;
    used = output.pos;
    if (rc != 0 && input.pos == input.size && !progressed && used < out->size()) {
      return absl::InvalidArgumentError("zstd frame is truncated");
    }
  }
  out->resize(used);
  return absl::OkStatus();
}

}  // namespace

const char* CompressionName(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kSnappy:
      return "snappy";
    case Compression::kLz4:
      return "lz4";
    case Compression::kZstd:
      return "zstd";
  }
  return "unknown";
}

absl::Status Compress(Compression codec, std::string_view input, std::string* out) {
  switch (codec) {
    case Compression::kNone:
      out->append(input);
      return absl::OkStatus();
    case Compression::kGzip:
      return GzipCompress(input, out);
    case Compression::kSnappy:
      return SnappyCompress(input, out);
    case Compression::kLz4:
      return Lz4Compress(input, out);
    case Compression::kZstd:
      return ZstdCompress(input, out);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown compression codec ", static_cast<int>(codec)));
}

absl::Status Decompress(Compression codec, std::string_view input, size_t max_output_bytes,
                        std::string* out) {
  out->clear();
  switch (codec) {
    case Compression::kNone:
      if (input.size() > max_output_bytes) return TooBig(codec, max_output_bytes);
      out->assign(input);
      return absl::OkStatus();
    case Compression::kGzip:
      return GzipDecompress(input, max_output_bytes, out);
    case Compression::kSnappy:
      return SnappyDecompress(input, max_output_bytes, out);
    case Compression::kLz4:
      return Lz4Decompress(input, max_output_bytes, out);
    case Compression::kZstd:
      return ZstdDecompress(input, max_output_bytes, out);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown compression codec ", static_cast<int>(codec)));
}

}  // namespace fjord::storage
