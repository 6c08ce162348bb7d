// Replica: this broker's copy of one partition, as leader or follower at a
// leader epoch (Kafka's Partition). It owns the PartitionLog and everything
// replication decides about it: the high watermark, the ISR as this leader
// sees it, follower progress, and the follower's truncation on divergence.
//
// Roles (changed only by the metadata image applier):
//
//            BecomeLeader(epoch e)              BecomeFollower(epoch e')
//   (new) ----------------------> Leader(e) -------------------------> Follower(e')
//     |                             ^  |                                   |
//     +--BecomeFollower------------ | -+---------BecomeLeader(e'' > e')----+
//
// Leader duties:
// - AppendRecords: validate each RecordBatch v2 (storage's ValidateBatch with
//   message.max.bytes), check min.insync.replicas for acks=all
//   (NOT_ENOUGH_REPLICAS), assign offsets, append the bytes as they are.
// - High watermark = min over the ISR (plus replicas being added) of the
//   offset that counts for acks: the flushed offset in DurabilityMode::kDurable
//   (the default: acks=all means fsynced on every ISR member), the log end
//   offset in DurabilityMode::kRelaxed. It never moves backwards while leader.
// - ISR: a follower in the ISR that has not been caught up to the leader's log
//   end for replica.lag.time.max.ms is proposed for removal; a follower outside
//   it whose log end reaches the high watermark is proposed for addition. Both
//   go through AlterPartitionSender (the controller decides); one proposal is
//   in flight at a time, and the ISR changes only when the controller's answer
//   (or a newer image) says so.
// Follower duties: append what the leader sends, adopt min(leader HW, LEO),
// truncate at a divergence found with leader epochs, never below the HW
// except after an unclean leader election (TruncateUnclean).
//
// Threading: all methods are thread-safe. Two locks, each with one purpose:
// `role_mu_` is held shared by leader appends and exclusively by role changes
// and truncation, so an append never interleaves with a truncation and
// concurrent appenders still share the log's group-commit fsyncs; `mu_`
// guards the small replication state and is never held across log I/O that
// can block. `on_change` and the AlterPartitionSender are called with no lock
// held.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/alter_partition_sender.h"
#include "broker/replica_config.h"
#include "common/clock.h"
#include "common/types.h"
#include "controller/uuid.h"
#include "storage/partition_log.h"

namespace fjord::broker {

struct LeaderAppendResult {
  Offset base_offset;
  Offset last_offset;
  LeaderEpoch leader_epoch;
  Offset log_start_offset;
};

// A consumer read: bytes below the high watermark.
struct ReadResult {
  std::string records;
  Offset high_watermark;
  Offset log_start_offset;
};

class Replica : public std::enable_shared_from_this<Replica> {
 public:
  // Pause after the controller refuses an ISR change before proposing again.
  static constexpr absl::Duration kProposalRetryBackoff = absl::Milliseconds(500);

  enum class Role { kNone, kLeader, kFollower };

  // `clock` and `sender` must outlive the replica. `on_change` runs after
  // every append and every high-watermark move (wake waiters).
  Replica(controller::Uuid topic_id, std::string topic, PartitionId partition, BrokerId local,
          std::unique_ptr<storage::PartitionLog> log, const Clock& clock, ReplicaConfig config,
          AlterPartitionSender& sender, std::function<void()> on_change);
  // Replaces `on_change`; only before the replica is shared with other threads.
  void SetChangeHook(std::function<void()> on_change) { on_change_ = std::move(on_change); }
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // Role changes from the metadata image. An older leader epoch than the
  // current one is ignored; the same epoch only refreshes the ISR and
  // partition epoch.
  void BecomeLeader(const PartitionState& state);
  void BecomeFollower(const PartitionState& state);

