// DeleteTopics and CreatePartitions.
#include "controller/topic_control.h"

#include "controller/logic_test_util.h"
#include "gtest/gtest.h"

namespace fjord::controller {
namespace {

using namespace fjord::controller::testing;

v1::DeleteTopicsRequest DeleteByName(std::vector<std::string> names) {
  v1::DeleteTopicsRequest req;
  for (const auto& n : names) req.add_topics()->set_name(n);
  return req;
}

TEST(DeleteTopicsTest, ByNameAndByIdThenTheNameIsFree) {
  Harness h;
  h.AddBroker(0);
  Uuid a = h.CreateTopic("a", 2, 1, {{"retention.ms", "5"}});
  Uuid b = h.CreateTopic("b", 1, 1);
  v1::DeleteTopicsRequest req = DeleteByName({"a"});
  b.ToProto(req.add_topics()->mutable_topic_id());
  auto result = h.logic().DeleteTopics(req);
  ASSERT_EQ(result.records.size(), 2u);
  EXPECT_EQ(Uuid::FromProto(result.records[0].remove_topic().topic_id()), a);
  EXPECT_EQ(result.response.responses(0).error_code(), v1::NONE);
  EXPECT_EQ(Uuid::FromProto(result.response.responses(0).topic_id()), a);
  EXPECT_EQ(result.response.responses(1).name(), "b");
  h.Commit(std::move(result));
  EXPECT_EQ(h.image().topics().size(), 0u);
  EXPECT_EQ(h.image().configs({v1::ConfigResource::TOPIC, "a"}), nullptr);
  EXPECT_NE(h.CreateTopic("a", 1, 1), a);  // a new id
}

TEST(DeleteTopicsTest, Errors) {
  ControllerConfig no_delete = TestConfig();
  no_delete.delete_topic_enable = false;
  Harness h;
  h.AddBroker(0);
  h.CreateTopic("a", 1, 1);
  v1::DeleteTopicsRequest req = DeleteByName({"missing", "a", "a"});
  Uuid{5, 5}.ToProto(req.add_topics()->mutable_topic_id());
  auto* both = req.add_topics();
  both->set_name("a");
  Uuid{5, 5}.ToProto(both->mutable_topic_id());
  req.add_topics();  // neither
  auto result = h.logic().DeleteTopics(req);
  const auto& r = result.response.responses();
  EXPECT_EQ(r[0].error_code(), v1::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(r[1].error_code(), v1::NONE);
  EXPECT_EQ(r[2].error_code(), v1::INVALID_REQUEST);
  EXPECT_EQ(r[3].error_code(), v1::UNKNOWN_TOPIC_ID);
  EXPECT_EQ(r[4].error_code(), v1::INVALID_REQUEST);
  EXPECT_EQ(r[5].error_code(), v1::INVALID_REQUEST);
  EXPECT_EQ(result.records.size(), 1u);

  auto disabled = DeleteTopics(h.image(), no_delete, DeleteByName({"a"}));
  EXPECT_EQ(disabled.response.responses(0).error_code(), v1::TOPIC_DELETION_DISABLED);
  EXPECT_TRUE(disabled.records.empty());
}

v1::CreatePartitionsRequest Grow(const std::string& name, int32_t count) {
  v1::CreatePartitionsRequest req;
  auto* t = req.add_topics();
  t->set_name(name);
  t->set_count(count);
  return req;
}

TEST(CreatePartitionsTest, AddsPartitionsWithTheTopicsReplicationFactor) {
  Harness h;
  for (int b = 0; b < 3; ++b) h.AddBroker(b);
  h.CreateTopic("t", 2, 2);
  auto resp = h.Commit(h.logic().CreatePartitions(Grow("t", 5)));
  EXPECT_EQ(resp.results(0).error_code(), v1::NONE);
  ASSERT_EQ(h.image().topic_by_name("t")->partitions.size(), 5u);
  for (int p = 2; p < 5; ++p) {
    EXPECT_EQ(h.Partition("t", p).replicas.size(), 2u);
    EXPECT_EQ(h.Partition("t", p).leader, h.Partition("t", p).replicas[0]);
  }
  auto validate = Grow("t", 6);
  validate.set_validate_only(true);
  auto v = h.logic().CreatePartitions(validate);
  EXPECT_EQ(v.response.results(0).error_code(), v1::NONE);
  EXPECT_TRUE(v.records.empty());
}

TEST(CreatePartitionsTest, ManualAssignmentsAndErrors) {
  Harness h;
  for (int b = 0; b < 3; ++b) h.AddBroker(b);
  h.CreateTopic("t", 1, 2);
  auto manual = Grow("t", 2);
  auto* a = manual.mutable_topics(0)->add_assignments();
  a->add_broker_ids(2);
  a->add_broker_ids(1);
  h.Commit(h.logic().CreatePartitions(manual));
  EXPECT_EQ(h.Partition("t", 1).replicas, Ids({2, 1}));

  auto expect = [&](const v1::CreatePartitionsRequest& req, v1::ErrorCode code) {
    auto r = h.logic().CreatePartitions(req);
    EXPECT_EQ(r.response.results(0).error_code(), code) << req.DebugString();
    EXPECT_TRUE(r.records.empty());
  };
  expect(Grow("nope", 3), v1::UNKNOWN_TOPIC_OR_PARTITION);
  expect(Grow("t", 2), v1::INVALID_PARTITIONS);
  expect(Grow("t", 1), v1::INVALID_PARTITIONS);
  auto wrong_count = Grow("t", 4);
  wrong_count.mutable_topics(0)->add_assignments()->add_broker_ids(0);
  expect(wrong_count, v1::INVALID_REPLICA_ASSIGNMENT);
  auto wrong_rf = Grow("t", 3);
  wrong_rf.mutable_topics(0)->add_assignments()->add_broker_ids(0);
  expect(wrong_rf, v1::INVALID_REPLICA_ASSIGNMENT);
  auto unknown = Grow("t", 3);
  auto* u = unknown.mutable_topics(0)->add_assignments();
  u->add_broker_ids(0);
  u->add_broker_ids(9);
  expect(unknown, v1::INVALID_REPLICA_ASSIGNMENT);
  auto twice = Grow("t", 3);
  *twice.add_topics() = twice.topics(0);
  expect(twice, v1::INVALID_REQUEST);
  h.Heartbeat(1, false, true);
  h.Heartbeat(2, false, true);
  expect(Grow("t", 3), v1::INVALID_REPLICATION_FACTOR);  // one live broker, rf 2
}

}  // namespace
}  // namespace fjord::controller
