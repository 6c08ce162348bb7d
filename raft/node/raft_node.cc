#include "raft/node/raft_node.h"

#include <limits>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/assert.h"
#include "common/kafka_error.h"
#include "common/random.h"

namespace fjord::raft {
namespace {

constexpr char kLeaderPayload[] = "type.fjord.dev/raft.leader";

absl::Status NotLeader(NodeId leader, const char* what = "not the Raft leader") {
  absl::Status s =
      KafkaError(v1::NOT_LEADER_OR_FOLLOWER, absl::StrCat(what, "; leader=", leader.value()));
  if (leader != kNoNode) s.SetPayload(kLeaderPayload, absl::Cord(absl::StrCat(leader.value())));
  return s;
}

// A follower answers every append it handled in one Ready: dozens after
// an fsync at moderate rates, each costing the leader a step (and often a
// commit broadcast). Acknowledgements are cumulative (the leader frees
// every append up to the acknowledged index), so per leader and term only
// the highest is worth sending; dropping the others is what a lossy network
// may do anyway. Rejections are kept.
void DropSupersededAcks(std::vector<Message>& messages) {
  auto is_ack = [](const Message& m) {
    return m.type == MessageType::kAppendResponse && !m.reject;
  };
  std::map<std::pair<NodeId, Term>, LogIndex> highest;
  size_t acks = 0;
  for (const Message& m : messages) {
    if (!is_ack(m)) continue;
    ++acks;
    LogIndex& h = highest[{m.to, m.term}];
    h = std::max(h, m.index);
  }
  if (acks == highest.size()) return;
  std::erase_if(messages, [&](const Message& m) {
    if (!is_ack(m)) return false;
    auto it = highest.find({m.to, m.term});
    if (it == highest.end() || m.index != it->second) return true;
    highest.erase(it);  // Keep the first acknowledgement of the highest index only.
    return false;
  });
}

}  // namespace

std::optional<NodeId> LeaderHint(const absl::Status& status) {
  auto payload = status.GetPayload(kLeaderPayload);
  int32_t id;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &id)) return std::nullopt;
  return NodeId(id);
}

absl::StatusOr<std::unique_ptr<RaftNode>> RaftNode::Start(const NodeOptions& options,
                                                          StateMachine* state_machine,
                                                          Transport* transport) {
  absl::StatusOr<std::unique_ptr<RocksStorage>> storage = RocksStorage::Open(options.data_dir);
  if (!storage.ok()) return storage.status();
  absl::StatusOr<PersistedState> state = (*storage)->Load();
  if (!state.ok()) return state.status();
  const bool fresh = state->hard_state == HardState{} && state->entries.empty() &&
                     state->snapshot.meta.index == LogIndex(0);
  if (fresh) {
    Membership& m = state->snapshot.meta.membership;
    m.voters = options.initial_voters;
    m.learners = options.initial_observers;
    std::sort(m.voters.begin(), m.voters.end());
    std::sort(m.learners.begin(), m.learners.end());
    // Persist the bootstrap membership so a restart does not depend on flags.
    absl::Status s = (*storage)->SaveSnapshot(state->snapshot);
    if (!s.ok()) return s;
  } else if (state->snapshot.meta.index > LogIndex(0)) {
    absl::Status s = state_machine->Restore(state->snapshot.meta, state->snapshot.data);
    if (!s.ok()) return s;
  }
  return std::unique_ptr<RaftNode>(
      new RaftNode(options, state_machine, transport, std::move(*storage), std::move(*state)));
}

RaftNode::RaftNode(const NodeOptions& options, StateMachine* sm, Transport* transport,
                   std::unique_ptr<RocksStorage> storage, PersistedState state)
    : options_(options),
      sm_(sm),
      transport_(transport),
      storage_(std::move(storage)),
      writer_(std::make_unique<StorageWriter>(storage_.get(), options.id)),
      random_(std::make_unique<SeededRandom>(MakeSystemSeededRandom())) {
  applied_ = state.snapshot.meta.index;
  raft_ = std::make_unique<Raft>(RaftConfig{.id = options.id,
                                            .election_ticks = options.election_ticks,
                                            .heartbeat_ticks = options.heartbeat_ticks},
                                 std::move(state), random_.get());
  thread_ = std::thread([this] { Loop(); });
}

