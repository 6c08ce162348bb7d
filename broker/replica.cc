#include "broker/replica.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/log_flusher.h"
#include "common/assert.h"
#include "common/kafka_error.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"
#include "storage/record_batch.h"

namespace fjord::broker {
namespace {

bool Contains(const std::vector<BrokerId>& v, BrokerId b) {
  return std::find(v.begin(), v.end(), b) != v.end();
}

// An append that passed validation failed in storage: the disk (full, I/O
// error, failed log). Nothing of it is acknowledged.
absl::Status AsStorageError(const absl::Status& s) {
  return KafkaError(v1::KAFKA_STORAGE_ERROR, s.message());
}

}  // namespace

Replica::Replica(controller::Uuid topic_id, std::string topic, PartitionId partition,
                 BrokerId local, std::unique_ptr<storage::PartitionLog> log, const Clock& clock,
                 ReplicaConfig config, AlterPartitionSender& sender,
                 std::function<void()> on_change)
    : topic_id_(topic_id),
      topic_(std::move(topic)),
      partition_(partition),
      local_(local),
      log_(std::move(log)),
      clock_(clock),
      config_(config),
      sender_(sender),
      on_change_(std::move(on_change)) {
  FJORD_CHECK(log_ != nullptr);
}

void Replica::BecomeLeader(const PartitionState& state) {
  absl::WriterMutexLock role_lock(&role_mu_);
  absl::MutexLock lock(&mu_);
  if (state.leader_epoch < state_.leader_epoch) return;
  const bool new_term = role_ != Role::kLeader || state.leader_epoch != state_.leader_epoch;
  ApplyStateLocked(state);
  if (new_term) {
    role_ = Role::kLeader;
    // Followers must report again before they count: their positions under
    // the previous leader say nothing about this log (Kafka resets them).
    followers_.clear();
    const absl::Duration now = clock_.Monotonic();
    for (BrokerId r : state_.replicas) {
      if (r == local_) continue;
      FollowerProgress p;
      // A follower in the ISR gets a full lag window to show up.
      if (Contains(state_.isr, r)) p.last_caught_up = now;
      followers_[r] = p;
    }
    pending_isr_.reset();
    spdlog::info(
        "{}-{}: leader at epoch {} (log end {}, hw {}, isr [{}])", topic_, partition_.value(),
        state_.leader_epoch.value(), log_->log_end_offset().value(), log_->high_watermark().value(),
        absl::StrJoin(state_.isr, ",",
                      [](std::string* out, BrokerId b) { absl::StrAppend(out, b.value()); }));
  }
}

void Replica::BecomeFollower(const PartitionState& state) {
  absl::WriterMutexLock role_lock(&role_mu_);
  absl::MutexLock lock(&mu_);
  if (state.leader_epoch < state_.leader_epoch) return;
  if (role_ != Role::kFollower || state.leader_epoch != state_.leader_epoch) {
    spdlog::info("{}-{}: follower of {} at epoch {} (log end {}, hw {})", topic_,
                 partition_.value(), state.leader.value(), state.leader_epoch.value(),
                 log_->log_end_offset().value(), log_->high_watermark().value());
  }
  role_ = Role::kFollower;
  ApplyStateLocked(state);
  followers_.clear();
  pending_isr_.reset();
}

void Replica::ApplyStateLocked(const PartitionState& state) {
  if (state.leader_epoch == state_.leader_epoch && state.partition_epoch < state_.partition_epoch) {
    return;  // An older answer than what we already know.
  }
  state_ = state;
  if (pending_isr_ && *pending_isr_ == state_.isr) pending_isr_.reset();
}

absl::Status Replica::CheckLeader(LeaderEpoch current_leader_epoch) const {
  absl::MutexLock lock(&mu_);
  if (current_leader_epoch != kNoLeaderEpoch) {
    if (current_leader_epoch < state_.leader_epoch) {
      return KafkaError(
          v1::FENCED_LEADER_EPOCH,
          absl::StrCat("epoch ", current_leader_epoch.value(), " < ", state_.leader_epoch.value()));
    }
    if (current_leader_epoch > state_.leader_epoch) {
      return KafkaError(
          v1::UNKNOWN_LEADER_EPOCH,
          absl::StrCat("epoch ", current_leader_epoch.value(), " > ", state_.leader_epoch.value()));
    }
  }
  if (role_ != Role::kLeader) {
    return KafkaError(
        v1::NOT_LEADER_OR_FOLLOWER,
        absl::StrCat(topic_, "-", partition_.value(), " is led by broker ", state_.leader.value()));
  }
  return absl::OkStatus();
}

void Replica::SetTopicSettings(const TopicSettings& settings) {
  absl::MutexLock lock(&mu_);
  topic_settings_ = settings;
}

int32_t Replica::MinInsyncReplicasLocked() const {
  return topic_settings_.min_insync_replicas.value_or(config_.min_insync_replicas);
}

absl::StatusOr<LeaderAppendResult> Replica::AppendRecords(std::string records, bool acks_all) {
  storage::BatchLimits limits = config_.batch_limits;
  bool compacted = false;
  {
    absl::MutexLock lock(&mu_);
    if (topic_settings_.max_message_bytes.has_value()) {
      limits.max_batch_bytes = *topic_settings_.max_message_bytes;
    }
    compacted = topic_settings_.compacted;
  }
  // Validate everything first: a request is appended whole or not at all.
  std::vector<std::pair<size_t, size_t>> batches;  // position, size
  {
    storage::BatchIterator it(records);
    while (it.Next()) {
      if (it.batch().size() > limits.max_batch_bytes) {
        return KafkaError(v1::MESSAGE_TOO_LARGE,
                          absl::StrCat("batch of ", it.batch().size(), " bytes > ",
                                       "max.message.bytes ", limits.max_batch_bytes));
      }
      bool keyless = false;
      absl::StatusOr<storage::BatchHeader> h = storage::ValidateBatch(it.batch(), limits, &keyless);
      if (!h.ok()) return KafkaError(v1::CORRUPT_MESSAGE, h.status().message());
      if (compacted && keyless && !h->is_control()) {
        return KafkaError(v1::INVALID_RECORD,
                          absl::StrCat("compacted topic ", topic_,
                                       " cannot accept a record without a key (partition ",
                                       partition_.value(), ")"));
      }
      batches.emplace_back(it.position(), it.batch().size());
    }
    if (!it.status().ok()) return KafkaError(v1::CORRUPT_MESSAGE, it.status().message());
    if (batches.empty()) return KafkaError(v1::CORRUPT_MESSAGE, "no record batch");
  }

  // With a flusher, durability is the flusher's job: the append only
  // writes, and the high watermark (acks=all) waits for the flush.
  const bool flush_later =
      config_.flusher != nullptr && log_->flush_policy() == storage::FlushPolicy::kAlways;
  const storage::AppendWait wait =
      flush_later ? storage::AppendWait::kWritten : storage::AppendWait::kDurable;
  bool appended_any = false;
  absl::StatusOr<LeaderAppendResult> result = [&]() -> absl::StatusOr<LeaderAppendResult> {
    absl::ReaderMutexLock role_lock(&role_mu_);
    LeaderEpoch epoch;
    {
      absl::MutexLock lock(&mu_);
      if (role_ != Role::kLeader) {
        return KafkaError(v1::NOT_LEADER_OR_FOLLOWER,
                          absl::StrCat("led by broker ", state_.leader.value()));
      }
      if (acks_all && static_cast<int32_t>(state_.isr.size()) < MinInsyncReplicasLocked()) {
        return KafkaError(v1::NOT_ENOUGH_REPLICAS,
                          absl::StrCat("isr size ", state_.isr.size(), " < min.insync.replicas ",
                                       MinInsyncReplicasLocked()));
      }
      epoch = state_.leader_epoch;
    }
    LeaderAppendResult out{.leader_epoch = epoch};
    for (size_t i = 0; i < batches.size(); ++i) {
      absl::Span<char> batch(records.data() + batches[i].first, batches[i].second);
      absl::StatusOr<storage::AppendResult> r = log_->AppendAsLeader(batch, epoch, wait);
      if (!r.ok()) return AsStorageError(r.status());
      appended_any = true;
      if (i == 0) out.base_offset = r->first_offset;
      out.last_offset = r->last_offset;
    }
    out.log_start_offset = log_->log_start_offset();
    absl::MutexLock lock(&mu_);
    MaybeAdvanceHwLocked();
    return out;
  }();
  // Wake followers and waiters, outside every lock, even after a partial
  // failure (earlier batches of the request are in the log).
  if (appended_any) {
    if (flush_later && !flush_scheduled_.exchange(true)) {
      std::weak_ptr<Replica> self = weak_from_this();
      FJORD_CHECK(!self.expired()) << "a replica with a LogFlusher must be owned by a shared_ptr";
      config_.flusher->Schedule(std::move(self));
    }
    Changed();
  }
  return result;
}

void Replica::FlushLocalLog() {
  // Cleared before the flush starts: an append from now on may not be
  // covered by it, so it queues the next one.
  flush_scheduled_.store(false);
  absl::StatusOr<Offset> flushed = log_->Flush();
  // A failed flush fails the log for good (storage never retries an
  // fsync); waiters learn it from IsReplicated. Said once, not per append.
  if (!flushed.ok() && !absl::IsAborted(flushed.status()) &&
      !flush_failure_logged_.exchange(true)) {
    spdlog::error("{}-{}: flush failed: {}", topic_, partition_.value(),
                  flushed.status().ToString());
  }
  OnLocalFlush();
  if (!flushed.ok()) Changed();
}

absl::StatusOr<bool> Replica::IsReplicated(Offset last_offset, LeaderEpoch epoch) const {
  absl::MutexLock lock(&mu_);
  if (role_ != Role::kLeader || state_.leader_epoch != epoch) {
    return KafkaError(v1::NOT_LEADER_OR_FOLLOWER, "leadership moved before the ack");
  }
  if (log_->high_watermark() <= last_offset) {
    absl::Status health = log_->health();
    if (!health.ok()) return AsStorageError(health);
    return false;
  }
  // Kafka's rule: the write is replicated, but if the ISR that took it is
  // smaller than min.insync.replicas the producer must not count it as safe.
  if (static_cast<int32_t>(state_.isr.size()) < MinInsyncReplicasLocked()) {
    return KafkaError(v1::NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                      absl::StrCat("isr size ", state_.isr.size(), " < min.insync.replicas ",
                                   MinInsyncReplicasLocked()));
  }
  return true;
}

Offset Replica::AckOffset(const FollowerProgress& p) const {
  return config_.durability == DurabilityMode::kDurable ? std::min(p.flushed, p.log_end)
                                                        : p.log_end;
}

Offset Replica::LocalAckOffset() const {
  return config_.durability == DurabilityMode::kDurable ? log_->flushed_offset()
                                                        : log_->log_end_offset();
}

bool Replica::MaybeAdvanceHwLocked() {
  if (role_ != Role::kLeader) return false;
  Offset hw = LocalAckOffset();
  auto count = [&](BrokerId b) {
    if (b == local_) return;
    auto it = followers_.find(b);
    hw = it == followers_.end() ? Offset(-1) : std::min(hw, AckOffset(it->second));
  };
  for (BrokerId b : state_.isr) count(b);
  if (pending_isr_) {
    for (BrokerId b : *pending_isr_) count(b);
  }
  if (hw <= log_->high_watermark()) return false;
  absl::Status s = log_->SetHighWatermark(hw);
  FJORD_CHECK(s.ok()) << s;
  return true;
}

void Replica::UpdateFollower(BrokerId follower, BrokerEpoch broker_epoch, Offset log_end,
                             Offset flushed) {
  std::optional<IsrProposal> proposal;
  bool hw_moved = false;
  {
    absl::MutexLock lock(&mu_);
    if (role_ != Role::kLeader) return;
    auto it = followers_.find(follower);
    if (it == followers_.end()) return;  // Not a replica of this partition.
    FollowerProgress& p = it->second;
    const absl::Duration now = clock_.Monotonic();
    const Offset leader_end = log_->log_end_offset();
    // Kafka's rule: caught up if it reached our end now, or reached the end we
    // had at its previous fetch (it was caught up as of that fetch).
    if (log_end >= leader_end) {
      p.last_caught_up = now;
    } else if (log_end >= p.leader_end_at_last_fetch && p.leader_end_at_last_fetch >= Offset(0)) {
      p.last_caught_up = std::max(p.last_caught_up, p.last_fetch);
    }
    p.broker_epoch = broker_epoch;
    p.connected = true;
    p.log_end = log_end;
    p.flushed = std::max(p.flushed, flushed);
    p.last_fetch = now;
    p.leader_end_at_last_fetch = leader_end;
    hw_moved = MaybeAdvanceHwLocked();
    proposal = NextProposalLocked();
  }
  if (hw_moved) Changed();
  if (proposal) SendProposal(std::move(*proposal));
}

void Replica::UpdateFollowerFlushed(BrokerId follower, Offset flushed) {
  bool hw_moved = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = followers_.find(follower);
    if (role_ != Role::kLeader || it == followers_.end()) return;
    it->second.flushed = std::max(it->second.flushed, flushed);
    hw_moved = MaybeAdvanceHwLocked();
  }
  if (hw_moved) Changed();
}

