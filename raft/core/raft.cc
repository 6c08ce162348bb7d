#include "raft/core/raft.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/assert.h"
#include "raft/core/quorum.h"

namespace fjord::raft {
namespace {

bool IsFromLeader(MessageType type) {
  return type == MessageType::kAppend || type == MessageType::kHeartbeat ||
         type == MessageType::kSnapshot;
}

}  // namespace

Raft::Raft(const RaftConfig& config, PersistedState state, Random* random)
    : config_(config),
      random_(random),
      log_(state.snapshot.meta, std::move(state.entries), state.hard_state.commit),
      snapshot_(std::move(state.snapshot)),
      term_(state.hard_state.term),
      vote_(state.hard_state.vote),
      last_ready_hard_state_(state.hard_state) {
  FJORD_CHECK(config_.id != kNoNode);
  FJORD_CHECK(config_.election_ticks > config_.heartbeat_ticks && config_.heartbeat_ticks > 0);
  FJORD_CHECK(config_.snapshot_chunk_bytes > 0);
  for (LogIndex i = log_.first_index(); i <= log_.last_index(); ++i) {
    const Entry& e = log_.At(i);
    if (e.type != EntryType::kConfig) continue;
    std::optional<Membership> m = Membership::Decode(e.data);
    FJORD_CHECK(m.has_value()) << "bad config entry at " << i;
    config_log_.emplace_back(i, *m);
    last_config_index_ = i;
  }
  ResetElectionTimer();
}

const Membership& Raft::membership() const {
  return config_log_.empty() ? log_.snapshot().membership : config_log_.back().second;
}

Membership Raft::MembershipAt(LogIndex index) const {
  const Membership* m = &log_.snapshot().membership;
  for (const auto& [config_index, config] : config_log_) {
    if (config_index <= index) m = &config;
  }
  return *m;
}

bool Raft::CanCampaign() const {
  if (IsVoter()) return true;
  if (last_config_index_ <= log_.committed() || config_log_.empty()) return false;
  const Membership& previous = config_log_.size() >= 2 ? config_log_[config_log_.size() - 2].second
                                                       : log_.snapshot().membership;
  return previous.IsVoter(config_.id);
}

const Progress* Raft::progress(NodeId peer) const {
  auto it = progress_.find(peer);
  return it == progress_.end() ? nullptr : &it->second;
}

// --- Role transitions ---

void Raft::ResetElectionTimer() {
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  randomized_election_ticks_ =
      config_.election_ticks + static_cast<int>(random_->Uniform(config_.election_ticks));
}

void Raft::ResetTerm(Term term) {
  if (term != term_) {
    FJORD_CHECK(term > term_) << "term going back from " << term_ << " to " << term;
    term_ = term;
    vote_ = kNoNode;
  }
  leader_ = kNoNode;
  ResetElectionTimer();
  votes_.clear();
  progress_.clear();
  transferee_ = kNoNode;
  pending_reads_.clear();
  pending_broadcast_ = false;
}

void Raft::BecomeFollower(Term term, NodeId leader) {
  ResetTerm(term);
  role_ = Role::kFollower;
  leader_ = leader;
}

void Raft::BecomePreCandidate() {
  // Pre-Vote changes neither the term nor the vote (thesis 9.6).
  ResetTerm(term_);
  role_ = Role::kPreCandidate;
}

void Raft::BecomeCandidate() {
  ResetTerm(term_ + 1);
  vote_ = config_.id;
  role_ = Role::kCandidate;
}

void Raft::BecomeLeader() {
  FJORD_CHECK(role_ == Role::kCandidate);
  ResetTerm(term_);
  role_ = Role::kLeader;
  leader_ = config_.id;
  SyncProgressWithMembership();
  if (config_.unsafe == UnsafeVariant::kCommitPriorTermByCount) {
    // The unsafe variant also skips the leader-change entry, exposing the
    // Figure 8 scenario that entry otherwise papers over.
    BroadcastAppend();
    return;
  }
  // Committing this entry commits everything before it (section 5.4.2).
  AppendAsLeader(EntryType::kLeaderChange, "");
}

void Raft::Campaign(bool pre_vote, bool transfer) {
  if (!CanCampaign()) return;
  if (pre_vote) {
    BecomePreCandidate();
  } else {
    BecomeCandidate();
  }
  const Term vote_term = pre_vote ? term_ + 1 : term_;
  votes_[config_.id] = true;
  if (TallyVotes(membership().voters, votes_) == VoteResult::kWon) {
    if (pre_vote) {
      Campaign(false, transfer);
    } else {
      BecomeLeader();
    }
    return;
  }
  for (NodeId peer : membership().voters) {
    if (peer == config_.id) continue;
    Send({.type = pre_vote ? MessageType::kPreVote : MessageType::kVote,
          .to = peer,
          .term = vote_term,
          .index = log_.last_index(),
          .log_term = log_.last_term(),
          .transfer = transfer});
  }
}

void Raft::Send(Message m) {
  m.from = config_.id;
  // Pre-votes travel at the term the candidate would have; all else at ours.
  if (m.type != MessageType::kPreVote && m.type != MessageType::kPreVoteResponse) m.term = term_;
  outbox_.push_back(std::move(m));
}

// --- Membership ---

void Raft::OnEntriesAppended(const std::vector<Entry>& entries) {
  bool changed = false;
  for (const Entry& e : entries) {
    if (e.type != EntryType::kConfig) continue;
    if (!config_log_.empty() && config_log_.back().first >= e.index) continue;
    if (e.index <= log_.snapshot().index) continue;
    std::optional<Membership> m = Membership::Decode(e.data);
    FJORD_CHECK(m.has_value()) << "bad config entry " << Describe(e);
    config_log_.emplace_back(e.index, *m);
    last_config_index_ = e.index;
    changed = true;
  }
  if (changed) SyncProgressWithMembership();
}

void Raft::OnTruncated(LogIndex from) {
  while (!config_log_.empty() && config_log_.back().first >= from) config_log_.pop_back();
  last_config_index_ = config_log_.empty() ? LogIndex(0) : config_log_.back().first;
}

void Raft::SyncProgressWithMembership() {
  if (role_ != Role::kLeader) return;
  const Membership& m = membership();
  for (auto it = progress_.begin(); it != progress_.end();) {
    it = m.Contains(it->first) ? std::next(it) : progress_.erase(it);
  }
  for (NodeId id : m.All()) {
    if (progress_.count(id)) continue;
    Progress pr(log_.last_index() + 1);
    pr.set_recent_active(true);
    // The leader's own match is what it has persisted (see Advance).
    if (id == config_.id) pr.MaybeUpdate(CountSelfEarly() ? log_.last_index() : log_.persisted());
    progress_.emplace(id, pr);
  }
  if (transferee_ != kNoNode && !m.IsVoter(transferee_)) transferee_ = kNoNode;
}

// --- Inputs ---

void Raft::Tick() {
  FJORD_CHECK(!ready_outstanding_) << "Advance the previous Ready first";
  if (role_ != Role::kLeader) {
    ++election_elapsed_;
    if (CanCampaign() && election_elapsed_ >= randomized_election_ticks_) {
      Campaign(config_.pre_vote, /*transfer=*/false);
    }
    return;
  }
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= config_.election_ticks) {
    election_elapsed_ = 0;
    if (config_.check_quorum) {
      const bool active = HasQuorum(membership().voters, [&](NodeId id) {
        auto it = progress_.find(id);
        return id == config_.id || (it != progress_.end() && it->second.recent_active());
      });
      for (auto& [id, pr] : progress_) pr.set_recent_active(false);
      if (!active) {
        BecomeFollower(term_, kNoNode);
        return;
      }
    }
    // A transfer that has not finished within an election timeout is abandoned.
    transferee_ = kNoNode;
  }
  if (heartbeat_elapsed_ >= config_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    BroadcastHeartbeat(0);
  }
}

