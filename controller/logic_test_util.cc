#include "controller/logic_test_util.h"

#include "common/assert.h"

namespace fjord::controller::testing {

ControllerConfig TestConfig() {
  ControllerConfig config;
  config.cluster_id = "test-cluster";
  return config;
}

v1::RegisterBrokerRequest Harness::RegisterRequest(int32_t id, const std::string& rack,
                                                   uint64_t incarnation) const {
  v1::RegisterBrokerRequest req;
  req.set_broker_id(id);
  req.set_cluster_id(logic_.config().cluster_id);
  req.mutable_incarnation_id()->set_high(static_cast<uint64_t>(id) + 1);
  req.mutable_incarnation_id()->set_low(incarnation);
  auto* l = req.add_listeners();
  l->set_name("PLAINTEXT");
  l->set_host("localhost");
  l->set_port(9092 + id);
  req.set_rack(rack);
  return req;
}

int64_t Harness::AddBroker(int32_t id, const std::string& rack) {
  auto reg = Commit(logic_.RegisterBroker(RegisterRequest(id, rack), next_offset()));
  FJORD_CHECK(reg.error_code() == v1::NONE) << reg.error_message();
  auto hb = Heartbeat(id);
  FJORD_CHECK(!hb.is_fenced());
  return reg.broker_epoch();
}

v1::BrokerHeartbeatResponse Harness::Heartbeat(int32_t id, bool want_shut_down, bool want_fence) {
  const BrokerRegistration* b = image().broker(BrokerId(id));
  FJORD_CHECK(b != nullptr);
  v1::BrokerHeartbeatRequest req;
  req.set_broker_id(id);
  req.set_broker_epoch(b->epoch.value());
  req.set_current_metadata_offset(image().offset().value());
  req.set_want_shut_down(want_shut_down);
  req.set_want_fence(want_fence);
  return Commit(logic_.BrokerHeartbeat(req));
}

Uuid Harness::CreateTopic(const std::string& name, int32_t partitions, int32_t rf,
                          const std::map<std::string, std::string>& configs) {
  v1::CreateTopicsRequest req;
  auto* t = req.add_topics();
  t->set_name(name);
  t->set_num_partitions(partitions);
  t->set_replication_factor(rf);
  for (const auto& [k, v] : configs) {
    auto* c = t->add_configs();
    c->set_name(k);
    c->set_value(v);
  }
  auto resp = Commit(logic_.CreateTopics(req));
  FJORD_CHECK(resp.topics(0).error_code() == v1::NONE) << resp.topics(0).error_message();
  return Uuid::FromProto(resp.topics(0).topic_id());
}

const PartitionRegistration& Harness::Partition(const std::string& topic, int32_t p) const {
  const TopicImage* t = image().topic_by_name(topic);
  FJORD_CHECK(t != nullptr && t->partition(PartitionId(p)) != nullptr);
  return *t->partition(PartitionId(p));
}

std::vector<BrokerId> Ids(std::initializer_list<int32_t> ids) {
  std::vector<BrokerId> out;
  for (int32_t id : ids) out.push_back(BrokerId(id));
  return out;
}

}  // namespace fjord::controller::testing
