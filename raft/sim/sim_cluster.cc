#include "raft/sim/sim_cluster.h"

#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/assert.h"
#include "common/status_macros.h"
#include "raft/sim/sim_node.h"

namespace fjord::raft::sim {

void ApplyWrite(const DiskWrite& w, PersistedState& disk) {
  if (w.snapshot) {
    const LogIndex old_base = disk.snapshot.meta.index;
    disk.snapshot = *w.snapshot;
    if (w.compact) {
      const size_t drop = std::min<size_t>(disk.entries.size(), w.snapshot->meta.index - old_base);
      disk.entries.erase(disk.entries.begin(), disk.entries.begin() + drop);
    } else {
      disk.entries.clear();
    }
  }
  if (!w.entries.empty()) {
    const LogIndex base = disk.snapshot.meta.index;
    const size_t keep = w.entries.front().index - base - 1;
    FJORD_CHECK(keep <= disk.entries.size()) << "gap on the simulated disk";
    disk.entries.resize(keep);
    disk.entries.insert(disk.entries.end(), w.entries.begin(), w.entries.end());
  }
  if (w.hard_state) disk.hard_state = *w.hard_state;
}

bool DecodeSnapshotData(const std::string& data, LogIndex* index, uint64_t* digest) {
  uint64_t i = 0;
  uint64_t d = 0;
  if (std::sscanf(data.c_str(), "%" SCNu64 ":%" SCNu64 ":", &i, &d) != 2) return false;
  *index = LogIndex(i);
  *digest = d;
  return true;
}

std::string EncodeSnapshotData(LogIndex index, uint64_t digest, size_t padding) {
  std::string data = absl::StrCat(index.value(), ":", digest, ":");
  data.append(padding, 'p');
  return data;
}

struct SimCluster::Event {
  enum class Kind : uint8_t { kTick, kDeliver, kChaos, kPersisted };
  Kind kind;
  NodeId node;
  Message message;
  // kPersisted: the last entry of the asynchronous write, and the
  // incarnation of the node that issued it.
  LogIndex index;
  Term term;
  uint64_t incarnation = 0;
};

namespace {

SimOptions OptionsFromSeed(uint64_t seed, std::optional<ScheduleMix> forced_mix) {
  SeededRandom r(seed ^ 0x5eed5eed5eed5eedULL);
  SimOptions o;
  o.seed = seed;
  o.voters = 1 + static_cast<int>(r.Uniform(5));
  o.observers = static_cast<int>(r.Uniform(3));
  o.spares = static_cast<int>(r.Uniform(2));
  o.drop_per_mille = static_cast<int>(r.Uniform(200));
  o.duplicate_per_mille = static_cast<int>(r.Uniform(60));
  o.delay_us_max = 1'000 + static_cast<int>(r.Uniform(30'000));
  o.crashes = !r.OneIn(5);
  o.partitions = !r.OneIn(5);
  o.membership_changes = !r.OneIn(3);
  // Without Pre-Vote and CheckQuorum elections are more frequent and
  // disruptive, which is where subtle bugs show.
  o.pre_vote = !r.OneIn(3);
  o.check_quorum = !r.OneIn(3);
  // Drawn after the draws above so that kMixed seeds keep their shape.
  const bool churn = r.OneIn(4);
  if (forced_mix ? *forced_mix == ScheduleMix::kLeaderChurn : churn) {
    // Figure 8 needs an odd group where a minority can hold an entry and a
    // later leader can win without it: 3 or 5 voters, no membership churn.
    o.mix = ScheduleMix::kLeaderChurn;
    o.voters = r.OneIn(3) ? 5 : 3;
    o.observers = 0;
    o.spares = 0;
    o.membership_changes = false;
    o.crashes = true;
    o.partitions = true;
    o.drop_per_mille = static_cast<int>(r.Uniform(30));
    o.duplicate_per_mille = static_cast<int>(r.Uniform(30));
    o.delay_us_max = 1'000 + static_cast<int>(r.Uniform(10'000));
    o.chaos_ticks = 1'200;
  }
  // Drawn last, so that the draws above keep each seed's shape.
  o.async_writes = r.OneIn(2);
  return o;
}

}  // namespace

SimOptions SimOptions::FromSeed(uint64_t seed) { return OptionsFromSeed(seed, std::nullopt); }

SimOptions SimOptions::FromSeed(uint64_t seed, ScheduleMix mix) {
  return OptionsFromSeed(seed, mix);
}