  // The topic's own settings from the metadata image (Kafka's topic-level
  // configs override the broker's): min.insync.replicas, max.message.bytes,
  // and whether cleanup.policy includes compact. Unset fields fall back to
  // the broker's ReplicaConfig.
  struct TopicSettings {
    std::optional<int32_t> min_insync_replicas;
    std::optional<size_t> max_message_bytes;
    // Compacted topics refuse records without a key (INVALID_RECORD), as
    // Kafka does: the cleaner could not keep them.
    bool compacted = false;
  };
  void SetTopicSettings(const TopicSettings& settings);

  // --- Leader ---
  // Appends concatenated batches (each validated, against the topic's
  // max.message.bytes; on a compacted topic every record needs a key).
  // `acks_all` requires min.insync.replicas in the ISR before appending.
  // Returns once the batches are in the log (acks=1's promise). Under
  // log.flush.policy=always with a LogFlusher (ReplicaConfig::flusher) it
  // does not wait for their fsync: the flusher makes them durable and the
  // high watermark, hence acks=all, follows. The replica must then be owned
  // by a shared_ptr.
  absl::StatusOr<LeaderAppendResult> AppendRecords(std::string records, bool acks_all);
  // The LogFlusher's work: flushes the log (group commit) and moves the
  // high watermark over the newly durable offsets.
  void FlushLocalLog();
  // acks=all completion: true once the high watermark passed `last_offset`;
  // an error if leadership was lost since `epoch` (NOT_LEADER_OR_FOLLOWER),
  // the ISR shrank below min.insync.replicas (NOT_ENOUGH_REPLICAS_AFTER_APPEND)
  // or the log failed before it got there (KAFKA_STORAGE_ERROR).
  absl::StatusOr<bool> IsReplicated(Offset last_offset, LeaderEpoch epoch) const;
  // Follower progress from the replica fetch stream: its log end offset and
  // durable offset. Moves the HW and may propose an ISR expansion.
  void UpdateFollower(BrokerId follower, BrokerEpoch broker_epoch, Offset log_end, Offset flushed);
  void UpdateFollowerFlushed(BrokerId follower, Offset flushed);
  // The follower's fetch stream closed: from now on it counts as caught up
  // only until replica.lag.time.max.ms after its last caught-up time, even if
  // no new data arrives (an idle partition must still notice a dead follower).
  void FollowerDisconnected(BrokerId follower);
  // Timer: proposes removing followers that lag (replica.lag.time.max.ms), and
  // re-proposes after a failed proposal.
  void MaybeShrinkIsr();
  // The leader's own durable offset moved (a flush under a relaxed policy).
  void OnLocalFlush();

  // Checks `current_leader_epoch` (-1 skips) against this leader: OK,
  // FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH or NOT_LEADER_OR_FOLLOWER.
  absl::Status CheckLeader(LeaderEpoch current_leader_epoch) const;
  // Consumer read from `offset`, never past the high watermark; empty at or
  // above it, OFFSET_OUT_OF_RANGE beyond the log end or below the log start.
  absl::StatusOr<ReadResult> ReadCommitted(Offset offset, size_t max_bytes) const;
  // Replica read: whole batches from `offset` up to the log end.
  absl::StatusOr<std::string> ReadForFollower(Offset offset, size_t max_bytes) const;

  // --- Follower ---
  // Appends batches fetched from the leader and adopts min(leader_hw, LEO).
  absl::StatusOr<Offset> AppendFromLeader(std::string_view batches, Offset leader_hw);
  // Adopts min(leader_hw, LEO) as the HW, lowering it if it was higher: a
  // follower never reports a HW above its leader's (as Kafka's follower).
  void UpdateHighWatermarkFromLeader(Offset leader_hw);
  // The leader said our log diverges: its epoch `epoch` ends at `end_offset`.
  // Truncates to min(end_offset, our end of that epoch), never below the HW.
  absl::StatusOr<Offset> TruncateOnDivergence(LeaderEpoch epoch, Offset end_offset);
  // Truncates to `offset` (OFFSET_OUT_OF_RANGE recovery), never below the HW.
  absl::StatusOr<Offset> TruncateTo(Offset offset);
  // The leader's log starts past our log end (its retention deleted what we
  // would fetch next): empties the log and restarts it at
  // `leader_log_start` (Kafka's truncateFullyAndStartAt). A no-op when the
  // log end is not below it.
  absl::StatusOr<Offset> TruncateFullyAndStartAt(Offset leader_log_start);
  // After an unclean leader election the leader's log ends, or departs from
  // ours, below this follower's HW: truncates to `offset` anyway (a warning
  // when below the HW; the HW follows the new log end), or restarts the log
  // at `offset` when it lies below the log start, as Kafka's
  // ReplicaFetcherThread.truncate does. The records cut were never
  // committed in the leader's history.
  absl::StatusOr<Offset> TruncateUnclean(Offset offset);

