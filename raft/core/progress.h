// The leader's view of one follower's log (etcd's Progress), and the bounded
// window of appends in flight to it.
//
//            reject / heartbeat          next < first index
//   +-------+  <--------------  +-----------+  -------->  +----------+
//   | Probe |                   | Replicate |             | Snapshot |
//   +-------+  -------------->  +-----------+  <--------  +----------+
//       ^       append acked                   match >= snapshot index
//       +-------------------------------------------------------+
//
// Probe: one append at a time until the follower's match point is found.
// Replicate: appends stream optimistically, at most kMaxInflightAppends
// unacknowledged. Snapshot: chunks of the leader's snapshot, one at a time.
#pragma once

#include <cstdint>
#include <deque>

#include "common/types.h"

namespace fjord::raft {

// Unacknowledged appends per follower in Replicate state.
inline constexpr size_t kMaxInflightAppends = 64;

class Progress {
 public:
  enum class State : uint8_t { kProbe, kReplicate, kSnapshot };

  explicit Progress(LogIndex next) : next_(next) {}

  State state() const { return state_; }
  LogIndex match() const { return match_; }
  LogIndex next() const { return next_; }
  bool recent_active() const { return recent_active_; }
  void set_recent_active(bool active) { recent_active_ = active; }
  LogIndex pending_snapshot() const { return pending_snapshot_; }
  uint64_t snapshot_acked_bytes() const { return snapshot_acked_bytes_; }

  void BecomeProbe();
  void BecomeReplicate();
  void BecomeSnapshot(LogIndex snapshot_index);

  // An acknowledgement of `index`; false if it is stale (not past match).
  bool MaybeUpdate(LogIndex index);
  // A rejection of an append whose previous entry was `rejected`, by a
  // follower whose last index is `hint`. False if the rejection is stale.
  bool MaybeDecrTo(LogIndex rejected, LogIndex hint);
  // Record an append up to `last` having been sent.
  void SentEntries(LogIndex last, bool had_entries);
  // Unpause a probe (a heartbeat response arrived) and make room in a full window.
  void OnHeartbeatResponse();
  void SnapshotChunkAcked(uint64_t bytes) { snapshot_acked_bytes_ = bytes; }

  // No more appends may be sent until an acknowledgement arrives.
  bool IsPaused() const;

 private:
  void ResetState(State state);

  State state_ = State::kProbe;
  LogIndex match_{0};
  LogIndex next_;
  bool probe_sent_ = false;
  bool recent_active_ = false;
  LogIndex pending_snapshot_{0};
  uint64_t snapshot_acked_bytes_ = 0;
  std::deque<LogIndex> inflight_;  // Last index of each append in flight, ascending.
};

}  // namespace fjord::raft
