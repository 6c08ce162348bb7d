#include "client/group_rpc.h"

#include <algorithm>

namespace fjord::client {

bool IsCoordinatorError(v1::ErrorCode code) {
  return code == v1::NOT_COORDINATOR || code == v1::COORDINATOR_NOT_AVAILABLE ||
         code == v1::COORDINATOR_LOAD_IN_PROGRESS;
}

std::vector<v1::GroupTopicPartitions> ToGroupTopicPartitions(
    const std::vector<TopicPartition>& partitions) {
  std::map<std::string, std::vector<int32_t>> by_topic;
  for (const TopicPartition& tp : partitions) by_topic[tp.topic].push_back(tp.partition);
  std::vector<v1::GroupTopicPartitions> out;
  for (auto& [topic, ids] : by_topic) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    v1::GroupTopicPartitions& t = out.emplace_back();
    t.set_topic(topic);
    for (int32_t id : ids) t.add_partitions(id);
  }
  return out;
}

std::vector<TopicPartition> FromGroupTopicPartitions(
    const google::protobuf::RepeatedPtrField<v1::GroupTopicPartitions>& topics) {
  std::vector<TopicPartition> out;
  for (const auto& t : topics) {
    for (int32_t p : t.partitions()) out.push_back({t.topic(), p});
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

GroupRpc::GroupRpc(Options options, Channels& channels)
    : options_(std::move(options)), channels_(channels) {}

void GroupRpc::InvalidateCoordinator(const std::string& group_id) {
  absl::MutexLock lock(&mu_);
  coordinators_.erase(group_id);
}

absl::StatusOr<std::string> GroupRpc::FindCoordinator(const std::string& group_id,
                                                      absl::Time deadline) {
  {
    absl::MutexLock lock(&mu_);
    auto it = coordinators_.find(group_id);
    if (it != coordinators_.end()) return it->second;
  }
  if (options_.bootstrap_servers.empty()) {
    return absl::InvalidArgumentError("bootstrap.servers is required");
  }
  absl::Duration backoff = options_.retry_backoff;
  absl::Status last = KafkaError(v1::COORDINATOR_NOT_AVAILABLE,
                                 absl::StrCat("no coordinator found for group '", group_id, "'"));
  do {
    std::string bootstrap;
    {
      absl::MutexLock lock(&mu_);
      bootstrap = options_.bootstrap_servers[next_bootstrap_++ % options_.bootstrap_servers.size()];
    }
    v1::FindCoordinatorRequest request;
    request.add_keys(group_id);
    request.set_key_type(0);
    v1::FindCoordinatorResponse response;
    grpc::Status status =
        CallOnce(bootstrap, request, &v1::GroupService::Stub::FindCoordinator, &response, deadline);
    if (!status.ok()) {
      last =
          KafkaError(v1::COORDINATOR_NOT_AVAILABLE,
                     absl::StrCat("FindCoordinator at ", bootstrap, ": ", status.error_message()));
    } else if (response.coordinators_size() != 1) {
      last = KafkaError(v1::UNKNOWN_SERVER_ERROR, "FindCoordinator answered without the group");
    } else {
      const auto& c = response.coordinators(0);
      if (c.error_code() == v1::NONE && c.port() > 0) {
        std::string address = absl::StrCat(c.host(), ":", c.port());
        absl::MutexLock lock(&mu_);
        coordinators_[group_id] = address;
        return address;
      }
      if (c.error_code() != v1::NONE && !IsCoordinatorError(c.error_code()) &&
          !IsRetriable(c.error_code())) {
        return KafkaError(c.error_code(), absl::StrCat("FindCoordinator for '", group_id,
                                                       "': ", c.error_message()));
      }
      last = KafkaError(c.error_code() == v1::NONE ? v1::COORDINATOR_NOT_AVAILABLE : c.error_code(),
                        absl::StrCat("FindCoordinator for '", group_id,
                                     "': ", ErrorCodeName(c.error_code()), " ", c.error_message()));
    }
    absl::SleepFor(std::min(backoff, std::max(absl::ZeroDuration(), deadline - absl::Now())));
    backoff = std::min(backoff * 2, options_.retry_backoff_max);
  } while (absl::Now() < deadline);
  return last;
}

}  // namespace fjord::client
