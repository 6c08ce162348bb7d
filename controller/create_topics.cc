// CreateTopics (declared in topic_control.h).
#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/status_macros.h"
#include "controller/replica_placer.h"
#include "controller/replication_control.h"
#include "controller/topic_config.h"
#include "controller/topic_control.h"

namespace fjord::controller {

namespace {

constexpr size_t kMaxTopicNameLength = 249;

using CreatableTopic = v1::CreateTopicsRequest::CreatableTopic;

// A topic that passed validation, ready to become records.
struct PlannedTopic {
  std::vector<std::vector<BrokerId>> replicas;  // per partition
  std::map<std::string, std::string> configs;   // sorted: deterministic records
};

std::vector<PlacementBroker> ActiveBrokers(const MetadataImage& image) {
  std::vector<PlacementBroker> out;
  for (const auto& [id, b] : image.brokers()) {
    if (b->active()) out.push_back({id, b->rack});
  }
  return out;
}

absl::Status ValidateManualAssignment(const MetadataImage& image, const CreatableTopic& topic,
                                      PlannedTopic* plan) {
  if (topic.num_partitions() != -1 || topic.replication_factor() != -1) {
    return KafkaError(v1::INVALID_REQUEST,
                      "num_partitions and replication_factor must be -1 with assignments");
  }
  const int n = topic.assignments_size();
  plan->replicas.assign(n, {});
  size_t rf = 0;
  for (const auto& a : topic.assignments()) {
    if (a.partition() < 0 || a.partition() >= n || !plan->replicas[a.partition()].empty()) {
      return KafkaError(
          v1::INVALID_REPLICA_ASSIGNMENT,
          absl::StrCat("partition ", a.partition(), " missing, repeated or out of range"));
    }
    if (a.broker_ids_size() == 0 || (rf != 0 && static_cast<size_t>(a.broker_ids_size()) != rf)) {
      return KafkaError(v1::INVALID_REPLICA_ASSIGNMENT, "replication factor must be even and > 0");
    }
    rf = a.broker_ids_size();
    std::set<int32_t> seen;
    bool any_active = false;
    for (int32_t b : a.broker_ids()) {
      if (!seen.insert(b).second || image.broker(BrokerId(b)) == nullptr) {
        return KafkaError(v1::INVALID_REPLICA_ASSIGNMENT,
                          absl::StrCat("broker ", b, " repeated or not registered"));
      }
      any_active |= BrokerIsActive(image, BrokerId(b));
      plan->replicas[a.partition()].push_back(BrokerId(b));
    }
    if (!any_active) {
      return KafkaError(v1::INVALID_REPLICA_ASSIGNMENT,
                        absl::StrCat("every broker of partition ", a.partition(), " is fenced"));
    }
  }
  return absl::OkStatus();
}

absl::Status Plan(const MetadataImage& image, const ControllerConfig& config,
                  const CreatableTopic& topic, Random& random, PlannedTopic* plan) {
  RETURN_IF_ERROR(ValidateTopicName(topic.name()));
  if (image.topic_by_name(topic.name()) != nullptr) {
    return KafkaError(v1::TOPIC_ALREADY_EXISTS, absl::StrCat("topic ", topic.name(), " exists"));
  }
  // '.' and '_' collide in metric names, so Kafka refuses names that differ
  // from an existing one only there.
  // Only names with '.' or '_' can collide, so the scan is skipped for most.
  const std::string canonical = absl::StrReplaceAll(topic.name(), {{".", "_"}});
  const bool may_collide = topic.name().find_first_of("._") != std::string::npos;
  for (const std::string& other :
       may_collide ? image.SortedTopicNames() : std::vector<std::string>{}) {
    if (absl::StrReplaceAll(other, {{".", "_"}}) == canonical) {
      return KafkaError(v1::INVALID_TOPIC_EXCEPTION,
                        absl::StrCat("topic ", topic.name(), " collides with ", other));
    }
  }
  for (const auto& entry : topic.configs()) {
    RETURN_IF_ERROR(ValidateTopicConfig(entry.name(), entry.value()));
    if (!plan->configs.emplace(entry.name(), entry.value()).second) {
      return KafkaError(v1::INVALID_CONFIG, absl::StrCat("config ", entry.name(), " given twice"));
    }
  }
  if (topic.assignments_size() > 0) return ValidateManualAssignment(image, topic, plan);

  const int32_t partitions =
      topic.num_partitions() == -1 ? config.default_num_partitions : topic.num_partitions();
  if (partitions < 1 || partitions > config.max_partitions_per_topic) {
    return KafkaError(v1::INVALID_PARTITIONS,
                      absl::StrCat("number of partitions ", topic.num_partitions(), " is invalid"));
  }
  const int32_t rf = topic.replication_factor() == -1 ? config.default_replication_factor
                                                      : topic.replication_factor();
  if (rf < 1) {
    return KafkaError(v1::INVALID_REPLICATION_FACTOR,
                      absl::StrCat("replication factor ", topic.replication_factor(), " < 1"));
  }
  ASSIGN_OR_RETURN(plan->replicas, PlaceReplicas(ActiveBrokers(image), partitions, rf, random));
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateTopicName(const std::string& name) {
  if (name.empty()) return KafkaError(v1::INVALID_TOPIC_EXCEPTION, "topic name is empty");
  if (name == "." || name == "..") {
    return KafkaError(v1::INVALID_TOPIC_EXCEPTION, "topic name cannot be '.' or '..'");
  }
  if (name.size() > kMaxTopicNameLength) {
    return KafkaError(v1::INVALID_TOPIC_EXCEPTION,
                      absl::StrCat("topic name longer than ", kMaxTopicNameLength));
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return KafkaError(
          v1::INVALID_TOPIC_EXCEPTION,
          absl::StrCat("topic name '", name, "' has characters outside [a-zA-Z0-9._-]"));
    }
  }
  return absl::OkStatus();
}

ControllerResult<v1::CreateTopicsResponse> CreateTopics(const MetadataImage& image,
                                                        const ControllerConfig& config,
                                                        const v1::CreateTopicsRequest& req,
                                                        Random& random) {
  ControllerResult<v1::CreateTopicsResponse> result;
  std::map<std::string, int> name_count;
  for (const auto& topic : req.topics()) ++name_count[topic.name()];
  std::set<Uuid> new_ids;
  for (const auto& topic : req.topics()) {
    auto* out = result.response.add_topics();
    out->set_name(topic.name());
    out->set_num_partitions(-1);
    out->set_replication_factor(-1);
    PlannedTopic plan;
    absl::Status status = name_count[topic.name()] > 1
                              ? KafkaError(v1::INVALID_REQUEST, "topic named twice in the request")
                              : Plan(image, config, topic, random, &plan);
    if (!status.ok()) {
      SetError(out, status);
      continue;
    }
    out->set_num_partitions(static_cast<int32_t>(plan.replicas.size()));
    out->set_replication_factor(static_cast<int32_t>(plan.replicas[0].size()));
    if (req.validate_only()) continue;

    // Ids are random; never hand out one that is live (replay would refuse
    // it), even if the Random repeats itself (e.g. a reseeded controller).
    Uuid id = Uuid::Random(random);
    while (image.topic(id) != nullptr || !new_ids.insert(id).second) id = Uuid::Random(random);
    id.ToProto(out->mutable_topic_id());
    v1::MetadataRecord record;
    record.mutable_topic()->set_name(topic.name());
    id.ToProto(record.mutable_topic()->mutable_topic_id());
    result.records.push_back(record);
    for (const auto& [key, value] : plan.configs) {
      v1::MetadataRecord c;
      c.mutable_config()->set_resource_type(v1::ConfigResource::TOPIC);
      c.mutable_config()->set_resource_name(topic.name());
      c.mutable_config()->set_name(key);
      c.mutable_config()->set_value(value);
      result.records.push_back(std::move(c));
    }
    for (size_t p = 0; p < plan.replicas.size(); ++p) {
      PartitionRegistration reg;
      reg.replicas = plan.replicas[p];
      for (BrokerId b : reg.replicas) {
        if (BrokerIsActive(image, b)) reg.isr.push_back(b);
      }
      reg.leader = reg.isr.front();  // placement and manual checks ensure one
      v1::MetadataRecord r;
      *r.mutable_partition() = reg.ToRecord(id, PartitionId(static_cast<int32_t>(p)));
      result.records.push_back(std::move(r));
    }
  }
  return result;
}

}  // namespace fjord::controller
