#include "client/cluster_metadata.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/kafka_error.h"

namespace fjord::client {

bool IsStaleMetadataError(v1::ErrorCode code) {
  switch (code) {
    case v1::NOT_LEADER_OR_FOLLOWER:
    case v1::UNKNOWN_TOPIC_OR_PARTITION:
    case v1::LEADER_NOT_AVAILABLE:
    case v1::FENCED_LEADER_EPOCH:
    case v1::UNKNOWN_LEADER_EPOCH:
    case v1::NETWORK_EXCEPTION:
    case v1::KAFKA_STORAGE_ERROR:
    case v1::REPLICA_NOT_AVAILABLE:
      return true;
    default:
      return false;
  }
}

const TopicMetadata* MetadataSnapshot::topic(const std::string& name) const {
  auto it = topics.find(name);
  return it == topics.end() ? nullptr : &it->second;
}

int32_t MetadataSnapshot::leader(const std::string& topic_name, int32_t partition) const {
  const TopicMetadata* t = topic(topic_name);
  if (t == nullptr || partition < 0 || partition >= static_cast<int32_t>(t->partitions.size())) {
    return -1;
  }
  return t->partitions[partition].leader;
}

const BrokerMetadata* MetadataSnapshot::broker(int32_t id) const {
  auto it = brokers.find(id);
  return it == brokers.end() ? nullptr : &it->second;
}

ClusterMetadata::ClusterMetadata(std::vector<std::string> bootstrap_servers, Channels& channels,
                                 absl::Duration request_timeout, absl::Duration max_age)
    : bootstrap_servers_(std::move(bootstrap_servers)),
      channels_(channels),
      request_timeout_(request_timeout),
      max_age_(max_age),
      snapshot_(std::make_shared<MetadataSnapshot>()) {}

std::shared_ptr<const MetadataSnapshot> ClusterMetadata::current() {
  absl::MutexLock lock(&mu_);
  return snapshot_;
}

void ClusterMetadata::RequestUpdate() {
  absl::MutexLock lock(&mu_);
  update_requested_ = true;
}

bool ClusterMetadata::NeedsRefresh() {
  absl::MutexLock lock(&mu_);
  return update_requested_ || absl::Now() - last_refresh_ >= max_age_;
}

void ClusterMetadata::AddInterest(const std::string& topic) {
  absl::MutexLock lock(&mu_);
  if (std::find(interest_.begin(), interest_.end(), topic) == interest_.end()) {
    interest_.push_back(topic);
    update_requested_ = true;
  }
}

std::vector<std::string> ClusterMetadata::interest() {
  absl::MutexLock lock(&mu_);
  return interest_;
}

absl::StatusOr<v1::MetadataResponse> ClusterMetadata::Ask(const std::string& address,
                                                          const v1::MetadataRequest& request) {
  auto stub = v1::BrokerService::NewStub(channels_.Get(address));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + request_timeout_));
  v1::MetadataResponse response;
  grpc::Status status = stub->Metadata(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::Status ClusterMetadata::Refresh(const std::vector<std::string>& topics,
                                      bool allow_auto_topic_creation) {
  v1::MetadataRequest request;
  request.set_all_topics(topics.empty());
  request.set_allow_auto_topic_creation(allow_auto_topic_creation);
  for (const std::string& topic : topics) request.add_topics()->set_topic(topic);

  // Known brokers first (the cluster may have moved on from the bootstrap
  // list), then the bootstrap servers.
  std::vector<std::string> addresses;
  // Hold the snapshot: a temporary's members would dangle in the loop.
  const std::shared_ptr<const MetadataSnapshot> known = current();
  for (const auto& [id, broker] : known->brokers) addresses.push_back(broker.address());
  for (const std::string& address : bootstrap_servers_) {
    if (std::find(addresses.begin(), addresses.end(), address) == addresses.end()) {
      addresses.push_back(address);
    }
  }
  absl::Status last_error = absl::UnavailableError("no broker address to ask for metadata");
  for (const std::string& address : addresses) {
    absl::StatusOr<v1::MetadataResponse> response = Ask(address, request);
    if (!response.ok()) {
      last_error = absl::UnavailableError(
          absl::StrCat("metadata from ", address, ": ", response.status().message()));
      continue;
    }
    auto snapshot = std::make_shared<MetadataSnapshot>();
    snapshot->cluster_id = response->cluster_id();
    snapshot->controller_id = response->controller_id();
    for (const v1::Node& node : response->brokers()) {
      snapshot->brokers[node.node_id()] = {node.node_id(), node.host(), node.port(), node.rack()};
    }
    {
      // Keep topics this answer did not mention (it may have been partial).
      absl::MutexLock lock(&mu_);
      if (!request.all_topics()) snapshot->topics = snapshot_->topics;
    }
    for (const auto& t : response->topics()) {
      TopicMetadata topic;
      topic.name = t.topic();
      topic.error = t.error_code();
      topic.is_internal = t.is_internal();
      int32_t count = 0;
      for (const auto& p : t.partitions()) count = std::max(count, p.partition() + 1);
      topic.partitions.resize(count);
      for (const auto& p : t.partitions()) {
        PartitionMetadata& pm = topic.partitions[p.partition()];
        pm.partition = p.partition();
        pm.leader = p.error_code() == v1::NONE || p.error_code() == v1::REPLICA_NOT_AVAILABLE
                        ? p.leader_id()
                        : -1;
        pm.leader_epoch = p.leader_epoch();
        pm.replicas.assign(p.replica_nodes().begin(), p.replica_nodes().end());
        pm.isr.assign(p.isr_nodes().begin(), p.isr_nodes().end());
        pm.offline_replicas.assign(p.offline_replicas().begin(), p.offline_replicas().end());
      }
      snapshot->topics[topic.name] = std::move(topic);
    }
    absl::MutexLock lock(&mu_);
    snapshot_ = std::move(snapshot);
    last_refresh_ = absl::Now();
    update_requested_ = false;
    return absl::OkStatus();
  }
  return last_error;
}

absl::StatusOr<TopicMetadata> ClusterMetadata::WaitForTopic(const std::string& topic,
                                                            absl::Time deadline,
                                                            bool allow_auto_topic_creation,
                                                            int64_t waited_ms) {
  AddInterest(topic);
  // Usable: partitions known and one of them led (a topic just created has
  // its partitions before its leaders).
  auto usable = [](const TopicMetadata* t) {
    if (t == nullptr || t->error != v1::NONE || t->partitions.empty()) return false;
    return std::any_of(t->partitions.begin(), t->partitions.end(),
                       [](const PartitionMetadata& p) { return p.leader >= 0; });
  };
  const absl::Time start = absl::Now();
  absl::Duration backoff = absl::Milliseconds(50);
  absl::Status last = absl::OkStatus();
  std::string state = "not present in metadata";
  while (true) {
    {
      // Keep the snapshot alive while reading from it.
      const std::shared_ptr<const MetadataSnapshot> snapshot = current();
      const TopicMetadata* known = snapshot->topic(topic);
      if (usable(known)) return *known;
    }
    last = Refresh(interest(), allow_auto_topic_creation);
    if (last.ok()) {
      const std::shared_ptr<const MetadataSnapshot> snapshot = current();
      const TopicMetadata* t = snapshot->topic(topic);
      if (usable(t)) return *t;
      if (t != nullptr && t->error != v1::NONE && !IsRetriable(t->error)) {
        return KafkaError(t->error, absl::StrCat("topic ", topic, ": ", ErrorCodeName(t->error)));
      }
      if (t != nullptr && t->error != v1::NONE) {
        state = absl::StrCat("not present in metadata (", ErrorCodeName(t->error), ")");
      } else if (t != nullptr) {
        state = t->partitions.empty() ? "present in metadata without partitions"
                                      : "present in metadata without a partition leader";
      }
    }
    if (absl::Now() + backoff >= deadline) break;
    std::this_thread::sleep_for(absl::ToChronoNanoseconds(backoff));
    backoff = std::min(backoff * 2, absl::Seconds(1));
  }
  const int64_t ms = waited_ms >= 0 ? waited_ms : absl::ToInt64Milliseconds(absl::Now() - start);
  return KafkaError(v1::REQUEST_TIMED_OUT,
                    absl::StrCat("Topic ", topic, " ", state, " after ", ms, " ms.",
                                 last.ok() ? "" : absl::StrCat(" (", last.message(), ")")));
}

}  // namespace fjord::client
