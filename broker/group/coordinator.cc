#include "broker/group/coordinator.h"

#include <atomic>
#include <set>
#include <variant>

#include "absl/strings/str_cat.h"
#include "broker/group/coordinator_partition.h"
#include "common/kafka_error.h"
#include "grpcpp/grpcpp.h"
#include "spdlog/spdlog.h"

namespace fjord::group {

using broker::LeaderAppendResult;
using broker::WaitingRequest;

// One offsets partition this broker leads: its groups' state machine.
struct GroupCoordinator::Shard {
  Shard(int32_t p, LeaderEpoch e, std::shared_ptr<Replica> r, const GroupConfig& config,
        uint64_t seed)
      : partition(p), epoch(e), replica(std::move(r)), random(seed), sm(config, random) {}

  const int32_t partition;
  const LeaderEpoch epoch;
  const std::shared_ptr<Replica> replica;
  // Set once the log is replayed (read without `mu`, so requests during a
  // load answer COORDINATOR_LOAD_IN_PROGRESS instead of waiting).
  std::atomic<bool> loaded{false};
  // An append failed (state ahead of the log) or the load failed: the
  // ticker drops the shard (and reloads it while still leader).
  std::atomic<bool> broken{false};

  absl::Mutex mu;
  SeededRandom random ABSL_GUARDED_BY(mu);
  GroupStateMachine sm ABSL_GUARDED_BY(mu);
  // Write pipeline (group commit): operations apply their records to `sm`
  // and queue them in `pending` under `mu`; one appender at a time takes
  // everything queued and appends it with `mu` released, so requests that
  // arrive during an append (and its fsync) share the next one. Sequence
  // numbers count operations that wrote records.
  GroupStateMachine::Records pending ABSL_GUARDED_BY(mu);
  int64_t applied_seq ABSL_GUARDED_BY(mu) = 0;
  int64_t persisted_seq ABSL_GUARDED_BY(mu) = 0;
  bool appending ABSL_GUARDED_BY(mu) = false;
  // The first failed append (the state is then ahead of the log).
  absl::Status append_error ABSL_GUARDED_BY(mu);
  // The last offset the persisted state reflects (written or loaded).
  Offset last_written ABSL_GUARDED_BY(mu){-1};
  // The log's last offset at load (perhaps not committed yet then).
  Offset loaded_last ABSL_GUARDED_BY(mu){-1};
  // The last record about each member (group id, member id): the write that
  // queued it and, once appended, the offset its answer waited for. A
  // heartbeat that changes nothing waits only for these (see Run). Entries
  // the high watermark has passed are dropped by the ticker.
  struct MemberWrite {
    int64_t seq = 0;
    Offset offset{-1};
  };
  std::map<std::pair<std::string, std::string>, MemberWrite> member_writes ABSL_GUARDED_BY(mu);
};

namespace {

// Kafka's mapping of write errors for group RPCs: leadership moves mean
// "find the coordinator again", anything else "not available now".
v1::ErrorCode CoordinatorError(const absl::Status& s) {
  const v1::ErrorCode code = ToErrorCode(s);
  if (code == v1::NOT_LEADER_OR_FOLLOWER || code == v1::FENCED_LEADER_EPOCH ||
      code == v1::NOT_COORDINATOR) {
    return v1::NOT_COORDINATOR;
  }
  return v1::COORDINATOR_NOT_AVAILABLE;
}

}  // namespace

template <typename Response>
Response GroupCoordinator::ResponseOrError(std::variant<Response, Failure> result) {
  if (auto* f = std::get_if<Failure>(&result)) {
    Response r;
    r.set_error_code(f->code);
    r.set_error_message(f->message);
    return r;
  }
  return std::get<Response>(std::move(result));
}

GroupCoordinator::GroupCoordinator(CoordinatorOptions options, ReplicaManager& replicas,
                                   MetadataCache& metadata, Purgatory& purgatory,
                                   const Clock& clock)
    : options_(std::move(options)),
      replicas_(replicas),
      metadata_(metadata),
      purgatory_(purgatory),
      clock_(clock),
      seeds_(MakeSystemSeededRandom()) {}

GroupCoordinator::~GroupCoordinator() { Shutdown(); }

void GroupCoordinator::Start() {
  absl::MutexLock lock(&mu_);
  if (started_) return;
  started_ = true;
  ticker_ = std::thread([this] { RunEvery(options_.tick, &GroupCoordinator::RunOnce); });
  if (options_.lag_interval > absl::ZeroDuration()) {
    lag_thread_ =
        std::thread([this] { RunEvery(options_.lag_interval, &GroupCoordinator::RefreshLag); });
  }
}

void GroupCoordinator::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (ticker_.joinable()) ticker_.join();
  if (lag_thread_.joinable()) lag_thread_.join();
  absl::MutexLock lock(&mu_);
  shards_.clear();
}

