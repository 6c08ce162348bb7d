#include "controller/image_test_util.h"

#include "common/assert.h"

namespace fjord::controller::testing {

v1::MetadataRecord RegisterBrokerRec(int32_t id, int64_t epoch, bool fenced,
                                     const std::string& rack, Uuid incarnation) {
  v1::MetadataRecord r;
  auto* b = r.mutable_register_broker();
  b->set_broker_id(id);
  b->set_broker_epoch(epoch);
  incarnation.ToProto(b->mutable_incarnation_id());
  auto* e = b->add_endpoints();
  e->set_name("PLAINTEXT");
  e->set_host("localhost");
  e->set_port(9092 + id);
  b->set_rack(rack);
  b->set_fenced(fenced);
  return r;
}

v1::MetadataRecord FenceRec(int32_t id, int64_t epoch) {
  v1::MetadataRecord r;
  r.mutable_fence_broker()->set_id(id);
  r.mutable_fence_broker()->set_epoch(epoch);
  return r;
}

v1::MetadataRecord UnfenceRec(int32_t id, int64_t epoch) {
  v1::MetadataRecord r;
  r.mutable_unfence_broker()->set_id(id);
  r.mutable_unfence_broker()->set_epoch(epoch);
  return r;
}

v1::MetadataRecord TopicRec(const std::string& name, Uuid id) {
  v1::MetadataRecord r;
  r.mutable_topic()->set_name(name);
  id.ToProto(r.mutable_topic()->mutable_topic_id());
  return r;
}

v1::MetadataRecord PartitionRec(Uuid topic, int32_t partition, std::vector<int32_t> replicas,
                                std::vector<int32_t> isr, int32_t leader) {
  v1::MetadataRecord r;
  auto* p = r.mutable_partition();
  p->set_partition_id(partition);
  topic.ToProto(p->mutable_topic_id());
  for (int32_t b : replicas) p->add_replicas(b);
  for (int32_t b : isr) p->add_isr(b);
  p->set_leader(leader);
  return r;
}

v1::MetadataRecord ChangeRec(Uuid topic, int32_t partition, std::optional<std::vector<int32_t>> isr,
                             std::optional<int32_t> leader) {
  v1::MetadataRecord r;
  auto* c = r.mutable_partition_change();
  c->set_partition_id(partition);
  topic.ToProto(c->mutable_topic_id());
  if (isr.has_value()) {
    auto* list = c->mutable_isr();
    for (int32_t b : *isr) list->add_broker_ids(b);
  }
  if (leader.has_value()) c->set_leader(*leader);
  return r;
}

v1::MetadataRecord RemoveTopicRec(Uuid id) {
  v1::MetadataRecord r;
  id.ToProto(r.mutable_remove_topic()->mutable_topic_id());
  return r;
}

v1::MetadataRecord ConfigRec(v1::ConfigResource::Type type, const std::string& resource,
                             const std::string& key, std::optional<std::string> value) {
  v1::MetadataRecord r;
  auto* c = r.mutable_config();
  c->set_resource_type(type);
  c->set_resource_name(resource);
  c->set_name(key);
  if (value.has_value()) c->set_value(*value);
  return r;
}

v1::MetadataRecordBatch Batch(std::initializer_list<v1::MetadataRecord> records) {
  return Batch(std::vector<v1::MetadataRecord>(records));
}

v1::MetadataRecordBatch Batch(const std::vector<v1::MetadataRecord>& records) {
  v1::MetadataRecordBatch batch;
  for (const auto& r : records) *batch.add_records() = r;
  return batch;
}

std::shared_ptr<const MetadataImage> ReplayAll(
    const std::vector<v1::MetadataRecordBatch>& batches) {
  MetadataDelta delta(MetadataImage::Empty());
  int64_t offset = 0;
  for (const auto& batch : batches) {
    absl::Status status = delta.ReplayBatch(batch, Offset(++offset));
    FJORD_CHECK(status.ok()) << status;
  }
  return delta.Apply();
}

}  // namespace fjord::controller::testing
