// DeleteTopics and CreatePartitions (declared in topic_control.h).
#include "controller/topic_control.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controller/replica_placer.h"
#include "controller/replication_control.h"

namespace fjord::controller {

ControllerResult<v1::DeleteTopicsResponse> DeleteTopics(const MetadataImage& image,
                                                        const ControllerConfig& config,
                                                        const v1::DeleteTopicsRequest& req) {
  ControllerResult<v1::DeleteTopicsResponse> result;
  std::set<Uuid> deleted;
  for (const auto& item : req.topics()) {
    auto* out = result.response.add_responses();
    out->set_name(item.name());
    *out->mutable_topic_id() = item.topic_id();
    const Uuid id = Uuid::FromProto(item.topic_id());
    if (item.name().empty() == id.IsZero()) {
      SetError(out, v1::INVALID_REQUEST, "set exactly one of name and topic_id");
      continue;
    }
    const TopicImage* topic = id.IsZero() ? image.topic_by_name(item.name()) : image.topic(id);
    if (topic == nullptr) {
      SetError(out, id.IsZero() ? v1::UNKNOWN_TOPIC_OR_PARTITION : v1::UNKNOWN_TOPIC_ID,
               "no such topic");
      continue;
    }
    out->set_name(topic->name);
    topic->id.ToProto(out->mutable_topic_id());
    if (!config.delete_topic_enable) {
      SetError(out, v1::TOPIC_DELETION_DISABLED, "delete.topic.enable is false");
      continue;
    }
    if (!deleted.insert(topic->id).second) {
      SetError(out, v1::INVALID_REQUEST, "topic named twice in the request");
      continue;
    }
    v1::MetadataRecord record;
    topic->id.ToProto(record.mutable_remove_topic()->mutable_topic_id());
    result.records.push_back(std::move(record));
  }
  return result;
}

namespace {

using CreatePartitionsTopic = v1::CreatePartitionsRequest::CreatePartitionsTopic;

absl::StatusOr<std::vector<std::vector<BrokerId>>> PlanNewPartitions(
    const MetadataImage& image, const TopicImage& topic, const CreatePartitionsTopic& req,
    Random& random) {
  const int32_t current = static_cast<int32_t>(topic.partitions.size());
  if (req.count() <= current) {
    return KafkaError(v1::INVALID_PARTITIONS,
                      absl::StrCat("topic has ", current, " partitions; count must exceed it"));
  }
  for (const auto& p : topic.partitions) {
    if (!p->adding_replicas.empty() || !p->removing_replicas.empty()) {
      return KafkaError(v1::REASSIGNMENT_IN_PROGRESS, "a reassignment is in progress");
    }
  }
  const int32_t added = req.count() - current;
  const size_t rf = topic.partitions.empty() ? 1 : topic.partitions[0]->replicas.size();
  if (req.assignments_size() == 0) {
    std::vector<PlacementBroker> brokers;
    for (const auto& [id, b] : image.brokers()) {
      if (b->active()) brokers.push_back({id, b->rack});
    }
    return PlaceReplicas(std::move(brokers), added, static_cast<int32_t>(rf), random);
  }
  if (req.assignments_size() != added) {
    return KafkaError(
        v1::INVALID_REPLICA_ASSIGNMENT,
        absl::StrCat(req.assignments_size(), " assignments for ", added, " new partitions"));
  }
  std::vector<std::vector<BrokerId>> out;
  for (const auto& a : req.assignments()) {
    if (static_cast<size_t>(a.broker_ids_size()) != rf) {
      return KafkaError(v1::INVALID_REPLICA_ASSIGNMENT,
                        absl::StrCat("assignment must have ", rf, " replicas"));
    }
    std::set<int32_t> seen;
    bool any_active = false;
    out.emplace_back();
    for (int32_t b : a.broker_ids()) {
      if (!seen.insert(b).second || image.broker(BrokerId(b)) == nullptr) {
        return KafkaError(v1::INVALID_REPLICA_ASSIGNMENT,
                          absl::StrCat("broker ", b, " repeated or not registered"));
      }
      any_active |= BrokerIsActive(image, BrokerId(b));
      out.back().push_back(BrokerId(b));
    }
    if (!any_active) {
      return KafkaError(v1::INVALID_REPLICA_ASSIGNMENT, "every broker of an assignment is fenced");
    }
  }
  return out;
}

}  // namespace

ControllerResult<v1::CreatePartitionsResponse> CreatePartitions(
    const MetadataImage& image, const ControllerConfig& config,
    const v1::CreatePartitionsRequest& req, Random& random) {
  ControllerResult<v1::CreatePartitionsResponse> result;
  std::map<std::string, int> name_count;
  for (const auto& t : req.topics()) ++name_count[t.name()];
  for (const auto& t : req.topics()) {
    auto* out = result.response.add_results();
    out->set_name(t.name());
    const TopicImage* topic = image.topic_by_name(t.name());
    if (name_count[t.name()] > 1) {
      SetError(out, v1::INVALID_REQUEST, "topic named twice in the request");
      continue;
    }
    if (topic == nullptr) {
      SetError(out, v1::UNKNOWN_TOPIC_OR_PARTITION, "no such topic");
      continue;
    }
    if (t.count() > config.max_partitions_per_topic) {
      SetError(out, v1::INVALID_PARTITIONS, "too many partitions");
      continue;
    }
    auto plan = PlanNewPartitions(image, *topic, t, random);
    if (!plan.ok()) {
      SetError(out, plan.status());
      continue;
    }
    if (req.validate_only()) continue;
    int32_t next_id = static_cast<int32_t>(topic->partitions.size());
    for (auto& replicas : *plan) {
      PartitionRegistration reg;
      reg.replicas = std::move(replicas);
      for (BrokerId b : reg.replicas) {
        if (BrokerIsActive(image, b)) reg.isr.push_back(b);
      }
      reg.leader = reg.isr.front();
      v1::MetadataRecord r;
      *r.mutable_partition() = reg.ToRecord(topic->id, PartitionId(next_id++));
      result.records.push_back(std::move(r));
    }
  }
  return result;
}

}  // namespace fjord::controller