TopicLookup GroupCoordinator::Topics() const {
  controller::ImagePtr image = metadata_.image();
  return [image](const std::string& topic) -> std::optional<int32_t> {
    const controller::TopicImage* t = image->topic_by_name(topic);
    if (t == nullptr) return std::nullopt;
    return static_cast<int32_t>(t->partitions.size());
  };
}

// --- Shards ----------------------------------------------------------------

std::variant<std::shared_ptr<GroupCoordinator::Shard>, GroupCoordinator::Failure>
GroupCoordinator::ShardFor(const std::string& group_id) {
  if (group_id.empty()) return Failure{v1::INVALID_GROUP_ID, "group_id is empty"};
  controller::ImagePtr image = metadata_.image();
  const controller::TopicImage* topic = image->topic_by_name(kOffsetsTopic);
  if (topic == nullptr || topic->partitions.empty()) {
    return Failure{v1::COORDINATOR_NOT_AVAILABLE, "__consumer_offsets does not exist yet"};
  }
  const int32_t p = CoordinatorPartition(group_id, static_cast<int32_t>(topic->partitions.size()));
  std::shared_ptr<Shard> shard;
  {
    absl::MutexLock lock(&mu_);
    auto it = shards_.find(p);
    if (it != shards_.end()) shard = it->second;
  }
  if (shard == nullptr) {
    // Leader already, but the ticker has not picked the partition up yet.
    std::shared_ptr<Replica> r = replicas_.Get(kOffsetsTopic, PartitionId(p));
    if (r != nullptr && r->role() == Replica::Role::kLeader) {
      return Failure{v1::COORDINATOR_LOAD_IN_PROGRESS,
                     absl::StrCat("loading ", kOffsetsTopic, "-", p)};
    }
  }
  if (shard == nullptr || shard->broken.load()) {
    return Failure{v1::NOT_COORDINATOR,
                   absl::StrCat("broker ", options_.local.value(), " does not coordinate group ",
                                group_id, " (", kOffsetsTopic, "-", p, ")")};
  }
  if (!shard->loaded.load()) {
    return Failure{v1::COORDINATOR_LOAD_IN_PROGRESS,
                   absl::StrCat("loading ", kOffsetsTopic, "-", p)};
  }
  return shard;
}

absl::StatusOr<Offset> GroupCoordinator::PersistLocked(Shard& shard,
                                                       GroupStateMachine::Records records) {
  int64_t seq = shard.applied_seq;
  if (!records.empty()) {
    seq = ++shard.applied_seq;
    for (GroupRecord& r : records) {
      if (!r.key.member_id().empty()) {
        shard.member_writes[{r.key.group_id(), r.key.member_id()}] = {.seq = seq};
      }
      shard.pending.push_back(std::move(r));
    }
  }
  while (shard.persisted_seq < seq) {
    if (!shard.append_error.ok()) return shard.append_error;
    if (shard.appending) {
      auto progress = [&shard, seq]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu) {
        return !shard.appending || shard.persisted_seq >= seq;
      };
      shard.mu.Await(absl::Condition(&progress));
      continue;
    }
    // Become the appender for everything queued so far.
    shard.appending = true;
    GroupStateMachine::Records batch;
    batch.swap(shard.pending);
    const int64_t upto = shard.applied_seq;
    shard.mu.Unlock();
    absl::StatusOr<std::string> bytes = EncodeBatches(batch, absl::ToUnixMillis(clock_.Wall()));
    absl::StatusOr<LeaderAppendResult> appended =
        bytes.ok() ? shard.replica->AppendRecords(*std::move(bytes), /*acks_all=*/true)
                   : absl::StatusOr<LeaderAppendResult>(bytes.status());
    shard.mu.Lock();
    shard.appending = false;
    if (!appended.ok() || appended->leader_epoch != shard.epoch) {
      // The state machine already applied the records: it is ahead of the
      // log. The ticker drops the shard and reloads it from the log.
      shard.append_error = appended.ok()
                               ? KafkaError(v1::NOT_LEADER_OR_FOLLOWER, "leader epoch moved")
                               : appended.status();
      shard.broken.store(true);
      spdlog::warn("group coordinator: append to {}-{} failed ({}); reloading the partition",
                   kOffsetsTopic, shard.partition, shard.append_error.ToString());
      return shard.append_error;
    }
    shard.last_written = appended->last_offset;
    shard.persisted_seq = upto;
    for (const GroupRecord& r : batch) {
      if (r.key.member_id().empty()) continue;
      auto w = shard.member_writes.find({r.key.group_id(), r.key.member_id()});
      if (w != shard.member_writes.end() && w->second.seq <= upto) {
        w->second.offset = appended->last_offset;
      }
    }
  }
  return shard.last_written;
}

