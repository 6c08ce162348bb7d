#include <set>

#include "common/kafka_error.h"
#include "controller/logic_test_util.h"
#include "controller/topic_control.h"
#include "gtest/gtest.h"

namespace fjord::controller {
namespace {

using namespace fjord::controller::testing;

v1::CreateTopicsRequest Request(const std::string& name, int32_t partitions, int32_t rf) {
  v1::CreateTopicsRequest req;
  auto* t = req.add_topics();
  t->set_name(name);
  t->set_num_partitions(partitions);
  t->set_replication_factor(rf);
  return req;
}

class CreateTopicsTest : public ::testing::Test {
 protected:
  CreateTopicsTest() {
    for (int b = 0; b < 3; ++b) h_.AddBroker(b);
  }
  v1::ErrorCode ErrorFor(const v1::CreateTopicsRequest& req) {
    auto result = h_.logic().CreateTopics(req);
    EXPECT_TRUE(result.records.empty());
    EXPECT_EQ(result.response.topics(0).num_partitions(), -1);
    return result.response.topics(0).error_code();
  }
  Harness h_;
};

TEST_F(CreateTopicsTest, WritesTopicConfigsAndPartitionsThenReplayCreatesThem) {
  auto req = Request("orders", 3, 2);
  auto* c = req.mutable_topics(0)->add_configs();
  c->set_name("retention.ms");
  c->set_value("1000");
  auto result = h_.logic().CreateTopics(req);
  ASSERT_EQ(result.records.size(), 5u);  // topic, config, 3 partitions
  EXPECT_EQ(result.records[0].topic().name(), "orders");
  EXPECT_EQ(result.records[1].config().name(), "retention.ms");
  const auto& resp = result.response.topics(0);
  EXPECT_EQ(resp.error_code(), v1::NONE);
  EXPECT_EQ(resp.num_partitions(), 3);
  EXPECT_EQ(resp.replication_factor(), 2);
  for (int p = 0; p < 3; ++p) {
    const auto& rec = result.records[2 + p].partition();
    EXPECT_EQ(rec.partition_id(), p);
    EXPECT_EQ(rec.replicas_size(), 2);
    EXPECT_EQ(rec.leader(), rec.replicas(0));  // preferred leader leads
    EXPECT_EQ(rec.isr_size(), 2);
    EXPECT_EQ(rec.leader_epoch(), 0);
    EXPECT_EQ(rec.partition_epoch(), 0);
  }
  Uuid id = Uuid::FromProto(resp.topic_id());
  h_.Commit(std::move(result));
  ASSERT_NE(h_.image().topic_by_name("orders"), nullptr);
  EXPECT_EQ(h_.image().topic_by_name("orders")->id, id);
  EXPECT_EQ(h_.image().config({v1::ConfigResource::TOPIC, "orders"}, "retention.ms"), "1000");
}

TEST_F(CreateTopicsTest, DefaultsApplyForMinusOne) {
  auto result = h_.logic().CreateTopics(Request("d", -1, -1));
  EXPECT_EQ(result.response.topics(0).num_partitions(), 1);
  EXPECT_EQ(result.response.topics(0).replication_factor(), 1);
}

TEST_F(CreateTopicsTest, ValidateOnlyWritesNothing) {
  auto req = Request("v", 2, 3);
  req.set_validate_only(true);
  auto result = h_.logic().CreateTopics(req);
  EXPECT_TRUE(result.records.empty());
  EXPECT_EQ(result.response.topics(0).error_code(), v1::NONE);
  EXPECT_EQ(result.response.topics(0).num_partitions(), 2);
  EXPECT_TRUE(Uuid::FromProto(result.response.topics(0).topic_id()).IsZero());
}

TEST_F(CreateTopicsTest, IllegalNamesAreInvalidTopicException) {
  for (const std::string& name :
       {std::string(""), std::string("."), std::string(".."), std::string(250, 'a'),
        std::string("a b"), std::string("a/b"), std::string("caf\xc3\xa9")}) {
    EXPECT_EQ(ErrorFor(Request(name, 1, 1)), v1::INVALID_TOPIC_EXCEPTION) << name;
  }
  EXPECT_EQ(
      h_.logic().CreateTopics(Request(std::string(249, 'a'), 1, 1)).response.topics(0).error_code(),
      v1::NONE);
  EXPECT_EQ(h_.logic().CreateTopics(Request("a-Z_0.9", 1, 1)).response.topics(0).error_code(),
            v1::NONE);
}

TEST_F(CreateTopicsTest, ExistingAndCollidingNames) {
  h_.CreateTopic("my.topic", 1, 1);
  EXPECT_EQ(ErrorFor(Request("my.topic", 1, 1)), v1::TOPIC_ALREADY_EXISTS);
  EXPECT_EQ(ErrorFor(Request("my_topic", 1, 1)), v1::INVALID_TOPIC_EXCEPTION);
}

TEST_F(CreateTopicsTest, BadCountsAndReplicationFactors) {
  EXPECT_EQ(ErrorFor(Request("p", 0, 1)), v1::INVALID_PARTITIONS);
  EXPECT_EQ(ErrorFor(Request("p", -2, 1)), v1::INVALID_PARTITIONS);
  EXPECT_EQ(ErrorFor(Request("p", 1, 0)), v1::INVALID_REPLICATION_FACTOR);
  EXPECT_EQ(ErrorFor(Request("p", 1, -3)), v1::INVALID_REPLICATION_FACTOR);
  EXPECT_EQ(ErrorFor(Request("p", 1, 4)), v1::INVALID_REPLICATION_FACTOR);
  // Fenced brokers do not count as live.
  h_.Heartbeat(2, false, /*want_fence=*/true);
  EXPECT_EQ(ErrorFor(Request("p", 1, 3)), v1::INVALID_REPLICATION_FACTOR);
}

TEST_F(CreateTopicsTest, UnknownOrInvalidConfigsAreInvalidConfig) {
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"retention.mss", "1"}, {"segment.bytes", "1"}, {"cleanup.policy", "shred"}}) {
    auto req = Request("c", 1, 1);
    auto* c = req.mutable_topics(0)->add_configs();
    c->set_name(k);
    c->set_value(v);
    EXPECT_EQ(ErrorFor(req), v1::INVALID_CONFIG) << k;
  }
  auto twice = Request("c", 1, 1);
  for (int i = 0; i < 2; ++i) {
    auto* c = twice.mutable_topics(0)->add_configs();
    c->set_name("retention.ms");
    c->set_value("1");
  }
  EXPECT_EQ(ErrorFor(twice), v1::INVALID_CONFIG);
}