void Replica::FollowerDisconnected(BrokerId follower) {
  absl::MutexLock lock(&mu_);
  auto it = followers_.find(follower);
  if (it != followers_.end()) it->second.connected = false;
}

void Replica::OnLocalFlush() {
  bool hw_moved = false;
  {
    absl::MutexLock lock(&mu_);
    hw_moved = MaybeAdvanceHwLocked();
  }
  if (hw_moved) Changed();
}

void Replica::MaybeShrinkIsr() {
  std::optional<IsrProposal> proposal;
  bool hw_moved = false;
  {
    absl::MutexLock lock(&mu_);
    proposal = NextProposalLocked();
    hw_moved = MaybeAdvanceHwLocked();
  }
  if (hw_moved) Changed();
  if (proposal) SendProposal(std::move(*proposal));
}

std::optional<IsrProposal> Replica::NextProposalLocked() {
  if (role_ != Role::kLeader || pending_isr_) return std::nullopt;
  const absl::Duration now = clock_.Monotonic();
  if (now < retry_proposal_after_) return std::nullopt;
  const Offset leader_end = log_->log_end_offset();
  const Offset hw = log_->high_watermark();
  std::vector<BrokerId> isr;
  bool changed = false;
  for (BrokerId b : state_.isr) {
    if (b != local_) {
      auto it = followers_.find(b);
      const bool caught_up_now =
          it != followers_.end() && it->second.connected && it->second.log_end >= leader_end;
      if (it == followers_.end() ||
          (!caught_up_now && now - it->second.last_caught_up > config_.replica_lag_time_max)) {
        changed = true;
        ++isr_shrinks_;
        spdlog::warn("{}-{}: epoch {}: removing broker {} from the ISR (log end {}, leader {})",
                     topic_, partition_.value(), state_.leader_epoch.value(), b.value(),
                     it == followers_.end() ? -1 : it->second.log_end.value(), leader_end.value());
        continue;
      }
    }
    isr.push_back(b);
  }
  if (!changed) {
    // Expansion: one follower at a time, once it has everything committed.
    for (BrokerId b : state_.replicas) {
      if (Contains(state_.isr, b) || b == local_) continue;
      auto it = followers_.find(b);
      // Only a follower fetching now: old progress of a stopped broker must
      // not bring it back (and stall the HW while the proposal is pending).
      if (it == followers_.end() || !it->second.connected || it->second.log_end < hw ||
          it->second.log_end < Offset(0)) {
        continue;
      }
      isr.push_back(b);
      changed = true;
      ++isr_expands_;
      spdlog::info("{}-{}: epoch {}: adding broker {} to the ISR (log end {}, hw {})", topic_,
                   partition_.value(), state_.leader_epoch.value(), b.value(),
                   it->second.log_end.value(), hw.value());
      break;
    }
  }
  if (!changed) return std::nullopt;
  pending_isr_ = isr;
  IsrProposal proposal{.topic_id = topic_id_,
                       .partition = partition_,
                       .leader_epoch = state_.leader_epoch,
                       .partition_epoch = state_.partition_epoch};
  for (BrokerId b : isr) {
    auto it = followers_.find(b);
    proposal.isr.emplace_back(b,
                              it == followers_.end() ? BrokerEpoch(-1) : it->second.broker_epoch);
  }
  return proposal;
}

