#include "controller/config_control.h"

#include "controller/logic_test_util.h"
#include "gtest/gtest.h"

namespace fjord::controller {
namespace {

using namespace fjord::controller::testing;

v1::ConfigResource Topic(const std::string& name) {
  v1::ConfigResource r;
  r.set_type(v1::ConfigResource::TOPIC);
  r.set_name(name);
  return r;
}

v1::ConfigResource Broker(const std::string& name) {
  v1::ConfigResource r;
  r.set_type(v1::ConfigResource::BROKER);
  r.set_name(name);
  return r;
}

v1::IncrementalAlterConfigsRequest Alter(
    const v1::ConfigResource& resource,
    std::vector<std::tuple<std::string, v1::AlterableConfig::OpType, std::string>> changes) {
  v1::IncrementalAlterConfigsRequest req;
  auto* r = req.add_resources();
  *r->mutable_resource() = resource;
  for (const auto& [k, op, v] : changes) {
    auto* c = r->add_configs();
    c->set_name(k);
    c->set_config_operation(op);
    c->set_value(v);
  }
  return req;
}

class ConfigControlTest : public ::testing::Test {
 protected:
  ConfigControlTest() {
    h_.AddBroker(0);
    h_.CreateTopic("t", 1, 1, {{"retention.ms", "100"}});
  }
  Harness h_;
};

TEST_F(ConfigControlTest, DescribeTopicShowsOverridesAndDefaultsSortedByName) {
  v1::DescribeConfigsRequest req;
  *req.add_resources()->mutable_resource() = Topic("t");
  auto resp = h_.logic().DescribeConfigs(req);
  ASSERT_EQ(resp.results_size(), 1);
  const auto& result = resp.results(0);
  EXPECT_EQ(result.error_code(), v1::NONE);
  ASSERT_EQ(result.configs_size(), 18);
  for (int i = 1; i < result.configs_size(); ++i) {
    EXPECT_LT(result.configs(i - 1).name(), result.configs(i).name());
  }
  for (const auto& c : result.configs()) {
    if (c.name() == "retention.ms") {
      EXPECT_EQ(c.value(), "100");
      EXPECT_EQ(c.config_source(), v1::DescribedConfig::TOPIC_CONFIG);
    } else if (c.name() == "segment.bytes") {
      EXPECT_EQ(c.value(), "1073741824");
      EXPECT_EQ(c.config_source(), v1::DescribedConfig::DEFAULT_CONFIG);
    }
  }
}

TEST_F(ConfigControlTest, DescribeFiltersKeysAndReportsMissingResources) {
  v1::DescribeConfigsRequest req;
  auto* r = req.add_resources();
  *r->mutable_resource() = Topic("t");
  r->add_configuration_keys("cleanup.policy");
  r->add_configuration_keys("no.such.key");
  *req.add_resources()->mutable_resource() = Topic("missing");
  *req.add_resources()->mutable_resource() = Broker("7");
  *req.add_resources()->mutable_resource() = Broker("x");
  req.add_resources();  // UNKNOWN type
  auto resp = h_.logic().DescribeConfigs(req);
  ASSERT_EQ(resp.results(0).configs_size(), 1);
  EXPECT_EQ(resp.results(0).configs(0).name(), "cleanup.policy");
  EXPECT_EQ(resp.results(1).error_code(), v1::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(resp.results(2).error_code(), v1::RESOURCE_NOT_FOUND);
  EXPECT_EQ(resp.results(3).error_code(), v1::INVALID_REQUEST);
  EXPECT_EQ(resp.results(4).error_code(), v1::INVALID_REQUEST);
}

TEST_F(ConfigControlTest, SetAndDeleteTopicOverrides) {
  auto result = h_.logic().IncrementalAlterConfigs(
      Alter(Topic("t"), {{"segment.bytes", v1::AlterableConfig::SET, "1048576"},
                         {"retention.ms", v1::AlterableConfig::DELETE, ""},
                         {"cleanup.policy", v1::AlterableConfig::DELETE, ""}}));  // no override
  EXPECT_EQ(result.response.responses(0).error_code(), v1::NONE);
  ASSERT_EQ(result.records.size(), 2u);
  EXPECT_EQ(result.records[0].config().value(), "1048576");
  EXPECT_FALSE(result.records[1].config().has_value());
  h_.Commit(std::move(result));
  ConfigResourceKey key{v1::ConfigResource::TOPIC, "t"};
  EXPECT_EQ(h_.image().config(key, "segment.bytes"), "1048576");
  EXPECT_EQ(h_.image().config(key, "retention.ms"), std::nullopt);
}

TEST_F(ConfigControlTest, ValidateOnlyAndBrokerConfigs) {
  auto req = Alter(Topic("t"), {{"retention.ms", v1::AlterableConfig::SET, "5"}});
  req.set_validate_only(true);
  auto v = h_.logic().IncrementalAlterConfigs(req);
  EXPECT_EQ(v.response.responses(0).error_code(), v1::NONE);
  EXPECT_TRUE(v.records.empty());

  h_.Commit(h_.logic().IncrementalAlterConfigs(
      Alter(Broker(""), {{"log.retention.ms", v1::AlterableConfig::SET, "9"}})));
  h_.Commit(h_.logic().IncrementalAlterConfigs(
      Alter(Broker("0"), {{"log.retention.ms", v1::AlterableConfig::SET, "8"}})));
  v1::DescribeConfigsRequest d;
  *d.add_resources()->mutable_resource() = Broker("");
  *d.add_resources()->mutable_resource() = Broker("0");
  auto resp = h_.logic().DescribeConfigs(d);
  EXPECT_EQ(resp.results(0).configs(0).value(), "9");
  EXPECT_EQ(resp.results(0).configs(0).config_source(),
            v1::DescribedConfig::DYNAMIC_DEFAULT_BROKER_CONFIG);
  EXPECT_EQ(resp.results(1).configs(0).value(), "8");
  EXPECT_EQ(resp.results(1).configs(0).config_source(), v1::DescribedConfig::DYNAMIC_BROKER_CONFIG);
}

TEST_F(ConfigControlTest, AlterErrorsLeaveTheWholeResourceUnchanged) {
  auto expect = [&](const v1::IncrementalAlterConfigsRequest& req, v1::ErrorCode code) {
    auto r = h_.logic().IncrementalAlterConfigs(req);
    EXPECT_EQ(r.response.responses(0).error_code(), code) << req.DebugString();
    EXPECT_TRUE(r.records.empty());
  };
  const auto SET = v1::AlterableConfig::SET;
  expect(Alter(Topic("t"), {{"retention.ms", SET, "7"}, {"segment.bytes", SET, "1"}}),
         v1::INVALID_CONFIG);
  expect(Alter(Topic("t"), {{"bogus", SET, "1"}}), v1::INVALID_CONFIG);
  expect(Alter(Topic("t"), {{"bogus", v1::AlterableConfig::DELETE, ""}}), v1::INVALID_CONFIG);
  expect(Alter(Topic("t"), {{"retention.ms", SET, "7"}, {"retention.ms", SET, "8"}}),
         v1::INVALID_REQUEST);
  expect(Alter(Topic("t"), {{"retention.ms", static_cast<v1::AlterableConfig::OpType>(2), "7"}}),
         v1::INVALID_REQUEST);
  expect(Alter(Topic("gone"), {{"retention.ms", SET, "7"}}), v1::UNKNOWN_TOPIC_OR_PARTITION);
  expect(Alter(Broker("5"), {{"x", SET, "7"}}), v1::RESOURCE_NOT_FOUND);
  expect(Alter(Broker("0"), {{"x", SET, ""}}), v1::INVALID_CONFIG);
  expect(Alter(v1::ConfigResource(), {{"x", SET, "1"}}), v1::INVALID_REQUEST);
  auto dup = Alter(Topic("t"), {{"retention.ms", SET, "7"}});
  *dup.add_resources() = dup.resources(0);
  auto r = h_.logic().IncrementalAlterConfigs(dup);
  EXPECT_EQ(r.response.responses(0).error_code(), v1::DUPLICATE_RESOURCE);
  EXPECT_EQ(r.response.responses(1).error_code(), v1::DUPLICATE_RESOURCE);
  EXPECT_TRUE(r.records.empty());
}

}  // namespace
}  // namespace fjord::controller
