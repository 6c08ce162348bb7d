#include "raft/core/raft_log.h"

#include <algorithm>

#include "common/assert.h"

namespace fjord::raft {

RaftLog::RaftLog(const SnapshotMeta& snapshot, std::vector<Entry> entries, LogIndex commit)
    : snapshot_(snapshot),
      entries_(std::move(entries)),
      committed_(std::max(commit, snapshot.index)),
      applied_(snapshot.index),
      stable_(snapshot.index + entries_.size()),
      persisted_(stable_) {
  for (size_t i = 0; i < entries_.size(); ++i) {
    FJORD_CHECK(entries_[i].index == snapshot_.index + 1 + i) << "gap in persisted log";
  }
  FJORD_CHECK(committed_ <= last_index()) << "commit " << committed_ << " last " << last_index();
}

Term RaftLog::last_term() const { return entries_.empty() ? snapshot_.term : entries_.back().term; }

std::optional<Term> RaftLog::TermAt(LogIndex index) const {
  if (index == snapshot_.index) return snapshot_.term;
  if (index < snapshot_.index || index > last_index()) return std::nullopt;
  return At(index).term;
}

bool RaftLog::MatchTerm(LogIndex index, Term term) const {
  std::optional<Term> t = TermAt(index);
  return t.has_value() && *t == term;
}

const Entry& RaftLog::At(LogIndex index) const {
  FJORD_CHECK(index >= first_index() && index <= last_index())
      << "index " << index << " outside [" << first_index() << ", " << last_index() << "]";
  return entries_[index - first_index()];
}

bool RaftLog::IsUpToDate(LogIndex last, Term term) const {
  return term > last_term() || (term == last_term() && last >= last_index());
}

void RaftLog::Append(std::vector<Entry> entries) {
  for (Entry& e : entries) {
    FJORD_CHECK(e.index == last_index() + 1) << "append " << e.index << " after " << last_index();
    entries_.push_back(std::move(e));
  }
}

std::optional<LogIndex> RaftLog::MaybeAppend(LogIndex prev, Term prev_term,
                                             std::vector<Entry> entries,
                                             std::optional<LogIndex>* truncated_from) {
  *truncated_from = std::nullopt;
  if (!MatchTerm(prev, prev_term)) return std::nullopt;
  const LogIndex last_new = prev + entries.size();
  size_t skip = 0;
  // Entries we already hold are kept: a delayed, shorter append must not
  // truncate what a later append added (Figure 2, receiver rule 3).
  while (skip < entries.size() && MatchTerm(entries[skip].index, entries[skip].term)) ++skip;
  if (skip == entries.size()) return last_new;
  const LogIndex conflict = entries[skip].index;
  if (conflict <= last_index()) {
    FJORD_CHECK(conflict > committed_)
        << "conflict at " << conflict << " would truncate committed " << committed_;
    entries_.resize(conflict - first_index());
    stable_ = std::min(stable_, conflict - 1);
    persisted_ = std::min(persisted_, conflict - 1);
    *truncated_from = conflict;
  }
  entries.erase(entries.begin(), entries.begin() + skip);
  Append(std::move(entries));
  return last_new;
}

std::vector<Entry> RaftLog::Slice(LogIndex lo, LogIndex hi, size_t max_bytes) const {
  std::vector<Entry> out;
  size_t bytes = 0;
  for (LogIndex i = lo; i < hi; ++i) {
    const Entry& e = At(i);
    bytes += e.data.size() + 32;
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

void RaftLog::CommitTo(LogIndex index) {
  if (index <= committed_) return;
  FJORD_CHECK(index <= last_index()) << "commit " << index << " beyond last " << last_index();
  committed_ = index;
}

std::vector<Entry> RaftLog::NextToApply(size_t max_bytes) const {
  if (applied_ >= committed_) return {};
  return Slice(applied_ + 1, committed_ + 1, max_bytes);
}

void RaftLog::AppliedTo(LogIndex index) {
  FJORD_CHECK(index <= committed_) << "applied " << index << " > commit " << committed_;
  applied_ = std::max(applied_, index);
}

std::vector<Entry> RaftLog::Unstable() const {
  if (stable_ >= last_index()) return {};
  return std::vector<Entry>(entries_.begin() + (stable_ + 1 - first_index()), entries_.end());
}

void RaftLog::StableTo(LogIndex index) {
  stable_ = std::max(stable_, std::min(index, last_index()));
}

void RaftLog::PersistedTo(LogIndex index, Term term) {
  if (!MatchTerm(index, term)) return;
  persisted_ = std::max(persisted_, std::min(index, stable_));
}

void RaftLog::Restore(const SnapshotMeta& snapshot) {
  FJORD_CHECK(snapshot.index > committed_) << "restore below commit";
  snapshot_ = snapshot;
  entries_.clear();
  committed_ = applied_ = stable_ = persisted_ = snapshot.index;
}

void RaftLog::CompactTo(const SnapshotMeta& snapshot, std::vector<Entry>* removed) {
  FJORD_CHECK(snapshot.index <= applied_) << "compact " << snapshot.index << " > applied";
  if (snapshot.index <= snapshot_.index) return;
  FJORD_CHECK(MatchTerm(snapshot.index, snapshot.term));
  const auto end = entries_.begin() + (snapshot.index + 1 - first_index());
  if (removed != nullptr) {
    removed->insert(removed->end(), std::make_move_iterator(entries_.begin()),
                    std::make_move_iterator(end));
  }
  entries_.erase(entries_.begin(), end);
  snapshot_ = snapshot;
}

}  // namespace fjord::raft
