#include "client/testing/scripted_broker.h"

#include <algorithm>
#include <deque>
#include <thread>

#include "common/assert.h"
#include "storage/record_batch.h"

namespace fjord::client::testing {

ScriptedBroker::ScriptedBroker(int32_t id) : id_(id) {}

ScriptedBroker::~ScriptedBroker() {
  Release();
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

void ScriptedBroker::Start() {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
  builder.RegisterService(this);
  for (grpc::Service* service : extra_services_) builder.RegisterService(service);
  server_ = builder.BuildAndStart();
  FJORD_CHECK(server_ != nullptr && port_ > 0) << "scripted broker failed to start";
}

void ScriptedBroker::SetCluster(std::vector<ScriptedBroker*> brokers,
                                std::map<std::string, std::vector<int32_t>> leaders) {
  absl::MutexLock lock(&mu_);
  brokers_.clear();
  for (ScriptedBroker* b : brokers) brokers_.push_back({b->id(), b->port()});
  leaders_ = std::move(leaders);
}

void ScriptedBroker::FailNextProduces(int count, v1::ErrorCode code) {
  absl::MutexLock lock(&mu_);
  fail_count_ = count;
  fail_code_ = code;
}

void ScriptedBroker::HoldProduces() {
  absl::MutexLock lock(&mu_);
  hold_ = true;
}

void ScriptedBroker::Release() {
  absl::MutexLock lock(&mu_);
  hold_ = false;
}

std::vector<ScriptedBroker::StoredRecord> ScriptedBroker::Records(const std::string& topic,
                                                                  int32_t partition) {
  absl::MutexLock lock(&mu_);
  return logs_[{topic, partition}];
}

int ScriptedBroker::produce_calls() {
  absl::MutexLock lock(&mu_);
  return produce_calls_;
}

grpc::Status ScriptedBroker::Metadata(grpc::ServerContext*, const v1::MetadataRequest* request,
                                      v1::MetadataResponse* response) {
  absl::MutexLock lock(&mu_);
  response->set_cluster_id("scripted");
  response->set_controller_id(-1);
  for (const auto& [id, port] : brokers_) {
    v1::Node* node = response->add_brokers();
    node->set_node_id(id);
    node->set_host("127.0.0.1");
    node->set_port(port);
  }
  auto add_topic = [&](const std::string& name) {
    auto* topic = response->add_topics();
    topic->set_topic(name);
    auto it = leaders_.find(name);
    if (it == leaders_.end() && request->allow_auto_topic_creation() && auto_create_leader_ >= 0) {
      leaders_[name] = {-1};  // created, no leader elected yet
      auto_created_.push_back(name);
      topic->set_error_code(v1::LEADER_NOT_AVAILABLE);
      return;
    }
    if (it == leaders_.end()) {
      topic->set_error_code(v1::UNKNOWN_TOPIC_OR_PARTITION);
      return;
    }
    const bool auto_created =
        std::find(auto_created_.begin(), auto_created_.end(), name) != auto_created_.end();
    for (size_t p = 0; p < it->second.size(); ++p) {
      auto* partition = topic->add_partitions();
      partition->set_partition(static_cast<int32_t>(p));
      partition->set_leader_id(it->second[p]);
      partition->set_leader_epoch(0);
      partition->add_replica_nodes(it->second[p]);
      partition->add_isr_nodes(it->second[p]);
      // Shown once without a leader; elected for the next answer.
      if (auto_created && it->second[p] < 0) it->second[p] = auto_create_leader_;
    }
  };
  if (request->all_topics()) {
    for (const auto& [name, leaders] : leaders_) add_topic(name);
  } else {
    for (const auto& t : request->topics()) add_topic(t.topic());
  }
  return grpc::Status::OK;
}

void ScriptedBroker::AutoCreateTopics(int32_t leader) {
  absl::MutexLock lock(&mu_);
  auto_create_leader_ = leader;
}

std::vector<std::string> ScriptedBroker::auto_created() {
  absl::MutexLock lock(&mu_);
  return auto_created_;
}

grpc::Status ScriptedBroker::Produce(grpc::ServerContext* context,
                                     const v1::ProduceRequest* request,
                                     v1::ProduceResponse* response) {
  absl::MutexLock lock(&mu_);
  ++produce_calls_;
  auto released = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !hold_; };
  while (!mu_.AwaitWithTimeout(absl::Condition(&released), absl::Milliseconds(50))) {
    if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "held");
  }
  const bool fail = fail_count_ > 0;
  if (fail) --fail_count_;
  for (const auto& topic : request->topic_data()) {
    auto* topic_response = response->add_responses();
    topic_response->set_topic(topic.topic());
    for (const auto& data : topic.partition_data()) {
      auto* result = topic_response->add_partition_responses();
      result->set_partition(data.partition());
      result->set_log_append_time_ms(-1);
      auto it = leaders_.find(topic.topic());
      if (it == leaders_.end() || data.partition() >= static_cast<int32_t>(it->second.size())) {
        result->set_error_code(v1::UNKNOWN_TOPIC_OR_PARTITION);
        continue;
      }
      if (it->second[data.partition()] != id_) {
        result->set_error_code(v1::NOT_LEADER_OR_FOLLOWER);
        continue;
      }
      if (fail) {
        result->set_error_code(fail_code_);
        continue;
      }
      auto decoded = storage::DecodedBatch::Decode(data.records(), storage::BatchLimits{});
      if (!decoded.ok()) {
        result->set_error_code(v1::CORRUPT_MESSAGE);
        result->set_error_message(std::string(decoded.status().message()));
        continue;
      }
      auto& log = logs_[{topic.topic(), data.partition()}];
      result->set_base_offset(static_cast<int64_t>(log.size()));
      for (const storage::Record& record : decoded->records()) {
        log.push_back({static_cast<int64_t>(log.size()), std::string(record.key.value_or("")),
                       std::string(record.value.value_or(""))});
      }
    }
  }
  return grpc::Status::OK;
}

