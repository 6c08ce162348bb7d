// Admin: consumer groups (ListGroups, DescribeGroups, DeleteGroups, group
// offsets) and ListOffsets, through the group coordinators and partition
// leaders.
#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "client/admin.h"
#include "common/grpc_status.h"
#include "common/kafka_error.h"

namespace fjord::client {
namespace {

absl::Status GroupStatus(v1::ErrorCode code, const std::string& group, const std::string& message) {
  if (code == v1::NONE) return absl::OkStatus();
  return KafkaError(code, absl::StrCat("group '", group, "': ", ErrorCodeName(code),
                                       message.empty() ? "" : " ", message));
}

}  // namespace

absl::StatusOr<ListGroupsResult> Admin::ListGroups(const std::vector<std::string>& states) {
  // Every broker, as the metadata knows them; the bootstrap list if the
  // metadata is unavailable.
  std::set<std::string> addresses;
  if (metadata_.Refresh({}).ok()) {
    for (const auto& [id, broker] : metadata_.current()->brokers) {
      addresses.insert(broker.address());
    }
  }
  if (addresses.empty()) {
    addresses.insert(config_.bootstrap_servers.begin(), config_.bootstrap_servers.end());
  }
  v1::ListGroupsRequest request;
  for (const std::string& state : states) request.add_states_filter(state);
  ListGroupsResult result;
  std::map<std::string, GroupListing> groups;
  const absl::Time deadline = absl::Now() + absl::Milliseconds(config_.default_api_timeout_ms);
  for (const std::string& address : addresses) {
    v1::ListGroupsResponse response;
    grpc::Status status = group_rpc_.CallOnce(address, request, &v1::GroupService::Stub::ListGroups,
                                              &response, deadline);
    if (!status.ok()) {
      result.errors.push_back(absl::StrCat(address, ": ", status.error_message()));
      continue;
    }
    if (response.error_code() != v1::NONE) {
      result.errors.push_back(absl::StrCat(address, ": ", ErrorCodeName(response.error_code()), " ",
                                           response.error_message()));
      continue;
    }
    for (const auto& g : response.groups()) {
      groups[g.group_id()] = {g.group_id(), g.group_state(), g.group_type()};
    }
  }
  if (result.errors.size() == addresses.size()) {
    return KafkaError(v1::COORDINATOR_NOT_AVAILABLE,
                      absl::StrCat("no broker answered ListGroups: ", result.errors.front()));
  }
  for (auto& [id, g] : groups) result.groups.push_back(std::move(g));
  return result;
}

absl::StatusOr<std::vector<v1::ConsumerGroupDescribeResponse::DescribedGroup>>
Admin::DescribeGroups(const std::vector<std::string>& group_ids) {
  std::vector<v1::ConsumerGroupDescribeResponse::DescribedGroup> out;
  const absl::Time deadline = absl::Now() + absl::Milliseconds(config_.default_api_timeout_ms);
  for (const std::string& group : group_ids) {
    v1::ConsumerGroupDescribeRequest request;
    request.add_group_ids(group);
    absl::StatusOr<v1::ConsumerGroupDescribeResponse> response =
        group_rpc_.Call<v1::ConsumerGroupDescribeRequest, v1::ConsumerGroupDescribeResponse>(
            group, request, &v1::GroupService::Stub::ConsumerGroupDescribe,
            [](const v1::ConsumerGroupDescribeResponse& r) {
              return r.groups_size() > 0 ? r.groups(0).error_code() : v1::NONE;
            },
            deadline);
    if (!response.ok()) return response.status();
    if (response->groups_size() != 1) {
      return absl::InternalError(
          absl::StrCat("describe of '", group, "' answered ", response->groups_size(), " groups"));
    }
    out.push_back(response->groups(0));
  }
  return out;
}

absl::StatusOr<std::vector<GroupResult>> Admin::DeleteGroups(
    const std::vector<std::string>& group_ids) {
  std::vector<GroupResult> out;
  const absl::Time deadline = absl::Now() + absl::Milliseconds(config_.default_api_timeout_ms);
  for (const std::string& group : group_ids) {
    v1::DeleteGroupsRequest request;
    request.add_group_ids(group);
    absl::StatusOr<v1::DeleteGroupsResponse> response =
        group_rpc_.Call<v1::DeleteGroupsRequest, v1::DeleteGroupsResponse>(
            group, request, &v1::GroupService::Stub::DeleteGroups,
            [](const v1::DeleteGroupsResponse& r) {
              return r.results_size() > 0 ? r.results(0).error_code() : v1::NONE;
            },
            deadline);
    if (!response.ok()) {
      out.push_back({group, response.status()});
      continue;
    }
    if (response->results_size() != 1) {
      out.push_back({group, absl::InternalError("DeleteGroups answered without the group")});
      continue;
    }
    const auto& r = response->results(0);
    out.push_back({group, GroupStatus(r.error_code(), group, r.error_message())});
  }
  return out;
}

absl::StatusOr<std::map<TopicPartition, int64_t>> Admin::ListConsumerGroupOffsets(
    const std::string& group_id, const std::vector<TopicPartition>& partitions) {
  v1::OffsetFetchRequest request;
  request.set_group_id(group_id);
  request.set_member_epoch(-1);
  std::map<std::string, v1::OffsetFetchRequest::Topic*> topics;
  for (const TopicPartition& tp : partitions) {
    auto*& topic = topics[tp.topic];
    if (topic == nullptr) {
      topic = request.add_topics();
      topic->set_name(tp.topic);
    }
    topic->add_partitions(tp.partition);
  }
  absl::StatusOr<v1::OffsetFetchResponse> response =
      group_rpc_.Call<v1::OffsetFetchRequest, v1::OffsetFetchResponse>(
          group_id, request, &v1::GroupService::Stub::OffsetFetch,
          [](const v1::OffsetFetchResponse& r) { return r.error_code(); },
          absl::Now() + absl::Milliseconds(config_.default_api_timeout_ms));
  if (!response.ok()) return response.status();
  if (absl::Status s = GroupStatus(response->error_code(), group_id, response->error_message());
      !s.ok()) {
    return s;
  }
  std::map<TopicPartition, int64_t> out;
  for (const auto& t : response->topics()) {
    for (const auto& p : t.partitions()) {
      if (p.error_code() != v1::NONE) {
        return KafkaError(p.error_code(),
                          absl::StrCat("offsets of ", t.name(), "-", p.partition(), " in group '",
                                       group_id, "': ", ErrorCodeName(p.error_code())));
      }
      if (p.committed_offset() >= 0) out[{t.name(), p.partition()}] = p.committed_offset();
    }
  }
  return out;
}

absl::Status Admin::AlterConsumerGroupOffsets(const std::string& group_id,
                                              const std::map<TopicPartition, int64_t>& offsets) {
  v1::OffsetCommitRequest request;
  request.set_group_id(group_id);
  request.set_member_id("");
  request.set_member_epoch(-1);
  std::map<std::string, v1::OffsetCommitRequest::Topic*> topics;
  for (const auto& [tp, offset] : offsets) {
    if (offset < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("negative offset ", offset, " for ", tp.topic, "-", tp.partition));
    }
    auto*& topic = topics[tp.topic];
    if (topic == nullptr) {
      topic = request.add_topics();
      topic->set_name(tp.topic);
    }
    auto* p = topic->add_partitions();
    p->set_partition(tp.partition);
    p->set_committed_offset(offset);
    p->set_committed_leader_epoch(-1);
  }
  absl::StatusOr<v1::OffsetCommitResponse> response =
      group_rpc_.Call<v1::OffsetCommitRequest, v1::OffsetCommitResponse>(
          group_id, request, &v1::GroupService::Stub::OffsetCommit,
          [](const v1::OffsetCommitResponse& r) { return r.error_code(); },
          absl::Now() + absl::Milliseconds(config_.default_api_timeout_ms));
  if (!response.ok()) return response.status();
  if (absl::Status s = GroupStatus(response->error_code(), group_id, response->error_message());
      !s.ok()) {
    return s;
  }
  for (const auto& t : response->topics()) {
    for (const auto& p : t.partitions()) {
      if (p.error_code() != v1::NONE) {
        return KafkaError(
            p.error_code(),
            absl::StrCat("offset of ", t.name(), "-", p.partition(), " in group '", group_id,
                         "': ", ErrorCodeName(p.error_code()), " ", p.error_message()));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<TopicPartition, int64_t>> Admin::ListOffsets(
    const std::vector<TopicPartition>& partitions, int64_t timestamp) {
  std::map<TopicPartition, int64_t> result;
  std::vector<std::string> topic_names;
  for (const TopicPartition& tp : partitions) topic_names.push_back(tp.topic);
  std::sort(topic_names.begin(), topic_names.end());
  topic_names.erase(std::unique(topic_names.begin(), topic_names.end()), topic_names.end());
  const absl::Time deadline = absl::Now() + absl::Milliseconds(config_.default_api_timeout_ms);
  absl::Status last = KafkaError(v1::LEADER_NOT_AVAILABLE, "no leader answered ListOffsets");
  while (absl::Now() < deadline) {
    if (absl::Status s = metadata_.Refresh(topic_names); !s.ok()) last = s;
    std::shared_ptr<const MetadataSnapshot> snapshot = metadata_.current();
    std::map<int32_t, v1::ListOffsetsRequest> requests;
    for (const TopicPartition& tp : partitions) {
      if (result.contains(tp)) continue;
      const int32_t leader = snapshot->leader(tp.topic, tp.partition);
      if (leader < 0 || snapshot->broker(leader) == nullptr) continue;
      v1::ListOffsetsRequest& request = requests[leader];
      auto* topic = request.add_topics();
      topic->set_topic(tp.topic);
      auto* p = topic->add_partitions();
      p->set_partition(tp.partition);
      p->set_current_leader_epoch(-1);
      p->set_timestamp(timestamp);
    }
    for (auto& [leader, request] : requests) {
      auto stub = v1::BrokerService::NewStub(channels_.Get(snapshot->broker(leader)->address()));
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(
          std::min(deadline, absl::Now() + absl::Milliseconds(config_.request_timeout_ms))));
      v1::ListOffsetsResponse response;
      grpc::Status status = stub->ListOffsets(&context, request, &response);
      if (!status.ok()) {
        last = FromGrpcStatus(status);
        continue;
      }
      for (const auto& t : response.topics()) {
        for (const auto& p : t.partitions()) {
          if (p.error_code() == v1::NONE) {
            result[{t.topic(), p.partition()}] = p.offset();
          } else if (!IsRetriable(p.error_code()) && !IsStaleMetadataError(p.error_code())) {
            return KafkaError(p.error_code(),
                              absl::StrCat("ListOffsets for ", t.topic(), "-", p.partition(), ": ",
                                           ErrorCodeName(p.error_code())));
          } else {
            last = KafkaError(p.error_code(), ErrorCodeName(p.error_code()));
          }
        }
      }
    }
    if (result.size() == partitions.size()) return result;
    absl::SleepFor(absl::Milliseconds(config_.retry_backoff_ms));
  }
  return last;
}

}  // namespace fjord::client