SimCluster::SimCluster(const SimOptions& options)
    : options_(options),
      random_(options.seed),
      write_crash_random_(options.seed ^ 0xc4a5c4a5c4a5c4a5ULL),
      persist_random_(options.seed ^ 0x9e3779b97f4a7c15ULL),
      network_(NetworkFaults{.drop_per_mille = options.drop_per_mille,
                             .duplicate_per_mille = options.duplicate_per_mille,
                             .delay_us_max = options.delay_us_max}) {
  const int total = options_.voters + options_.observers + options_.spares;
  Membership initial;
  for (int i = 1; i <= options_.voters; ++i) initial.voters.push_back(NodeId(i));
  for (int i = options_.voters + 1; i <= options_.voters + options_.observers; ++i) {
    initial.learners.push_back(NodeId(i));
  }
  for (int i = 1; i <= total; ++i) {
    auto node = std::make_unique<Node>();
    node->id = NodeId(i);
    node->config = RaftConfig{
        .id = node->id,
        .election_ticks = options_.election_ticks,
        .heartbeat_ticks = 2,
        .pre_vote = options_.pre_vote,
        .check_quorum = options_.check_quorum,
        .max_append_bytes = 2048,
        .snapshot_chunk_bytes = 1024,
        .unsafe = options_.broken == Broken::kCommitPriorTermByCount
                      ? UnsafeVariant::kCommitPriorTermByCount
                  : options_.broken == Broken::kVoteWithoutLogCheck
                      ? UnsafeVariant::kVoteWithoutLogCheck
                  : options_.broken == Broken::kCountSelfBeforePersist
                      ? UnsafeVariant::kCountSelfBeforePersist
                      : UnsafeVariant::kNone,
    };
    // Spares start outside the group and learn their membership from the log.
    if (i <= options_.voters + options_.observers) node->durable.snapshot.meta.membership = initial;
    nodes_.emplace(node->id, std::move(node));
  }
  for (auto& [id, node] : nodes_) {
    FJORD_CHECK(Restart(*node).ok());
    queue_.Schedule(static_cast<int64_t>(random_.Uniform(options_.tick_us)),
                    Event{.kind = Event::Kind::kTick, .node = id});
  }
  queue_.Schedule(1, Event{.kind = Event::Kind::kChaos});
}

SimCluster::~SimCluster() = default;

absl::Status SimCluster::Fail(const absl::Status& cause) const {
  return absl::InternalError(absl::StrCat(
      "seed ", options_.seed, " at t=", queue_.now_us(), "us after event ", stats_.events, ": ",
      cause.message(), "\n  replay: bazel run //raft/sim:sim_test -- --seed=", options_.seed,
      " --trace"));
}

absl::Status SimCluster::Run() {
  RETURN_IF_ERROR(RunUntil(int64_t{options_.chaos_ticks} * options_.tick_us, false));
  RETURN_IF_ERROR(Heal());
  return RunUntil(queue_.now_us() + int64_t{options_.liveness_ticks_max} * options_.tick_us, true);
}

absl::Status SimCluster::RunUntil(int64_t end_us, bool liveness) {
  while (!queue_.empty() && queue_.next_us() <= end_us) {
    Event event = queue_.Pop();
    ++stats_.events;
    if (absl::Status s = Handle(event); !s.ok()) return Fail(s);
    std::vector<const Raft*> live;
    for (auto& [id, node] : nodes_) {
      if (node->raft) live.push_back(node->raft.get());
    }
    if (absl::Status s = checker_.AfterEvent(live); !s.ok()) return Fail(s);
    if (liveness) {
      bool done = false;
      if (absl::Status s = CheckLiveness(&done); !s.ok()) return Fail(s);
      if (done) return absl::OkStatus();
    }
  }
  if (!liveness) return absl::OkStatus();
  std::string state;
  for (auto& [id, node] : nodes_) {
    if (!node->raft) continue;
    const Raft& r = *node->raft;
    absl::StrAppend(&state, "\n  node ", id.value(), " ", ToString(r.role()),
                    " term=", r.term().value(), " leader=", r.leader().value(),
                    " last=", r.log().last_term().value(), "/", r.log().last_index().value(),
                    " commit=", r.log().committed().value(), " applied=", node->applied.value(),
                    " ", r.membership().Encode());
  }
  return Fail(absl::DeadlineExceededError(
      absl::StrCat("liveness: no leader committed a new entry applied by all members within ",
                   options_.liveness_ticks_max, " ticks of healing", state)));
}