void Replica::SendProposal(IsrProposal proposal) {
  const LeaderEpoch epoch = proposal.leader_epoch;
  sender_.Send(std::move(proposal), [this, epoch](absl::StatusOr<PartitionState> result) {
    OnProposalDone(epoch, result);
  });
}

void Replica::OnProposalDone(LeaderEpoch epoch, const absl::StatusOr<PartitionState>& result) {
  bool hw_moved = false;
  {
    absl::MutexLock lock(&mu_);
    if (role_ != Role::kLeader || state_.leader_epoch != epoch) return;
    pending_isr_.reset();
    if (!result.ok()) {
      retry_proposal_after_ = clock_.Monotonic() + kProposalRetryBackoff;
      // The next timer tick or follower update proposes again, from the
      // state the next image brings.
      spdlog::warn("{}-{}: epoch {}: AlterPartition failed: {}", topic_, partition_.value(),
                   epoch.value(), result.status().ToString());
      return;
    }
    if (result->leader_epoch != epoch) return;  // The image applier handles a new epoch.
    PartitionState state = *result;
    // AlterPartition answers carry no replica list; it has not changed.
    if (state.replicas.empty()) state.replicas = state_.replicas;
    ApplyStateLocked(state);
    hw_moved = MaybeAdvanceHwLocked();
  }
  if (hw_moved) Changed();
}

