#include "client/admin.h"

#include <algorithm>
#include <set>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/grpc_status.h"
#include "common/kafka_error.h"

namespace fjord::client {
namespace {

constexpr int kAdminMessageBytes = 64 << 20;

absl::Status ResultStatus(v1::ErrorCode code, const std::string& message) {
  if (code == v1::NONE) return absl::OkStatus();
  return KafkaError(code, message.empty() ? ErrorCodeName(code)
                                          : absl::StrCat(ErrorCodeName(code), ": ", message));
}

}  // namespace

std::string TopicIdToString(const v1::Uuid& id) {
  std::string bytes(16, '\0');
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<char>(id.high() >> (56 - 8 * i));
    bytes[8 + i] = static_cast<char>(id.low() >> (56 - 8 * i));
  }
  return absl::WebSafeBase64Escape(bytes);
}

absl::StatusOr<std::unique_ptr<Admin>> Admin::Create(const AdminConfig& config) {
  if (config.bootstrap_servers.empty()) {
    return absl::InvalidArgumentError("bootstrap.servers is required");
  }
  return std::unique_ptr<Admin>(new Admin(config));
}

Admin::Admin(const AdminConfig& config)
    : config_(config),
      channels_(kAdminMessageBytes),
      metadata_(config.bootstrap_servers, channels_, absl::Milliseconds(config.request_timeout_ms),
                absl::Milliseconds(config.metadata_max_age_ms)),
      group_rpc_({.bootstrap_servers = config.bootstrap_servers,
                  .request_timeout = absl::Milliseconds(config.request_timeout_ms),
                  .retry_backoff = absl::Milliseconds(config.retry_backoff_ms),
                  .retry_backoff_max = absl::Milliseconds(config.retry_backoff_max_ms)},
                 channels_) {}

template <typename Request, typename Response>
absl::StatusOr<Response> Admin::CallController(
    const Request& request,
    grpc::Status (v1::ControllerService::Stub::*method)(grpc::ClientContext*, const Request&,
                                                        Response*)) {
  const std::vector<std::string>& bootstrap = config_.bootstrap_controllers.empty()
                                                  ? config_.bootstrap_servers
                                                  : config_.bootstrap_controllers;
  const absl::Time deadline = absl::Now() + absl::Milliseconds(config_.default_api_timeout_ms);
  absl::Status last = absl::UnavailableError("no controller address");
  size_t next = 0;
  absl::Duration backoff = absl::Milliseconds(config_.retry_backoff_ms);
  // Addresses that answered UNIMPLEMENTED serve no controller API (a plain
  // broker): once every bootstrap address has, waiting cannot help.
  std::set<std::string> without_controller_api;
  while (absl::Now() < deadline) {
    std::string address;
    {
      absl::MutexLock lock(&mu_);
      address = active_controller_;
    }
    if (address.empty()) address = bootstrap[next++ % bootstrap.size()];
    auto stub = v1::ControllerService::NewStub(channels_.Get(address));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(
        std::min(deadline, absl::Now() + absl::Milliseconds(config_.request_timeout_ms))));
    Response response;
    grpc::Status status = (stub.get()->*method)(&context, request, &response);
    if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
      without_controller_api.insert(address);
      if (without_controller_api.size() >= bootstrap.size()) {
        return absl::FailedPreconditionError(
            absl::StrCat("no controller API at ", absl::StrJoin(bootstrap, ","),
                         ": these are brokers; give the controllers with bootstrap.controllers "
                         "(fjord --bootstrap-controller)"));
      }
      absl::MutexLock lock(&mu_);
      active_controller_.clear();
      continue;
    }
    if (!status.ok()) {
      last = absl::UnavailableError(
          absl::StrCat("controller at ", address, ": ", status.error_message()));
      absl::MutexLock lock(&mu_);
      active_controller_.clear();  // try the next address
    } else if (response.error_code() == v1::NOT_CONTROLLER) {
      const auto& active = response.active_controller();
      absl::MutexLock lock(&mu_);
      if (active.has_endpoint() && !active.endpoint().host().empty()) {
        active_controller_ = absl::StrCat(active.endpoint().host(), ":", active.endpoint().port());
        continue;  // redirect at once
      }
      active_controller_.clear();
      last = ResultStatus(response.error_code(), "no active controller (election in progress)");
    } else if (response.error_code() != v1::NONE) {
      return ResultStatus(response.error_code(), response.error_message());
    } else {
      absl::MutexLock lock(&mu_);
      active_controller_ = address;
      return response;
    }
    std::this_thread::sleep_for(absl::ToChronoNanoseconds(backoff));
    backoff = std::min(backoff * 2, absl::Milliseconds(config_.retry_backoff_max_ms));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("no answer from the active controller within ", config_.default_api_timeout_ms,
                   " ms (default.api.timeout.ms): ", last.message()));
}

