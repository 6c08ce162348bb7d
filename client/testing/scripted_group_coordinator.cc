#include "client/testing/scripted_group_coordinator.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "client/group_rpc.h"

namespace fjord::client::testing {

ScriptedGroupCoordinator::ScriptedGroupCoordinator(ScriptedBroker* broker,
                                                   int heartbeat_interval_ms)
    : broker_(broker), heartbeat_interval_ms_(heartbeat_interval_ms) {}

void ScriptedGroupCoordinator::SetAssignment(const std::string& member_id,
                                             const std::vector<TopicPartition>& partitions) {
  absl::MutexLock lock(&mu_);
  Member& m = members_[member_id];
  m.assignment = partitions;
  m.next_epoch = ++group_epoch_;
}

void ScriptedGroupCoordinator::SetAssignmentBumpingEpochNow(
    const std::string& member_id, const std::vector<TopicPartition>& partitions) {
  absl::MutexLock lock(&mu_);
  Member& m = members_[member_id];
  m.assignment = partitions;
  m.previous_epoch = m.epoch;
  m.epoch = ++group_epoch_;
  m.send_assignment = true;
}

void ScriptedGroupCoordinator::Fence(const std::string& member_id) {
  absl::MutexLock lock(&mu_);
  members_[member_id].fence = true;
}

void ScriptedGroupCoordinator::FailHeartbeats(int count, v1::ErrorCode code) {
  absl::MutexLock lock(&mu_);
  fail_heartbeats_ = count;
  fail_code_ = code;
}

void ScriptedGroupCoordinator::SetCommitted(const TopicPartition& tp, int64_t offset) {
  absl::MutexLock lock(&mu_);
  committed_[tp] = offset;
}

bool ScriptedGroupCoordinator::WaitForHeartbeat(const std::function<bool(const Heartbeat&)>& match,
                                                absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  size_t seen = 0;
  while (absl::Now() < deadline) {
    {
      absl::MutexLock lock(&mu_);
      for (; seen < heartbeats_.size(); ++seen) {
        if (match(heartbeats_[seen])) return true;
      }
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  return false;
}

std::vector<ScriptedGroupCoordinator::Heartbeat> ScriptedGroupCoordinator::heartbeats() {
  absl::MutexLock lock(&mu_);
  return heartbeats_;
}

std::vector<ScriptedGroupCoordinator::Commit> ScriptedGroupCoordinator::commits() {
  absl::MutexLock lock(&mu_);
  return commits_;
}

std::vector<std::string> ScriptedGroupCoordinator::members() {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [id, m] : members_) out.push_back(id);
  return out;
}

std::optional<int64_t> ScriptedGroupCoordinator::committed(const TopicPartition& tp) {
  absl::MutexLock lock(&mu_);
  auto it = committed_.find(tp);
  if (it == committed_.end()) return std::nullopt;
  return it->second;
}

int32_t ScriptedGroupCoordinator::epoch(const std::string& member_id) {
  absl::MutexLock lock(&mu_);
  auto it = members_.find(member_id);
  return it == members_.end() ? -1 : it->second.epoch;
}

std::vector<TopicPartition> ScriptedGroupCoordinator::owned(const std::string& member_id) {
  absl::MutexLock lock(&mu_);
  auto it = members_.find(member_id);
  return it == members_.end() ? std::vector<TopicPartition>{} : it->second.owned;
}

grpc::Status ScriptedGroupCoordinator::FindCoordinator(grpc::ServerContext*,
                                                       const v1::FindCoordinatorRequest* request,
                                                       v1::FindCoordinatorResponse* response) {
  for (const std::string& key : request->keys()) {
    auto* c = response->add_coordinators();
    c->set_key(key);
    c->set_node_id(broker_->id());
    c->set_host("127.0.0.1");
    c->set_port(broker_->port());
  }
  return grpc::Status::OK;
}

grpc::Status ScriptedGroupCoordinator::ConsumerGroupHeartbeat(
    grpc::ServerContext*, const v1::ConsumerGroupHeartbeatRequest* request,
    v1::ConsumerGroupHeartbeatResponse* response) {
  absl::MutexLock lock(&mu_);
  heartbeats_.push_back({absl::Now(), *request});
  response->set_heartbeat_interval_ms(heartbeat_interval_ms_);
  if (fail_heartbeats_ > 0) {
    --fail_heartbeats_;
    response->set_error_code(fail_code_);
    return grpc::Status::OK;
  }
  const int32_t epoch = request->member_epoch();
  if (epoch == -1 || epoch == -2) {
    members_.erase(request->member_id());
    response->set_member_id(request->member_id());
    response->set_member_epoch(epoch);
    return grpc::Status::OK;
  }
  std::string id = request->member_id();
  if (epoch == 0) {
    if (id.empty()) id = absl::StrCat("member-", next_member_++);
    Member& m = members_[id];
    m = Member{};
    m.epoch = ++group_epoch_;
    response->set_member_id(id);
    response->set_member_epoch(m.epoch);
    response->set_has_assignment(true);  // empty until the test assigns
    return grpc::Status::OK;
  }
  auto it = members_.find(id);
  if (it == members_.end()) {
    response->set_error_code(v1::UNKNOWN_MEMBER_ID);
    return grpc::Status::OK;
  }
  Member& m = it->second;
  if (m.fence || (epoch != m.epoch && epoch != m.previous_epoch)) {
    members_.erase(it);
    response->set_error_code(v1::FENCED_MEMBER_EPOCH);
    return grpc::Status::OK;
  }
  if (request->has_owned()) m.owned = FromGroupTopicPartitions(request->owned_topic_partitions());
  if (m.next_epoch > m.epoch || m.send_assignment) {
    m.epoch = std::max(m.epoch, m.next_epoch);
    m.send_assignment = false;
    response->set_has_assignment(true);
    for (v1::GroupTopicPartitions& t : ToGroupTopicPartitions(m.assignment)) {
      *response->add_assigned_topic_partitions() = std::move(t);
    }
  }
  response->set_member_id(id);
  response->set_member_epoch(m.epoch);
  return grpc::Status::OK;
}

grpc::Status ScriptedGroupCoordinator::OffsetCommit(grpc::ServerContext*,
                                                    const v1::OffsetCommitRequest* request,
                                                    v1::OffsetCommitResponse* response) {
  absl::MutexLock lock(&mu_);
  v1::ErrorCode result = v1::NONE;
  auto it = members_.find(request->member_id());
  if (request->member_id().empty() && request->member_epoch() == -1) {
    if (!members_.empty()) result = v1::NON_EMPTY_GROUP;
  } else if (it == members_.end()) {
    result = v1::UNKNOWN_MEMBER_ID;
  } else if (request->member_epoch() != it->second.epoch) {
    result = v1::STALE_MEMBER_EPOCH;
  }
  commits_.push_back({absl::Now(), *request, result});
  for (const auto& t : request->topics()) {
    auto* rt = response->add_topics();
    rt->set_name(t.name());
    for (const auto& p : t.partitions()) {
      auto* rp = rt->add_partitions();
      rp->set_partition(p.partition());
      rp->set_error_code(result);
      if (result == v1::NONE) committed_[{t.name(), p.partition()}] = p.committed_offset();
    }
  }
  return grpc::Status::OK;
}

grpc::Status ScriptedGroupCoordinator::OffsetFetch(grpc::ServerContext*,
                                                   const v1::OffsetFetchRequest* request,
                                                   v1::OffsetFetchResponse* response) {
  absl::MutexLock lock(&mu_);
  for (const auto& t : request->topics()) {
    auto* rt = response->add_topics();
    rt->set_name(t.name());
    for (int32_t p : t.partitions()) {
      auto* rp = rt->add_partitions();
      rp->set_partition(p);
      auto it = committed_.find({t.name(), p});
      rp->set_committed_offset(it == committed_.end() ? -1 : it->second);
      rp->set_committed_leader_epoch(-1);
    }
  }
  return grpc::Status::OK;
}

}  // namespace fjord::client::testing