RaftNode::~RaftNode() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
  writer_.reset();  // Finishes the queued writes; their OnPersisted posts are never read.
}

void RaftNode::Post(Task task) {
  absl::MutexLock lock(&mu_);
  inbox_.push_back(std::move(task));
}

void RaftNode::Receive(Message message) {
  Post([this, m = std::move(message)] {
    if (m.to == options_.id) raft_->Step(m);
  });
}

void RaftNode::Propose(std::string data, IndexCallback done) {
  Propose(std::move(data), nullptr, std::move(done));
}

void RaftNode::ProposeConfigChange(ConfigChange change, IndexCallback done) {
  ProposeConfigChange(change, nullptr, std::move(done));
}

void RaftNode::Propose(std::string data, AppendedCallback appended, IndexCallback done) {
  const absl::Time proposed = options_.on_proposal_stages ? absl::Now() : absl::InfinitePast();
  Post([this, data = std::move(data), appended = std::move(appended), done = std::move(done),
        proposed]() mutable {
    TrackProposal(raft_->Propose(std::move(data)), std::move(appended), std::move(done), proposed);
  });
}

void RaftNode::ProposeConfigChange(ConfigChange change, AppendedCallback appended,
                                   IndexCallback done) {
  Post([this, change, appended = std::move(appended), done = std::move(done)]() mutable {
    TrackProposal(raft_->ProposeConfigChange(change), std::move(appended), std::move(done),
                  absl::InfinitePast());
  });
}

void RaftNode::TrackProposal(absl::StatusOr<LogIndex> index, AppendedCallback appended,
                             IndexCallback done, absl::Time proposed) {
  if (!index.ok()) {
    done(raft_->role() == Role::kLeader ? index.status() : NotLeader(raft_->leader()));
    return;
  }
  if (appended) appended(*index, raft_->term());
  const absl::Time now = absl::Now();
  PendingProposal& p = proposals_[*index];
  p = {raft_->term(), std::move(done), now + options_.request_timeout};
  p.stages.proposed = proposed;
  p.stages.started = now;
}

void RaftNode::StampCommitted(const std::vector<Entry>& entries) {
  if (!options_.on_proposal_stages || entries.empty()) return;
  const absl::Time now = absl::Now();
  for (const Entry& e : entries) {
    auto it = proposals_.find(e.index);
    if (it != proposals_.end()) it->second.stages.committed = now;
  }
}

void RaftNode::StampSent(const std::vector<Message>& messages) {
  if (!options_.on_proposal_stages) return;
  const absl::Time now = absl::Now();
  for (const Message& m : messages) {
    if (m.type != MessageType::kAppend) continue;
    for (const Entry& e : m.entries) {
      auto it = proposals_.find(e.index);
      if (it != proposals_.end() && it->second.stages.sent == absl::InfinitePast()) {
        it->second.stages.sent = now;
      }
    }
  }
}

void RaftNode::FailStrandedProposals() {
  if (proposals_.empty()) return;
  const bool leading = raft_->role() == Role::kLeader;
  for (auto it = proposals_.begin(); it != proposals_.end();) {
    if (leading && it->second.term == raft_->term()) {
      ++it;
      continue;
    }
    it->second.done(NotLeader(raft_->leader(),
                              "leadership lost before the entry committed; outcome unknown (it "
                              "may still commit under the next leader)"));
    it = proposals_.erase(it);
  }
}

void RaftNode::TransferLeadership(NodeId target) {
  Post([this, target] { (void)raft_->TransferLeadership(target); });
}

void RaftNode::ReadIndex(ReadCallback done) {
  Post([this, done = std::move(done)]() mutable {
    const uint64_t id = next_read_id_++;
    absl::Status s = raft_->ReadIndex(id);
    if (!s.ok()) {
      done(raft_->role() == Role::kLeader ? s : NotLeader(raft_->leader()));
      return;
    }
    reads_[id] = {std::move(done), absl::Now() + options_.request_timeout, std::nullopt};
  });
}