  // --- Observers ---
  const controller::Uuid& topic_id() const { return topic_id_; }
  const std::string& topic() const { return topic_; }
  PartitionId partition() const { return partition_; }
  storage::PartitionLog& log() const { return *log_; }
  Role role() const;
  LeaderEpoch leader_epoch() const;
  BrokerId leader() const;
  std::vector<BrokerId> isr() const;
  std::vector<BrokerId> replicas() const;
  Offset high_watermark() const { return log_->high_watermark(); }
  Offset log_end_offset() const { return log_->log_end_offset(); }
  // The offset counted for acks for this broker's own copy.
  Offset LocalAckOffset() const;
  bool UnderReplicated() const;
  // Leader: the largest number of offsets a replica is behind the log end
  // (a follower not heard from counts as the whole log). 0 elsewhere.
  int64_t MaxFollowerLag() const;
  bool UnderMinIsr() const;
  int64_t isr_shrinks() const;
  int64_t isr_expands() const;

 private:
  struct FollowerProgress {
    BrokerEpoch broker_epoch{-1};
    Offset log_end{-1};
    Offset flushed{-1};
    absl::Duration last_caught_up = absl::InfiniteDuration() * -1;
    absl::Duration last_fetch = absl::InfiniteDuration() * -1;
    Offset leader_end_at_last_fetch{-1};
    bool connected = false;
  };

  Offset AckOffset(const FollowerProgress& p) const;
  // Recomputes the HW; true if it moved. Caller holds mu_.
  bool MaybeAdvanceHwLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A proposal to send, if one is due. Caller holds mu_.
  std::optional<IsrProposal> NextProposalLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SendProposal(IsrProposal proposal);
  void OnProposalDone(LeaderEpoch epoch, const absl::StatusOr<PartitionState>& result);
  void ApplyStateLocked(const PartitionState& state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Changed() {
    if (on_change_) on_change_();
  }

  const controller::Uuid topic_id_;
  const std::string topic_;
  const PartitionId partition_;
  const BrokerId local_;
  const std::unique_ptr<storage::PartitionLog> log_;
  const Clock& clock_;
  const ReplicaConfig config_;
  AlterPartitionSender& sender_;
  TopicSettings topic_settings_ ABSL_GUARDED_BY(mu_);
  int32_t MinInsyncReplicasLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::function<void()> on_change_;  // Set before the replica is shared.
  // A flush is queued in config_.flusher and has not started yet: later
  // appends need not queue another (it will cover them).
  std::atomic<bool> flush_scheduled_{false};
  std::atomic<bool> flush_failure_logged_{false};

  // Held shared by leader appends, exclusively by role changes/truncation.
  mutable absl::Mutex role_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // Guards the replication state below.
  mutable absl::Mutex mu_;
  Role role_ ABSL_GUARDED_BY(mu_) = Role::kNone;
  PartitionState state_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<BrokerId, FollowerProgress> followers_ ABSL_GUARDED_BY(mu_);
  // The ISR change in flight, if any (union with state_.isr counts for HW).
  std::optional<std::vector<BrokerId>> pending_isr_ ABSL_GUARDED_BY(mu_);
  // After a refused proposal, none before this time (kProposalRetryBackoff).
  absl::Duration retry_proposal_after_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  int64_t isr_shrinks_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t isr_expands_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fjord::broker
