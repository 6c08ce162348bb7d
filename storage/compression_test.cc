#include "storage/compression.h"

#include <string>

#include "gtest/gtest.h"

namespace fjord::storage {
namespace {

constexpr Compression kCodecs[] = {Compression::kNone, Compression::kGzip, Compression::kSnappy,
                                   Compression::kLz4, Compression::kZstd};

std::string SampleText(size_t n) {
  std::string s;
  for (size_t i = 0; s.size() < n; ++i) s += "record-" + std::to_string(i % 977) + ";";
  s.resize(n);
  return s;
}

TEST(CompressionTest, RoundTripsEveryCodecAndSize) {
  for (Compression c : kCodecs) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, size_t{200000}}) {
      const std::string input = SampleText(n);
      std::string packed, unpacked;
      ASSERT_TRUE(Compress(c, input, &packed).ok());
      absl::Status s = Decompress(c, packed, 1 << 20, &unpacked);
      ASSERT_TRUE(s.ok()) << CompressionName(c) << " " << n << ": " << s;
      EXPECT_EQ(unpacked, input) << CompressionName(c);
    }
  }
}

TEST(CompressionTest, SnappyWritesXerialFramingAndReadsRawToo) {
  std::string packed;
  ASSERT_TRUE(Compress(Compression::kSnappy, "hello hello hello", &packed).ok());
  EXPECT_EQ(packed.substr(0, 8), std::string("\x82SNAPPY\0", 8));
  // A bare snappy buffer for "abc": length 3, literal tag, 3 bytes.
  std::string out;
  ASSERT_TRUE(Decompress(Compression::kSnappy,
                         std::string("\x03\x08"
                                     "abc",
                                     5),
                         100, &out)
                  .ok());
  EXPECT_EQ(out, "abc");
}

TEST(CompressionTest, BombIsRejectedAtTheLimit) {
  const std::string zeros(10 << 20, '\0');
  for (Compression c : kCodecs) {
    std::string packed, out;
    ASSERT_TRUE(Compress(c, zeros, &packed).ok());
    absl::Status s = Decompress(c, packed, 1 << 20, &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << CompressionName(c);
    EXPECT_NE(s.message().find("more than the limit"), std::string::npos) << s;
    EXPECT_LE(out.capacity(), (1u << 20) + (64u << 10) + 64) << CompressionName(c);
  }
}

TEST(CompressionTest, SnappyLengthClaimBeyondLimitIsRejectedBeforeAllocating) {
  // Raw snappy preamble claiming 2^31 bytes, followed by nothing.
  const std::string claim("\x80\x80\x80\x80\x08", 5);
  std::string out;
  absl::Status s = Decompress(Compression::kSnappy, claim, 1 << 20, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(out.capacity(), 1024u);
}

TEST(CompressionTest, TruncatedPayloadsAreRejected) {
  const std::string input = SampleText(50000);
  for (Compression c : kCodecs) {
    if (c == Compression::kNone) continue;
    std::string packed, out;
    ASSERT_TRUE(Compress(c, input, &packed).ok());
    packed.resize(packed.size() / 2);
    EXPECT_FALSE(Decompress(c, packed, 1 << 20, &out).ok()) << CompressionName(c);
  }
}

TEST(CompressionTest, GarbageIsRejected) {
  const std::string garbage = "this is not a compressed payload at all, not one bit of it";
  for (Compression c : kCodecs) {
    if (c == Compression::kNone) continue;
    std::string out;
    EXPECT_FALSE(Decompress(c, garbage, 1 << 20, &out).ok()) << CompressionName(c);
  }
}

}  // namespace
}  // namespace fjord::storage