absl::Status SimCluster::Handle(Event& event) {
  switch (event.kind) {
    case Event::Kind::kTick: {
      Node& node = *nodes_.at(event.node);
      queue_.Schedule(options_.tick_us, Event{.kind = Event::Kind::kTick, .node = event.node});
      if (!node.raft) return absl::OkStatus();
      // The broken "send before persist" driver syncs lazily, once a tick.
      Sync(node);
      node.raft->Tick();
      return ProcessReady(node);
    }
    case Event::Kind::kDeliver: {
      Node& node = *nodes_.at(event.message.to);
      if (!node.raft || !network_.LinkUp(event.message.from, event.message.to))
        return absl::OkStatus();
      if (options_.trace)
        std::cerr << queue_.now_us() << " deliver " << Describe(event.message) << "\n";
      node.raft->Step(event.message);
      return ProcessReady(node);
    }
    case Event::Kind::kChaos: {
      if (!network_.faults_on()) return absl::OkStatus();  // The liveness phase has begun.
      queue_.Schedule(ChaosIntervalUs(), Event{.kind = Event::Kind::kChaos});
      return options_.mix == ScheduleMix::kLeaderChurn ? ChurnAction() : ChaosAction();
    }
    case Event::Kind::kPersisted: {
      Node& node = *nodes_.at(event.node);
      if (!node.raft || node.incarnation != event.incarnation) return absl::OkStatus();
      if (options_.trace) {
        std::cerr << queue_.now_us() << " persisted " << node.id << " " << event.index << "/"
                  << event.term << "\n";
      }
      // The writer thread writes in order: everything queued before this
      // write is durable with it (and the disk may hold more).
      Sync(node);
      node.raft->OnPersisted(event.index, event.term);
      return ProcessReady(node);
    }
  }
  return absl::OkStatus();
}

absl::Status SimCluster::ProcessReady(Node& node) {
  while (node.raft && node.raft->HasReady()) {
    Raft& raft = *node.raft;
    Ready rd = raft.GetReady();
    RETURN_IF_ERROR(checker_.OnPersist(raft, rd.entries));
    if (options_.async_writes && rd.may_send_before_persist && !rd.snapshot) {
      RETURN_IF_ERROR(ProcessReadyAsync(node, std::move(rd)));
      continue;
    }
    if (rd.snapshot || !rd.entries.empty() || rd.hard_state) {
      node.unsynced.push_back(
          {.snapshot = rd.snapshot, .entries = rd.entries, .hard_state = rd.hard_state});
    }
    // What the driver does: a leader's appends go out while it syncs, and
    // committed entries already on disk are applied without waiting.
    const bool send_early = rd.may_send_before_persist;
    if (send_early) SendAll(node, std::move(rd.messages));
    const LogIndex stable_before = rd.snapshot ? LogIndex(0) : rd.StableBefore();
    RETURN_IF_ERROR(ApplyCommitted(node, rd, false, LogIndex(0), stable_before));
    if (send_early && !rd.entries.empty() && network_.faults_on() && options_.crashes &&
        write_crash_random_.Uniform(1000) <
            static_cast<uint64_t>(options_.crash_in_write_per_mille)) {
      // kill -9 after the appends left but before the leader's fsync.
      return Crash(node);
    }
    if (options_.broken != Broken::kSendBeforePersist) Sync(node);
    if (!send_early) SendAll(node, std::move(rd.messages));
    RETURN_IF_ERROR(ApplyCommitted(node, rd, true, stable_before,
                                   LogIndex(std::numeric_limits<uint64_t>::max())));
    for (const ReadState& rs : rd.read_states) {
      RETURN_IF_ERROR(checker_.OnReadState(node.id, rs));
    }
    raft.Advance(rd);
  }
  return absl::OkStatus();
}

absl::Status SimCluster::ProcessReadyAsync(Node& node, Ready rd) {
  // As the driver: the appends leave and committed entries are applied at
  // once (a majority holds them durably, our own copy or not), then the
  // write is handed to the writer thread. A synchronous Ready later drains
  // the writer first, which Sync does here.
  SendAll(node, std::move(rd.messages));
  RETURN_IF_ERROR(
      ApplyCommitted(node, rd, false, LogIndex(0), LogIndex(std::numeric_limits<uint64_t>::max())));
  for (const ReadState& rs : rd.read_states) {
    RETURN_IF_ERROR(checker_.OnReadState(node.id, rs));
  }
  node.raft->AdvanceAsync(rd);
  if (rd.entries.empty() && !rd.hard_state) return absl::OkStatus();
  node.unsynced.push_back({.entries = rd.entries, .hard_state = rd.hard_state});
  if (!rd.entries.empty() && network_.faults_on() && options_.crashes &&
      write_crash_random_.Uniform(1000) <
          static_cast<uint64_t>(options_.crash_in_write_per_mille)) {
    return Crash(node);  // kill -9 with the write still queued.
  }
  if (!rd.entries.empty()) {
    queue_.Schedule(static_cast<int64_t>(persist_random_.Uniform(options_.persist_us_max + 1)),
                    Event{.kind = Event::Kind::kPersisted,
                          .node = node.id,
                          .index = rd.entries.back().index,
                          .term = rd.entries.back().term,
                          .incarnation = node.incarnation});
  }
  return absl::OkStatus();
}