absl::StatusOr<Offset> GroupCoordinator::MemberWrittenLocked(Shard& shard,
                                                             const std::string& group_id,
                                                             const std::string& member_id) {
  const std::pair<std::string, std::string> key{group_id, member_id};
  auto w = shard.member_writes.find(key);
  if (w != shard.member_writes.end() && w->second.seq > shard.persisted_seq) {
    // Its last record is still queued or being appended.
    if (absl::StatusOr<Offset> s = PersistLocked(shard, {}); !s.ok()) return s.status();
    w = shard.member_writes.find(key);
  }
  const Offset written = w == shard.member_writes.end() ? Offset(-1) : w->second.offset;
  return std::max(shard.loaded_last, written);
}

absl::Status GroupCoordinator::WaitCommitted(const Shard& shard, Offset offset) {
  const Replica& replica = *shard.replica;
  const LeaderEpoch epoch = shard.epoch;
  absl::Status result;
  auto attempt = [&](bool expired) {
    if (replica.role() != Replica::Role::kLeader || replica.leader_epoch() != epoch) {
      result = KafkaError(v1::NOT_LEADER_OR_FOLLOWER, "leadership of the offsets partition moved");
      return true;
    }
    if (replica.high_watermark() > offset) return true;
    if (expired) {
      result = KafkaError(v1::REQUEST_TIMED_OUT,
                          "in-sync replicas did not confirm within offsets.commit.timeout.ms");
      return true;
    }
    return false;
  };
  auto op = std::make_shared<WaitingRequest>(attempt);
  if (!purgatory_.Watch(op, {&replica}, clock_.Monotonic() + options_.commit_timeout)) {
    op->Expire();
  }
  op->Wait(options_.commit_timeout + absl::Seconds(1));
  return result;
}

template <typename Response>
std::variant<Response, GroupCoordinator::Failure> GroupCoordinator::Run(
    const std::string& group_id,
    const std::function<Response(GroupStateMachine&, const TopicLookup&,
                                 GroupStateMachine::Records*)>& op,
    const std::string* member) {
  auto found = ShardFor(group_id);
  if (auto* f = std::get_if<Failure>(&found)) return *f;
  std::shared_ptr<Shard> shard = std::get<std::shared_ptr<Shard>>(std::move(found));
  const TopicLookup topics = Topics();
  Response response;
  Offset wait_for{-1};
  {
    absl::MutexLock lock(&shard->mu);
    if (shard->broken.load() || shard->replica->role() != Replica::Role::kLeader ||
        shard->replica->leader_epoch() != shard->epoch) {
      return Failure{v1::NOT_COORDINATOR, "this broker no longer leads the group's partition"};
    }
    GroupStateMachine::Records records;
    response = op(shard->sm, topics, &records);
    // An answer that only reads one member's state (a heartbeat that
    // changed nothing, as Kafka answers from memory) needs only that
    // member's records committed, not everyone's writes in flight.
    absl::StatusOr<Offset> persisted = records.empty() && member != nullptr
                                           ? MemberWrittenLocked(*shard, group_id, *member)
                                           : PersistLocked(*shard, std::move(records));
    if (!persisted.ok()) {
      if (member != nullptr) shard->sm.AnswerLost(group_id, *member);
      return Failure{CoordinatorError(persisted.status()),
                     std::string(persisted.status().message())};
    }
    wait_for = *persisted;
  }
  if (wait_for >= Offset(0)) {
    absl::Status s = WaitCommitted(*shard, wait_for);
    if (!s.ok()) {
      if (member != nullptr) {
        absl::MutexLock lock(&shard->mu);
        shard->sm.AnswerLost(group_id, *member);
      }
      return Failure{CoordinatorError(s), std::string(s.message())};
    }
  }
  return response;
}