absl::StatusOr<ReadResult> Replica::ReadCommitted(Offset offset, size_t max_bytes) const {
  const Offset hw = log_->high_watermark();
  ReadResult result{.high_watermark = hw, .log_start_offset = log_->log_start_offset()};
  // Between the HW and the log end is in range but not yet visible (e.g. a
  // new leader whose HW has not caught up): an empty answer, as Kafka gives.
  const Offset log_end = log_->log_end_offset();
  if (offset > log_end || offset < result.log_start_offset) {
    return KafkaError(v1::OFFSET_OUT_OF_RANGE,
                      absl::StrCat("offset ", offset.value(), " outside [",
                                   result.log_start_offset.value(), ", ", log_end.value(), "]"));
  }
  if (offset >= hw) return result;
  absl::StatusOr<std::string> bytes = log_->Read(offset, max_bytes, hw);
  if (!bytes.ok()) {
    if (absl::IsOutOfRange(bytes.status())) {
      return KafkaError(v1::OFFSET_OUT_OF_RANGE, bytes.status().message());
    }
    return KafkaError(v1::KAFKA_STORAGE_ERROR, bytes.status().message());
  }
  result.records = *std::move(bytes);
  return result;
}

absl::StatusOr<std::string> Replica::ReadForFollower(Offset offset, size_t max_bytes) const {
  absl::StatusOr<std::string> bytes = log_->Read(offset, max_bytes);
  if (!bytes.ok() && absl::IsOutOfRange(bytes.status())) {
    return KafkaError(v1::OFFSET_OUT_OF_RANGE, bytes.status().message());
  }
  return bytes;
}