TEST_F(CreateTopicsTest, DuplicateNamesInOneRequestFailBothButOthersSucceed) {
  auto req = Request("dup", 1, 1);
  *req.add_topics() = req.topics(0);
  auto* ok = req.add_topics();
  ok->set_name("fine");
  ok->set_num_partitions(1);
  ok->set_replication_factor(1);
  auto result = h_.logic().CreateTopics(req);
  EXPECT_EQ(result.response.topics(0).error_code(), v1::INVALID_REQUEST);
  EXPECT_EQ(result.response.topics(1).error_code(), v1::INVALID_REQUEST);
  EXPECT_EQ(result.response.topics(2).error_code(), v1::NONE);
  EXPECT_EQ(result.records.size(), 2u);
}

TEST_F(CreateTopicsTest, ManualAssignment) {
  v1::CreateTopicsRequest req;
  auto* t = req.add_topics();
  t->set_name("m");
  t->set_num_partitions(-1);
  t->set_replication_factor(-1);
  for (int p = 0; p < 2; ++p) {
    auto* a = t->add_assignments();
    a->set_partition(1 - p);
    a->add_broker_ids(2 - p);
    a->add_broker_ids(0);
  }
  h_.Commit(h_.logic().CreateTopics(req));
  EXPECT_EQ(h_.Partition("m", 0).replicas, Ids({1, 0}));
  EXPECT_EQ(h_.Partition("m", 1).replicas, Ids({2, 0}));
  EXPECT_EQ(h_.Partition("m", 1).leader, BrokerId(2));
}