void ScriptedBroker::BreakProduceStreamAt(int n) {
  absl::MutexLock lock(&mu_);
  break_stream_at_ = n;
}

int ScriptedBroker::max_stream_requests_unanswered() {
  absl::MutexLock lock(&mu_);
  return max_unanswered_;
}

grpc::Status ScriptedBroker::ProduceStream(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::ProduceResponse, v1::ProduceRequest>* stream) {
  // Reads ahead on its own thread (as the real broker does) so the depth of
  // the producer's pipeline is visible; answers in order on this one.
  absl::Mutex mu;  // guards `queue` and `reading`
  std::deque<v1::ProduceRequest> queue;
  bool reading = true;
  bool broken = false;
  std::thread reader([&] {
    v1::ProduceRequest request;
    while (stream->Read(&request)) {
      absl::MutexLock lock(&mu);
      queue.push_back(std::move(request));
      request.Clear();
      absl::MutexLock broker_lock(&mu_);
      max_unanswered_ = std::max(max_unanswered_, static_cast<int>(queue.size()));
    }
    absl::MutexLock lock(&mu);
    reading = false;
  });
  while (!broken) {
    v1::ProduceRequest request;
    {
      // Held requests stay queued (unanswered, unappended) until Release(),
      // so a break right after it finds every one of them still in flight.
      absl::MutexLock lock(&mu_);
      auto released = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !hold_; };
      while (!mu_.AwaitWithTimeout(absl::Condition(&released), absl::Milliseconds(50))) {
        if (context->IsCancelled()) break;
      }
    }
    {
      absl::MutexLock lock(&mu);
      auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return !queue.empty() || !reading; };
      while (!mu.AwaitWithTimeout(absl::Condition(&ready), absl::Milliseconds(50))) {
        if (context->IsCancelled()) break;
      }
      if (queue.empty()) break;
      request = std::move(queue.front());
      queue.pop_front();
    }
    {
      absl::MutexLock lock(&mu_);
      if (break_stream_at_ > 0 && --break_stream_at_ == 0) broken = true;
    }
    if (broken) break;
    v1::ProduceResponse response;
    grpc::Status status = Produce(context, &request, &response);
    if (!status.ok()) {
      broken = true;
      break;
    }
    response.set_correlation_id(request.correlation_id());
    if (!stream->Write(response)) break;
  }
  if (broken) context->TryCancel();
  reader.join();
  return broken ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "scripted: produce stream broken")
                : grpc::Status::OK;
}

}  // namespace fjord::client::testing