void GroupCoordinator::Load(const std::shared_ptr<Shard>& shard) {
  const absl::Duration start = clock_.Monotonic();
  absl::MutexLock lock(&shard->mu);
  storage::PartitionLog& log = shard->replica->log();
  const Offset end = log.log_end_offset();
  Offset pos = log.log_start_offset();
  int64_t records = 0;
  absl::Status status;
  while (pos < end && status.ok()) {
    absl::StatusOr<std::string> bytes = log.Read(pos, 1 << 20);
    if (!bytes.ok()) {
      status = bytes.status();
      break;
    }
    if (bytes->empty()) break;
    int64_t next = pos.value();
    status = DecodeBatches(
        *bytes,
        [&](int64_t, GroupRecord r) {
          ++records;
          return shard->sm.Replay(r);
        },
        &next);
    if (next <= pos.value()) break;
    pos = Offset(next);
  }
  if (!status.ok()) {
    spdlog::error("group coordinator: cannot load {}-{}: {}", kOffsetsTopic, shard->partition,
                  status.ToString());
    shard->broken.store(true);
    return;
  }
  shard->sm.OnLoaded(clock_.Monotonic());
  shard->last_written = end - 1;
  shard->loaded_last = end - 1;
  shard->loaded.store(true);
  spdlog::info("group coordinator: loaded {}-{} at leader epoch {}: {} records, {} groups in {}",
               kOffsetsTopic, shard->partition, shard->epoch.value(), records,
               shard->sm.groups().size(), absl::FormatDuration(clock_.Monotonic() - start));
}

void GroupCoordinator::SyncShards() {
  controller::ImagePtr image = metadata_.image();
  const controller::TopicImage* topic = image->topic_by_name(kOffsetsTopic);
  std::map<int32_t, std::shared_ptr<Replica>> led;
  if (topic != nullptr) {
    for (size_t p = 0; p < topic->partitions.size(); ++p) {
      std::shared_ptr<Replica> r =
          replicas_.Get(kOffsetsTopic, PartitionId(static_cast<int32_t>(p)));
      if (r != nullptr && r->role() == Replica::Role::kLeader) led[static_cast<int32_t>(p)] = r;
    }
  }
  std::vector<std::shared_ptr<Shard>> to_load;
  std::vector<std::shared_ptr<Shard>> retired;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = shards_.begin(); it != shards_.end();) {
      auto l = led.find(it->first);
      const bool keep = l != led.end() && l->second == it->second->replica &&
                        l->second->leader_epoch() == it->second->epoch &&
                        !(it->second->broken.load() && it->second->loaded.load());
      if (keep) {
        ++it;
        continue;
      }
      spdlog::info("group coordinator: unloading {}-{} (leader epoch {})", kOffsetsTopic, it->first,
                   it->second->epoch.value());
      retired.push_back(it->second);
      it = shards_.erase(it);
    }
    for (const auto& [p, r] : led) {
      if (shards_.contains(p)) continue;
      auto shard = std::make_shared<Shard>(p, r->leader_epoch(), r, options_.group, seeds_.Next());
      shards_[p] = shard;
      to_load.push_back(shard);
    }
  }
  // A retired shard must not append once its successor has read the log
  // (the record would be in the log but not in the new state): stop new
  // appends and wait out the one in flight, if any.
  for (const auto& shard : retired) {
    absl::MutexLock lock(&shard->mu);
    if (shard->append_error.ok()) {
      shard->append_error = KafkaError(v1::NOT_COORDINATOR, "the coordinator shard was unloaded");
    }
    auto idle = [s = shard.get()]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) { return !s->appending; };
    shard->mu.Await(absl::Condition(&idle));
  }
  for (const auto& shard : to_load) Load(shard);
}

