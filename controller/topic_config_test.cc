#include "controller/topic_config.h"

#include "common/kafka_error.h"
#include "gtest/gtest.h"

namespace fjord::controller {
namespace {

TEST(TopicConfigTest, KnowsKafkasTopicConfigsWithDefaultsSortedByName) {
  const auto& defs = TopicConfigDefs();
  ASSERT_EQ(defs.size(), 18u);
  for (size_t i = 1; i < defs.size(); ++i) EXPECT_LT(defs[i - 1].name, defs[i].name);
  EXPECT_EQ(FindTopicConfig("retention.ms")->default_value, "604800000");
  EXPECT_EQ(FindTopicConfig("segment.bytes")->default_value, "1073741824");
  EXPECT_EQ(FindTopicConfig("min.insync.replicas")->default_value, "1");
  EXPECT_EQ(FindTopicConfig("cleanup.policy")->default_value, "delete");
  EXPECT_EQ(FindTopicConfig("max.message.bytes")->default_value, "1048588");
  EXPECT_EQ(FindTopicConfig("unclean.leader.election.enable")->default_value, "false");
  EXPECT_EQ(FindTopicConfig("no.such.config"), nullptr);
}

TEST(TopicConfigTest, AcceptsValidValues) {
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"cleanup.policy", "compact,delete"},
           {"compression.type", "zstd"},
           {"retention.ms", "-1"},
           {"retention.bytes", "-1"},
           {"segment.bytes", "14"},
           {"min.insync.replicas", "2"},
           {"min.cleanable.dirty.ratio", "0.75"},
           {"message.timestamp.type", "LogAppendTime"},
           {"unclean.leader.election.enable", "TRUE"},
           {"flush.messages", "1"},
       }) {
    EXPECT_TRUE(ValidateTopicConfig(k, v).ok()) << k << "=" << v;
  }
  for (const auto& def : TopicConfigDefs()) {
    EXPECT_TRUE(ValidateTopicConfig(def.name, def.default_value).ok()) << def.name;
  }
}

TEST(TopicConfigTest, RejectsUnknownKeysAndBadValuesWithInvalidConfig) {
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"retention.msx", "1"},
           {"cleanup.policy", ""},
           {"cleanup.policy", "compact,forever"},
           {"compression.type", "brotli"},
           {"retention.ms", "-2"},
           {"retention.ms", "soon"},
           {"segment.bytes", "13"},
           {"segment.bytes", "99999999999"},  // not an int
           {"min.insync.replicas", "0"},
           {"min.cleanable.dirty.ratio", "1.5"},
           {"message.timestamp.type", "createtime"},
           {"unclean.leader.election.enable", "yes"},
           {"segment.ms", "0"},
           {"flush.messages", "0"},
       }) {
    absl::Status s = ValidateTopicConfig(k, v);
    EXPECT_EQ(ToErrorCode(s), v1::INVALID_CONFIG) << k << "=" << v;
  }
}

}  // namespace
}  // namespace fjord::controller
