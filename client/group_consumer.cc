#include "client/group_consumer.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/kafka_error.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace fjord::client {
namespace {

// Poll waits on the Consumer in slices this long so a new assignment or a
// fence reported by the heartbeat thread is applied promptly.
constexpr absl::Duration kPollSlice = absl::Milliseconds(100);
// Until the coordinator says otherwise (group.consumer.heartbeat.interval.ms).
constexpr absl::Duration kDefaultHeartbeatInterval = absl::Seconds(5);
// CommitAsync/auto-commit requests waiting for the commit thread.
constexpr size_t kCommitQueueMax = 64;
// How long Close/Unsubscribe try to tell the coordinator we leave.
constexpr absl::Duration kLeaveTimeout = absl::Seconds(5);
constexpr int kGroupMessageBytes = 16 << 20;
// Heartbeats slower than this are logged (they eat into the session timeout).
constexpr absl::Duration kSlowHeartbeat = absl::Seconds(1);

std::string Hostname() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

std::string GeneratedClientId() {
  static std::atomic<int> next{1};
  return absl::StrCat("fjord-consumer-", next++);
}

std::string Describe(const std::vector<TopicPartition>& partitions) {
  return absl::StrJoin(partitions, ",", [](std::string* out, const TopicPartition& tp) {
    absl::StrAppend(out, tp.topic, "-", tp.partition);
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<GroupConsumer>> GroupConsumer::Create(const ConsumerConfig& config) {
  if (config.group_id.empty()) {
    return KafkaError(v1::INVALID_GROUP_ID, "group.id is required to subscribe");
  }
  ConsumerConfig effective = config;
  if (effective.client_id.empty()) effective.client_id = GeneratedClientId();
  absl::StatusOr<std::unique_ptr<Consumer>> consumer = Consumer::Create(effective);
  if (!consumer.ok()) return consumer.status();
  return std::unique_ptr<GroupConsumer>(new GroupConsumer(effective, *std::move(consumer)));
}

GroupConsumer::GroupConsumer(const ConsumerConfig& config, std::unique_ptr<Consumer> consumer)
    : config_(config),
      client_host_(Hostname()),
      channels_(kGroupMessageBytes),
      rpc_({.bootstrap_servers = config.bootstrap_servers,
            .request_timeout = absl::Milliseconds(config.request_timeout_ms),
            .retry_backoff = absl::Milliseconds(config.retry_backoff_ms),
            .retry_backoff_max = absl::Milliseconds(config.retry_backoff_max_ms)},
           channels_),
      consumer_(std::move(consumer)),
      heartbeat_interval_(kDefaultHeartbeatInterval) {
  heartbeat_thread_ = std::thread([this] { HeartbeatLoop(); });
  commit_thread_ = std::thread([this] { CommitLoop(); });
}

GroupConsumer::~GroupConsumer() { Close(); }

// ---------------------------------------------------------------------------
// Heartbeat thread
// ---------------------------------------------------------------------------

v1::ConsumerGroupHeartbeatRequest GroupConsumer::BuildHeartbeat() {
  v1::ConsumerGroupHeartbeatRequest request;
  request.set_group_id(config_.group_id);
  request.set_member_id(member_id_);
  request.set_member_epoch(member_epoch_);
  const bool joining = member_epoch_ == 0;
  if (!config_.group_instance_id.empty()) request.set_instance_id(config_.group_instance_id);
  if (!config_.client_rack.empty()) request.set_rack_id(config_.client_rack);
  request.set_rebalance_timeout_ms(joining || subscription_dirty_ ? config_.max_poll_interval_ms
                                                                  : -1);
  if (joining || subscription_dirty_) {
    request.set_has_subscription(true);
    for (const std::string& topic : subscription_) request.add_subscribed_topic_names(topic);
    request.set_server_assignor(config_.group_remote_assignor);
  }
  if (joining || owned_dirty_) {
    request.set_has_owned(true);
    for (v1::GroupTopicPartitions& t : ToGroupTopicPartitions(reported_owned_)) {
      *request.add_owned_topic_partitions() = std::move(t);
    }
  }
  request.set_client_id(config_.client_id);
  request.set_client_host(client_host_);
  return request;
}

void GroupConsumer::HeartbeatLoop() {
  mu_.Lock();
  while (!stop_) {
    // Idle while not subscribed, after a fatal error, and while fenced until
    // the application has run OnPartitionsLost (rejoining before that could
    // give our partitions back to us while the application still reads them
    // under the old epoch).
    const bool idle = state_ == State::kUnsubscribed || state_ == State::kFatal ||
                      (state_ == State::kFenced && lost_pending_);
    if (idle) {
      heartbeat_wake_.Wait(&mu_);
      continue;
    }
    if (!heartbeat_now_ && absl::Now() < next_heartbeat_) {
      heartbeat_wake_.WaitWithDeadline(&mu_, next_heartbeat_);
      continue;
    }
    heartbeat_now_ = false;
    v1::ConsumerGroupHeartbeatRequest request = BuildHeartbeat();
    const uint64_t generation = generation_;
    subscription_dirty_ = false;
    owned_dirty_ = false;
    heartbeat_in_flight_ = true;
    mu_.Unlock();

    const absl::Time sent_at = absl::Now();
    const absl::Time deadline = sent_at + absl::Milliseconds(config_.request_timeout_ms);
    v1::ConsumerGroupHeartbeatResponse response;
    absl::Status sent;
    absl::StatusOr<std::string> coordinator = rpc_.FindCoordinator(config_.group_id, deadline);
    if (!coordinator.ok()) {
      sent = coordinator.status();
    } else {
      grpc::Status status =
          rpc_.CallOnce(*coordinator, request, &v1::GroupService::Stub::ConsumerGroupHeartbeat,
                        &response, deadline);
      if (!status.ok()) {
        rpc_.InvalidateCoordinator(config_.group_id);
        sent =
            KafkaError(v1::COORDINATOR_NOT_AVAILABLE,
                       absl::StrCat("heartbeat to ", *coordinator, ": ", status.error_message()));
      }
    }

    const absl::Duration took = absl::Now() - sent_at;
    const v1::ErrorCode answered = sent.ok() ? response.error_code() : ToErrorCode(sent);
    // Coordinator moves and loads are routine (retried quietly) unless slow.
    if ((answered != v1::NONE && answered != v1::COORDINATOR_LOAD_IN_PROGRESS &&
         answered != v1::NOT_COORDINATOR) ||
        took > kSlowHeartbeat) {
      spdlog::info("group {}: heartbeat (epoch {}) answered {} after {}", config_.group_id,
                   request.member_epoch(),
                   sent.ok() ? ErrorCodeName(response.error_code()) : std::string(sent.message()),
                   absl::FormatDuration(took));
    }
    mu_.Lock();
    heartbeat_in_flight_ = false;
    heartbeat_wake_.SignalAll();              // Unsubscribe/Close may wait for this call
    if (generation != generation_) continue;  // an answer for an abandoned membership
    HandleHeartbeat(sent, response, request.has_owned(), request.has_subscription());
  }
  mu_.Unlock();
}

void GroupConsumer::HandleHeartbeat(const absl::Status& sent,
                                    const v1::ConsumerGroupHeartbeatResponse& response,
                                    bool sent_owned, bool sent_subscription) {
  const absl::Duration backoff = absl::Milliseconds(config_.retry_backoff_ms);
  const v1::ErrorCode code = sent.ok() ? response.error_code() : ToErrorCode(sent);
  if (code != v1::NONE) {
    // What this request carried must be carried again.
    owned_dirty_ |= sent_owned;
    subscription_dirty_ |= sent_subscription;
  }
  switch (code) {
    case v1::NONE:
      break;
    case v1::NOT_COORDINATOR:
    case v1::COORDINATOR_NOT_AVAILABLE:
      rpc_.InvalidateCoordinator(config_.group_id);
      next_heartbeat_ = absl::Now() + backoff;
      return;
    case v1::FENCED_MEMBER_EPOCH:
    case v1::UNKNOWN_MEMBER_ID:
      spdlog::info("group {}: member {} epoch {} {}; rejoining after dropping its partitions",
                   config_.group_id, member_id_, member_epoch_, ErrorCodeName(code));
      state_ = State::kFenced;
      lost_pending_ = true;
      target_.reset();
      member_epoch_ = 0;
      if (code == v1::UNKNOWN_MEMBER_ID) member_id_.clear();
      next_heartbeat_ = absl::InfinitePast();
      return;
    default:
      if (IsRetriable(code) || code == v1::COORDINATOR_LOAD_IN_PROGRESS) {
        next_heartbeat_ = absl::Now() + backoff;
        return;
      }
      state_ = State::kFatal;
      fatal_ = KafkaError(code, absl::StrCat("group ", config_.group_id, " heartbeat: ",
                                             ErrorCodeName(code), " ", response.error_message()));
      spdlog::warn("{}", std::string(fatal_.message()));
      return;
  }
  if (!response.member_id().empty()) member_id_ = response.member_id();
  member_epoch_ = response.member_epoch();
  state_ = State::kStable;
  if (response.heartbeat_interval_ms() > 0) {
    heartbeat_interval_ = absl::Milliseconds(response.heartbeat_interval_ms());
  }
  next_heartbeat_ = absl::Now() + heartbeat_interval_;
  if (response.has_assignment()) {
    target_ = FromGroupTopicPartitions(response.assigned_topic_partitions());
  }
}

// ---------------------------------------------------------------------------
// Commit thread
// ---------------------------------------------------------------------------

absl::Status GroupConsumer::SendCommit(const OffsetMap& offsets, absl::Time deadline) {
  if (offsets.empty()) return absl::OkStatus();
  while (true) {
    std::string member_id;
    int32_t epoch = 0;
    {
      absl::MutexLock lock(&mu_);
      member_id = member_id_;
      epoch = member_epoch_;
    }
    absl::Status status = SendCommitOnce(offsets, member_id, epoch, deadline);
    if (ToErrorCode(status) != v1::STALE_MEMBER_EPOCH) return status;
    // The coordinator moved this member to a newer epoch (a rebalance) and
    // the heartbeat bringing it has not arrived yet: ask for it and commit
    // again under the new epoch, as Kafka's consumer does. A member that is
    // really stale is fenced instead, and the error stands.
    absl::MutexLock lock(&mu_);
    heartbeat_now_ = true;
    heartbeat_wake_.SignalAll();
    auto moved = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return member_epoch_ != epoch || member_id_ != member_id || state_ != State::kStable;
    };
    if (!mu_.AwaitWithDeadline(absl::Condition(&moved), deadline) || member_id_ != member_id ||
        state_ != State::kStable || member_epoch_ <= epoch) {
      return status;
    }
  }
}

absl::Status GroupConsumer::SendCommitOnce(const OffsetMap& offsets, const std::string& member_id,
                                           int32_t epoch, absl::Time deadline) {
  v1::OffsetCommitRequest request;
  request.set_group_id(config_.group_id);
  request.set_member_id(member_id);
  request.set_member_epoch(epoch);
  std::map<std::string, v1::OffsetCommitRequest::Topic*> topics;
  for (const auto& [tp, om] : offsets) {
    auto*& topic = topics[tp.topic];
    if (topic == nullptr) {
      topic = request.add_topics();
      topic->set_name(tp.topic);
    }
    auto* p = topic->add_partitions();
    p->set_partition(tp.partition);
    p->set_committed_offset(om.offset);
    p->set_committed_leader_epoch(om.leader_epoch);
    p->set_metadata(om.metadata);
  }
  absl::StatusOr<v1::OffsetCommitResponse> response =
      rpc_.Call<v1::OffsetCommitRequest, v1::OffsetCommitResponse>(
          config_.group_id, request, &v1::GroupService::Stub::OffsetCommit,
          [](const v1::OffsetCommitResponse& r) { return r.error_code(); }, deadline);
  if (!response.ok()) return response.status();
  if (response->error_code() != v1::NONE) {
    return KafkaError(
        response->error_code(),
        absl::StrCat("commit for group ", config_.group_id, ": ",
                     ErrorCodeName(response->error_code()), " ", response->error_message()));
  }
  for (const auto& t : response->topics()) {
    for (const auto& p : t.partitions()) {
      if (p.error_code() != v1::NONE) {
        return KafkaError(p.error_code(),
                          absl::StrCat("commit of ", t.name(), "-", p.partition(), " for group ",
                                       config_.group_id, ": ", ErrorCodeName(p.error_code()), " ",
                                       p.error_message()));
      }
    }
  }
  return absl::OkStatus();
}

void GroupConsumer::CommitLoop() {
  mu_.Lock();
  while (true) {
    while (!stop_ && commit_queue_.empty()) commit_wake_.Wait(&mu_);
    if (commit_queue_.empty()) break;  // stopping with nothing left
    QueuedCommit commit = std::move(commit_queue_.front());
    commit_queue_.pop_front();
    commit_in_flight_ = true;
    mu_.Unlock();
    absl::Status status =
        SendCommit(commit.offsets, absl::Now() + absl::Milliseconds(config_.request_timeout_ms));
    if (!status.ok() && commit.auto_commit) {
      spdlog::info("group {}: auto-commit failed: {}", config_.group_id,
                   std::string(status.message()));
    }
    mu_.Lock();
    commit_in_flight_ = false;
    if (commit.callback) {
      commit_results_.push_back({std::move(commit.offsets), std::move(commit.callback), status});
    }
    commit_wake_.SignalAll();
  }
  mu_.Unlock();
}

// ---------------------------------------------------------------------------
// Application thread
// ---------------------------------------------------------------------------

absl::Status GroupConsumer::CheckUsable() {
  if (closed_) return absl::FailedPreconditionError("consumer is closed");
  return absl::OkStatus();
}

absl::Status GroupConsumer::Subscribe(const std::vector<std::string>& topics,
                                      RebalanceListener* listener) {
  RETURN_IF_ERROR(CheckUsable());
  if (topics.empty()) return Unsubscribe();
  for (const std::string& topic : topics) {
    if (topic.empty()) return absl::InvalidArgumentError("empty topic name in subscription");
  }
  std::vector<std::string> sorted = topics;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  listener_ = listener;
  absl::MutexLock lock(&mu_);
  if (state_ == State::kFatal) return fatal_;
  subscription_ = std::move(sorted);
  if (state_ == State::kUnsubscribed) {
    ++generation_;
    state_ = State::kJoining;
    member_epoch_ = 0;
    reported_owned_.clear();
    if (config_.enable_auto_commit) {
      next_auto_commit_ = absl::Now() + absl::Milliseconds(config_.auto_commit_interval_ms);
    }
  }
  subscription_dirty_ = true;
  heartbeat_now_ = true;
  heartbeat_wake_.SignalAll();
  return absl::OkStatus();
}

OffsetMap GroupConsumer::CurrentPositions() {
  OffsetMap positions;
  for (const TopicPartition& tp : owned_) {
    absl::StatusOr<int64_t> position = consumer_->Position(tp);
    if (position.ok()) positions[tp] = {.offset = *position};
  }
  return positions;
}

void GroupConsumer::ReportOwned() {
  absl::MutexLock lock(&mu_);
  reported_owned_.assign(owned_.begin(), owned_.end());
  owned_dirty_ = true;
  heartbeat_now_ = true;
  heartbeat_wake_.SignalAll();
}

absl::StatusOr<std::map<TopicPartition, int64_t>> GroupConsumer::FetchCommitted(
    const std::vector<TopicPartition>& partitions, bool as_member) {
  v1::OffsetFetchRequest request;
  request.set_group_id(config_.group_id);
  request.set_member_epoch(-1);
  if (as_member) {
    absl::MutexLock lock(&mu_);
    request.set_member_id(member_id_);
    request.set_member_epoch(member_epoch_);
  }
  std::map<std::string, v1::OffsetFetchRequest::Topic*> topics;
  for (const TopicPartition& tp : partitions) {
    auto*& topic = topics[tp.topic];
    if (topic == nullptr) {
      topic = request.add_topics();
      topic->set_name(tp.topic);
    }
    topic->add_partitions(tp.partition);
  }
  ASSIGN_OR_RETURN(v1::OffsetFetchResponse response,
                   (rpc_.Call<v1::OffsetFetchRequest, v1::OffsetFetchResponse>(
                       config_.group_id, request, &v1::GroupService::Stub::OffsetFetch,
                       [](const v1::OffsetFetchResponse& r) { return r.error_code(); },
                       absl::Now() + absl::Milliseconds(config_.request_timeout_ms))));
  if (response.error_code() != v1::NONE) {
    return KafkaError(
        response.error_code(),
        absl::StrCat("offset fetch for group ", config_.group_id, ": ",
                     ErrorCodeName(response.error_code()), " ", response.error_message()));
  }
  std::map<TopicPartition, int64_t> committed;
  for (const auto& t : response.topics()) {
    for (const auto& p : t.partitions()) {
      if (p.error_code() != v1::NONE) {
        return KafkaError(p.error_code(),
                          absl::StrCat("offset fetch of ", t.name(), "-", p.partition(), ": ",
                                       ErrorCodeName(p.error_code())));
      }
      if (p.committed_offset() >= 0) committed[{t.name(), p.partition()}] = p.committed_offset();
    }
  }
  return committed;
}

absl::Status GroupConsumer::Reconcile() {
  bool lost = false;
  std::optional<std::vector<TopicPartition>> target;
  {
    absl::MutexLock lock(&mu_);
    if (state_ == State::kFatal) return fatal_;
    if (lost_pending_) {
      lost = true;
    } else if (target_.has_value()) {
      target = std::move(*target_);
      target_.reset();
    }
  }
  if (lost) {
    std::vector<TopicPartition> dropped(owned_.begin(), owned_.end());
    owned_.clear();
    RETURN_IF_ERROR(consumer_->Assign({}));
    if (listener_ != nullptr && !dropped.empty()) listener_->OnPartitionsLost(dropped);
    absl::MutexLock lock(&mu_);
    lost_pending_ = false;
    reported_owned_.clear();
    owned_dirty_ = true;
    heartbeat_now_ = true;
    heartbeat_wake_.SignalAll();
    return absl::OkStatus();
  }
  if (!target.has_value()) return absl::OkStatus();

  const std::set<TopicPartition> wanted(target->begin(), target->end());
  std::vector<TopicPartition> revoked, added;
  for (const TopicPartition& tp : owned_) {
    if (!wanted.contains(tp)) revoked.push_back(tp);
  }
  for (const TopicPartition& tp : wanted) {
    if (!owned_.contains(tp)) added.push_back(tp);
  }
  if (!revoked.empty()) {
    if (config_.enable_auto_commit) {
      absl::Status committed = CommitSync();
      if (!committed.ok()) {
        spdlog::info("group {}: commit before revoking {} failed: {}", config_.group_id,
                     Describe(revoked), std::string(committed.message()));
      }
    }
    if (listener_ != nullptr) listener_->OnPartitionsRevoked(revoked);
    for (const TopicPartition& tp : revoked) owned_.erase(tp);
    RETURN_IF_ERROR(consumer_->Assign({owned_.begin(), owned_.end()}));
    ReportOwned();  // the coordinator may now give them to another member
  }
  if (!added.empty()) {
    absl::StatusOr<std::map<TopicPartition, int64_t>> committed =
        FetchCommitted(added, /*as_member=*/true);
    if (!committed.ok()) {
      // Without the committed offsets the partitions cannot start safely
      // (auto.offset.reset could skip records): try again on the next Poll
      // unless a newer assignment arrived meanwhile.
      spdlog::info("group {}: fetching committed offsets of {}: {}", config_.group_id,
                   Describe(added), std::string(committed.status().message()));
      absl::MutexLock lock(&mu_);
      if (!target_.has_value() && !lost_pending_) target_ = std::move(*target);
      return absl::OkStatus();
    }
    std::vector<TopicPartition> next(owned_.begin(), owned_.end());
    next.insert(next.end(), added.begin(), added.end());
    RETURN_IF_ERROR(consumer_->Assign(next));
    for (const TopicPartition& tp : added) {
      auto it = committed->find(tp);
      if (it != committed->end()) RETURN_IF_ERROR(consumer_->Seek(tp, it->second));
      owned_.insert(tp);
    }
    ReportOwned();
    if (listener_ != nullptr) listener_->OnPartitionsAssigned(added);
  }
  return absl::OkStatus();
}

void GroupConsumer::MaybeAutoCommit() {
  if (!config_.enable_auto_commit || absl::Now() < next_auto_commit_) return;
  next_auto_commit_ = absl::Now() + absl::Milliseconds(config_.auto_commit_interval_ms);
  OffsetMap positions = CurrentPositions();
  if (positions.empty()) return;
  absl::MutexLock lock(&mu_);
  if (commit_queue_.size() >= kCommitQueueMax) return;  // the next interval commits newer ones
  commit_queue_.push_back({std::move(positions), nullptr, /*auto_commit=*/true});
  commit_wake_.SignalAll();
}

void GroupConsumer::RunCommitCallbacks() {
  std::deque<CommitResult> results;
  {
    absl::MutexLock lock(&mu_);
    results.swap(commit_results_);
  }
  for (CommitResult& r : results) r.callback(r.offsets, r.status);
}

void GroupConsumer::WaitForQueuedCommits() {
  absl::MutexLock lock(&mu_);
  while (!commit_queue_.empty() || commit_in_flight_) commit_wake_.Wait(&mu_);
}

absl::StatusOr<std::vector<ConsumerRecord>> GroupConsumer::Poll(absl::Duration timeout) {
  RETURN_IF_ERROR(CheckUsable());
  {
    absl::MutexLock lock(&mu_);
    if (state_ == State::kUnsubscribed) {
      return absl::FailedPreconditionError("Poll without a subscription (call Subscribe)");
    }
  }
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    RunCommitCallbacks();
    RETURN_IF_ERROR(Reconcile());
    MaybeAutoCommit();
    const absl::Duration slice = std::min(kPollSlice, deadline - absl::Now());
    if (owned_.empty()) {
      absl::MutexLock lock(&mu_);
      auto changed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return target_.has_value() || lost_pending_ || state_ == State::kFatal;
      };
      if (slice > absl::ZeroDuration()) mu_.AwaitWithTimeout(absl::Condition(&changed), slice);
    } else {
      ASSIGN_OR_RETURN(std::vector<ConsumerRecord> records,
                       consumer_->Poll(std::max(slice, absl::ZeroDuration())));
      if (!records.empty()) return records;
    }
    if (absl::Now() >= deadline) return std::vector<ConsumerRecord>{};
  }
}

absl::Status GroupConsumer::CommitSync() { return CommitSync(CurrentPositions()); }

absl::Status GroupConsumer::CommitSync(const OffsetMap& offsets) {
  RETURN_IF_ERROR(CheckUsable());
  WaitForQueuedCommits();  // earlier async commits land first
  RunCommitCallbacks();
  return SendCommit(offsets, absl::Now() + absl::Milliseconds(config_.request_timeout_ms));
}

void GroupConsumer::CommitAsync(CommitCallback callback) {
  CommitAsync(CurrentPositions(), std::move(callback));
}

void GroupConsumer::CommitAsync(const OffsetMap& offsets, CommitCallback callback) {
  if (closed_) {
    if (callback) callback(offsets, absl::FailedPreconditionError("consumer is closed"));
    return;
  }
  absl::MutexLock lock(&mu_);
  if (commit_queue_.size() >= kCommitQueueMax) {
    if (callback) {
      commit_results_.push_back(
          {offsets, std::move(callback),
           absl::ResourceExhaustedError(
               absl::StrCat("more than ", kCommitQueueMax, " asynchronous commits waiting"))});
    }
    return;
  }
  commit_queue_.push_back({offsets, std::move(callback), /*auto_commit=*/false});
  commit_wake_.SignalAll();
}

absl::StatusOr<std::map<TopicPartition, int64_t>> GroupConsumer::Committed(
    const std::vector<TopicPartition>& partitions) {
  RETURN_IF_ERROR(CheckUsable());
  bool member = false;
  {
    absl::MutexLock lock(&mu_);
    member = state_ == State::kStable;
  }
  return FetchCommitted(partitions, member);
}

absl::Status GroupConsumer::Seek(const TopicPartition& tp, int64_t offset) {
  return consumer_->Seek(tp, offset);
}

absl::StatusOr<int64_t> GroupConsumer::Position(const TopicPartition& tp) {
  return consumer_->Position(tp);
}

std::vector<TopicPartition> GroupConsumer::assignment() const {
  return {owned_.begin(), owned_.end()};
}

std::string GroupConsumer::member_id() {
  absl::MutexLock lock(&mu_);
  return member_id_;
}

int32_t GroupConsumer::member_epoch() {
  absl::MutexLock lock(&mu_);
  return member_epoch_;
}

void GroupConsumer::RevokeAll(bool commit) {
  bool fenced = false;
  {
    absl::MutexLock lock(&mu_);
    fenced = lost_pending_ || state_ == State::kFenced || state_ == State::kFatal;
  }
  std::vector<TopicPartition> dropped(owned_.begin(), owned_.end());
  if (commit && config_.enable_auto_commit && !fenced && !dropped.empty()) {
    absl::Status committed = CommitSync();
    if (!committed.ok()) {
      spdlog::info("group {}: final commit failed: {}", config_.group_id,
                   std::string(committed.message()));
    }
  }
  if (listener_ != nullptr && !dropped.empty()) {
    if (fenced) {
      listener_->OnPartitionsLost(dropped);
    } else {
      listener_->OnPartitionsRevoked(dropped);
    }
  }
  owned_.clear();
  (void)consumer_->Assign({});
}

void GroupConsumer::SendLeave() {
  v1::ConsumerGroupHeartbeatRequest request;
  {
    absl::MutexLock lock(&mu_);
    const bool was_member = state_ != State::kUnsubscribed && !member_id_.empty();
    ++generation_;  // whatever the heartbeat thread has in flight is now stale
    state_ = State::kUnsubscribed;
    target_.reset();
    lost_pending_ = false;
    reported_owned_.clear();
    // Wait for a heartbeat in flight, so the leave cannot overtake a join.
    while (heartbeat_in_flight_) heartbeat_wake_.Wait(&mu_);
    if (!was_member) {
      member_id_.clear();
      member_epoch_ = 0;
      return;
    }
    request.set_group_id(config_.group_id);
    request.set_member_id(member_id_);
    if (!config_.group_instance_id.empty()) request.set_instance_id(config_.group_instance_id);
    // -2: a static member leaves temporarily and keeps its partitions
    // reserved for the session timeout; -1: leave for good.
    request.set_member_epoch(config_.group_instance_id.empty() ? -1 : -2);
    request.set_rebalance_timeout_ms(-1);
    request.set_client_id(config_.client_id);
    request.set_client_host(client_host_);
    member_id_.clear();
    member_epoch_ = 0;
  }
  const absl::Time deadline = absl::Now() + kLeaveTimeout;
  absl::StatusOr<v1::ConsumerGroupHeartbeatResponse> response =
      rpc_.Call<v1::ConsumerGroupHeartbeatRequest, v1::ConsumerGroupHeartbeatResponse>(
          config_.group_id, request, &v1::GroupService::Stub::ConsumerGroupHeartbeat,
          [](const v1::ConsumerGroupHeartbeatResponse& r) { return r.error_code(); }, deadline);
  if (!response.ok() || response->error_code() != v1::NONE) {
    spdlog::info("group {}: leave not acknowledged ({}); the session timeout will remove it",
                 config_.group_id,
                 response.ok() ? ErrorCodeName(response->error_code())
                               : std::string(response.status().message()));
  }
}

absl::Status GroupConsumer::Unsubscribe() {
  RETURN_IF_ERROR(CheckUsable());
  RevokeAll(/*commit=*/true);
  WaitForQueuedCommits();
  RunCommitCallbacks();
  SendLeave();
  return absl::OkStatus();
}

void GroupConsumer::Close() {
  if (closed_) return;
  RevokeAll(/*commit=*/true);
  WaitForQueuedCommits();  // they need the membership: send them before leaving
  SendLeave();
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    heartbeat_wake_.SignalAll();
    commit_wake_.SignalAll();
  }
  heartbeat_thread_.join();
  commit_thread_.join();  // sends what is queued first
  RunCommitCallbacks();
  consumer_->Close();
  closed_ = true;
}

}  // namespace fjord::client
