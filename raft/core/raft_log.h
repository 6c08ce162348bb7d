// The in-memory Raft log of one node: a snapshot base followed by entries.
//
//   snapshot.index   first_index     persisted <= stable         last_index
//        |               |                 |         |                |
//   [ compacted ... ]  [ entry entry ... entry ... entry | unstable ...   ]
//                               ^ applied <= commit <= last_index
//
// `stable` is the last index handed to the caller for persistence (through
// Ready); entries after it are handed out in the next Ready. `persisted` is
// the last index the caller has reported durable: equal to `stable` once
// Advance runs, behind it while an asynchronous write (Raft::AdvanceAsync)
// is in flight. A truncation of a conflicting suffix pulls both back, so the
// next Ready rewrites from the conflict point. Committed entries are never
// truncated (checked).
#pragma once

#include <optional>
#include <vector>

#include "raft/core/types.h"

namespace fjord::raft {

class RaftLog {
 public:
  // Starts from persisted state: a snapshot base and the entries after it.
  RaftLog(const SnapshotMeta& snapshot, std::vector<Entry> entries, LogIndex commit);

  LogIndex first_index() const { return snapshot_.index + 1; }
  LogIndex last_index() const { return snapshot_.index + entries_.size(); }
  Term last_term() const;
  LogIndex committed() const { return committed_; }
  LogIndex applied() const { return applied_; }
  LogIndex stable() const { return stable_; }
  LogIndex persisted() const { return persisted_; }
  const SnapshotMeta& snapshot() const { return snapshot_; }

  // Term of the entry at `index`; nullopt if compacted away or beyond the end.
  // The snapshot's own index answers with the snapshot's term.
  std::optional<Term> TermAt(LogIndex index) const;
  bool MatchTerm(LogIndex index, Term term) const;
  const Entry& At(LogIndex index) const;

  // The Raft paper's "at least as up-to-date" comparison (section 5.4.1).
  bool IsUpToDate(LogIndex last, Term term) const;

  // Leader path: appends entries with consecutive indexes after last_index().
  void Append(std::vector<Entry> entries);
  // Follower path (AppendEntries): if the entry at `prev` has `prev_term`,
  // drops the first conflicting suffix, appends what is new and returns the
  // index of the last entry of the request; otherwise nullopt.
  // Sets *truncated_from to the first index removed, if any.
  std::optional<LogIndex> MaybeAppend(LogIndex prev, Term prev_term, std::vector<Entry> entries,
                                      std::optional<LogIndex>* truncated_from);

  // Entries [lo, hi), stopping early past max_bytes (but at least one).
  std::vector<Entry> Slice(LogIndex lo, LogIndex hi, size_t max_bytes) const;

  void CommitTo(LogIndex index);
  // Entries committed but not yet handed to the state machine, up to max_bytes.
  std::vector<Entry> NextToApply(size_t max_bytes) const;
  void AppliedTo(LogIndex index);
  std::vector<Entry> Unstable() const;
  void StableTo(LogIndex index);
  // The caller made entries through `index` durable, the entry at `index`
  // having `term`. Ignored if that entry has been replaced since (a
  // truncation), so a late report never vouches for different entries.
  void PersistedTo(LogIndex index, Term term);

  // Drops everything; the log restarts after `snapshot` (installed from a leader).
  void Restore(const SnapshotMeta& snapshot);
  // Discards entries up to snapshot.index (<= applied), which become the
  // base. With `removed`, they are moved there instead of destroyed, so the
  // caller can free them off its hot path.
  void CompactTo(const SnapshotMeta& snapshot, std::vector<Entry>* removed = nullptr);

 private:
  SnapshotMeta snapshot_;
  std::vector<Entry> entries_;  // entries_[i].index == first_index() + i.
  LogIndex committed_;
  LogIndex applied_;
  LogIndex stable_;
  LogIndex persisted_;  // <= stable_.
};

}  // namespace fjord::raft
