#include "raft/core/progress.h"

#include <algorithm>

#include "common/assert.h"

namespace fjord::raft {

void Progress::ResetState(State state) {
  state_ = state;
  probe_sent_ = false;
  pending_snapshot_ = LogIndex(0);
  snapshot_acked_bytes_ = 0;
  inflight_.clear();
}

void Progress::BecomeProbe() {
  // After a snapshot, resume right behind it; otherwise behind the match point.
  const LogIndex resume = state_ == State::kSnapshot ? std::max(match_, pending_snapshot_) : match_;
  ResetState(State::kProbe);
  next_ = resume + 1;
}

void Progress::BecomeReplicate() {
  ResetState(State::kReplicate);
  next_ = match_ + 1;
}

void Progress::BecomeSnapshot(LogIndex snapshot_index) {
  ResetState(State::kSnapshot);
  pending_snapshot_ = snapshot_index;
}

bool Progress::MaybeUpdate(LogIndex index) {
  bool updated = false;
  if (match_ < index) {
    match_ = index;
    updated = true;
    probe_sent_ = false;
  }
  next_ = std::max(next_, index + 1);
  while (!inflight_.empty() && inflight_.front() <= index) inflight_.pop_front();
  return updated;
}

bool Progress::MaybeDecrTo(LogIndex rejected, LogIndex hint) {
  if (state_ == State::kReplicate) {
    // Only the rejection of an append at or past the match point is news.
    if (rejected <= match_) return false;
    next_ = match_ + 1;
    return true;
  }
  // In Probe only the reply to the last probe counts.
  if (next_ - 1 != rejected) return false;
  // A reordered, older rejection may carry a hint below what was since
  // acknowledged: never go back past the match point.
  next_ = std::max(std::min(rejected, hint + 1), match_ + 1);
  probe_sent_ = false;
  return true;
}

void Progress::SentEntries(LogIndex last, bool had_entries) {
  switch (state_) {
    case State::kReplicate:
      if (had_entries) {
        FJORD_DCHECK(inflight_.size() < kMaxInflightAppends);
        inflight_.push_back(last);
        next_ = last + 1;
      }
      break;
    case State::kProbe:
      probe_sent_ = true;
      break;
    case State::kSnapshot:
      FJORD_CHECK(false) << "appends are not sent while a snapshot is in flight";
  }
}

void Progress::OnHeartbeatResponse() {
  probe_sent_ = false;
  // A full window after a heartbeat round trip means appends were lost:
  // free one slot so replication can make progress again.
  if (inflight_.size() >= kMaxInflightAppends) inflight_.pop_front();
}

bool Progress::IsPaused() const {
  switch (state_) {
    case State::kProbe:
      return probe_sent_;
    case State::kReplicate:
      return inflight_.size() >= kMaxInflightAppends;
    case State::kSnapshot:
      return true;
  }
  return true;
}

}  // namespace fjord::raft
