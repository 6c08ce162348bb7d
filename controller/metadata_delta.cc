#include "controller/metadata_delta.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace fjord::controller {

namespace {

absl::Status Corrupt(absl::string_view what) {
  return absl::FailedPreconditionError(absl::StrCat("metadata replay: ", what));
}

}  // namespace

MetadataDelta::MetadataDelta(std::shared_ptr<const MetadataImage> base)
    : working_(*base),
      topics_(&working_.topics_),
      topic_names_(&working_.topic_names_),
      configs_(&working_.configs_) {}

std::shared_ptr<const MetadataImage> MetadataDelta::Apply() {
  topics_.Share();
  topic_names_.Share();
  configs_.Share();
  owned_.clear();
  return std::make_shared<const MetadataImage>(working_);
}

absl::Status MetadataDelta::ReplayBatch(const v1::MetadataRecordBatch& batch, Offset offset) {
  if (offset <= working_.offset_) {
    return Corrupt(absl::StrCat("batch offset ", offset.value(), " not after image offset ",
                                working_.offset_.value()));
  }
  if (batch.records_size() == 0) return Corrupt("empty batch");
  for (const auto& record : batch.records()) RETURN_IF_ERROR(Replay(record));
  working_.offset_ = offset;
  return absl::OkStatus();
}

absl::Status MetadataDelta::Replay(const v1::MetadataRecord& record) {
  switch (record.record_case()) {
    case v1::MetadataRecord::kRegisterBroker:
      return ReplayRegisterBroker(record.register_broker());
    case v1::MetadataRecord::kFenceBroker:
      return ReplayFenceBroker(record.fence_broker());
    case v1::MetadataRecord::kUnfenceBroker:
      return ReplayUnfenceBroker(record.unfence_broker());
    case v1::MetadataRecord::kUnregisterBroker:
      return ReplayUnregisterBroker(record.unregister_broker());
    case v1::MetadataRecord::kTopic:
      return ReplayTopic(record.topic());
    case v1::MetadataRecord::kPartition:
      return ReplayPartition(record.partition());
    case v1::MetadataRecord::kPartitionChange:
      return ReplayPartitionChange(record.partition_change());
    case v1::MetadataRecord::kRemoveTopic:
      return ReplayRemoveTopic(record.remove_topic());
    case v1::MetadataRecord::kConfig:
      return ReplayConfig(record.config());
    case v1::MetadataRecord::kProducerIds:
      return ReplayProducerIds(record.producer_ids());
    case v1::MetadataRecord::kNoOp:
      return absl::OkStatus();
    case v1::MetadataRecord::kBrokerRegistrationChange:
      return ReplayBrokerChange(record.broker_registration_change());
    case v1::MetadataRecord::RECORD_NOT_SET:
      break;
  }
  // Also reached for kinds added by a newer controller: they parse as
  // unknown fields and leave the oneof unset. Skipping them would diverge.
  return Corrupt("record kind unset or unknown to this binary");
}

BrokerRegistration* MetadataDelta::MutableBroker(BrokerId id, BrokerEpoch epoch) {
  auto it = working_.brokers_.find(id);
  if (it == working_.brokers_.end() || it->second->epoch != epoch) return nullptr;
  if (!owned_.contains(it->second.get())) {
    it->second = std::make_shared<BrokerRegistration>(*it->second);
    owned_.insert(it->second.get());
  }
  return const_cast<BrokerRegistration*>(it->second.get());
}

TopicImage* MetadataDelta::MutableTopic(const Uuid& id) {
  const auto* slot = working_.topics_.Find(id);
  if (slot == nullptr) return nullptr;
  if (owned_.contains(slot->get())) return const_cast<TopicImage*>(slot->get());
  auto copy = std::make_shared<TopicImage>(**slot);
  TopicImage* raw = copy.get();
  owned_.insert(raw);
  topics_.Set(id, std::move(copy));
  return raw;
}

absl::Status MetadataDelta::ReplayRegisterBroker(const v1::RegisterBrokerRecord& r) {
  BrokerRegistration reg = BrokerRegistration::FromRecord(r);
  if (reg.id.value() < 0) return Corrupt("negative broker id");
  const BrokerRegistration* existing = working_.broker(reg.id);
  if (existing != nullptr && reg.epoch <= existing->epoch) {
    return Corrupt(absl::StrCat("broker ", reg.id.value(), " epoch ", reg.epoch.value(),
                                " not above ", existing->epoch.value()));
  }
  auto ptr = std::make_shared<BrokerRegistration>(std::move(reg));
  owned_.insert(ptr.get());
  working_.brokers_[ptr->id] = std::move(ptr);
  return absl::OkStatus();
}

absl::Status MetadataDelta::ReplayFenceBroker(const v1::FenceBrokerRecord& r) {
  // A stale epoch means a newer incarnation registered since: not an error.
  BrokerRegistration* b = MutableBroker(BrokerId(r.id()), BrokerEpoch(r.epoch()));
  if (b != nullptr) b->fenced = true;
  return absl::OkStatus();
}

absl::Status MetadataDelta::ReplayUnfenceBroker(const v1::UnfenceBrokerRecord& r) {
  BrokerRegistration* b = MutableBroker(BrokerId(r.id()), BrokerEpoch(r.epoch()));
  if (b == nullptr) return Corrupt(absl::StrCat("unfence of unknown broker ", r.id()));
  b->fenced = false;
  return absl::OkStatus();
}

