#include "broker/group/group_state_machine.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/group/assignor.h"
#include "common/assert.h"

namespace fjord::group {
namespace {

using HeartbeatResponse = v1::ConsumerGroupHeartbeatResponse;

std::vector<std::string> SortedUnique(const google::protobuf::RepeatedPtrField<std::string>& in) {
  std::vector<std::string> out(in.begin(), in.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

TopicPartitionSet FromValue(const google::protobuf::RepeatedPtrField<TopicPartitionsValue>& in) {
  TopicPartitionSet s;
  for (const auto& t : in) {
    for (int32_t p : t.partitions()) s.Add(t.topic(), p);
  }
  return s;
}

void ToValue(const TopicPartitionSet& s,
             google::protobuf::RepeatedPtrField<TopicPartitionsValue>* out) {
  s.ToProto(out);
}

int64_t ToMillis(absl::Time t) { return absl::ToUnixMillis(t); }

// The assignor most members ask for (ties by name), else uniform.
std::string GroupAssignor(const ConsumerGroup& g) {
  std::map<std::string, int> votes;
  for (const auto& [id, m] : g.members) {
    if (!m.server_assignor.empty()) ++votes[m.server_assignor];
  }
  std::string name = kUniformAssignor;
  int best = 0;
  for (const auto& [candidate, n] : votes) {
    if (n > best) best = n, name = candidate;
  }
  return name;
}

}  // namespace

HeartbeatResponse HeartbeatError(v1::ErrorCode code, std::string message) {
  HeartbeatResponse r;
  r.set_error_code(code);
  r.set_error_message(std::move(message));
  r.set_member_epoch(-1);
  return r;
}

v1::OffsetCommitResponse OffsetCommitError(const v1::OffsetCommitRequest& req, v1::ErrorCode code,
                                           const std::string& message) {
  v1::OffsetCommitResponse resp;
  resp.set_error_code(code);
  resp.set_error_message(message);
  for (const auto& t : req.topics()) {
    auto* rt = resp.add_topics();
    rt->set_name(t.name());
    for (const auto& p : t.partitions()) {
      auto* rp = rt->add_partitions();
      rp->set_partition(p.partition());
      rp->set_error_code(code);
      rp->set_error_message(message);
    }
  }
  return resp;
}

GroupStateMachine::GroupStateMachine(GroupConfig config, Random& random)
    : config_(config), random_(random) {}

const ConsumerGroup* GroupStateMachine::group(const std::string& id) const {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : &it->second;
}

template <typename Response>
const ConsumerGroup* GroupStateMachine::GroupOrError(const std::string& gid,
                                                     Response* response) const {
  if (gid.empty()) {
    response->set_error_code(v1::INVALID_GROUP_ID);
    response->set_error_message("group_id is empty");
    return nullptr;
  }
  const ConsumerGroup* g = group(gid);
  if (g == nullptr) {
    response->set_error_code(v1::GROUP_ID_NOT_FOUND);
    response->set_error_message(absl::StrCat("group ", gid, " does not exist"));
  }
  return g;
}

ConsumerGroup* GroupStateMachine::mutable_group(const std::string& id) {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : &it->second;
}

std::string GroupStateMachine::NewMemberId() {
  // Kafka's Uuid.toString(): 16 random bytes, URL-safe base64, no padding.
  std::string bytes(16, '\0');
  for (int i = 0; i < 2; ++i) {
    uint64_t v = random_.Next();
    for (int b = 0; b < 8; ++b) bytes[i * 8 + b] = static_cast<char>((v >> (8 * b)) & 0xff);
  }
  std::string id;
  absl::WebSafeBase64Escape(bytes, &id);
  return id;
}

// --- Records ---------------------------------------------------------------

void GroupStateMachine::Emit(GroupRecord record, Records* out) {
  absl::Status s = Replay(record);
  FJORD_CHECK(s.ok()) << s;
  out->push_back(std::move(record));
}

void GroupStateMachine::WriteMember(const ConsumerGroup& g, const Member& m, Records* out) {
  MemberMetadataValue v;
  if (m.instance_id) v.set_instance_id(*m.instance_id);
  if (m.rack_id) v.set_rack_id(*m.rack_id);
  v.set_client_id(m.client_id);
  v.set_client_host(m.client_host);
  for (const std::string& t : m.subscribed_topics) v.add_subscribed_topic_names(t);
  v.set_rebalance_timeout_ms(m.rebalance_timeout_ms);
  v.set_server_assignor(m.server_assignor);
  Emit(MakeRecord(GroupRecordKey::MEMBER_METADATA, g.group_id, m.member_id, &v), out);
}

void GroupStateMachine::WriteCurrentAssignment(const ConsumerGroup& g, const Member& m,
                                               Records* out) {
  CurrentAssignmentValue v;
  v.set_member_epoch(m.member_epoch);
  v.set_previous_member_epoch(m.previous_member_epoch);
  v.set_state(static_cast<int32_t>(m.state));
  ToValue(m.assigned, v.mutable_assigned());
  ToValue(m.pending_revocation, v.mutable_pending_revocation());
  ToValue(m.held_at_previous_epoch, v.mutable_held_at_previous_epoch());
  Emit(MakeRecord(GroupRecordKey::CURRENT_ASSIGNMENT, g.group_id, m.member_id, &v), out);
}

void GroupStateMachine::RemoveMemberRecords(const ConsumerGroup& g, const std::string& member_id,
                                            Records* out) {
  const std::string group_id = g.group_id;  // `g` may change under Emit.
  Emit(MakeRecord(GroupRecordKey::CURRENT_ASSIGNMENT, group_id, member_id, nullptr), out);
  if (groups_.at(group_id).target.contains(member_id)) {
    Emit(MakeRecord(GroupRecordKey::TARGET_ASSIGNMENT_MEMBER, group_id, member_id, nullptr), out);
  }
  Emit(MakeRecord(GroupRecordKey::MEMBER_METADATA, group_id, member_id, nullptr), out);
  auto t = timers_.find(group_id);
  if (t != timers_.end()) t->second.erase(member_id);
}

absl::Status GroupStateMachine::Replay(const GroupRecord& record) {
  const GroupRecordKey& k = record.key;
  const std::string& gid = k.group_id();
  auto parse = [&](google::protobuf::Message* msg) -> absl::Status {
    if (!msg->ParseFromString(*record.value)) {
      return absl::DataLossError(absl::StrCat("group ", gid, ": bad value for key type ",
                                              GroupRecordKey::Type_Name(k.type())));
    }
    return absl::OkStatus();
  };
  auto get_or_create = [&]() -> ConsumerGroup& {
    ConsumerGroup& g = groups_[gid];
    g.group_id = gid;
    return g;
  };
  switch (k.type()) {
    case GroupRecordKey::OFFSET_COMMIT: {
      const TopicPartition tp{k.topic(), k.partition()};
      if (!record.value) {
        if (ConsumerGroup* g = mutable_group(gid)) g->offsets.erase(tp);
        return absl::OkStatus();
      }
      OffsetCommitValue v;
      if (absl::Status s = parse(&v); !s.ok()) return s;
      get_or_create().offsets[tp] =
          CommittedOffset{v.offset(), v.leader_epoch(), v.metadata(), v.commit_timestamp_ms()};
      return absl::OkStatus();
    }
    case GroupRecordKey::GROUP_METADATA: {
      if (!record.value) {
        groups_.erase(gid);
        timers_.erase(gid);
        empty_since_.erase(gid);
        return absl::OkStatus();
      }
      GroupMetadataValue v;
      if (absl::Status s = parse(&v); !s.ok()) return s;
      ConsumerGroup& g = get_or_create();
      g.group_epoch = v.epoch();
      g.subscribed_topics.clear();
      for (const auto& t : v.subscribed_topics()) g.subscribed_topics[t.topic()] = t.partitions();
      return absl::OkStatus();
    }
    case GroupRecordKey::MEMBER_METADATA: {
      if (!record.value) {
        if (ConsumerGroup* g = mutable_group(gid)) g->members.erase(k.member_id());
        return absl::OkStatus();
      }
      MemberMetadataValue v;
      if (absl::Status s = parse(&v); !s.ok()) return s;
      Member& m = get_or_create().members[k.member_id()];
      m.member_id = k.member_id();
      m.instance_id =
          v.has_instance_id() ? std::optional<std::string>(v.instance_id()) : std::nullopt;
      m.rack_id = v.has_rack_id() ? std::optional<std::string>(v.rack_id()) : std::nullopt;
      m.client_id = v.client_id();
      m.client_host = v.client_host();
      m.subscribed_topics.assign(v.subscribed_topic_names().begin(),
                                 v.subscribed_topic_names().end());
      m.rebalance_timeout_ms = v.rebalance_timeout_ms();
      m.server_assignor = v.server_assignor();
      return absl::OkStatus();
    }
    case GroupRecordKey::TARGET_ASSIGNMENT_METADATA: {
      if (!record.value) {
        if (ConsumerGroup* g = mutable_group(gid)) g->assignment_epoch = 0;
        return absl::OkStatus();
      }
      TargetAssignmentMetadataValue v;
      if (absl::Status s = parse(&v); !s.ok()) return s;
      get_or_create().assignment_epoch = v.assignment_epoch();
      return absl::OkStatus();
    }
    case GroupRecordKey::TARGET_ASSIGNMENT_MEMBER: {
      if (!record.value) {
        if (ConsumerGroup* g = mutable_group(gid)) g->target.erase(k.member_id());
        return absl::OkStatus();
      }
      TargetAssignmentMemberValue v;
      if (absl::Status s = parse(&v); !s.ok()) return s;
      get_or_create().target[k.member_id()] = FromValue(v.partitions());
      return absl::OkStatus();
    }
    case GroupRecordKey::CURRENT_ASSIGNMENT: {
      if (!record.value) {
        if (ConsumerGroup* g = mutable_group(gid)) {
          auto m = g->members.find(k.member_id());
          if (m != g->members.end()) {
            m->second.assigned = {};
            m->second.pending_revocation = {};
            m->second.member_epoch = 0;
            m->second.previous_member_epoch = 0;
            m->second.held_at_previous_epoch = {};
            m->second.state = MemberState::kStable;
          }
        }
        return absl::OkStatus();
      }
      CurrentAssignmentValue v;
      if (absl::Status s = parse(&v); !s.ok()) return s;
      Member& m = get_or_create().members[k.member_id()];
      m.member_id = k.member_id();
      m.member_epoch = v.member_epoch();
      m.previous_member_epoch = v.previous_member_epoch();
      m.state = static_cast<MemberState>(v.state());
      m.assigned = FromValue(v.assigned());
      m.pending_revocation = FromValue(v.pending_revocation());
      m.held_at_previous_epoch = FromValue(v.held_at_previous_epoch());
      return absl::OkStatus();
    }
    default:
      return absl::DataLossError(absl::StrCat("group ", gid, ": unknown record type ", k.type()));
  }
}

void GroupStateMachine::AnswerLost(const std::string& group_id, const std::string& member_id) {
  auto g = timers_.find(group_id);
  if (g == timers_.end()) return;
  auto t = g->second.find(member_id);
  if (t != g->second.end()) t->second.assignment_sent = false;
}

void GroupStateMachine::OnLoaded(absl::Duration now) {
  timers_.clear();
  empty_since_.clear();
  for (const auto& [gid, g] : groups_) {
    if (g.members.empty()) empty_since_[gid] = now;
    for (const auto& [mid, m] : g.members) {
      MemberTimers& t = timers(gid, mid);
      t.session_deadline = now + config_.session_timeout;
      if (m.state == MemberState::kUnrevokedPartitions) {
        t.revocation_deadline = now + absl::Milliseconds(m.rebalance_timeout_ms);
      }
    }
  }
  next_retention_check_ = now + config_.offsets_retention_check_interval;
}

// --- Assignment ------------------------------------------------------------

void GroupStateMachine::MaybeBumpEpoch(const std::string& group_id, const TopicLookup& topics,
                                       bool force, Records* out) {
  const ConsumerGroup& g = groups_.at(group_id);
  std::map<std::string, int32_t> counts;
  for (const std::string& t : g.SubscribedTopicNames()) {
    if (std::optional<int32_t> n = topics(t); n.has_value()) counts[t] = *n;
  }
  if (!force && counts == g.subscribed_topics) return;

  GroupMetadataValue meta;
  meta.set_epoch(g.group_epoch + 1);
  for (const auto& [t, n] : counts) {
    TopicPartitionCount* c = meta.add_subscribed_topics();
    c->set_topic(t);
    c->set_partitions(n);
  }
  Emit(MakeRecord(GroupRecordKey::GROUP_METADATA, group_id, "", &meta), out);

  const ConsumerGroup& group = groups_.at(group_id);
  const std::string assignor_name = GroupAssignor(group);
  const Assignor* assignor = FindAssignor(assignor_name);
  FJORD_CHECK(assignor != nullptr) << assignor_name;

  AssignmentSpec spec;
  spec.topics = counts;
  for (const auto& [id, m] : group.members) {
    auto t = group.target.find(id);
    spec.members.push_back(
        {id, m.subscribed_topics, t == group.target.end() ? TopicPartitionSet() : t->second});
  }
  GroupAssignment assignment = assignor->Assign(spec);
  for (auto& [id, parts] : assignment) {
    const ConsumerGroup& cur = groups_.at(group_id);
    auto t = cur.target.find(id);
    if (t != cur.target.end() && t->second == parts) continue;
    TargetAssignmentMemberValue v;
    ToValue(parts, v.mutable_partitions());
    Emit(MakeRecord(GroupRecordKey::TARGET_ASSIGNMENT_MEMBER, group_id, id, &v), out);
  }
  TargetAssignmentMetadataValue tv;
  tv.set_assignment_epoch(meta.epoch());
  Emit(MakeRecord(GroupRecordKey::TARGET_ASSIGNMENT_METADATA, group_id, "", &tv), out);
}

void GroupStateMachine::FenceMember(const std::string& group_id, const std::string& member_id,
                                    const TopicLookup& topics, absl::Duration now, Records* out) {
  RemoveMemberRecords(groups_.at(group_id), member_id, out);
  MaybeBumpEpoch(group_id, topics, /*force=*/true, out);
  if (groups_.at(group_id).members.empty()) empty_since_[group_id] = now;
}

void GroupStateMachine::Reconcile(const std::string& group_id, const std::string& member_id,
                                  const std::optional<TopicPartitionSet>& owned, absl::Duration now,
                                  Records* out) {
  const ConsumerGroup& g = groups_.at(group_id);
  const Member& cur = g.members.at(member_id);
  if (cur.member_epoch == kStaticLeaveEpoch) return;
  Member m = cur;
  auto t = g.target.find(member_id);
  const TopicPartitionSet target = t == g.target.end() ? TopicPartitionSet() : t->second;
  const int32_t epoch = g.assignment_epoch;

  if (m.state == MemberState::kUnrevokedPartitions) {
    if (owned.has_value() && owned->Disjoint(m.pending_revocation)) {
      m.pending_revocation = {};
      m.state = MemberState::kStable;
    } else {
      // Still revoking; anything else that left the target joins the queue.
      TopicPartitionSet extra = m.assigned.Minus(target);
      if (!extra.empty()) {
        m.assigned = m.assigned.Minus(extra);
        m.pending_revocation = m.pending_revocation.Union(extra);
      }
    }
  }
  if (m.state != MemberState::kUnrevokedPartitions &&
      !(m.state == MemberState::kStable && m.member_epoch == epoch)) {
    const TopicPartitionSet revoke = m.assigned.Minus(target);
    if (!revoke.empty()) {
      m.assigned = m.assigned.Intersect(target);
      m.pending_revocation = revoke;
      m.state = MemberState::kUnrevokedPartitions;
    } else {
      // Partitions are free once no other member holds them.
      TopicPartitionSet held;
      for (const auto& [id, other] : g.members) {
        if (id == member_id) continue;
        held = held.Union(other.assigned).Union(other.pending_revocation);
      }
      const TopicPartitionSet wanted = target.Minus(m.assigned);
      const TopicPartitionSet free = wanted.Minus(held);
      if (m.member_epoch != epoch) {
        m.previous_member_epoch = m.member_epoch;
        m.held_at_previous_epoch = m.assigned;
        m.member_epoch = epoch;
      }
      m.assigned = m.assigned.Union(free);
      m.state =
          wanted.Minus(free).empty() ? MemberState::kStable : MemberState::kUnreleasedPartitions;
    }
  }
  if (m == cur) return;
  MemberTimers& tm = timers(group_id, member_id);
  if (m.assigned != cur.assigned) tm.assignment_sent = false;
  if (m.state == MemberState::kUnrevokedPartitions) {
    if (cur.state != MemberState::kUnrevokedPartitions) {
      tm.revocation_deadline = now + absl::Milliseconds(m.rebalance_timeout_ms);
    }
  } else {
    tm.revocation_deadline.reset();
  }
  WriteCurrentAssignment(g, m, out);
}

// --- ConsumerGroupHeartbeat ------------------------------------------------

HeartbeatResponse GroupStateMachine::Heartbeat(const v1::ConsumerGroupHeartbeatRequest& req,
                                               const TopicLookup& topics, absl::Duration now,
                                               Records* out) {
  const std::string& gid = req.group_id();
  const int32_t epoch = req.member_epoch();
  if (gid.empty()) return HeartbeatError(v1::INVALID_GROUP_ID, "group_id is empty");
  if (epoch < kStaticLeaveEpoch) {
    return HeartbeatError(v1::INVALID_REQUEST, absl::StrCat("member_epoch ", epoch));
  }
  if (epoch != kJoinEpoch && req.member_id().empty()) {
    return HeartbeatError(v1::INVALID_REQUEST, "member_id is empty with a non-zero member_epoch");
  }
  if (epoch == kJoinEpoch && !req.has_subscription()) {
    return HeartbeatError(v1::INVALID_REQUEST, "joining without subscribed_topic_names");
  }
  if (!req.server_assignor().empty() && FindAssignor(req.server_assignor()) == nullptr) {
    return HeartbeatError(
        v1::UNSUPPORTED_ASSIGNOR,
        absl::StrCat("server_assignor '", req.server_assignor(), "' (supported: uniform, range)"));
  }
  if (req.has_instance_id() && req.instance_id().empty()) {
    return HeartbeatError(v1::INVALID_REQUEST, "instance_id is empty");
  }
  std::optional<TopicPartitionSet> owned;
  if (req.has_owned()) owned = TopicPartitionSet::FromProto(req.owned_topic_partitions());

  ConsumerGroup* g = mutable_group(gid);

  // Leaving.
  if (epoch == kLeaveEpoch || epoch == kStaticLeaveEpoch) {
    if (g == nullptr || !g->members.contains(req.member_id())) {
      return HeartbeatError(v1::UNKNOWN_MEMBER_ID,
                            absl::StrCat("member ", req.member_id(), " is not in group ", gid));
    }
    Member m = g->members.at(req.member_id());
    HeartbeatResponse r;
    r.set_member_id(m.member_id);
    r.set_heartbeat_interval_ms(
        static_cast<int32_t>(absl::ToInt64Milliseconds(config_.heartbeat_interval)));
    if (epoch == kStaticLeaveEpoch && m.instance_id.has_value()) {
      // Partitions stay reserved until the session times out or the same
      // instance rejoins.
      if (m.member_epoch != kStaticLeaveEpoch) {
        m.previous_member_epoch = m.member_epoch;
        m.member_epoch = kStaticLeaveEpoch;
        WriteCurrentAssignment(*g, m, out);
      }
      timers(gid, m.member_id).session_deadline = now + config_.session_timeout;
      r.set_member_epoch(kStaticLeaveEpoch);
      return r;
    }
    FenceMember(gid, m.member_id, topics, now, out);
    r.set_member_epoch(kLeaveEpoch);
    return r;
  }

  std::string member_id = req.member_id();
  const bool joining = epoch == kJoinEpoch;
  if (joining) {
    const Member* prev =
        req.has_instance_id() && g != nullptr ? g->FindByInstance(req.instance_id()) : nullptr;
    if (prev != nullptr && prev->member_epoch != kStaticLeaveEpoch &&
        prev->member_id != member_id) {
      return HeartbeatError(
          v1::UNRELEASED_INSTANCE_ID,
          absl::StrCat("instance ", req.instance_id(), " is still held by member ", prev->member_id,
                       " (it has not left, or its session has not expired)"));
    }
    if (prev != nullptr && prev->member_epoch == kStaticLeaveEpoch) {
      // Static rejoin: the new incarnation takes over the old member's
      // epoch, assignment and target; no rebalance.
      if (member_id.empty()) member_id = NewMemberId();
      Member next = *prev;
      next.member_id = member_id;
      next.member_epoch = prev->previous_member_epoch;
      auto tgt = g->target.find(prev->member_id);
      const std::optional<TopicPartitionSet> target =
          tgt == g->target.end() ? std::nullopt : std::optional(tgt->second);
      RemoveMemberRecords(*g, prev->member_id, out);
      g = mutable_group(gid);
      WriteMember(*g, next, out);
      if (target.has_value()) {
        TargetAssignmentMemberValue v;
        ToValue(*target, v.mutable_partitions());
        Emit(MakeRecord(GroupRecordKey::TARGET_ASSIGNMENT_MEMBER, gid, member_id, &v), out);
      }
      WriteCurrentAssignment(*g, next, out);
      g = mutable_group(gid);
    }
    if (member_id.empty()) member_id = NewMemberId();
    if (g != nullptr && !g->members.contains(member_id) &&
        static_cast<int64_t>(g->members.size()) >= config_.max_size) {
      return HeartbeatError(v1::GROUP_MAX_SIZE_REACHED,
                            absl::StrCat("group ", gid, " has group.consumer.max.size ",
                                         config_.max_size, " members"));
    }
  } else {
    if (g == nullptr || !g->members.contains(member_id)) {
      return HeartbeatError(v1::UNKNOWN_MEMBER_ID,
                            absl::StrCat("member ", member_id, " is not in group ", gid,
                                         " (fenced or expired): rejoin with epoch 0"));
    }
    const Member& m = g->members.at(member_id);
    // KIP-848: one epoch behind (the answer that moved the member on was
    // lost or is still on its way) is accepted if what the member owns is
    // part of its assignment. A request without owned partitions means "as
    // last reported": at most what it held when it left that epoch.
    const TopicPartitionSet& claimed = owned.has_value() ? *owned : m.held_at_previous_epoch;
    const bool lost_response = m.member_epoch >= 0 && epoch == m.previous_member_epoch &&
                               claimed.Minus(m.assigned).empty();
    if (epoch != m.member_epoch && !lost_response) {
      return HeartbeatError(v1::FENCED_MEMBER_EPOCH,
                            absl::StrCat("member epoch ", epoch, " but the coordinator has ",
                                         m.member_epoch, ": rejoin with epoch 0"));
    }
  }

  // Member metadata (create or update).
  Member before;
  bool existed = g != nullptr && g->members.contains(member_id);
  if (existed) before = g->members.at(member_id);
  Member m = before;
  m.member_id = member_id;
  if (req.has_instance_id()) m.instance_id = req.instance_id();
  if (req.has_rack_id()) m.rack_id = req.rack_id();
  if (!req.client_id().empty()) m.client_id = req.client_id();
  if (!req.client_host().empty()) m.client_host = req.client_host();
  if (req.has_subscription()) m.subscribed_topics = SortedUnique(req.subscribed_topic_names());
  if (req.rebalance_timeout_ms() > 0) {
    m.rebalance_timeout_ms = req.rebalance_timeout_ms();
  } else if (m.rebalance_timeout_ms <= 0) {
    m.rebalance_timeout_ms =
        static_cast<int32_t>(absl::ToInt64Milliseconds(config_.default_rebalance_timeout));
  }
  if (!req.server_assignor().empty()) m.server_assignor = req.server_assignor();
  const bool metadata_changed = !existed || m.instance_id != before.instance_id ||
                                m.rack_id != before.rack_id || m.client_id != before.client_id ||
                                m.client_host != before.client_host ||
                                m.subscribed_topics != before.subscribed_topics ||
                                m.rebalance_timeout_ms != before.rebalance_timeout_ms ||
                                m.server_assignor != before.server_assignor;
  if (metadata_changed) {
    if (g == nullptr) {
      ConsumerGroup& created = groups_[gid];
      created.group_id = gid;
      g = &created;
    }
    WriteMember(*g, m, out);
    empty_since_.erase(gid);
  }
  const bool rebalance = !existed || m.subscribed_topics != before.subscribed_topics ||
                         m.server_assignor != before.server_assignor;
  MaybeBumpEpoch(gid, topics, rebalance, out);
  Reconcile(gid, member_id, owned, now, out);

  MemberTimers& tm = timers(gid, member_id);
  tm.session_deadline = now + config_.session_timeout;
  const Member& after = groups_.at(gid).members.at(member_id);
  HeartbeatResponse r;
  r.set_member_id(member_id);
  r.set_member_epoch(after.member_epoch);
  r.set_heartbeat_interval_ms(
      static_cast<int32_t>(absl::ToInt64Milliseconds(config_.heartbeat_interval)));
  // A member that was behind gets its assignment again: the answer that
  // carried it may be the one that was lost.
  if (joining || !tm.assignment_sent || epoch != after.member_epoch ||
      (owned.has_value() && *owned != after.assigned)) {
    r.set_has_assignment(true);
    after.assigned.ToProto(r.mutable_assigned_topic_partitions());
    tm.assignment_sent = true;
  }
  return r;
}

// --- Offsets ---------------------------------------------------------------

v1::OffsetCommitResponse GroupStateMachine::OffsetCommit(const v1::OffsetCommitRequest& req,
                                                         const TopicLookup& topics, absl::Time wall,
                                                         Records* out) {
  auto fail_all = [&](v1::ErrorCode code, const std::string& message) {
    return OffsetCommitError(req, code, message);
  };
  const std::string& gid = req.group_id();
  if (gid.empty()) return fail_all(v1::INVALID_GROUP_ID, "group_id is empty");
  const ConsumerGroup* g = group(gid);
  if (req.member_id().empty() && req.member_epoch() < 0) {
    if (g != nullptr && !g->members.empty()) {
      return fail_all(v1::NON_EMPTY_GROUP,
                      absl::StrCat("group ", gid, " has ", g->members.size(),
                                   " members: offsets can be reset only while it is empty"));
    }
  } else {
    const Member* m = g == nullptr ? nullptr : g->FindMember(req.member_id());
    if (m == nullptr) {
      return fail_all(v1::UNKNOWN_MEMBER_ID,
                      absl::StrCat("member ", req.member_id(), " is not in group ", gid));
    }
    if (req.member_epoch() > m->member_epoch) {
      return fail_all(v1::FENCED_MEMBER_EPOCH, absl::StrCat("member epoch ", req.member_epoch(),
                                                            " is ahead of ", m->member_epoch));
    }
    if (req.member_epoch() < m->member_epoch) {
      return fail_all(v1::STALE_MEMBER_EPOCH,
                      absl::StrCat("member epoch ", req.member_epoch(), " is older than ",
                                   m->member_epoch, ": commit rejected"));
    }
  }
  v1::OffsetCommitResponse resp;
  for (const auto& t : req.topics()) {
    auto* rt = resp.add_topics();
    rt->set_name(t.name());
    const std::optional<int32_t> count = topics(t.name());
    for (const auto& p : t.partitions()) {
      auto* rp = rt->add_partitions();
      rp->set_partition(p.partition());
      if (!count.has_value() || p.partition() < 0 || p.partition() >= *count) {
        rp->set_error_code(v1::UNKNOWN_TOPIC_OR_PARTITION);
        rp->set_error_message(absl::StrCat(t.name(), "-", p.partition(), " does not exist"));
        continue;
      }
      if (p.metadata().size() > config_.offset_metadata_max_bytes) {
        rp->set_error_code(v1::OFFSET_METADATA_TOO_LARGE);
        rp->set_error_message(absl::StrCat("metadata of ", p.metadata().size(),
                                           " bytes > offset.metadata.max.bytes ",
                                           config_.offset_metadata_max_bytes));
        continue;
      }
      if (p.committed_offset() < 0) {
        rp->set_error_code(v1::INVALID_REQUEST);
        rp->set_error_message(absl::StrCat("committed_offset ", p.committed_offset()));
        continue;
      }
      OffsetCommitValue v;
      v.set_offset(p.committed_offset());
      v.set_leader_epoch(p.committed_leader_epoch());
      v.set_metadata(p.metadata());
      v.set_commit_timestamp_ms(ToMillis(wall));
      Emit(MakeOffsetRecord(gid, t.name(), p.partition(), &v), out);
    }
  }
  return resp;
}

v1::OffsetFetchResponse GroupStateMachine::OffsetFetch(const v1::OffsetFetchRequest& req) const {
  v1::OffsetFetchResponse resp;
  const std::string& gid = req.group_id();
  if (gid.empty()) {
    resp.set_error_code(v1::INVALID_GROUP_ID);
    resp.set_error_message("group_id is empty");
    return resp;
  }
  const ConsumerGroup* g = group(gid);
  if (!req.member_id().empty()) {
    const Member* m = g == nullptr ? nullptr : g->FindMember(req.member_id());
    if (m == nullptr) {
      resp.set_error_code(v1::UNKNOWN_MEMBER_ID);
      resp.set_error_message(absl::StrCat("member ", req.member_id(), " is not in group ", gid));
      return resp;
    }
    if (req.member_epoch() != m->member_epoch) {
      resp.set_error_code(v1::STALE_MEMBER_EPOCH);
      resp.set_error_message(absl::StrCat("member epoch ", req.member_epoch(),
                                          " but the coordinator has ", m->member_epoch));
      return resp;
    }
  }
  auto fill = [](const CommittedOffset* c, int32_t partition, v1::OffsetFetchResponse::Topic* t) {
    auto* p = t->add_partitions();
    p->set_partition(partition);
    p->set_committed_offset(c ? c->offset : -1);
    p->set_committed_leader_epoch(c ? c->leader_epoch : -1);
    if (c) p->set_metadata(c->metadata);
  };
  if (req.topics().empty()) {
    if (g == nullptr) return resp;
    v1::OffsetFetchResponse::Topic* t = nullptr;
    for (const auto& [tp, c] : g->offsets) {
      if (t == nullptr || t->name() != tp.first) {
        t = resp.add_topics();
        t->set_name(tp.first);
      }
      fill(&c, tp.second, t);
    }
    return resp;
  }
  for (const auto& rt : req.topics()) {
    auto* t = resp.add_topics();
    t->set_name(rt.name());
    for (int32_t p : rt.partitions()) {
      const CommittedOffset* c = nullptr;
      if (g != nullptr) {
        auto it = g->offsets.find({rt.name(), p});
        if (it != g->offsets.end()) c = &it->second;
      }
      fill(c, p, t);
    }
  }
  return resp;
}

v1::OffsetDeleteResponse GroupStateMachine::OffsetDelete(const v1::OffsetDeleteRequest& req,
                                                         Records* out) {
  v1::OffsetDeleteResponse resp;
  const std::string& gid = req.group_id();
  const ConsumerGroup* g = GroupOrError(gid, &resp);
  if (g == nullptr) return resp;
  const std::vector<std::string> subscribed = g->SubscribedTopicNames();
  std::vector<std::string> refused;
  for (const auto& t : req.topics()) {
    const bool is_subscribed = std::binary_search(subscribed.begin(), subscribed.end(), t.topic());
    auto* rt = resp.add_topics();
    rt->set_name(t.topic());
    for (int32_t p : t.partitions()) {
      auto* rp = rt->add_partitions();
      rp->set_partition(p);
      if (is_subscribed) {
        rp->set_error_code(v1::GROUP_SUBSCRIBED_TO_TOPIC);
        rp->set_error_message(absl::StrCat("group ", gid, " is subscribed to ", t.topic()));
        continue;
      }
      if (groups_.at(gid).offsets.contains({t.topic(), p})) {
        Emit(MakeOffsetRecord(gid, t.topic(), p, nullptr), out);
      }
    }
    if (is_subscribed) refused.push_back(t.topic());
  }
  if (!refused.empty()) {
    resp.set_error_code(v1::GROUP_SUBSCRIBED_TO_TOPIC);
    resp.set_error_message(absl::StrCat("group ", gid, " is subscribed to ",
                                        absl::StrJoin(refused, ", "),
                                        "; offsets of other topics were deleted"));
  }
  return resp;
}

v1::DeleteGroupsResponse::Result GroupStateMachine::DeleteGroup(const std::string& gid,
                                                                Records* out) {
  v1::DeleteGroupsResponse::Result r;
  r.set_group_id(gid);
  const ConsumerGroup* g = GroupOrError(gid, &r);
  if (g == nullptr) return r;
  if (!g->members.empty()) {
    r.set_error_code(v1::NON_EMPTY_GROUP);
    r.set_error_message(absl::StrCat("group ", gid, " has ", g->members.size(), " members"));
    return r;
  }
  std::vector<TopicPartition> offsets;
  for (const auto& [tp, c] : g->offsets) offsets.push_back(tp);
  for (const auto& [t, p] : offsets) Emit(MakeOffsetRecord(gid, t, p, nullptr), out);
  std::vector<std::string> targets;
  for (const auto& [mid, parts] : g->target) targets.push_back(mid);
  for (const std::string& mid : targets) {
    Emit(MakeRecord(GroupRecordKey::TARGET_ASSIGNMENT_MEMBER, gid, mid, nullptr), out);
  }
  Emit(MakeRecord(GroupRecordKey::TARGET_ASSIGNMENT_METADATA, gid, "", nullptr), out);
  Emit(MakeRecord(GroupRecordKey::GROUP_METADATA, gid, "", nullptr), out);
  return r;
}

// --- Administration --------------------------------------------------------

v1::ConsumerGroupDescribeResponse::DescribedGroup GroupStateMachine::Describe(
    const std::string& gid) const {
  v1::ConsumerGroupDescribeResponse::DescribedGroup d;
  d.set_group_id(gid);
  const ConsumerGroup* g = GroupOrError(gid, &d);
  if (g == nullptr) {
    if (!gid.empty()) d.set_group_state(GroupStateName(GroupState::kDead));
    return d;
  }
  d.set_group_state(GroupStateName(g->state()));
  d.set_group_epoch(g->group_epoch);
  d.set_assignment_epoch(g->assignment_epoch);
  d.set_assignor_name(GroupAssignor(*g));
  for (const auto& [id, m] : g->members) {
    auto* dm = d.add_members();
    dm->set_member_id(id);
    if (m.instance_id) dm->set_instance_id(*m.instance_id);
    if (m.rack_id) dm->set_rack_id(*m.rack_id);
    dm->set_member_epoch(m.member_epoch);
    dm->set_client_id(m.client_id);
    dm->set_client_host(m.client_host);
    for (const std::string& t : m.subscribed_topics) dm->add_subscribed_topic_names(t);
    m.assigned.ToProto(dm->mutable_assignment());
    auto t = g->target.find(id);
    if (t != g->target.end()) t->second.ToProto(dm->mutable_target_assignment());
  }
  return d;
}

void GroupStateMachine::ListGroups(const std::set<std::string>& states,
                                   v1::ListGroupsResponse* out) const {
  for (const auto& [gid, g] : groups_) {
    const std::string state = GroupStateName(g.state());
    if (!states.empty() && !states.contains(state)) continue;
    auto* e = out->add_groups();
    e->set_group_id(gid);
    e->set_group_state(state);
    e->set_group_type("consumer");
  }
}

// --- Timers ----------------------------------------------------------------

void GroupStateMachine::Tick(const TopicLookup& topics, absl::Duration now, absl::Time wall,
                             Records* out) {
  // Fencing: collect first, then act (acting changes the maps).
  std::vector<std::pair<std::string, std::string>> expired;
  for (const auto& [gid, members] : timers_) {
    const ConsumerGroup* g = group(gid);
    if (g == nullptr) continue;
    for (const auto& [mid, t] : members) {
      auto m = g->members.find(mid);
      if (m == g->members.end()) continue;
      const bool session = now >= t.session_deadline;
      const bool revocation = m->second.state == MemberState::kUnrevokedPartitions &&
                              t.revocation_deadline.has_value() && now >= *t.revocation_deadline;
      if (session || revocation) expired.emplace_back(gid, mid);
    }
  }
  for (const auto& [gid, mid] : expired) {
    if (!groups_.contains(gid) || !groups_.at(gid).members.contains(mid)) continue;
    FenceMember(gid, mid, topics, now, out);
  }
  // Partition-count changes of subscribed topics rebalance even when no
  // member heartbeats.
  for (const auto& [gid, g] : groups_) {
    if (!g.members.empty()) {
      MaybeBumpEpoch(gid, topics, /*force=*/false, out);
    } else if (!empty_since_.contains(gid)) {
      empty_since_[gid] = now;
    }
  }

  if (now < next_retention_check_) return;
  next_retention_check_ = now + config_.offsets_retention_check_interval;
  const int64_t now_ms = ToMillis(wall);
  const int64_t retention_ms = absl::ToInt64Milliseconds(config_.offsets_retention);
  std::vector<std::string> gids;
  for (const auto& [gid, g] : groups_) gids.push_back(gid);
  for (const std::string& gid : gids) {
    const ConsumerGroup& g = groups_.at(gid);
    if (!g.members.empty()) continue;
    auto es = empty_since_.find(gid);
    if (es == empty_since_.end()) es = empty_since_.emplace(gid, now).first;
    if (now - es->second < config_.offsets_retention) continue;
    std::vector<TopicPartition> stale;
    for (const auto& [tp, c] : g.offsets) {
      if (now_ms - c.commit_timestamp_ms >= retention_ms) stale.push_back(tp);
    }
    for (const auto& [t, p] : stale) Emit(MakeOffsetRecord(gid, t, p, nullptr), out);
    if (!stale.empty() && groups_.at(gid).offsets.empty()) DeleteGroup(gid, out);
  }
}

// --- Invariants ------------------------------------------------------------

absl::Status GroupStateMachine::CheckInvariants() const {
  for (const auto& [gid, g] : groups_) {
    std::map<TopicPartition, std::string> owner;
    for (const auto& [mid, m] : g.members) {
      if (m.member_epoch > g.assignment_epoch) {
        return absl::InternalError(absl::StrCat(gid, "/", mid, ": member epoch ", m.member_epoch,
                                                " > assignment epoch ", g.assignment_epoch));
      }
      if (!m.assigned.Disjoint(m.pending_revocation)) {
        return absl::InternalError(absl::StrCat(gid, "/", mid, ": assigned and pending overlap"));
      }
      for (const TopicPartitionSet* s : {&m.assigned, &m.pending_revocation}) {
        for (const auto& [t, ps] : s->map()) {
          for (int32_t p : ps) {
            auto [it, inserted] = owner.emplace(TopicPartition{t, p}, mid);
            if (!inserted) {
              return absl::InternalError(
                  absl::StrCat(gid, ": ", t, "-", p, " owned by both ", it->second, " and ", mid));
            }
          }
        }
      }
    }
    TopicPartitionSet targeted;
    for (const auto& [mid, s] : g.target) {
      if (!targeted.Disjoint(s)) {
        return absl::InternalError(absl::StrCat(gid, ": target of ", mid, " overlaps another"));
      }
      targeted = targeted.Union(s);
    }
  }
  return absl::OkStatus();
}

}  // namespace fjord::group
