// Plain value types of the Raft core: log entries, hard state, membership,
// snapshots, messages and the Ready batch. No protobuf here: the transport
// converts these to and from proto/fjord/v1 at the edge, so the deterministic
// core depends on nothing but Abseil and common/.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/types.h"

namespace fjord::raft {

enum class EntryType : uint8_t {
  kNormal,        // Application data, handed to the StateMachine.
  kLeaderChange,  // Appended by every new leader at the start of its term.
  kConfig,        // data = Membership::Encode(); takes effect when appended.
};

struct Entry {
  Term term;
  LogIndex index;
  EntryType type = EntryType::kNormal;
  std::string data;

  friend bool operator==(const Entry&, const Entry&) = default;
};

// What must be durable before the node answers any message.
struct HardState {
  Term term;
  NodeId vote = kNoNode;
  LogIndex commit;

  friend bool operator==(const HardState&, const HardState&) = default;
};

// The voter set and the non-voting observers (learners). Both sorted, disjoint.
struct Membership {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;

  bool IsVoter(NodeId id) const;
  bool IsLearner(NodeId id) const;
  bool Contains(NodeId id) const { return IsVoter(id) || IsLearner(id); }
  // Voters then learners.
  std::vector<NodeId> All() const;

  // Text form, also used as the data of kConfig entries: "voters=1,2,3 learners=4".
  std::string Encode() const;
  static std::optional<Membership> Decode(std::string_view text);

  friend bool operator==(const Membership&, const Membership&) = default;
};

// One change at a time: the voter sets before and after differ by at most one
// node, so any two majorities of consecutive configurations overlap.
struct ConfigChange {
  enum class Kind : uint8_t { kAddVoter, kRemoveVoter, kAddLearner, kRemoveLearner };
  Kind kind = Kind::kAddVoter;
  NodeId node = kNoNode;
};

struct SnapshotMeta {
  LogIndex index;  // Last entry the snapshot covers.
  Term term;       // Term of that entry.
  Membership membership;

  friend bool operator==(const SnapshotMeta&, const SnapshotMeta&) = default;
};

struct Snapshot {
  SnapshotMeta meta;
  std::string data;  // Opaque StateMachine image.
};

enum class MessageType : uint8_t {
  kAppend,             // AppendEntries: index/log_term = previous entry.
  kAppendResponse,     // index = match (or rejected prev index); reject_hint = last index.
  kHeartbeat,          // commit = min(follower match, leader commit); context = read id.
  kHeartbeatResponse,  // context echoed.
  kVote,               // RequestVote: index/log_term = candidate's last entry.
  kVoteResponse,
  kPreVote,  // Same fields as kVote at term+1; changes nobody's term.
  kPreVoteResponse,
  kSnapshot,          // One chunk of InstallSnapshot.
  kSnapshotResponse,  // chunk_offset = bytes of the snapshot received so far.
  kTimeoutNow,        // Leadership transfer: campaign now.
};

struct Message {
  MessageType type = MessageType::kAppend;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  Term term;
  LogIndex index;
  Term log_term;
  std::vector<Entry> entries;
  LogIndex commit;
  bool reject = false;
  LogIndex reject_hint;
  // kSnapshot / kSnapshotResponse.
  SnapshotMeta snapshot;
  uint64_t chunk_offset = 0;
  std::string chunk;
  bool chunk_last = false;
  // kHeartbeat(Response): the ReadIndex round this heartbeat confirms (0 = none).
  uint64_t context = 0;
  // kVote/kPreVote sent on TimeoutNow: receivers ignore their leader lease.
  bool transfer = false;
};

// A ReadIndex request that a quorum has confirmed: once the StateMachine has
// applied `index`, the read `request_id` may be served linearizably.
struct ReadState {
  uint64_t request_id = 0;
  LogIndex index;
};

enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };

// Work for the caller, in this order:
//   1. persist `snapshot` (if any), then `entries` (persisting an entry at
//      index i first discards any persisted entries >= i), then `hard_state`,
//      and sync;
//   2. send `messages`;
//   3. restore `snapshot` into the StateMachine, apply `committed_entries`;
//   4. serve `read_states` whose index has been applied;
//   5. call Raft::Advance(ready).
// Two relaxations, both optional (a caller that ignores them is correct):
//   - if `may_send_before_persist`, step 2 may come first, in parallel with
//     the sync (the leader's parallel write; see Raft's header for why it
//     is safe);
//   - without a `snapshot`, committed entries below StableBefore() were
//     persisted by an earlier Ready and may be applied before step 1.
struct Ready {
  std::optional<HardState> hard_state;
  std::vector<Entry> entries;
  std::optional<Snapshot> snapshot;
  std::vector<Message> messages;
  std::vector<Entry> committed_entries;
  std::vector<ReadState> read_states;
  // Set only for a leader whose term and vote are already durable.
  bool may_send_before_persist = false;

  // Entries with a smaller index are durable already (the first new entry's
  // index; committed entries never reach past the log, so "all" otherwise).
  LogIndex StableBefore() const {
    return entries.empty() ? LogIndex(std::numeric_limits<uint64_t>::max()) : entries.front().index;
  }

  bool Empty() const {
    return !hard_state && entries.empty() && !snapshot && messages.empty() &&
           committed_entries.empty() && read_states.empty();
  }
};

const char* ToString(MessageType type);
const char* ToString(Role role);
const char* ToString(EntryType type);
// One line, for logs and golden scenario files.
std::string Describe(const Message& m);
std::string Describe(const Entry& e);

}  // namespace fjord::raft