void GroupCoordinator::RunOnce() {
  SyncShards();
  MaybeCreateTopic();
  std::vector<std::shared_ptr<Shard>> shards;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [p, s] : shards_) shards.push_back(s);
  }
  const TopicLookup topics = Topics();
  for (const auto& shard : shards) {
    if (!shard->loaded.load() || shard->broken.load()) continue;
    absl::MutexLock lock(&shard->mu);
    if (shard->replica->role() != Replica::Role::kLeader ||
        shard->replica->leader_epoch() != shard->epoch) {
      continue;
    }
    GroupStateMachine::Records records;
    shard->sm.Tick(topics, clock_.Monotonic(), clock_.Wall(), &records);
    if (!records.empty()) (void)PersistLocked(*shard, std::move(records));
    const Offset committed = shard->replica->high_watermark();
    for (auto w = shard->member_writes.begin(); w != shard->member_writes.end();) {
      const bool done = w->second.seq <= shard->persisted_seq && w->second.offset < committed;
      w = done ? shard->member_writes.erase(w) : std::next(w);
    }
  }
}

void GroupCoordinator::MaybeCreateTopic() {
  const absl::Duration now = clock_.Monotonic();
  {
    absl::MutexLock lock(&mu_);
    if (!create_wanted_ || now < next_create_attempt_) return;
    next_create_attempt_ = now + absl::Seconds(1);
  }
  if (metadata_.image()->topic_by_name(kOffsetsTopic) != nullptr) {
    absl::MutexLock lock(&mu_);
    create_wanted_ = false;
    create_error_.clear();
    return;
  }
  absl::Status s = absl::FailedPreconditionError("no controller client to create it");
  if (options_.topic_creator != nullptr) {
    s = options_.topic_creator->CreateTopic(
        kOffsetsTopic, options_.offsets_topic_num_partitions,
        options_.offsets_topic_replication_factor,
        {{"cleanup.policy", "compact"},
         {"segment.bytes", std::to_string(options_.offsets_topic_segment_bytes)}});
  }
  if (s.ok()) {
    spdlog::info("group coordinator: created {} ({} partitions, replication factor {})",
                 kOffsetsTopic, options_.offsets_topic_num_partitions,
                 options_.offsets_topic_replication_factor);
  } else {
    spdlog::warn("group coordinator: cannot create {}: {}", kOffsetsTopic, s.ToString());
  }
  absl::MutexLock lock(&mu_);
  create_error_ = s.ok() ? "" : std::string(s.message());
}

void GroupCoordinator::RunEvery(absl::Duration interval, void (GroupCoordinator::*work)()) {
  auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), interval)) return;
    }
    (this->*work)();
  }
}

std::vector<int32_t> GroupCoordinator::ActivePartitions() const {
  absl::MutexLock lock(&mu_);
  std::vector<int32_t> out;
  for (const auto& [p, s] : shards_) {
    if (s->loaded.load() && !s->broken.load()) out.push_back(p);
  }
  return out;
}

// --- RPCs ------------------------------------------------------------------

v1::FindCoordinatorResponse GroupCoordinator::FindCoordinator(
    const v1::FindCoordinatorRequest& request) {
  v1::FindCoordinatorResponse response;
  controller::ImagePtr image = metadata_.image();
  const controller::TopicImage* topic = image->topic_by_name(kOffsetsTopic);
  for (const std::string& key : request.keys()) {
    auto* c = response.add_coordinators();
    c->set_key(key);
    c->set_node_id(-1);
    c->set_port(-1);
    auto fail = [c](v1::ErrorCode code, std::string message) {
      c->set_error_code(code);
      c->set_error_message(std::move(message));
    };
    if (request.key_type() != 0) {
      fail(v1::INVALID_REQUEST, "only key_type 0 (consumer group) is supported");
      continue;
    }
    if (key.empty()) {
      fail(v1::INVALID_GROUP_ID, "group id is empty");
      continue;
    }
    if (topic == nullptr || topic->partitions.empty()) {
      absl::MutexLock lock(&mu_);
      create_wanted_ = true;
      fail(v1::COORDINATOR_NOT_AVAILABLE,
           absl::StrCat(kOffsetsTopic, " is being created",
                        create_error_.empty() ? "" : " (last attempt: " + create_error_ + ")"));
      continue;
    }
    const int32_t p = CoordinatorPartition(key, static_cast<int32_t>(topic->partitions.size()));
    const controller::PartitionRegistration* reg = topic->partition(PartitionId(p));
    if (reg == nullptr || !reg->has_leader()) {
      fail(v1::COORDINATOR_NOT_AVAILABLE, absl::StrCat(kOffsetsTopic, "-", p, " has no leader"));
      continue;
    }
    const controller::BrokerRegistration* b = image->broker(reg->leader);
    const controller::BrokerEndpoint* endpoint = nullptr;
    if (b != nullptr) {
      for (const auto& e : b->endpoints) {
        if (e.name == options_.listener_name) endpoint = &e;
      }
      if (endpoint == nullptr && !b->endpoints.empty()) endpoint = &b->endpoints.front();
    }
    if (endpoint == nullptr) {
      fail(v1::COORDINATOR_NOT_AVAILABLE,
           absl::StrCat("broker ", reg->leader.value(), " has no endpoint"));
      continue;
    }
    c->set_node_id(reg->leader.value());
    c->set_host(endpoint->host);
    c->set_port(endpoint->port);
  }
  return response;
}