void SimCluster::Sync(Node& node) {
  for (const DiskWrite& w : node.unsynced) ApplyWrite(w, node.durable);
  node.unsynced.clear();
}

void SimCluster::SendAll(Node& node, std::vector<Message> messages) {
  for (Message& m : messages) {
    if (options_.trace) std::cerr << queue_.now_us() << " send " << Describe(m) << "\n";
    for (int64_t delay_us : network_.Deliveries(m.from, m.to, random_)) {
      queue_.Schedule(delay_us, Event{.kind = Event::Kind::kDeliver, .node = m.to, .message = m});
    }
  }
  (void)node;
}

absl::Status SimCluster::ApplyCommitted(Node& node, const Ready& rd, bool with_snapshot,
                                        LogIndex from, LogIndex to) {
  if (with_snapshot && rd.snapshot) {
    LogIndex index;
    uint64_t digest;
    FJORD_CHECK(DecodeSnapshotData(rd.snapshot->data, &index, &digest));
    FJORD_CHECK(index == rd.snapshot->meta.index);
    RETURN_IF_ERROR(checker_.OnRestore(node.id, index, digest));
    node.applied = index;
    node.digest = digest;
    ++stats_.snapshots_installed;
  }
  for (const Entry& e : rd.committed_entries) {
    if (e.index < from || e.index >= to) continue;
    if (e.index != node.applied + 1) {
      return absl::InternalError(absl::StrCat("node ", node.id.value(), " applies ",
                                              e.index.value(), " after ", node.applied.value()));
    }
    node.digest = ChainHash(node.digest, e);
    node.applied = e.index;
    RETURN_IF_ERROR(checker_.OnApply(node.id, e.index, node.digest));
    stats_.committed = std::max(stats_.committed, e.index.value());
  }
  return absl::OkStatus();
}

absl::Status SimCluster::Crash(Node& node) {
  if (options_.trace) std::cerr << queue_.now_us() << " crash " << node.id << "\n";
  node.raft.reset();
  node.unsynced.clear();  // Written but not synced: lost.
  checker_.OnRestart(node.id);
  return absl::OkStatus();
}

absl::Status SimCluster::Restart(Node& node) {
  if (options_.trace) std::cerr << queue_.now_us() << " restart " << node.id << "\n";
  PersistedState state = node.durable;
  if (options_.broken == Broken::kForgetVoteOnRestart) state.hard_state.vote = kNoNode;
  node.random = std::make_unique<SeededRandom>(random_.Next());
  ++node.incarnation;
  node.raft = std::make_unique<Raft>(node.config, std::move(state), node.random.get());
  checker_.OnRestart(node.id);
  node.applied = node.durable.snapshot.meta.index;
  node.digest = 0;
  if (node.applied > LogIndex(0)) {
    LogIndex index;
    FJORD_CHECK(DecodeSnapshotData(node.durable.snapshot.data, &index, &node.digest));
    RETURN_IF_ERROR(checker_.OnRestore(node.id, index, node.digest));
  }
  return absl::OkStatus();
}

absl::Status SimCluster::Heal() {
  network_.Heal();
  for (auto& [id, node] : nodes_) {
    if (!node->raft) RETURN_IF_ERROR(Restart(*node));
  }
  return absl::OkStatus();
}

SimCluster::Node* SimCluster::Leader() {
  Node* best = nullptr;
  for (auto& [id, node] : nodes_) {
    if (!node->raft || node->raft->role() != Role::kLeader) continue;
    if (!best || node->raft->term() > best->raft->term()) best = node.get();
  }
  return best;
}

absl::Status SimCluster::CheckLiveness(bool* done) {
  Node* leader = Leader();
  if (!leader) return absl::OkStatus();
  Raft& raft = *leader->raft;
  if (!liveness_entry_ || liveness_entry_->first != raft.term()) {
    absl::StatusOr<LogIndex> index = raft.Propose("liveness");
    if (!index.ok()) return absl::OkStatus();  // Transfer in progress: try again later.
    liveness_entry_ = {raft.term(), *index};
    return ProcessReady(*leader);
  }
  const LogIndex index = liveness_entry_->second;
  if (raft.log().committed() < index) return absl::OkStatus();
  for (NodeId id : raft.membership().All()) {
    const Node& member = *nodes_.at(id);
    if (!member.raft || member.applied < index) return absl::OkStatus();
  }
  *done = true;
  return absl::OkStatus();
}

}  // namespace fjord::raft::sim