TEST_F(CreateTopicsTest, BadManualAssignments) {
  auto make = [](std::vector<std::pair<int, std::vector<int>>> parts, int n = -1, int rf = -1) {
    v1::CreateTopicsRequest req;
    auto* t = req.add_topics();
    t->set_name("m");
    t->set_num_partitions(n);
    t->set_replication_factor(rf);
    for (const auto& [p, brokers] : parts) {
      auto* a = t->add_assignments();
      a->set_partition(p);
      for (int b : brokers) a->add_broker_ids(b);
    }
    return req;
  };
  EXPECT_EQ(ErrorFor(make({{0, {0}}}, 1, -1)), v1::INVALID_REQUEST);
  EXPECT_EQ(ErrorFor(make({{0, {0}}, {0, {1}}})), v1::INVALID_REPLICA_ASSIGNMENT);     // repeated
  EXPECT_EQ(ErrorFor(make({{0, {0}}, {2, {1}}})), v1::INVALID_REPLICA_ASSIGNMENT);     // gap
  EXPECT_EQ(ErrorFor(make({{0, {0, 1}}, {1, {1}}})), v1::INVALID_REPLICA_ASSIGNMENT);  // uneven
  EXPECT_EQ(ErrorFor(make({{0, {0, 0}}})), v1::INVALID_REPLICA_ASSIGNMENT);  // same broker
  EXPECT_EQ(ErrorFor(make({{0, {7}}})), v1::INVALID_REPLICA_ASSIGNMENT);     // unknown broker
  EXPECT_EQ(ErrorFor(make({{0, {}}})), v1::INVALID_REPLICA_ASSIGNMENT);      // empty
  h_.Heartbeat(1, false, /*want_fence=*/true);
  EXPECT_EQ(ErrorFor(make({{0, {1}}})), v1::INVALID_REPLICA_ASSIGNMENT);  // all fenced
}

TEST(CreateTopicsDeterminismTest, SameSeedSameRecords) {
  auto run = [] {
    Harness h(TestConfig(), 77);
    for (int b = 0; b < 5; ++b) h.AddBroker(b, "r" + std::to_string(b % 2));
    return h.logic().CreateTopics(Request("x", 10, 3)).records;
  };
  auto a = run(), b = run();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(a[i].SerializeAsString(), b[i].SerializeAsString());
}

}  // namespace
}  // namespace fjord::controller

namespace fjord::controller {
namespace {

// A Random that repeats itself (a controller restarted with the same seed)
// must not produce a topic id that is already live.
class RepeatingRandom : public Random {
 public:
  // The first two ids it yields are the same.
  uint64_t Next() override { return n_ < 4 ? (++n_, 42) : 1000 + n_++; }

 private:
  uint64_t n_ = 0;
};

TEST(CreateTopicsIdTest, NeverReusesALiveTopicId) {
  Harness h;
  h.AddBroker(0);
  RepeatingRandom random;
  std::set<Uuid> ids;
  for (int i = 0; i < 2; ++i) {
    auto result = CreateTopics(h.image(), h.logic().config(),
                               Request("same-" + std::to_string(i), 1, 1), random);
    ASSERT_EQ(result.response.topics(0).error_code(), v1::NONE);
    ids.insert(Uuid::FromProto(result.response.topics(0).topic_id()));
    h.Commit(std::move(result));
  }
  EXPECT_EQ(ids.size(), 2u);
}

}  // namespace
}  // namespace fjord::controller