NodeStatus RaftNode::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

std::vector<PeerProgress> RaftNode::progress() const {
  absl::MutexLock lock(&mu_);
  return progress_;
}

std::vector<PeerProgress> RaftNode::CollectProgress(absl::Time now) {
  std::vector<PeerProgress> out;
  if (raft_->role() != Role::kLeader) {
    caught_up_.clear();
    last_index_before_ = raft_->log().last_index();
    return out;
  }
  for (NodeId id : raft_->membership().All()) {
    const Progress* pr = raft_->progress(id);
    if (pr == nullptr) continue;
    if (pr->match() >= last_index_before_) caught_up_[id] = now;
    auto it = caught_up_.find(id);
    out.push_back({id, pr->match(), it == caught_up_.end() ? absl::InfinitePast() : it->second});
  }
  last_index_before_ = raft_->log().last_index();
  return out;
}

void RaftNode::Loop() {
  absl::Time next_tick = absl::Now() + options_.tick_interval;
  while (true) {
    std::deque<Task> tasks;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !inbox_.empty(); };
      mu_.AwaitWithDeadline(absl::Condition(&ready), next_tick);
      if (stopping_) break;
      tasks.swap(inbox_);
    }
    for (Task& task : tasks) task();
    const absl::Time now = absl::Now();
    if (now >= next_tick) {
      raft_->Tick();
      next_tick += options_.tick_interval;
      if (next_tick < now) next_tick = now + options_.tick_interval;  // Fell behind: skip.
      ExpireRequests(now);
    }
    HandleReady();
    if (options_.fail_proposals_on_leadership_loss) FailStrandedProposals();
    std::vector<PeerProgress> progress = CollectProgress(now);
    absl::MutexLock lock(&mu_);
    progress_ = std::move(progress);
    status_ = {
        options_.id, raft_->role(),      raft_->term(), raft_->leader(), raft_->log().committed(),
        applied_,    raft_->membership()};
  }
  Shutdown();
}

void RaftNode::HandleReady() {
  while (raft_->HasReady()) {
    Ready rd = raft_->GetReady();
    DropSupersededAcks(rd.messages);
    StampCommitted(rd.committed_entries);
    if (options_.async_storage_writes && rd.may_send_before_persist && !rd.snapshot) {
      HandleReadyAsync(std::move(rd));
      continue;
    }
    // A leader's appends travel while it syncs them (parallel write), and
    // entries committed by acknowledgements of earlier Readies are applied
    // at once: neither waits for this Ready's fsync (see Ready in types.h).
    if (rd.may_send_before_persist && !rd.messages.empty()) {
      StampSent(rd.messages);
      transport_->Send(std::move(rd.messages));
      rd.messages.clear();
    }
    // Anything else waits for the sync: a follower's or candidate's
    // promises (votes, acknowledgements) rest on this Ready's write and on
    // every earlier one, the writer's included.
    writer_->Drain();
    const LogIndex stable_before = rd.snapshot ? LogIndex(0) : rd.StableBefore();
    Apply(rd, /*with_snapshot=*/false, LogIndex(0), stable_before);
    absl::Status s = storage_->SaveReady(rd);
    FJORD_CHECK(s.ok()) << "raft node " << options_.id << " cannot persist: " << s;
    StampSent(rd.messages);
    if (!rd.messages.empty()) transport_->Send(std::move(rd.messages));
    Apply(rd, /*with_snapshot=*/true, stable_before,
          LogIndex(std::numeric_limits<uint64_t>::max()));
    raft_->Advance(rd);
    MaybeCompact();
  }
}