absl::StatusOr<std::vector<TopicResult>> Admin::CreateTopics(const std::vector<NewTopic>& topics,
                                                             bool validate_only) {
  v1::CreateTopicsRequest request;
  request.set_timeout_ms(config_.request_timeout_ms);
  request.set_validate_only(validate_only);
  for (const NewTopic& topic : topics) {
    auto* t = request.add_topics();
    t->set_name(topic.name);
    t->set_num_partitions(topic.replica_assignment.empty() ? topic.num_partitions : -1);
    t->set_replication_factor(topic.replica_assignment.empty() ? topic.replication_factor : -1);
    for (size_t p = 0; p < topic.replica_assignment.size(); ++p) {
      auto* a = t->add_assignments();
      a->set_partition(static_cast<int32_t>(p));
      for (int32_t broker : topic.replica_assignment[p]) a->add_broker_ids(broker);
    }
    for (const auto& [name, value] : topic.configs) {
      auto* c = t->add_configs();
      c->set_name(name);
      c->set_value(value);
    }
  }
  auto response = CallController(request, &v1::ControllerService::Stub::CreateTopics);
  if (!response.ok()) return response.status();
  std::vector<TopicResult> results;
  for (const auto& t : response->topics()) {
    results.push_back({t.name(), ResultStatus(t.error_code(), t.error_message()),
                       t.has_topic_id() ? TopicIdToString(t.topic_id()) : "", t.num_partitions(),
                       t.replication_factor()});
  }
  return results;
}

absl::StatusOr<std::vector<TopicResult>> Admin::DeleteTopics(
    const std::vector<std::string>& names) {
  v1::DeleteTopicsRequest request;
  request.set_timeout_ms(config_.request_timeout_ms);
  for (const std::string& name : names) request.add_topics()->set_name(name);
  auto response = CallController(request, &v1::ControllerService::Stub::DeleteTopics);
  if (!response.ok()) return response.status();
  std::vector<TopicResult> results;
  for (const auto& t : response->responses()) {
    results.push_back({t.name(), ResultStatus(t.error_code(), t.error_message()),
                       t.has_topic_id() ? TopicIdToString(t.topic_id()) : ""});
  }
  return results;
}

absl::StatusOr<TopicResult> Admin::CreatePartitions(const std::string& topic, int32_t total_count,
                                                    bool validate_only) {
  v1::CreatePartitionsRequest request;
  request.set_timeout_ms(config_.request_timeout_ms);
  request.set_validate_only(validate_only);
  auto* t = request.add_topics();
  t->set_name(topic);
  t->set_count(total_count);
  auto response = CallController(request, &v1::ControllerService::Stub::CreatePartitions);
  if (!response.ok()) return response.status();
  for (const auto& r : response->results()) {
    if (r.name() == topic) {
      return TopicResult{r.name(), ResultStatus(r.error_code(), r.error_message()), "",
                         total_count};
    }
  }
  return absl::InternalError("controller response did not mention the topic");
}

absl::StatusOr<std::vector<std::string>> Admin::ListTopics(bool include_internal) {
  if (absl::Status s = metadata_.Refresh({}); !s.ok()) return s;
  std::vector<std::string> names;
  for (const auto& [name, topic] : metadata_.current()->topics) {
    if (topic.is_internal && !include_internal) continue;
    names.push_back(name);
  }
  return names;  // std::map keeps them sorted
}

absl::StatusOr<std::vector<TopicMetadata>> Admin::DescribeTopics(
    const std::vector<std::string>& topics) {
  if (absl::Status s = metadata_.Refresh(topics); !s.ok()) return s;
  std::shared_ptr<const MetadataSnapshot> snapshot = metadata_.current();
  std::vector<TopicMetadata> out;
  if (topics.empty()) {
    for (const auto& [name, topic] : snapshot->topics) out.push_back(topic);
    return out;
  }
  for (const std::string& name : topics) {
    const TopicMetadata* topic = snapshot->topic(name);
    if (topic == nullptr) {
      TopicMetadata missing;
      missing.name = name;
      missing.error = v1::UNKNOWN_TOPIC_OR_PARTITION;
      out.push_back(missing);
    } else {
      out.push_back(*topic);
    }
  }
  return out;
}

absl::StatusOr<std::vector<v1::DescribedConfig>> Admin::DescribeConfigs(
    v1::ConfigResource::Type type, const std::string& name) {
  v1::DescribeConfigsRequest request;
  auto* resource = request.add_resources()->mutable_resource();
  resource->set_type(type);
  resource->set_name(name);
  auto response = CallController(request, &v1::ControllerService::Stub::DescribeConfigs);
  if (!response.ok()) return response.status();
  for (const auto& result : response->results()) {
    if (absl::Status s = ResultStatus(result.error_code(), result.error_message()); !s.ok()) {
      return s;
    }
    return std::vector<v1::DescribedConfig>(result.configs().begin(), result.configs().end());
  }
  return absl::InternalError("controller response had no result");
}

absl::Status Admin::IncrementalAlterConfigs(v1::ConfigResource::Type type, const std::string& name,
                                            const std::vector<ConfigOp>& ops, bool validate_only) {
  v1::IncrementalAlterConfigsRequest request;
  request.set_validate_only(validate_only);
  auto* resource = request.add_resources();
  resource->mutable_resource()->set_type(type);
  resource->mutable_resource()->set_name(name);
  for (const ConfigOp& op : ops) {
    auto* c = resource->add_configs();
    c->set_name(op.name);
    c->set_value(op.value);
    c->set_config_operation(op.type == ConfigOp::Type::kSet ? v1::AlterableConfig::SET
                                                            : v1::AlterableConfig::DELETE);
  }
  auto response = CallController(request, &v1::ControllerService::Stub::IncrementalAlterConfigs);
  if (!response.ok()) return response.status();
  for (const auto& r : response->responses()) {
    if (absl::Status s = ResultStatus(r.error_code(), r.error_message()); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::DescribeClusterResponse> Admin::DescribeCluster() {
  return CallController(v1::DescribeClusterRequest(),
                        &v1::ControllerService::Stub::DescribeCluster);
}

}  // namespace fjord::client