void Raft::Step(const Message& m) {
  FJORD_CHECK(!ready_outstanding_) << "Advance the previous Ready first";
  if (m.term > term_) {
    if (m.type == MessageType::kVote || m.type == MessageType::kPreVote) {
      // Leader stickiness: while we hear from a leader, a partitioned node
      // rejoining with a higher term cannot depose it (thesis 4.2.3).
      const bool in_lease =
          config_.check_quorum && leader_ != kNoNode && election_elapsed_ < config_.election_ticks;
      if (in_lease && !m.transfer) return;
    }
    if (m.type == MessageType::kPreVote || (m.type == MessageType::kPreVoteResponse && !m.reject)) {
      // A pre-vote, or a grant of one, is at a term nobody has entered yet.
    } else {
      BecomeFollower(m.term, IsFromLeader(m.type) ? m.from : kNoNode);
    }
  } else if (m.term < term_) {
    if (IsFromLeader(m.type)) {
      // "If a server receives a request with a stale term number, it rejects
      // the request" (5.1), and the reply's term makes the stale leader step
      // down. etcd stays silent here unless CheckQuorum or Pre-Vote is on,
      // relying on vote requests to reach the leader; the simulation found a
      // schedule where they never do (seed 2523: the only voter the leader
      // has left is not in the campaigning observers' stale voter set).
      Send({.type = MessageType::kAppendResponse, .to = m.from});
    } else if (m.type == MessageType::kPreVote) {
      Send({.type = MessageType::kPreVoteResponse, .to = m.from, .term = term_, .reject = true});
    } else if (m.type == MessageType::kVote) {
      // Likewise a candidate stuck at an old term must learn ours, or it may
      // campaign forever below it (soak seeds 54390 and 19857: the only voter
      // it needs is an observer in its own newer configuration, which never
      // campaigns and so never tells it).
      Send({.type = MessageType::kVoteResponse, .to = m.from, .reject = true});
    }
    return;
  }

  if (m.type == MessageType::kVote || m.type == MessageType::kPreVote) {
    HandleVoteRequest(m);
    return;
  }
  switch (role_) {
    case Role::kLeader:
      StepLeader(m);
      break;
    case Role::kCandidate:
    case Role::kPreCandidate:
      StepCandidate(m);
      break;
    case Role::kFollower:
      StepFollower(m);
      break;
  }
}

