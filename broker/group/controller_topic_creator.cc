#include "broker/group/controller_topic_creator.h"

#include <chrono>

#include "common/kafka_error.h"
#include "grpcpp/grpcpp.h"

namespace fjord::group {

absl::Status ControllerTopicCreator::CreateTopic(
    const std::string& name, int32_t partitions, int16_t replication_factor,
    const std::map<std::string, std::string>& configs) {
  v1::CreateTopicsRequest req;
  auto* t = req.add_topics();
  t->set_name(name);
  t->set_num_partitions(partitions);
  t->set_replication_factor(replication_factor);
  for (const auto& [k, v] : configs) {
    auto* c = t->add_configs();
    c->set_name(k);
    c->set_value(v);
  }
  req.set_timeout_ms(5000);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(6));
  v1::CreateTopicsResponse resp;
  int32_t controller = -1;
  grpc::Status s = channel_.Current(&controller)->CreateTopics(&ctx, req, &resp);
  if (!s.ok()) {
    channel_.Failed(nullptr);
    return absl::UnavailableError(s.error_message());
  }
  if (resp.error_code() != v1::NONE) {
    if (resp.error_code() == v1::NOT_CONTROLLER) {
      channel_.Failed(resp.has_active_controller() ? &resp.active_controller() : nullptr);
    }
    return KafkaError(resp.error_code(), resp.error_message());
  }
  if (resp.topics_size() != 1) return absl::InternalError("CreateTopics answered no topic");
  const auto& r = resp.topics(0);
  if (r.error_code() == v1::NONE || r.error_code() == v1::TOPIC_ALREADY_EXISTS) {
    return absl::OkStatus();
  }
  return KafkaError(r.error_code(), r.error_message());
}

}  // namespace fjord::group