absl::StatusOr<Offset> Replica::AppendFromLeader(std::string_view batches, Offset leader_hw) {
  {
    absl::ReaderMutexLock role_lock(&role_mu_);
    if (role() != Role::kFollower) return KafkaError(v1::NOT_LEADER_OR_FOLLOWER, "not a follower");
    if (!batches.empty()) {
      absl::StatusOr<storage::AppendResult> r = log_->AppendAsFollower(batches);
      if (!r.ok()) return r.status();
    }
  }
  UpdateHighWatermarkFromLeader(leader_hw);
  return log_->log_end_offset();
}

void Replica::UpdateHighWatermarkFromLeader(Offset leader_hw) {
  {
    absl::ReaderMutexLock role_lock(&role_mu_);
    {
      absl::MutexLock lock(&mu_);
      if (role_ != Role::kFollower) return;  // A leader's HW never moves back.
    }
    const Offset hw = std::min(leader_hw, log_->log_end_offset());
    const Offset current = log_->high_watermark();
    if (hw == current) return;
    absl::Status s = log_->SetHighWatermark(hw);
    // Lowering (a new leader's HW may lag ours) can race with retention
    // moving the log start up to our current HW: the HW then stays.
    FJORD_CHECK(s.ok() || hw < current) << s;
    if (!s.ok()) return;
  }
  Changed();
}