absl::Status MetadataDelta::ReplayUnregisterBroker(const v1::UnregisterBrokerRecord& r) {
  auto it = working_.brokers_.find(BrokerId(r.broker_id()));
  if (it == working_.brokers_.end() || it->second->epoch != BrokerEpoch(r.broker_epoch())) {
    return Corrupt(absl::StrCat("unregister of unknown broker ", r.broker_id()));
  }
  owned_.erase(it->second.get());
  working_.brokers_.erase(it);
  return absl::OkStatus();
}

absl::Status MetadataDelta::ReplayBrokerChange(const v1::BrokerRegistrationChangeRecord& r) {
  BrokerRegistration* b = MutableBroker(BrokerId(r.broker_id()), BrokerEpoch(r.broker_epoch()));
  if (b == nullptr) return Corrupt(absl::StrCat("change of unknown broker ", r.broker_id()));
  if (r.has_in_controlled_shutdown()) b->in_controlled_shutdown = r.in_controlled_shutdown();
  return absl::OkStatus();
}

absl::Status MetadataDelta::ReplayTopic(const v1::TopicRecord& r) {
  Uuid id = Uuid::FromProto(r.topic_id());
  if (id.IsZero() || id == Uuid::Reserved()) return Corrupt("reserved topic id");
  if (r.name().empty()) return Corrupt("empty topic name");
  if (working_.topics_.Find(id) != nullptr) return Corrupt("duplicate topic id");
  if (working_.topic_names_.Find(r.name()) != nullptr) {
    return Corrupt(absl::StrCat("duplicate topic name ", r.name()));
  }
  auto topic = std::make_shared<TopicImage>();
  topic->name = r.name();
  topic->id = id;
  owned_.insert(topic.get());
  topics_.Set(id, std::move(topic));
  topic_names_.Set(r.name(), id);
  return absl::OkStatus();
}

absl::Status MetadataDelta::ReplayPartition(const v1::PartitionRecord& r) {
  TopicImage* topic = MutableTopic(Uuid::FromProto(r.topic_id()));
  if (topic == nullptr) return Corrupt("partition of unknown topic");
  if (r.partition_id() < 0 || static_cast<size_t>(r.partition_id()) > topic->partitions.size()) {
    return Corrupt(absl::StrCat("partition id ", r.partition_id(), " leaves a gap"));
  }
  ASSIGN_OR_RETURN(PartitionRegistration p, PartitionRegistration::FromRecord(r));
  auto ptr = std::make_shared<const PartitionRegistration>(std::move(p));
  if (static_cast<size_t>(r.partition_id()) == topic->partitions.size()) {
    topic->partitions.push_back(std::move(ptr));
    ++working_.partition_count_;
  } else {
    topic->partitions[r.partition_id()] = std::move(ptr);
  }
  return absl::OkStatus();
}

absl::Status MetadataDelta::ReplayPartitionChange(const v1::PartitionChangeRecord& r) {
  TopicImage* topic = MutableTopic(Uuid::FromProto(r.topic_id()));
  if (topic == nullptr) return Corrupt("partition change of unknown topic");
  const PartitionRegistration* current = topic->partition(PartitionId(r.partition_id()));
  if (current == nullptr) return Corrupt("partition change of unknown partition");
  ASSIGN_OR_RETURN(PartitionRegistration next, current->Merge(r));
  topic->partitions[r.partition_id()] =
      std::make_shared<const PartitionRegistration>(std::move(next));
  return absl::OkStatus();
}

absl::Status MetadataDelta::ReplayRemoveTopic(const v1::RemoveTopicRecord& r) {
  Uuid id = Uuid::FromProto(r.topic_id());
  const auto* slot = working_.topics_.Find(id);
  if (slot == nullptr) return Corrupt("removal of unknown topic");
  std::shared_ptr<const TopicImage> topic = *slot;  // keep alive while erasing
  working_.partition_count_ -= static_cast<int64_t>(topic->partitions.size());
  topic_names_.Erase(topic->name);
  configs_.Erase(ConfigResourceKey{v1::ConfigResource::TOPIC, topic->name});
  topics_.Erase(id);
  owned_.erase(topic.get());
  return absl::OkStatus();
}

absl::Status MetadataDelta::ReplayConfig(const v1::ConfigRecord& r) {
  if (r.resource_type() != v1::ConfigResource::TOPIC &&
      r.resource_type() != v1::ConfigResource::BROKER) {
    return Corrupt("config of unknown resource type");
  }
  if (r.name().empty()) return Corrupt("config with empty key");
  ConfigResourceKey key{r.resource_type(), r.resource_name()};
  const auto* slot = working_.configs_.Find(key);
  ConfigValues values = slot == nullptr ? ConfigValues{} : **slot;
  if (r.has_value()) {
    values[r.name()] = r.value();
  } else {
    values.erase(r.name());
  }
  if (values.empty()) {
    configs_.Erase(key);
  } else {
    configs_.Set(key, std::make_shared<const ConfigValues>(std::move(values)));
  }
  return absl::OkStatus();
}

absl::Status MetadataDelta::ReplayProducerIds(const v1::ProducerIdsRecord& r) {
  if (r.next_producer_id() <= working_.next_producer_id_) {
    return Corrupt(absl::StrCat("next producer id ", r.next_producer_id(), " not above ",
                                working_.next_producer_id_));
  }
  working_.next_producer_id_ = r.next_producer_id();
  return absl::OkStatus();
}

}  // namespace fjord::controller