void Raft::HandleVoteRequest(const Message& m) {
  const bool pre = m.type == MessageType::kPreVote;
  const MessageType resp = pre ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
  // "If votedFor is null or candidateId, and candidate's log is at least as
  // up-to-date as receiver's log, grant vote" (Figure 2).
  const bool can_vote =
      vote_ == m.from || (vote_ == kNoNode && leader_ == kNoNode) || (pre && m.term > term_);
  const bool up_to_date =
      config_.unsafe == UnsafeVariant::kVoteWithoutLogCheck || log_.IsUpToDate(m.index, m.log_term);
  if (can_vote && up_to_date) {
    Send({.type = resp, .to = m.from, .term = m.term});
    if (!pre) {
      election_elapsed_ = 0;
      vote_ = m.from;
    }
  } else {
    Send({.type = resp, .to = m.from, .term = term_, .reject = true});
  }
}

void Raft::StepFollower(const Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kSnapshot:
      election_elapsed_ = 0;
      leader_ = m.from;
      if (m.type == MessageType::kAppend) HandleAppend(m);
      if (m.type == MessageType::kHeartbeat) HandleHeartbeat(m);
      if (m.type == MessageType::kSnapshot) HandleSnapshotChunk(m);
      break;
    case MessageType::kTimeoutNow:
      Campaign(/*pre_vote=*/false, /*transfer=*/true);
      break;
    default:
      break;  // Stale responses from an earlier role.
  }
}

void Raft::StepCandidate(const Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kSnapshot:
      // "If AppendEntries RPC received from new leader: convert to follower."
      BecomeFollower(term_, m.from);
      StepFollower(m);
      break;
    case MessageType::kVoteResponse:
    case MessageType::kPreVoteResponse: {
      const bool pre = role_ == Role::kPreCandidate;
      if (pre != (m.type == MessageType::kPreVoteResponse)) break;
      if (pre && !m.reject && m.term != term_ + 1) break;  // From an older round.
      votes_.emplace(m.from, !m.reject);
      switch (TallyVotes(membership().voters, votes_)) {
        case VoteResult::kWon:
          if (pre) {
            Campaign(/*pre_vote=*/false, /*transfer=*/false);
          } else {
            BecomeLeader();
          }
          break;
        case VoteResult::kLost:
          BecomeFollower(term_, kNoNode);
          break;
        case VoteResult::kPending:
          break;
      }
      break;
    }
    default:
      break;
  }
}

void Raft::StepLeader(const Message& m) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;  // Not (or no longer) a member.
  Progress& pr = it->second;
  switch (m.type) {
    case MessageType::kAppendResponse:
      pr.set_recent_active(true);
      HandleAppendResponse(m, pr);
      break;
    case MessageType::kHeartbeatResponse:
      pr.set_recent_active(true);
      HandleHeartbeatResponse(m, pr);
      break;
    case MessageType::kSnapshotResponse:
      pr.set_recent_active(true);
      HandleSnapshotResponse(m, pr);
      break;
    default:
      // Two leaders in one term cannot happen in a correct cluster; the
      // simulation's checker reports it, so we only ignore the message here.
      break;
  }
}

}  // namespace fjord::raft
