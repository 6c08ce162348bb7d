#include "controller/uuid.h"

#include <set>

#include "common/random.h"
#include "gtest/gtest.h"

namespace fjord::controller {
namespace {

TEST(UuidTest, RandomIdsAreVersion4AndNeverReserved) {
  SeededRandom random(1);
  std::set<Uuid> seen;
  for (int i = 0; i < 1000; ++i) {
    Uuid id = Uuid::Random(random);
    EXPECT_FALSE(id.IsZero());
    EXPECT_NE(id, Uuid::Reserved());
    EXPECT_EQ((id.high >> 12) & 0xF, 4u);
    EXPECT_EQ(id.low >> 62, 2u);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(UuidTest, RendersAsKafkaBase64Url) {
  // Kafka: Uuid.ZERO_UUID.toString() == "AAAAAAAAAAAAAAAAAAAAAA",
  // Uuid.METADATA_TOPIC_ID.toString() == "AAAAAAAAAAAAAAAAAAAAAQ".
  EXPECT_EQ(Uuid::Zero().ToString(), "AAAAAAAAAAAAAAAAAAAAAA");
  EXPECT_EQ(Uuid::Reserved().ToString(), "AAAAAAAAAAAAAAAAAAAAAQ");
  EXPECT_EQ((Uuid{~0ULL, ~0ULL}).ToString(), "_____________________w");
}

TEST(UuidTest, ProtoRoundTrip) {
  Uuid id{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  EXPECT_EQ(Uuid::FromProto(id.ToProto()), id);
}

}  // namespace
}  // namespace fjord::controller