v1::ConsumerGroupHeartbeatResponse GroupCoordinator::Heartbeat(
    const v1::ConsumerGroupHeartbeatRequest& request) {
  auto result = Run<v1::ConsumerGroupHeartbeatResponse>(
      request.group_id(),
      [&](GroupStateMachine& sm, const TopicLookup& topics, auto* out) {
        return sm.Heartbeat(request, topics, clock_.Monotonic(), out);
      },
      &request.member_id());
  if (auto* f = std::get_if<Failure>(&result)) return HeartbeatError(f->code, f->message);
  return std::get<v1::ConsumerGroupHeartbeatResponse>(std::move(result));
}

v1::OffsetCommitResponse GroupCoordinator::OffsetCommit(const v1::OffsetCommitRequest& request) {
  auto result = Run<v1::OffsetCommitResponse>(
      request.group_id(), [&](GroupStateMachine& sm, const TopicLookup& topics, auto* out) {
        return sm.OffsetCommit(request, topics, clock_.Wall(), out);
      });
  if (auto* f = std::get_if<Failure>(&result))
    return OffsetCommitError(request, f->code, f->message);
  return std::get<v1::OffsetCommitResponse>(std::move(result));
}

v1::OffsetFetchResponse GroupCoordinator::OffsetFetch(const v1::OffsetFetchRequest& request) {
  auto result = Run<v1::OffsetFetchResponse>(
      request.group_id(),
      [&](GroupStateMachine& sm, const TopicLookup&, auto*) { return sm.OffsetFetch(request); });
  return ResponseOrError(std::move(result));
}

v1::OffsetDeleteResponse GroupCoordinator::OffsetDelete(const v1::OffsetDeleteRequest& request) {
  auto result = Run<v1::OffsetDeleteResponse>(
      request.group_id(), [&](GroupStateMachine& sm, const TopicLookup&, auto* out) {
        return sm.OffsetDelete(request, out);
      });
  return ResponseOrError(std::move(result));
}

v1::ListGroupsResponse GroupCoordinator::ListGroups(const v1::ListGroupsRequest& request) {
  v1::ListGroupsResponse response;
  const std::set<std::string> states(request.states_filter().begin(),
                                     request.states_filter().end());
  std::vector<std::shared_ptr<Shard>> shards;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [p, s] : shards_) shards.push_back(s);
  }
  for (const auto& shard : shards) {
    if (!shard->loaded.load() || shard->broken.load()) {
      if (!shard->broken.load()) {
        response.set_error_code(v1::COORDINATOR_LOAD_IN_PROGRESS);
        response.set_error_message(absl::StrCat("loading ", kOffsetsTopic, "-", shard->partition));
      }
      continue;
    }
    absl::MutexLock lock(&shard->mu);
    shard->sm.ListGroups(states, &response);
  }
  return response;
}

v1::ConsumerGroupDescribeResponse GroupCoordinator::Describe(
    const v1::ConsumerGroupDescribeRequest& request) {
  v1::ConsumerGroupDescribeResponse response;
  for (const std::string& gid : request.group_ids()) {
    using Described = v1::ConsumerGroupDescribeResponse::DescribedGroup;
    auto result = Run<Described>(
        gid, [&](GroupStateMachine& sm, const TopicLookup&, auto*) { return sm.Describe(gid); });
    Described* d = response.add_groups();
    *d = ResponseOrError(std::move(result));
    d->set_group_id(gid);
  }
  return response;
}

