#include "raft/sim/checker.h"

#include "absl/strings/str_cat.h"

namespace fjord::raft::sim {
namespace {

uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdULL;
}

constexpr uint64_t kUnknownDigest = ~0ULL;

absl::Status Violation(NodeId node, const std::string& what) {
  return absl::InternalError(absl::StrCat("node ", node.value(), ": ", what));
}

}  // namespace

uint64_t HashEntry(const Entry& e) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over the payload...
  for (unsigned char c : e.data) h = (h ^ c) * 0x100000001b3ULL;
  // ...mixed with the metadata.
  return Mix(Mix(Mix(h, e.term.value()), e.index.value()), static_cast<uint64_t>(e.type));
}

uint64_t ChainHash(uint64_t prev, const Entry& e) { return Mix(prev, HashEntry(e)); }

absl::Status Checker::OnPersist(const Raft& raft, const std::vector<Entry>& entries) {
  for (const Entry& e : entries) {
    std::optional<Term> prev = raft.log().TermAt(e.index - 1);
    if (!prev)
      return Violation(raft.id(), absl::StrCat("persisting ", Describe(e), " after a gap"));
    auto [it, inserted] =
        entries_.try_emplace({e.index.value(), e.term.value()}, HashEntry(e), prev->value());
    if (!inserted && it->second != std::make_pair(HashEntry(e), prev->value())) {
      return Violation(raft.id(), absl::StrCat("log matching: entry ", Describe(e),
                                               " differs from another log's entry with the "
                                               "same index and term"));
    }
  }
  return absl::OkStatus();
}

absl::Status Checker::OnApply(NodeId node, LogIndex index, uint64_t digest) {
  const uint64_t i = index.value();
  if (i >= digests_.size()) digests_.resize(i + 1, kUnknownDigest);
  if (digests_[i] == kUnknownDigest) digests_[i] = digest;
  if (digests_[i] != digest) {
    return Violation(node, absl::StrCat("state machine diverged at index ", i));
  }
  return absl::OkStatus();
}

absl::Status Checker::OnRestore(NodeId node, LogIndex index, uint64_t digest) {
  const uint64_t i = index.value();
  if (i >= digests_.size()) digests_.resize(i + 1, kUnknownDigest);
  if (digests_[i] == kUnknownDigest) digests_[i] = digest;
  if (digests_[i] != digest) {
    return Violation(
        node, absl::StrCat("snapshot at ", index.value(), " does not match the applied history"));
  }
  return absl::OkStatus();
}

void Checker::OnRestart(NodeId node) {
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return;
  it->second.leader = false;
  // The restarted core re-derives its commit from disk; compare from there.
  // The commit index is volatile state (Figure 2): a write that only
  // advanced it is not synced, and under asynchronous leader writes neither
  // is the last Ready's, so a restart may find an older one and re-learn the
  // rest. What must never change, committed entries, is checked across
  // restarts all the same.
  it->second.checked_commit = LogIndex(0);
  it->second.commit = LogIndex(0);
}

absl::Status Checker::OnReadState(NodeId node, const ReadState& rs) {
  auto it = read_floor_.find(rs.request_id);
  if (it == read_floor_.end()) return Violation(node, "unknown read");
  if (rs.index < it->second) {
    return Violation(
        node, absl::StrCat("read ", rs.request_id, " at index ", rs.index.value(),
                           " misses entries committed before it, up to ", it->second.value()));
  }
  read_floor_.erase(it);
  return absl::OkStatus();
}

absl::Status Checker::AfterEvent(const std::vector<const Raft*>& nodes) {
  for (const Raft* raft : nodes) {
    absl::Status s = CheckNode(*raft);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Checker::CheckNode(const Raft& raft) {
  NodeTrack& track = nodes_[raft.id()];
  if (raft.term() < track.term) {
    return Violation(raft.id(), absl::StrCat("term went back from ", track.term.value(), " to ",
                                             raft.term().value()));
  }
  const RaftLog& log = raft.log();
  if (log.committed() < track.commit) {
    return Violation(raft.id(), absl::StrCat("commit index went back from ", track.commit.value(),
                                             " to ", log.committed().value()));
  }
  // Committed entries: first sight defines them, every later sight must agree.
  for (LogIndex i = std::max(track.checked_commit, log.snapshot().index) + 1; i <= log.committed();
       ++i) {
    const Entry& e = log.At(i);
    if (i.value() >= committed_.size()) committed_.resize(i.value() + 1, {Term(0), 0});
    // Term 0 marks an index first seen committed inside some node's snapshot.
    if (committed_[i.value()].first == Term(0)) committed_[i.value()] = {e.term, HashEntry(e)};
    if (committed_[i.value()] != std::make_pair(e.term, HashEntry(e))) {
      return Violation(raft.id(),
                       absl::StrCat("committed entry at ", i.value(), " changed to ", Describe(e)));
    }
  }
  max_committed_ = std::max(max_committed_, log.committed());
  track.term = raft.term();
  track.commit = log.committed();
  track.checked_commit = log.committed();

  const bool leader = raft.role() == Role::kLeader;
  if (leader && !(track.leader && leaders_[raft.term()] == raft.id())) {
    auto [it, inserted] = leaders_.try_emplace(raft.term(), raft.id());
    if (!inserted && it->second != raft.id()) {
      return Violation(raft.id(), absl::StrCat("second leader in term ", raft.term().value(),
                                               " (first: node ", it->second.value(), ")"));
    }
    absl::Status s = CheckLeaderCompleteness(raft);
    if (!s.ok()) return s;
  }
  track.leader = leader;
  return absl::OkStatus();
}

absl::Status Checker::CheckLeaderCompleteness(const Raft& raft) {
  const RaftLog& log = raft.log();
  for (LogIndex i = log.snapshot().index + 1; i <= max_committed_; ++i) {
    if (i.value() >= committed_.size() || committed_[i.value()].first == Term(0)) continue;
    std::optional<Term> t = log.TermAt(i);
    if (!t || *t != committed_[i.value()].first) {
      return Violation(raft.id(),
                       absl::StrCat("leader completeness: new leader of term ", raft.term().value(),
                                    " lacks committed entry ", i.value()));
    }
  }
  return absl::OkStatus();
}

}  // namespace fjord::raft::sim
