#include "storage/varint.h"

#include <cstdint>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace fjord::storage {
namespace {

TEST(VarintTest, KnownZigzagEncodings) {
  // Values from the protobuf sint32 documentation.
  const std::pair<int32_t, std::string> cases[] = {{0, std::string("\x00", 1)},
                                                   {-1, "\x01"},
                                                   {1, "\x02"},
                                                   {-2, "\x03"},
                                                   {63, "\x7e"},
                                                   {-64, "\x7f"},
                                                   {64, "\x80\x01"}};
  for (const auto& [v, bytes] : cases) {
    std::string out;
    AppendVarint(&out, v);
    EXPECT_EQ(out, bytes) << v;
    EXPECT_EQ(VarintSize(v), static_cast<int>(bytes.size()));
  }
}

TEST(VarintTest, RoundTripsExtremes) {
  for (int32_t v : {0, 1, -1, 300, -300, std::numeric_limits<int32_t>::max(),
                    std::numeric_limits<int32_t>::min()}) {
    std::string out;
    AppendVarint(&out, v);
    std::string_view in = out;
    auto got = ReadVarint(&in);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, v);
    EXPECT_TRUE(in.empty());
  }
  for (int64_t v : {int64_t{0}, int64_t{-1}, std::numeric_limits<int64_t>::max(),
                    std::numeric_limits<int64_t>::min()}) {
    std::string out;
    AppendVarlong(&out, v);
    EXPECT_EQ(VarlongSize(v), static_cast<int>(out.size()));
    std::string_view in = out;
    auto got = ReadVarlong(&in);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, v);
  }
}

TEST(VarintTest, RejectsTooLongVarint) {
  std::string_view in("\xff\xff\xff\xff\xff\x01", 6);
  auto got = ReadVarint(&in);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(got.status().message().find("longer than 5"), std::string::npos);
}

TEST(VarintTest, RejectsVarintOverflowingInLastByte) {
  std::string_view in("\xff\xff\xff\xff\x7f", 5);  // 35 bits of payload.
  EXPECT_FALSE(ReadVarint(&in).ok());
  std::string_view ok("\xff\xff\xff\xff\x0f", 5);  // exactly 32 bits.
  EXPECT_TRUE(ReadVarint(&ok).ok());
}

TEST(VarintTest, RejectsTooLongVarlong) {
  std::string bytes(10, '\xff');
  bytes += '\x01';
  std::string_view in = bytes;
  EXPECT_FALSE(ReadVarlong(&in).ok());
}

TEST(VarintTest, RejectsTruncatedInput) {
  std::string_view in("\x80\x80", 2);
  auto got = ReadVarint(&in);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  std::string_view empty;
  EXPECT_FALSE(ReadVarlong(&empty).ok());
}

}  // namespace
}  // namespace fjord::storage