v1::DeleteGroupsResponse GroupCoordinator::DeleteGroups(const v1::DeleteGroupsRequest& request) {
  v1::DeleteGroupsResponse response;
  for (const std::string& gid : request.group_ids()) {
    using Result = v1::DeleteGroupsResponse::Result;
    auto result = Run<Result>(gid, [&](GroupStateMachine& sm, const TopicLookup&, auto* out) {
      return sm.DeleteGroup(gid, out);
    });
    Result* r = response.add_results();
    *r = ResponseOrError(std::move(result));
    r->set_group_id(gid);
  }
  return response;
}

// --- Lag -------------------------------------------------------------------

std::shared_ptr<v1::BrokerService::Stub> GroupCoordinator::StubFor(
    BrokerId broker, const controller::MetadataImage& image) {
  const controller::BrokerRegistration* b = image.broker(broker);
  if (b == nullptr || b->endpoints.empty()) return nullptr;
  const controller::BrokerEndpoint* endpoint = &b->endpoints.front();
  for (const auto& e : b->endpoints) {
    if (e.name == options_.listener_name) endpoint = &e;
  }
  const std::string address = absl::StrCat(endpoint->host, ":", endpoint->port);
  auto& stub = stubs_[address];
  if (stub == nullptr) {
    stub = v1::BrokerService::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  }
  return stub;
}

void GroupCoordinator::RefreshLag() {
  std::vector<LagEntry> entries;
  std::vector<std::shared_ptr<Shard>> shards;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [p, s] : shards_) shards.push_back(s);
  }
  for (const auto& shard : shards) {
    if (!shard->loaded.load() || shard->broken.load()) continue;
    absl::MutexLock lock(&shard->mu);
    for (const auto& [gid, g] : shard->sm.groups()) {
      for (const auto& [tp, c] : g.offsets) {
        entries.push_back({gid, tp.first, tp.second, c.offset, -1});
      }
    }
  }
  controller::ImagePtr image = metadata_.image();
  std::map<TopicPartition, int64_t> hw;
  std::map<BrokerId, std::map<std::string, std::set<int32_t>>> remote;
  for (const LagEntry& e : entries) {
    const TopicPartition tp{e.topic, e.partition};
    if (hw.contains(tp)) continue;
    hw[tp] = -1;
    const controller::TopicImage* t = image->topic_by_name(e.topic);
    const controller::PartitionRegistration* reg =
        t == nullptr ? nullptr : t->partition(PartitionId(e.partition));
    if (reg == nullptr || !reg->has_leader()) continue;
    if (reg->leader == options_.local) {
      std::shared_ptr<Replica> r = replicas_.Get(e.topic, PartitionId(e.partition));
      if (r != nullptr && r->role() == Replica::Role::kLeader) {
        hw[tp] = r->high_watermark().value();
      }
    } else {
      remote[reg->leader][e.topic].insert(e.partition);
    }
  }
  for (const auto& [broker, topics] : remote) {
    std::shared_ptr<v1::BrokerService::Stub> stub = StubFor(broker, *image);
    if (stub == nullptr) continue;
    v1::ListOffsetsRequest req;
    for (const auto& [topic, partitions] : topics) {
      auto* t = req.add_topics();
      t->set_topic(topic);
      for (int32_t p : partitions) {
        auto* rp = t->add_partitions();
        rp->set_partition(p);
        rp->set_current_leader_epoch(-1);
        rp->set_timestamp(-1);  // latest: the high watermark
      }
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    v1::ListOffsetsResponse resp;
    if (!stub->ListOffsets(&ctx, req, &resp).ok()) continue;
    for (const auto& t : resp.topics()) {
      for (const auto& p : t.partitions()) {
        if (p.error_code() == v1::NONE) hw[{t.topic(), p.partition()}] = p.offset();
      }
    }
  }
  for (LagEntry& e : entries) e.high_watermark = hw[{e.topic, e.partition}];
  absl::MutexLock lock(&lag_mu_);
  lag_ = std::move(entries);
}

std::vector<LagEntry> GroupCoordinator::LagSnapshot() const {
  absl::MutexLock lock(&lag_mu_);
  return lag_;
}

}  // namespace fjord::group