absl::StatusOr<Offset> Replica::TruncateOnDivergence(LeaderEpoch epoch, Offset end_offset) {
  const auto [local_epoch, local_end] = log_->EndOffsetForEpoch(epoch);
  Offset target = end_offset;
  if (local_epoch != kNoLeaderEpoch) target = std::min(target, local_end);
  return TruncateTo(target);
}

absl::StatusOr<Offset> Replica::TruncateTo(Offset offset) {
  absl::WriterMutexLock role_lock(&role_mu_);
  const Offset hw = log_->high_watermark();
  const Offset target = std::max(offset, hw);
  if (target >= log_->log_end_offset()) return log_->log_end_offset();
  spdlog::info("{}-{}: truncating from {} to {} (asked {}, hw {})", topic_, partition_.value(),
               log_->log_end_offset().value(), target.value(), offset.value(), hw.value());
  return log_->TruncateTo(target);
}

absl::StatusOr<Offset> Replica::TruncateFullyAndStartAt(Offset leader_log_start) {
  {
    absl::WriterMutexLock role_lock(&role_mu_);
    if (role() != Role::kFollower) return KafkaError(v1::NOT_LEADER_OR_FOLLOWER, "not a follower");
    const Offset end = log_->log_end_offset();
    if (end >= leader_log_start) return end;
    // Everything we hold lies below the leader's log start, so below its
    // high watermark: nothing acknowledged is lost here.
    spdlog::warn("{}-{}: log end {} is below the leader's log start {}: restarting the log there",
                 topic_, partition_.value(), end.value(), leader_log_start.value());
    RETURN_IF_ERROR(log_->TruncateFullyAndStartAt(leader_log_start).status());
  }
  Changed();  // The high watermark moved up with the log start.
  return leader_log_start;
}

absl::StatusOr<Offset> Replica::TruncateUnclean(Offset offset) {
  {
    absl::WriterMutexLock role_lock(&role_mu_);
    if (role() != Role::kFollower) return KafkaError(v1::NOT_LEADER_OR_FOLLOWER, "not a follower");
    const Offset end = log_->log_end_offset();
    if (offset >= end) return end;
    const Offset hw = log_->high_watermark();
    if (offset < hw) {
      spdlog::warn(
          "{}-{}: truncating from {} to {}, below the high watermark {}: the leader's log ends "
          "or diverges there (unclean leader election)",
          topic_, partition_.value(), end.value(), offset.value(), hw.value());
    }
    if (offset < log_->log_start_offset()) {
      RETURN_IF_ERROR(log_->TruncateFullyAndStartAt(offset).status());
    } else {
      RETURN_IF_ERROR(log_->TruncateTo(offset).status());
    }
  }
  Changed();  // The high watermark may have moved down with the log end.
  return log_->log_end_offset();
}

Replica::Role Replica::role() const {
  absl::MutexLock lock(&mu_);
  return role_;
}
LeaderEpoch Replica::leader_epoch() const {
  absl::MutexLock lock(&mu_);
  return state_.leader_epoch;
}
BrokerId Replica::leader() const {
  absl::MutexLock lock(&mu_);
  return state_.leader;
}
std::vector<BrokerId> Replica::isr() const {
  absl::MutexLock lock(&mu_);
  return state_.isr;
}
std::vector<BrokerId> Replica::replicas() const {
  absl::MutexLock lock(&mu_);
  return state_.replicas;
}
bool Replica::UnderReplicated() const {
  absl::MutexLock lock(&mu_);
  return role_ == Role::kLeader && state_.isr.size() < state_.replicas.size();
}
int64_t Replica::MaxFollowerLag() const {
  absl::MutexLock lock(&mu_);
  if (role_ != Role::kLeader) return 0;
  const Offset end = log_->log_end_offset();
  int64_t lag = 0;
  for (const auto& [b, p] : followers_) lag = std::max(lag, end - std::max(p.log_end, Offset(0)));
  return lag;
}

bool Replica::UnderMinIsr() const {
  absl::MutexLock lock(&mu_);
  return role_ == Role::kLeader &&
         static_cast<int32_t>(state_.isr.size()) < MinInsyncReplicasLocked();
}
int64_t Replica::isr_shrinks() const {
  absl::MutexLock lock(&mu_);
  return isr_shrinks_;
}
int64_t Replica::isr_expands() const {
  absl::MutexLock lock(&mu_);
  return isr_expands_;
}

}  // namespace fjord::broker
