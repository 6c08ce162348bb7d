#include "controller/sim/controller_sim.h"

#include <cstring>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/assert.h"
#include "common/kafka_error.h"
#include "common/status_macros.h"
#include "controller/metadata_delta.h"
#include "controller/sim/sim_internal.h"
#include "raft/sim/sim_disk.h"

namespace fjord::controller::sim {

const char* ToString(Broken broken) {
  switch (broken) {
    case Broken::kNone:
      return "none";
    case Broken::kAckOnAppend:
      return "ack-on-append";
    case Broken::kStandbySkipsPartitionChange:
      return "standby-skips-partition-change";
  }
  return "?";
}

std::string EncodeSnapshot(uint64_t digest, const std::string& metadata_snapshot) {
  std::string data(sizeof(digest), '\0');
  std::memcpy(data.data(), &digest, sizeof(digest));
  return data + metadata_snapshot;
}

bool DecodeSnapshot(const std::string& data, uint64_t* digest, std::string* metadata_snapshot) {
  if (data.size() < sizeof(*digest)) return false;
  std::memcpy(digest, data.data(), sizeof(*digest));
  *metadata_snapshot = data.substr(sizeof(*digest));
  return true;
}

namespace {

// Standbys of the broken variant drop PartitionChangeRecords from a batch.
std::string WithoutPartitionChanges(const std::string& data) {
  v1::MetadataRecordBatch batch;
  FJORD_CHECK(batch.ParseFromString(data));
  v1::MetadataRecordBatch kept;
  for (const auto& r : batch.records()) {
    if (!r.has_partition_change()) *kept.add_records() = r;
  }
  return kept.SerializeAsString();
}

}  // namespace

ControllerSim::ControllerSim(const SimOptions& options)
    : options_(options),
      random_(options.seed),
      network_(raft::sim::NetworkFaults{.drop_per_mille = options.drop_per_mille,
                                        .duplicate_per_mille = options.duplicate_per_mille,
                                        .delay_us_max = options.delay_us_max}) {
  FJORD_CHECK(options_.voters >= 1 && options_.voters <= 7);
  raft::Membership initial;
  for (int i = 1; i <= options_.voters; ++i) initial.voters.push_back(NodeId(i));
  for (int i = 1; i <= options_.voters; ++i) {
    auto r = std::make_unique<Replica>();
    r->id = NodeId(i);
    r->config = raft::RaftConfig{.id = r->id,
                                 .election_ticks = options_.election_ticks,
                                 .heartbeat_ticks = 2,
                                 .max_append_bytes = 16 << 10,
                                 .snapshot_chunk_bytes = 2048};
    r->durable.snapshot.meta.membership = initial;
    replicas_.emplace(r->id, std::move(r));
  }
  for (auto& [id, r] : replicas_) {
    FJORD_CHECK(Restart(*r).ok());
    queue_.Schedule(static_cast<int64_t>(random_.Uniform(options_.tick_us)),
                    Event{.kind = Event::Kind::kTick, .node = id});
  }
  for (int32_t b = 0; b < options_.brokers; ++b) {
    brokers_[b] = BrokerState{};
    queue_.Schedule(static_cast<int64_t>(random_.Uniform(options_.heartbeat_interval_us)),
                    Event{.kind = Event::Kind::kBrokerTick, .broker = b});
  }
  for (int t = 0; t < 6; ++t) topic_names_.push_back(absl::StrCat("t", t));
  queue_.Schedule(1, Event{.kind = Event::Kind::kChaos});
}

ControllerSim::~ControllerSim() = default;

void ControllerSim::ScheduleCallback(Replica& replica, std::function<void()> fn) {
  // The hop from the Raft node's thread to the controller's loop.
  queue_.Schedule(1 + static_cast<int64_t>(random_.Uniform(200)),
                  Event{.kind = Event::Kind::kCallback,
                        .node = replica.id,
                        .incarnation = replica.incarnation,
                        .fn = std::move(fn)});
}

void ControllerSim::Trace(const std::string& line) const {
  if (options_.trace) std::cerr << queue_.now_us() << " " << line << "\n";
}

absl::Status ControllerSim::Fail(const absl::Status& cause) const {
  return absl::InternalError(absl::StrCat(
      "seed ", options_.seed, " (voters=", options_.voters, ", broken=", ToString(options_.broken),
      ") at t=", queue_.now_us(), "us after event ", stats_.events, ": ", cause.message(),
      "\n  replay: bazel run //controller/sim:controller_sim -- --seed=", options_.seed,
      " --voters=", options_.voters, " --trace"));
}

absl::Status ControllerSim::Run() {
  bool done = false;
  RETURN_IF_ERROR(RunUntil(options_.chaos_ticks * options_.tick_us, false, &done));
  // Liveness: heal everything but the dead brokers.
  network_.Heal();
  for (auto& [id, r] : replicas_) {
    if (!r->up()) {
      if (absl::Status s = Restart(*r); !s.ok()) return Fail(s);
    }
  }
  RETURN_IF_ERROR(
      RunUntil(queue_.now_us() + options_.liveness_ticks_max * options_.tick_us, true, &done));
  if (!done) {
    std::string state;
    for (auto& [id, r] : replicas_) {
      const raft::Raft& raft = *r->raft;
      absl::StrAppend(&state, "\n  controller ", id.value(), " ", raft::ToString(raft.role()),
                      " term=", raft.term().value(), " commit=", raft.log().committed().value(),
                      " last=", raft.log().last_index().value(), " applied=", r->applied.value(),
                      " active=", r->core->active());
      for (const auto& [peer, other] : replicas_) {
        const raft::Progress* pr = raft.progress(peer);
        if (pr == nullptr || peer == id) continue;
        absl::StrAppend(&state, "\n    progress of ", peer.value(), ": match=", pr->match().value(),
                        " next=", pr->next().value(), " state=", static_cast<int>(pr->state()),
                        " paused=", pr->IsPaused());
      }
    }
    for (const auto& [b, st] : brokers_) {
      absl::StrAppend(&state, "\n  broker ", b, st.alive ? " alive" : " dead",
                      " registered=", st.registered, " epoch=", st.epoch);
    }
    bool ignored = false;
    absl::Status why = CheckLiveness(&ignored);
    return Fail(absl::DeadlineExceededError(absl::StrCat(
        "liveness: not converged within ", options_.liveness_ticks_max, " ticks of healing",
        why.ok() ? "" : absl::StrCat(" (", why.message(), ")"), state)));
  }
  if (absl::Status s = FinalChecks(); !s.ok()) return Fail(s);
  return absl::OkStatus();
}

absl::Status ControllerSim::RunUntil(int64_t end_us, bool liveness, bool* done) {
  while (!queue_.empty() && queue_.next_us() <= end_us) {
    const int64_t before_us = queue_.now_us();
    Event event = queue_.Pop();
    clock_.Advance(absl::Microseconds(queue_.now_us() - before_us));
    ++stats_.events;
    if (absl::Status s = Handle(event); !s.ok()) return Fail(s);
    // Like the QuorumController's loop: after each batch of work, the
    // controller notices Raft role changes; then Raft's work is done.
    for (auto& [id, r] : replicas_) {
      if (!r->up()) continue;
      if (absl::Status s = ProcessReady(*r); !s.ok()) return Fail(s);
      r->core->Poll();
      if (absl::Status s = ProcessReady(*r); !s.ok()) return Fail(s);
    }
    std::vector<const raft::Raft*> live;
    for (auto& [id, r] : replicas_) {
      if (!r->up()) continue;
      live.push_back(r->raft.get());
      std::shared_ptr<const MetadataImage> image = r->state_machine->image();
      if (image.get() != r->checked_image) {
        if (absl::Status s = CheckImage(*image, id); !s.ok()) return Fail(s);
        r->checked_image = image.get();
      }
    }
    if (absl::Status s = checker_.AfterEvent(live); !s.ok()) return Fail(s);
    if (liveness) {
      (void)CheckLiveness(done);  // Not converged yet: the reason is reported at the deadline.
      if (*done) return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::Status ControllerSim::Handle(Event& event) {
  switch (event.kind) {
    case Event::Kind::kTick: {
      queue_.Schedule(options_.tick_us, Event{.kind = Event::Kind::kTick, .node = event.node});
      Replica& r = *replicas_.at(event.node);
      if (!r.up()) return absl::OkStatus();
      r.raft->Tick();
      RETURN_IF_ERROR(ProcessReady(r));
      r.core->Tick();
      return absl::OkStatus();
    }
    case Event::Kind::kDeliver: {
      Replica& r = *replicas_.at(event.message.to);
      if (!r.up() || !network_.LinkUp(event.message.from, event.message.to))
        return absl::OkStatus();
      if (options_.trace) Trace(absl::StrCat("deliver ", raft::Describe(event.message)));
      r.raft->Step(event.message);
      return absl::OkStatus();
    }
    case Event::Kind::kChaos:
      if (!network_.faults_on()) return absl::OkStatus();
      queue_.Schedule(1 + static_cast<int64_t>(random_.Uniform(options_.tick_us * 3)),
                      Event{.kind = Event::Kind::kChaos});
      return ChaosAction();
    case Event::Kind::kCallback: {
      Replica& r = *replicas_.at(event.node);
      if (r.up() && r.incarnation == event.incarnation) event.fn();
      return absl::OkStatus();
    }
    case Event::Kind::kClientOp: {
      Replica& r = *replicas_.at(event.node);
      if (r.up()) Submit(r, event.op);  // else lost: never answered
      return absl::OkStatus();
    }
    case Event::Kind::kBrokerTick:
      queue_.Schedule(options_.heartbeat_interval_us,
                      Event{.kind = Event::Kind::kBrokerTick, .broker = event.broker});
      BrokerTick(event.broker);
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::Status ControllerSim::ProcessReady(Replica& r) {
  while (r.up() && r.raft->HasReady()) {
    raft::Raft& raft = *r.raft;
    raft::Ready rd = raft.GetReady();
    RETURN_IF_ERROR(checker_.OnPersist(raft, rd.entries));
    // Synced before its messages go out, as RaftNode does.
    raft::sim::ApplyWrite(
        {.snapshot = rd.snapshot, .entries = rd.entries, .hard_state = rd.hard_state}, r.durable);
    Send(std::move(rd.messages));
    RETURN_IF_ERROR(ApplyReady(r, rd));
    raft.Advance(rd);
    MaybeCompact(r);
  }
  return absl::OkStatus();
}

absl::Status ControllerSim::ApplyReady(Replica& r, const raft::Ready& rd) {
  if (rd.snapshot) {
    std::string metadata;
    FJORD_CHECK(DecodeSnapshot(rd.snapshot->data, &r.digest, &metadata));
    RETURN_IF_ERROR(r.state_machine->Restore(rd.snapshot->meta, metadata));
    r.applied = rd.snapshot->meta.index;
    RETURN_IF_ERROR(checker_.OnRestore(r.id, r.applied, r.digest));
    Trace(absl::StrCat("controller ", r.id.value(), " restored snapshot at ", r.applied.value()));
  }
  std::vector<raft::Entry> normal;
  for (const raft::Entry& e : rd.committed_entries) {
    if (e.index != r.applied + 1) {
      return absl::InternalError(absl::StrCat("controller ", r.id.value(), " applies ",
                                              e.index.value(), " after ", r.applied.value()));
    }
    r.digest = raft::sim::ChainHash(r.digest, e);
    r.applied = e.index;
    RETURN_IF_ERROR(checker_.OnApply(r.id, e.index, r.digest));
    stats_.committed = std::max(stats_.committed, e.index.value());
    if (e.type != raft::EntryType::kNormal) continue;
    auto [it, inserted] = committed_.try_emplace(e.index.value(), e.term, e.data);
    if (!inserted && (it->second.first != e.term || it->second.second != e.data)) {
      return absl::InternalError(absl::StrCat("controller ", r.id.value(),
                                              " applied a different entry at ", e.index.value()));
    }
    normal.push_back(e);
    if (options_.broken == Broken::kStandbySkipsPartitionChange && !r.core->active()) {
      normal.back().data = WithoutPartitionChanges(e.data);
    }
  }
  if (!normal.empty()) {
    // The state machine treats a batch that does not replay as fatal (a
    // controller must stop rather than diverge): find it first, so the
    // simulation reports the seed instead of aborting.
    MetadataDelta trial(r.state_machine->image());
    for (const raft::Entry& e : normal) {
      const int64_t offset = static_cast<int64_t>(e.index.value());
      if (offset <= trial.image().offset().value()) continue;
      v1::MetadataRecordBatch batch;
      absl::Status s = batch.ParseFromString(e.data) ? trial.ReplayBatch(batch, Offset(offset))
                                                     : absl::DataLossError("does not parse");
      if (!s.ok()) {
        return absl::InternalError(absl::StrCat("controller ", r.id.value(),
                                                " cannot replay the committed entry at ", offset,
                                                ": ", s.message()));
      }
    }
    r.state_machine->Apply(normal);
  }
  // Answer proposals as RaftNode does: ours if the term matches, else lost.
  for (const raft::Entry& e : rd.committed_entries) {
    auto it = r.proposals.find(e.index);
    if (it == r.proposals.end()) continue;
    MetadataLog::Committed committed = std::move(it->second.committed);
    absl::StatusOr<LogIndex> result = e.index;
    if (it->second.term != e.term) result = absl::AbortedError("proposal lost to a new leader");
    r.proposals.erase(it);
    ScheduleCallback(r, [committed, result] { committed(result); });
  }
  while (!r.proposals.empty() && r.proposals.begin()->first <= r.applied) {
    MetadataLog::Committed committed = std::move(r.proposals.begin()->second.committed);
    r.proposals.erase(r.proposals.begin());
    ScheduleCallback(r, [committed] {
      committed(absl::UnknownError("outcome unknown: covered by a snapshot"));
    });
  }
  return absl::OkStatus();
}

void ControllerSim::MaybeCompact(Replica& r) {
  const LogIndex base = r.raft->log().snapshot().index;
  if (r.applied - base < options_.snapshot_every_entries) return;
  std::string data = EncodeSnapshot(r.digest, r.state_machine->Snapshot());
  absl::StatusOr<raft::SnapshotMeta> meta = r.raft->CompactLog(r.applied, data);
  if (!meta.ok()) return;
  raft::sim::ApplyWrite({.snapshot = raft::Snapshot{*meta, std::move(data)}, .compact = true},
                        r.durable);
  Trace(absl::StrCat("controller ", r.id.value(), " compacted to ", meta->index.value()));
}

void ControllerSim::Send(std::vector<raft::Message> messages) {
  for (raft::Message& m : messages) {
    for (int64_t delay_us : network_.Deliveries(m.from, m.to, random_)) {
      queue_.Schedule(delay_us, Event{.kind = Event::Kind::kDeliver, .message = m});
    }
  }
}

void ControllerSim::ProposeOn(Replica& r, std::string data, MetadataLog::Committed committed) {
  raft::Raft& raft = *r.raft;
  absl::StatusOr<LogIndex> index =
      raft.role() == raft::Role::kLeader
          ? raft.Propose(data)
          : absl::StatusOr<LogIndex>(KafkaError(v1::NOT_LEADER_OR_FOLLOWER, "not the Raft leader"));
  Trace(absl::StrCat("controller ", r.id.value(), " proposes: ",
                     index.ok()
                         ? absl::StrCat("index ", index->value(), " term ", raft.term().value())
                         : std::string(index.status().message())));
  if (!index.ok()) {
    ScheduleCallback(r, [committed, status = index.status()] { committed(status); });
    return;
  }
  if (last_decided_op_ != 0 && data == last_decided_batch_) {
    Op& op = ops_.at(last_decided_op_);
    op.proposed = true;
    op.term = raft.term();
    op.index = *index;
    last_decided_op_ = 0;
  }
  if (options_.broken == Broken::kAckOnAppend) {
    ScheduleCallback(r, [committed, index] { committed(index); });
    return;
  }
  r.proposals[*index] = {raft.term(), std::move(committed)};
}

void ControllerSim::Crash(Replica& r) {
  Trace(absl::StrCat("crash controller ", r.id.value()));
  ++stats_.crashes;
  ++r.incarnation;
  r.core.reset();
  r.log.reset();
  r.state_machine.reset();
  r.raft.reset();
  r.proposals.clear();  // Their callers (the core) are gone with them.
  r.checked_image = nullptr;
  checker_.OnRestart(r.id);
}

absl::Status ControllerSim::Restart(Replica& r) {
  Trace(absl::StrCat("restart controller ", r.id.value()));
  ++r.incarnation;
  r.raft_random = std::make_unique<SeededRandom>(random_.Next());
  r.logic_random = std::make_unique<SeededRandom>(random_.Next());
  r.state_machine = std::make_unique<MetadataStateMachine>(kClusterId);
  r.applied = r.durable.snapshot.meta.index;
  r.digest = 0;
  if (r.applied > LogIndex(0)) {
    std::string metadata;
    FJORD_CHECK(DecodeSnapshot(r.durable.snapshot.data, &r.digest, &metadata));
    RETURN_IF_ERROR(r.state_machine->Restore(r.durable.snapshot.meta, metadata));
  }
  r.raft = std::make_unique<raft::Raft>(r.config, r.durable, r.raft_random.get());
  checker_.OnRestart(r.id);
  if (r.applied > LogIndex(0)) RETURN_IF_ERROR(checker_.OnRestore(r.id, r.applied, r.digest));
  r.log = std::make_unique<ReplicaLog>(this, &r);
  ControllerCoreOptions core_options;
  core_options.config.cluster_id = kClusterId;
  core_options.config.broker_session_timeout = absl::Microseconds(options_.session_timeout_us);
  core_options.rebalance_interval = absl::Seconds(1);
  core_options.noop_interval = absl::Milliseconds(500);
  core_options.stalled_write_nudge = options_.stalled_write_nudge_us > 0
                                         ? absl::Microseconds(options_.stalled_write_nudge_us)
                                         : absl::InfiniteDuration();
  r.core = std::make_unique<ControllerCore>(core_options, clock_, *r.logic_random,
                                            r.state_machine.get(), r.log.get());
  r.checked_image = nullptr;
  return absl::OkStatus();
}

ControllerSim::Replica* ControllerSim::RaftLeader() {
  Replica* best = nullptr;
  for (auto& [id, r] : replicas_) {
    if (!r->up() || r->raft->role() != raft::Role::kLeader) continue;
    if (best == nullptr || r->raft->term() > best->raft->term()) best = r.get();
  }
  return best;
}

ControllerSim::Replica* ControllerSim::ActiveController() {
  Replica* leader = RaftLeader();
  return leader != nullptr && leader->core->active() ? leader : nullptr;
}

absl::Status ControllerSim::ChaosAction() {
  std::vector<Replica*> up;
  std::vector<Replica*> down;
  for (auto& [id, r] : replicas_) (r->up() ? up : down).push_back(r.get());
  auto pick = [&](const std::vector<Replica*>& from) { return from[random_.Uniform(from.size())]; };
  Replica* leader = RaftLeader();
  const uint64_t roll = random_.Uniform(100);
  if (roll < 60) {
    ClientAction();
    return absl::OkStatus();
  }
  if (roll < 63) {  // Crash, the leader half of the time.
    if (up.empty()) return absl::OkStatus();
    Crash(leader != nullptr && random_.OneIn(2) ? *leader : *pick(up));
    return absl::OkStatus();
  }
  if (roll < 70) {
    if (down.empty()) return absl::OkStatus();
    return Restart(*pick(down));
  }
  if (roll < 74) {  // Partition: isolate the leader, or split at random.
    std::vector<bool> side(replicas_.size() + 1);
    if (leader != nullptr && random_.OneIn(2)) {
      side[leader->id.value()] = true;
    } else {
      for (size_t i = 1; i < side.size(); ++i) side[i] = random_.OneIn(2);
    }
    network_.Split(side);
    Trace("partition");
    return absl::OkStatus();
  }
  if (roll < 80) {
    network_.ReconnectAll();
    Trace("heal network");
    return absl::OkStatus();
  }
  if (roll < 83) {  // A broker dies, or shuts down gracefully.
    BrokerState& b = brokers_.at(static_cast<int32_t>(random_.Uniform(brokers_.size())));
    if (b.registered && random_.OneIn(2)) {
      b.shutting_down = true;
    } else {
      b.alive = false;
    }
    return absl::OkStatus();
  }
  if (roll < 88) {  // A dead broker comes back as a new incarnation.
    const int32_t id = static_cast<int32_t>(random_.Uniform(brokers_.size()));
    BrokerState& b = brokers_.at(id);
    if (b.alive) return absl::OkStatus();
    b = BrokerState{.incarnation = b.incarnation + 1, .hint = b.hint};
    Trace(absl::StrCat("broker ", id, " restarts as incarnation ", b.incarnation));
    return absl::OkStatus();
  }
  if (roll < 90 && leader != nullptr) {
    const auto& voters = leader->raft->membership().voters;
    (void)leader->raft->TransferLeadership(voters[random_.Uniform(voters.size())]);
  }
  return absl::OkStatus();
}

}  // namespace fjord::controller::sim