void RaftNode::HandleReadyAsync(Ready rd) {
  // The appends travel while the entries sync (parallel write). Committed
  // entries are applied at once: a majority holds them durably, whether or
  // not our own copy has reached the disk yet.
  StampSent(rd.messages);
  if (!rd.messages.empty()) transport_->Send(std::move(rd.messages));
  Apply(rd, /*with_snapshot=*/false, LogIndex(0), LogIndex(std::numeric_limits<uint64_t>::max()));
  raft_->AdvanceAsync(rd);
  if (!rd.entries.empty() || rd.hard_state) {
    std::function<void()> persisted = [] {};
    if (!rd.entries.empty()) {
      const LogIndex index = rd.entries.back().index;
      const Term term = rd.entries.back().term;
      persisted = [this, index, term] {
        Post([this, index, term] { raft_->OnPersisted(index, term); });
      };
    }
    writer_->Enqueue(rd.hard_state, std::move(rd.entries), std::move(persisted));
  }
  MaybeCompact();
}

void RaftNode::Apply(const Ready& rd, bool with_snapshot, LogIndex from, LogIndex to) {
  if (with_snapshot && rd.snapshot) {
    absl::Status s = sm_->Restore(rd.snapshot->meta, rd.snapshot->data);
    FJORD_CHECK(s.ok()) << "snapshot from the leader does not restore: " << s;
    applied_ = rd.snapshot->meta.index;
  }
  std::vector<Entry> normal;
  std::vector<const Entry*> range;
  for (const Entry& e : rd.committed_entries) {
    if (e.index < from || e.index >= to) continue;
    range.push_back(&e);
    if (e.type == EntryType::kNormal) normal.push_back(e);
  }
  if (!normal.empty()) sm_->Apply(normal);
  for (const Entry* entry : range) {
    const Entry& e = *entry;
    applied_ = e.index;
    auto it = proposals_.find(e.index);
    if (it == proposals_.end()) continue;
    // Another leader's entry at this index means ours was overwritten.
    if (it->second.term == e.term) {
      if (options_.on_proposal_stages) {
        it->second.stages.done = absl::Now();
        options_.on_proposal_stages(it->second.stages);
      }
      it->second.done(e.index);
    } else {
      it->second.done(absl::AbortedError("proposal lost in a leadership change"));
    }
    proposals_.erase(it);
  }
  // Proposals below a restored snapshot can no longer be traced.
  while (!proposals_.empty() && proposals_.begin()->first <= applied_) {
    proposals_.begin()->second.done(absl::UnknownError("outcome unknown: covered by a snapshot"));
    proposals_.erase(proposals_.begin());
  }
  for (const ReadState& rs : rd.read_states) {
    auto it = reads_.find(rs.request_id);
    if (it != reads_.end()) it->second.index = rs.index;
  }
  for (auto it = reads_.begin(); it != reads_.end();) {
    if (it->second.index && *it->second.index <= applied_) {
      it->second.done(absl::OkStatus());
      it = reads_.erase(it);
    } else {
      ++it;
    }
  }
}

void RaftNode::MaybeCompact() {
  const LogIndex base = raft_->log().snapshot().index;
  if (applied_ - base < options_.snapshot_every_entries) return;
  std::vector<Entry> removed;
  absl::StatusOr<SnapshotMeta> meta = raft_->CompactLog(applied_, sm_->Snapshot(), &removed);
  if (!meta.ok()) return;
  // Saved on the writer thread after the writes queued before it (the
  // snapshot replaces entries they write), which also frees the removed
  // entries there: the node thread neither waits for a write in flight nor
  // spends milliseconds in free().
  writer_->EnqueueSnapshot(raft_->snapshot(), std::move(removed));
}

void RaftNode::ExpireRequests(absl::Time now) {
  for (auto it = proposals_.begin(); it != proposals_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    it->second.done(absl::DeadlineExceededError("proposal not committed in time; outcome unknown"));
    it = proposals_.erase(it);
  }
  for (auto it = reads_.begin(); it != reads_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    it->second.done(absl::DeadlineExceededError("read not confirmed in time"));
    it = reads_.erase(it);
  }
}

void RaftNode::Shutdown() {
  for (auto& [index, p] : proposals_) p.done(absl::CancelledError("raft node stopped"));
  for (auto& [id, r] : reads_) r.done(absl::CancelledError("raft node stopped"));
  proposals_.clear();
  reads_.clear();
}

}  // namespace fjord::raft
