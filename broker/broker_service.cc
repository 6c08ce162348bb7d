#include "broker/broker_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/kafka_error.h"
#include "storage/record_batch.h"

namespace fjord::broker {
namespace {

constexpr int64_t kLatest = -1;
constexpr int64_t kEarliest = -2;
constexpr int64_t kMaxTimestamp = -3;

}  // namespace

BrokerServiceImpl::BrokerServiceImpl(ReplicaManager& replicas, MetadataCache& metadata,
                                     Purgatory& purgatory, const Clock& clock,
                                     BrokerServiceOptions options)
    : replicas_(replicas),
      metadata_(metadata),
      purgatory_(purgatory),
      clock_(clock),
      options_(std::move(options)) {}

absl::StatusOr<std::shared_ptr<Replica>> BrokerServiceImpl::LeaderReplica(
    const std::string& topic, int32_t p, LeaderEpoch current_leader_epoch,
    v1::LeaderIdAndEpoch* leader) const {
  std::shared_ptr<Replica> replica = replicas_.Get(topic, PartitionId(p));
  absl::Status status;
  if (replica != nullptr) {
    status = replica->CheckLeader(current_leader_epoch);
    if (status.ok()) return replica;
  }
  const controller::ImagePtr image = metadata_.image();
  const controller::TopicImage* t = image->topic_by_name(topic);
  const controller::PartitionRegistration* reg = t ? t->partition(PartitionId(p)) : nullptr;
  if (reg == nullptr) {
    return KafkaError(v1::UNKNOWN_TOPIC_OR_PARTITION, absl::StrCat(topic, "-", p, " unknown"));
  }
  leader->set_leader_id(reg->leader.value());
  leader->set_leader_epoch(reg->leader_epoch.value());
  if (replica == nullptr) {
    return KafkaError(v1::NOT_LEADER_OR_FOLLOWER,
                      absl::StrCat(topic, "-", p, " is led by broker ", reg->leader.value()));
  }
  return status;
}

void BrokerServiceImpl::AddNodeEndpoint(int32_t leader,
                                        google::protobuf::RepeatedPtrField<v1::Node>* nodes) const {
  if (leader < 0) return;
  for (const v1::Node& n : *nodes) {
    if (n.node_id() == leader) return;
  }
  const controller::BrokerRegistration* b = metadata_.image()->broker(BrokerId(leader));
  if (b == nullptr) return;
  for (const controller::BrokerEndpoint& e : b->endpoints) {
    if (e.name != options_.listener_name) continue;
    v1::Node* n = nodes->Add();
    n->set_node_id(leader);
    n->set_host(e.host);
    n->set_port(e.port);
    n->set_rack(b->rack);
    return;
  }
}

grpc::Status BrokerServiceImpl::ListOffsets(grpc::ServerContext*,
                                            const v1::ListOffsetsRequest* request,
                                            v1::ListOffsetsResponse* response) {
  const absl::Time start = absl::Now();
  DoListOffsets(request, response);
  if (options_.observer != nullptr) {
    options_.observer->OnRequest(Rpc::kListOffsets, absl::Now() - start, 0, 0);
  }
  return grpc::Status::OK;
}

void BrokerServiceImpl::DoListOffsets(const v1::ListOffsetsRequest* request,
                                      v1::ListOffsetsResponse* response) const {
  for (const auto& topic : request->topics()) {
    auto* tr = response->add_topics();
    tr->set_topic(topic.topic());
    for (const auto& p : topic.partitions()) {
      auto* pr = tr->add_partitions();
      pr->set_partition(p.partition());
      pr->set_timestamp(-1);
      pr->set_offset(-1);
      pr->set_leader_epoch(-1);
      v1::LeaderIdAndEpoch leader;
      absl::StatusOr<std::shared_ptr<Replica>> replica = LeaderReplica(
          topic.topic(), p.partition(), LeaderEpoch(p.current_leader_epoch()), &leader);
      if (!replica.ok()) {
        pr->set_error_code(ToErrorCode(replica.status()));
        continue;
      }
      Replica& r = **replica;
      const Offset hw = r.high_watermark();
      if (p.timestamp() == kLatest) {
        pr->set_offset(hw.value());
        pr->set_leader_epoch(r.leader_epoch().value());
      } else if (p.timestamp() == kEarliest) {
        pr->set_offset(r.log().log_start_offset().value());
      } else if (p.timestamp() == kMaxTimestamp || p.timestamp() < kMaxTimestamp) {
        // -3 needs a max-timestamp index that storage/ does not expose yet.
        pr->set_error_code(p.timestamp() < kMaxTimestamp ? v1::INVALID_REQUEST
                                                         : v1::UNSUPPORTED_VERSION);
      } else {
        absl::StatusOr<std::optional<Offset>> batch_base =
            r.log().OffsetForTimestamp(p.timestamp());
        if (!batch_base.ok()) {
          pr->set_error_code(v1::KAFKA_STORAGE_ERROR);
          continue;
        }
        if (!batch_base->has_value() || **batch_base >= hw) continue;  // Nothing found.
        // The index names the batch; the answer is the first record in it
        // whose timestamp reaches the one asked for.
        absl::StatusOr<std::string> bytes = r.log().Read(**batch_base, 1, hw);
        if (!bytes.ok()) {
          pr->set_error_code(v1::KAFKA_STORAGE_ERROR);
          continue;
        }
        storage::BatchIterator it(*bytes);
        if (!it.Next()) continue;
        absl::StatusOr<storage::DecodedBatch> batch =
            storage::DecodedBatch::Decode(it.batch(), storage::BatchLimits{});
        if (!batch.ok()) {
          pr->set_error_code(v1::CORRUPT_MESSAGE);
          continue;
        }
        const storage::BatchHeader& h = batch->header();
        for (const storage::Record& rec : batch->records()) {
          const int64_t ts = h.timestamp_type() == storage::TimestampType::kLogAppendTime
                                 ? h.max_timestamp
                                 : h.base_timestamp + rec.timestamp_delta;
          if (ts >= p.timestamp()) {
            pr->set_offset((h.base_offset + rec.offset_delta).value());
            pr->set_timestamp(ts);
            pr->set_leader_epoch(h.partition_leader_epoch.value());
            break;
          }
        }
      }
    }
  }
}

grpc::Status BrokerServiceImpl::Metadata(grpc::ServerContext*, const v1::MetadataRequest* request,
                                         v1::MetadataResponse* response) {
  const controller::ImagePtr image = metadata_.image();
  response->set_cluster_id(metadata_.cluster_id());
  response->set_controller_id(metadata_.controller_id().value());
  for (const auto& [id, b] : image->brokers()) {
    if (b->fenced) continue;
    for (const controller::BrokerEndpoint& e : b->endpoints) {
      if (e.name != options_.listener_name) continue;
      v1::Node* n = response->add_brokers();
      n->set_node_id(id.value());
      n->set_host(e.host);
      n->set_port(e.port);
      n->set_rack(b->rack);
    }
  }
  auto describe = [&](const controller::TopicImage& t) {
    auto* tr = response->add_topics();
    tr->set_topic(t.name);
    t.id.ToProto(tr->mutable_topic_id());
    tr->set_is_internal(t.name.rfind("__", 0) == 0);
    for (size_t i = 0; i < t.partitions.size(); ++i) {
      const controller::PartitionRegistration& reg = *t.partitions[i];
      auto* pr = tr->add_partitions();
      pr->set_partition(static_cast<int32_t>(i));
      pr->set_leader_id(reg.leader.value());
      pr->set_leader_epoch(reg.leader_epoch.value());
      for (BrokerId r : reg.replicas) {
        pr->add_replica_nodes(r.value());
        const controller::BrokerRegistration* b = image->broker(r);
        if (b == nullptr || b->fenced) pr->add_offline_replicas(r.value());
      }
      for (BrokerId r : reg.isr) pr->add_isr_nodes(r.value());
      if (!reg.has_leader()) {
        pr->set_error_code(v1::LEADER_NOT_AVAILABLE);
      } else if (pr->offline_replicas_size() > 0) {
        pr->set_error_code(v1::REPLICA_NOT_AVAILABLE);
      }
    }
  };
  if (request->all_topics()) {
    for (const std::string& name : image->SortedTopicNames()) describe(*image->topic_by_name(name));
    return grpc::Status::OK;
  }
  for (const auto& wanted : request->topics()) {
    const controller::TopicImage* t =
        wanted.topic().empty() ? image->topic(controller::Uuid::FromProto(wanted.topic_id()))
                               : image->topic_by_name(wanted.topic());
    if (t != nullptr) {
      describe(*t);
      continue;
    }
    auto* tr = response->add_topics();
    tr->set_topic(wanted.topic());
    *tr->mutable_topic_id() = wanted.topic_id();
    tr->set_error_code(wanted.topic().empty() ? v1::UNKNOWN_TOPIC_ID
                                              : v1::UNKNOWN_TOPIC_OR_PARTITION);
    // Internal topics (__consumer_offsets) are created by their owners only.
    if (!wanted.topic().empty() && request->allow_auto_topic_creation() &&
        options_.auto_create_topic && wanted.topic().rfind("__", 0) != 0) {
      const absl::Status created = options_.auto_create_topic(wanted.topic());
      tr->set_error_code(created.ok() ? v1::LEADER_NOT_AVAILABLE : ToErrorCode(created));
    }
  }
  return grpc::Status::OK;
}

}  // namespace fjord::broker
