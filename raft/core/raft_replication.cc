// The replication half of Raft: AppendEntries, heartbeats, snapshots,
// commit, local requests and the Ready handshake. Role changes and elections
// live in raft.cc.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/assert.h"
#include "raft/core/quorum.h"
#include "raft/core/raft.h"

namespace fjord::raft {
namespace {

absl::Status NotLeader(NodeId leader) {
  return absl::FailedPreconditionError(absl::StrCat("not leader; leader=", leader.value()));
}

}  // namespace

// --- Follower side ---

void Raft::HandleAppend(const Message& m) {
  if (m.index < log_.committed()) {
    Send({.type = MessageType::kAppendResponse, .to = m.from, .index = log_.committed()});
    return;
  }
  std::optional<LogIndex> truncated_from;
  std::optional<LogIndex> last_new =
      log_.MaybeAppend(m.index, m.log_term, m.entries, &truncated_from);
  if (truncated_from) OnTruncated(*truncated_from);
  if (!last_new) {
    Send({.type = MessageType::kAppendResponse,
          .to = m.from,
          .index = m.index,
          .reject = true,
          .reject_hint = log_.last_index()});
    return;
  }
  OnEntriesAppended(m.entries);
  log_.CommitTo(std::min(m.commit, *last_new));
  Send({.type = MessageType::kAppendResponse, .to = m.from, .index = *last_new});
}

void Raft::HandleHeartbeat(const Message& m) {
  log_.CommitTo(std::min(m.commit, log_.last_index()));
  Send({.type = MessageType::kHeartbeatResponse,
        .to = m.from,
        .index = log_.last_index(),
        .context = m.context});
}

void Raft::HandleSnapshotChunk(const Message& m) {
  const SnapshotMeta& meta = m.snapshot;
  if (meta.index <= log_.committed()) {
    // Nothing to install: tell the leader where we stand instead.
    incoming_data_.clear();
    Send({.type = MessageType::kAppendResponse, .to = m.from, .index = log_.committed()});
    return;
  }
  if (m.chunk_offset == 0) {
    incoming_meta_ = meta;
    incoming_data_.clear();
  }
  if (incoming_meta_ != meta || m.chunk_offset != incoming_data_.size()) {
    // Out of order (a chunk was lost or reordered): ask for what we lack.
    Send({.type = MessageType::kSnapshotResponse,
          .to = m.from,
          .reject = true,
          .snapshot = meta,
          .chunk_offset = incoming_meta_ == meta ? incoming_data_.size() : 0});
    return;
  }
  incoming_data_.append(m.chunk);
  if (!m.chunk_last) {
    Send({.type = MessageType::kSnapshotResponse,
          .to = m.from,
          .snapshot = meta,
          .chunk_offset = incoming_data_.size()});
    return;
  }
  Snapshot snapshot{meta, std::move(incoming_data_)};
  incoming_data_.clear();
  if (log_.MatchTerm(meta.index, meta.term)) {
    // Our log already holds the entry the snapshot ends with: by log
    // matching it holds everything before it, so committing suffices.
    log_.CommitTo(meta.index);
  } else {
    log_.Restore(meta);
    config_log_.clear();
    last_config_index_ = LogIndex(0);
    snapshot_ = snapshot;
    snapshot_to_restore_ = std::move(snapshot);
  }
  Send({.type = MessageType::kAppendResponse, .to = m.from, .index = log_.last_index()});
}

// --- Leader side ---

void Raft::HandleAppendResponse(const Message& m, Progress& pr) {
  if (m.reject) {
    if (pr.MaybeDecrTo(m.index, m.reject_hint)) {
      if (pr.state() == Progress::State::kReplicate) pr.BecomeProbe();
      MaybeSendAppend(m.from, /*send_if_empty=*/true);
    }
    return;
  }
  const bool probe_acked = pr.state() == Progress::State::kProbe && pr.match() == m.index;
  if (!pr.MaybeUpdate(m.index) && !probe_acked) return;
  if (pr.state() == Progress::State::kProbe) {
    pr.BecomeReplicate();
  } else if (pr.state() == Progress::State::kSnapshot && pr.match() >= pr.pending_snapshot()) {
    pr.BecomeProbe();
    pr.BecomeReplicate();
  }
  if (MaybeCommit()) BroadcastAppend();
  if (role_ != Role::kLeader) return;  // Stepped down after its own removal.
  while (MaybeSendAppend(m.from, /*send_if_empty=*/false)) {
  }
  if (m.from == transferee_ && pr.match() == log_.last_index()) SendTimeoutNow(m.from);
}

void Raft::HandleHeartbeatResponse(const Message& m, Progress& pr) {
  pr.OnHeartbeatResponse();
  if (pr.state() == Progress::State::kSnapshot) {
    SendSnapshotChunk(m.from, pr);  // Retransmit: the last chunk or its ack may be lost.
  } else {
    // The follower lacks entries we think are in flight: they were lost.
    if (pr.state() == Progress::State::kReplicate && m.index < pr.next() - 1) pr.BecomeProbe();
    // Behind as far as we know. Send even an empty append: if the follower
    // holds everything and only its acknowledgements were lost, nothing new
    // is left to send, and without this probe its match index (and so the
    // commit of our last entries) would wait for the next proposal (found by
    // the controller's simulation, controller_sim --seed=353 --no-nudge).
    if (pr.match() < log_.last_index()) MaybeSendAppend(m.from, /*send_if_empty=*/true);
  }
  if (m.context != 0) ReleaseConfirmedReads(m.context, m.from);
}

void Raft::HandleSnapshotResponse(const Message& m, Progress& pr) {
  if (pr.state() != Progress::State::kSnapshot || m.snapshot.index != pr.pending_snapshot()) return;
  pr.SnapshotChunkAcked(m.chunk_offset);
  SendSnapshotChunk(m.from, pr);
}

void Raft::SendSnapshotChunk(NodeId to, Progress& pr) {
  if (pr.pending_snapshot() != snapshot_.meta.index) pr.BecomeSnapshot(snapshot_.meta.index);
  const uint64_t offset = std::min<uint64_t>(pr.snapshot_acked_bytes(), snapshot_.data.size());
  const size_t n = std::min<size_t>(config_.snapshot_chunk_bytes, snapshot_.data.size() - offset);
  Send({.type = MessageType::kSnapshot,
        .to = to,
        .snapshot = snapshot_.meta,
        .chunk_offset = offset,
        .chunk = snapshot_.data.substr(offset, n),
        .chunk_last = offset + n == snapshot_.data.size()});
}

void Raft::SendTimeoutNow(NodeId to) { Send({.type = MessageType::kTimeoutNow, .to = to}); }

bool Raft::MaybeSendAppend(NodeId to, bool send_if_empty) {
  Progress& pr = progress_.at(to);
  if (pr.IsPaused()) return false;
  const LogIndex prev = pr.next() - 1;
  const std::optional<Term> prev_term = log_.TermAt(prev);
  if (!prev_term) {
    // The entries this follower needs were compacted: send the snapshot.
    FJORD_CHECK(prev < log_.first_index()) << "next " << pr.next() << " past the log";
    pr.BecomeSnapshot(snapshot_.meta.index);
    SendSnapshotChunk(to, pr);
    return false;
  }
  std::vector<Entry> entries;
  if (pr.next() <= log_.last_index()) {
    entries = log_.Slice(pr.next(), log_.last_index() + 1, config_.max_append_bytes);
  }
  if (entries.empty() && !send_if_empty) return false;
  const LogIndex last = entries.empty() ? prev : entries.back().index;
  const bool had_entries = !entries.empty();
  Send({.type = MessageType::kAppend,
        .to = to,
        .index = prev,
        .log_term = *prev_term,
        .entries = std::move(entries),
        .commit = log_.committed()});
  pr.SentEntries(last, had_entries);
  return had_entries;
}

void Raft::BroadcastAppend() {
  for (auto& [id, pr] : progress_) {
    if (id != config_.id) MaybeSendAppend(id, /*send_if_empty=*/true);
  }
}

void Raft::BroadcastHeartbeat(uint64_t context) {
  for (auto& [id, pr] : progress_) {
    if (id == config_.id) continue;
    Send({.type = MessageType::kHeartbeat,
          .to = id,
          .commit = std::min(pr.match(), log_.committed()),
          .context = context});
  }
}

void Raft::AppendAsLeader(EntryType type, std::string data) {
  Entry e{term_, log_.last_index() + 1, type, std::move(data)};
  log_.Append({e});
  OnEntriesAppended({e});
  // The leader counts this entry for itself only once it is persisted
  // (Advance), so its appends may go out before its own sync.
  auto self = progress_.find(config_.id);
  if (CountSelfEarly() && self != progress_.end()) self->second.MaybeUpdate(e.index);
  pending_broadcast_ = true;
  MaybeCommit();
}

bool Raft::MaybeCommit() {
  const LogIndex quorum_index = QuorumMatchIndex(membership().voters, [&](NodeId id) {
    auto it = progress_.find(id);
    return it == progress_.end() ? LogIndex(0) : it->second.match();
  });
  if (quorum_index <= log_.committed()) return false;
  // "Raft never commits log entries from previous terms by counting
  // replicas. Only log entries from the leader's current term are committed
  // by counting replicas" (section 5.4.2).
  if (config_.unsafe != UnsafeVariant::kCommitPriorTermByCount &&
      log_.TermAt(quorum_index) != term_) {
    return false;
  }
  log_.CommitTo(quorum_index);
  if (!IsVoter() && last_config_index_ <= log_.committed()) {
    // Our own removal is committed: tell the others, then step down (thesis 4.2.2).
    BroadcastAppend();
    BecomeFollower(term_, kNoNode);
    return false;
  }
  return true;
}

bool Raft::CommittedInCurrentTerm() const { return log_.TermAt(log_.committed()) == term_; }

void Raft::ReleaseConfirmedReads(uint64_t context, NodeId from) {
  auto it = std::find_if(pending_reads_.begin(), pending_reads_.end(),
                         [&](const PendingRead& r) { return r.request_id == context; });
  if (it == pending_reads_.end()) return;
  if (std::find(it->acks.begin(), it->acks.end(), from) == it->acks.end()) {
    it->acks.push_back(from);
  }
  const std::vector<NodeId>& acks = it->acks;
  if (!HasQuorum(membership().voters, [&](NodeId id) {
        return std::find(acks.begin(), acks.end(), id) != acks.end();
      })) {
    return;
  }
  // Confirming a later round confirms every earlier one too.
  const auto end = std::next(it);
  for (auto r = pending_reads_.begin(); r != end; ++r) {
    read_states_.push_back({r->request_id, r->index});
  }
  pending_reads_.erase(pending_reads_.begin(), end);
}

// --- Local requests ---

absl::StatusOr<LogIndex> Raft::Propose(std::string data) {
  FJORD_CHECK(!ready_outstanding_) << "Advance the previous Ready first";
  if (role_ != Role::kLeader) return NotLeader(leader_);
  if (transferee_ != kNoNode) {
    return absl::FailedPreconditionError("leadership transfer in progress");
  }
  AppendAsLeader(EntryType::kNormal, std::move(data));
  return log_.last_index();
}

absl::StatusOr<LogIndex> Raft::ProposeConfigChange(const ConfigChange& change) {
  FJORD_CHECK(!ready_outstanding_) << "Advance the previous Ready first";
  if (role_ != Role::kLeader) return NotLeader(leader_);
  if (transferee_ != kNoNode) {
    return absl::FailedPreconditionError("leadership transfer in progress");
  }
  // Ongaro's fix for single-server changes: a new leader first commits an
  // entry of its own term, and only one change is ever uncommitted.
  if (!CommittedInCurrentTerm()) {
    return absl::UnavailableError("leader has not committed an entry of its term yet");
  }
  if (last_config_index_ > log_.committed()) {
    return absl::UnavailableError("a membership change is already in progress");
  }
  Membership next = membership();
  const NodeId id = change.node;
  auto insert = [](std::vector<NodeId>& v, NodeId n) {
    v.insert(std::lower_bound(v.begin(), v.end(), n), n);
  };
  auto erase = [](std::vector<NodeId>& v, NodeId n) { v.erase(std::find(v.begin(), v.end(), n)); };
  switch (change.kind) {
    case ConfigChange::Kind::kAddVoter:
      if (next.IsVoter(id)) return absl::InvalidArgumentError("already a voter");
      if (next.IsLearner(id)) erase(next.learners, id);
      insert(next.voters, id);
      break;
    case ConfigChange::Kind::kRemoveVoter:
      if (!next.IsVoter(id)) return absl::InvalidArgumentError("not a voter");
      if (next.voters.size() == 1) return absl::InvalidArgumentError("cannot remove last voter");
      erase(next.voters, id);
      break;
    case ConfigChange::Kind::kAddLearner:
      if (next.Contains(id)) return absl::InvalidArgumentError("already a member");
      insert(next.learners, id);
      break;
    case ConfigChange::Kind::kRemoveLearner:
      if (!next.IsLearner(id)) return absl::InvalidArgumentError("not a learner");
      erase(next.learners, id);
      break;
  }
  AppendAsLeader(EntryType::kConfig, next.Encode());
  return log_.last_index();
}

absl::Status Raft::TransferLeadership(NodeId target) {
  FJORD_CHECK(!ready_outstanding_) << "Advance the previous Ready first";
  if (role_ != Role::kLeader) return NotLeader(leader_);
  if (target == config_.id) return absl::OkStatus();
  if (!membership().IsVoter(target)) return absl::InvalidArgumentError("target is not a voter");
  transferee_ = target;
  election_elapsed_ = 0;
  Progress& pr = progress_.at(target);
  if (pr.match() == log_.last_index()) {
    SendTimeoutNow(target);
  } else {
    MaybeSendAppend(target, /*send_if_empty=*/true);
  }
  return absl::OkStatus();
}

absl::Status Raft::ReadIndex(uint64_t request_id) {
  FJORD_CHECK(!ready_outstanding_) << "Advance the previous Ready first";
  FJORD_CHECK(request_id != 0);
  if (role_ != Role::kLeader) return NotLeader(leader_);
  if (!CommittedInCurrentTerm()) {
    return absl::UnavailableError("leader has not committed an entry of its term yet");
  }
  pending_reads_.push_back({request_id, log_.committed(), {config_.id}});
  ReleaseConfirmedReads(request_id, config_.id);  // A single voter confirms alone.
  if (!pending_reads_.empty()) BroadcastHeartbeat(request_id);
  return absl::OkStatus();
}

absl::StatusOr<SnapshotMeta> Raft::CompactLog(LogIndex index, std::string data,
                                              std::vector<Entry>* removed) {
  FJORD_CHECK(!ready_outstanding_) << "Advance the previous Ready first";
  if (index <= log_.snapshot().index) return absl::FailedPreconditionError("already compacted");
  if (index > log_.applied()) return absl::InvalidArgumentError("index not applied yet");
  SnapshotMeta meta{index, *log_.TermAt(index), MembershipAt(index)};
  log_.CompactTo(meta, removed);
  snapshot_ = Snapshot{meta, std::move(data)};
  std::erase_if(config_log_, [&](const auto& c) { return c.first <= index; });
  return meta;
}

// --- Ready ---

bool Raft::HasReady() const {
  if (ready_outstanding_) return false;
  return !outbox_.empty() || pending_broadcast_ || CurrentHardState() != last_ready_hard_state_ ||
         log_.stable() < log_.last_index() || snapshot_to_restore_.has_value() ||
         log_.applied() < log_.committed() || !read_states_.empty();
}

Ready Raft::GetReady() {
  FJORD_CHECK(!ready_outstanding_) << "Advance the previous Ready first";
  if (pending_broadcast_ && role_ == Role::kLeader) {
    for (auto& [id, pr] : progress_) {
      if (id == config_.id) continue;
      while (MaybeSendAppend(id, /*send_if_empty=*/false)) {
      }
    }
  }
  pending_broadcast_ = false;
  Ready rd;
  if (CurrentHardState() != last_ready_hard_state_) rd.hard_state = CurrentHardState();
  rd.entries = log_.Unstable();
  rd.snapshot = std::move(snapshot_to_restore_);
  snapshot_to_restore_.reset();
  rd.messages = std::move(outbox_);
  outbox_.clear();
  rd.committed_entries = log_.NextToApply(config_.max_apply_bytes);
  rd.read_states = std::move(read_states_);
  read_states_.clear();
  // Only a leader whose term and vote are durable sends nothing that
  // depends on this Ready's sync (see the header).
  rd.may_send_before_persist = role_ == Role::kLeader && term_ == last_ready_hard_state_.term &&
                               vote_ == last_ready_hard_state_.vote;
  ready_outstanding_ = true;
  return rd;
}

void Raft::Advance(const Ready& rd) {
  AdvanceAsync(rd, /*check_may_send=*/false);
  if (!rd.entries.empty()) OnPersisted(rd.entries.back().index, rd.entries.back().term);
}

void Raft::AdvanceAsync(const Ready& rd) { AdvanceAsync(rd, /*check_may_send=*/true); }

void Raft::AdvanceAsync(const Ready& rd, bool check_may_send) {
  FJORD_CHECK(ready_outstanding_) << "Advance without GetReady";
  if (check_may_send) {
    FJORD_CHECK(rd.may_send_before_persist && !rd.snapshot)
        << "only a leader's Ready with durable term and vote may be persisted asynchronously";
  }
  if (rd.hard_state) last_ready_hard_state_ = *rd.hard_state;
  if (!rd.entries.empty()) log_.StableTo(rd.entries.back().index);
  if (!rd.committed_entries.empty()) log_.AppliedTo(rd.committed_entries.back().index);
  ready_outstanding_ = false;
}

void Raft::OnPersisted(LogIndex index, Term term) {
  FJORD_CHECK(!ready_outstanding_) << "Advance the previous Ready first";
  log_.PersistedTo(index, term);
  if (role_ != Role::kLeader) return;
  // Our own entries are durable now: count them, which may commit.
  auto self = progress_.find(config_.id);
  if (self != progress_.end() && self->second.MaybeUpdate(log_.persisted()) && MaybeCommit()) {
    BroadcastAppend();
  }
}

}  // namespace fjord::raft
