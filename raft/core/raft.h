// Raft: one node's consensus state machine, deterministic and single-threaded.
//
// Design: classic push replication (etcd-io/raft), not KRaft's pull model.
// The leader pushes AppendEntries; followers answer. Push keeps the message
// set to the paper's (plus Pre-Vote and TimeoutNow), gives the leader an exact
// per-follower view for the bounded in-flight window, and makes the
// simulation's schedules easy to reason about. Observers (learners) receive
// the same appends but neither vote nor count toward commit.
//
// Inputs: Step(message), Tick(), and local requests (Propose,
// ProposeConfigChange, TransferLeadership, ReadIndex, CompactLog). Output:
// a Ready batch (see types.h for the order the caller must follow). No
// threads, clocks, files or sockets; randomness only from the injected Random.
//
// Roles:
//
//              election timeout            pre-votes from a majority
//   +----------+  ----------->  +--------------+  ------------>  +-----------+
//   | Follower |                | PreCandidate |                 | Candidate | <-+ timeout
//   +----------+  <-----------  +--------------+                 +-----------+ --+
//     ^  ^  ^     higher term / leader seen                        |      |
//     |  |  +------------------------------------------------------+      | votes from
//     |  |        higher term / AppendEntries of the current term          | a majority
//     |  |                                                                 v
//     |  +----------------------------------------------------------+----------+
//     |     higher term; CheckQuorum fails; removed from the voters  |  Leader  |
//     +--------------------------------------------------------------+----------+
//   TimeoutNow (leadership transfer) sends a follower straight to Candidate.
//
// Safety rules worth stating:
// - A new leader appends a kLeaderChange entry; the commit index only moves
//   to an entry of the leader's own term (Raft paper, section 5.4.2).
// - Membership changes one voter (or learner) at a time; a configuration
//   takes effect as soon as its entry is appended (Ongaro's thesis, 4.1) and
//   is rolled back if that entry is truncated. A leader proposes a change
//   only once an entry of its term is committed and no change is pending.
// - Pre-Vote (thesis 9.6): a node first asks whether it could win, without
//   raising any term. CheckQuorum: a leader that has not heard from a
//   majority within an election timeout steps down, and a follower that has
//   heard from a leader within one ignores vote requests (its "lease"),
//   except those caused by a leadership transfer.
// - The leader's parallel write (etcd's; Ongaro's thesis 10.2.1): a
//   leader's Ready says `may_send_before_persist` when its term and vote are
//   already durable, so the caller may send its appends while it syncs their
//   entries locally. This is safe because the leader counts its own match
//   index only in Advance, for entries the caller has persisted: a commit
//   always rests on a majority of durable copies, the leader's included only
//   when its fsync has finished. If the leader crashes before syncing, it
//   loses entries that only followers hold; nothing it said was committed
//   depends on them, and as its term is durable it can never lead that term
//   again and write different entries at those indexes. Messages that make
//   promises (votes, append acknowledgements) come from followers and
//   candidates, whose Readies never carry the flag; a Ready that changes the
//   term or vote (a lone voter electing itself) never carries it either.
//   The simulation sends early and crashes leaders between send and sync,
//   and UnsafeVariant::kCountSelfBeforePersist shows its checker catches a
//   leader that counts itself too early.
// - Linearizable reads use ReadIndex (thesis 6.4), not leases: the leader
//   records its commit index, confirms it is still leader with a heartbeat
//   round acknowledged by a majority, then reports a ReadState; the caller
//   serves the read once it has applied that index. Only the leader accepts
//   ReadIndex; followers answer NOT_LEADER and the caller retries there.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/random.h"
#include "raft/core/progress.h"
#include "raft/core/raft_log.h"
#include "raft/core/types.h"

namespace fjord::raft {

// Deliberately unsafe behaviours, only for proving that the simulation's
// checker can fail. Never set outside tests.
enum class UnsafeVariant : uint8_t {
  kNone,
  // The leader commits any entry stored on a majority, whatever its term
  // (the Figure 8 bug of the Raft paper), and appends no leader-change entry.
  kCommitPriorTermByCount,
  // A candidate ignores the up-to-date check when granting votes.
  kVoteWithoutLogCheck,
  // The leader counts its own entries toward commit as soon as it appends
  // them, not once they are persisted: unsafe with the parallel write.
  kCountSelfBeforePersist,
};

struct RaftConfig {
  NodeId id = kNoNode;
  // Ticks without a leader before a follower campaigns; each node draws its
  // actual timeout uniformly from [election_ticks, 2 * election_ticks).
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  bool pre_vote = true;
  bool check_quorum = true;
  // Bound on the bytes of entries in one append, and on committed entries
  // handed out in one Ready.
  size_t max_append_bytes = 1 << 20;
  size_t max_apply_bytes = 4 << 20;
  // Snapshots travel in chunks of this many bytes.
  size_t snapshot_chunk_bytes = 1 << 20;
  UnsafeVariant unsafe = UnsafeVariant::kNone;
};

// What the node had persisted when it (re)started.
struct PersistedState {
  HardState hard_state;
  Snapshot snapshot;  // For a fresh group: index 0, term 0, the initial membership.
  std::vector<Entry> entries;
};

class Raft {
 public:
  Raft(const RaftConfig& config, PersistedState state, Random* random);
  Raft(const Raft&) = delete;
  Raft& operator=(const Raft&) = delete;

  // --- Inputs ---
  void Step(const Message& m);
  void Tick();
  // Appends `data` if this node is the leader; returns its index, or
  // FAILED_PRECONDITION ("not leader", or a transfer in progress).
  absl::StatusOr<LogIndex> Propose(std::string data);
  absl::StatusOr<LogIndex> ProposeConfigChange(const ConfigChange& change);
  absl::Status TransferLeadership(NodeId target);
  // Starts a ReadIndex round; `request_id` (> 0, increasing) comes back in a
  // ReadState once confirmed. UNAVAILABLE until the leader has committed an
  // entry of its term; FAILED_PRECONDITION if not leader.
  absl::Status ReadIndex(uint64_t request_id);
  // The state machine has applied through `index` and captured `data`: keep
  // it as the snapshot to send to laggards and drop the log up to `index`.
  // The caller persists the returned snapshot before discarding its log.
  // With `removed`, the dropped entries are moved there (see RaftLog::CompactTo).
  absl::StatusOr<SnapshotMeta> CompactLog(LogIndex index, std::string data,
                                          std::vector<Entry>* removed = nullptr);

  // --- Output ---
  bool HasReady() const;
  Ready GetReady();
  // The caller has done everything `ready` asked, its persistence (and that
  // of every earlier Ready) included.
  void Advance(const Ready& ready);
  // For a Ready with may_send_before_persist (a leader's): its messages are
  // sent and its entries and hard state handed to storage, but they may not
  // be durable yet (etcd's asynchronous storage writes). The caller keeps
  // stepping and reports durability with OnPersisted; until then the
  // leader does not count its own copies toward commit, so a commit still
  // rests on a majority of durable copies. Writes must reach the disk in
  // Ready order, and a later Ready without the flag must wait for them.
  void AdvanceAsync(const Ready& ready);
  // Entries through `index` are durable; the entry at `index` has `term`
  // (the last entry of a Ready passed to AdvanceAsync). A report about an
  // entry replaced since is ignored.
  void OnPersisted(LogIndex index, Term term);

  // --- Observation ---
  NodeId id() const { return config_.id; }
  Role role() const { return role_; }
  Term term() const { return term_; }
  NodeId vote() const { return vote_; }
  NodeId leader() const { return leader_; }
  const RaftLog& log() const { return log_; }
  const Membership& membership() const;
  const Snapshot& snapshot() const { return snapshot_; }
  // Progress of a peer as seen by this leader (nullptr if none).
  const Progress* progress(NodeId peer) const;

 private:
  bool IsVoter() const { return membership().IsVoter(config_.id); }
  // Voters campaign. So does a voter whose removal is appended but not yet
  // committed: otherwise a two-voter group whose leader removed itself and
  // then failed could never elect anyone (the survivor needs its vote).
  bool CanCampaign() const;
  HardState CurrentHardState() const { return {term_, vote_, log_.committed()}; }
  void ResetTerm(Term term);
  void ResetElectionTimer();
  void BecomeFollower(Term term, NodeId leader);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  void Campaign(bool pre_vote, bool transfer);
  void Send(Message m);

  // Membership follows the log: the newest config entry, else the snapshot's.
  void OnEntriesAppended(const std::vector<Entry>& entries);
  void OnTruncated(LogIndex from);
  void SyncProgressWithMembership();
  Membership MembershipAt(LogIndex index) const;

  void StepLeader(const Message& m);
  void StepCandidate(const Message& m);
  void StepFollower(const Message& m);
  void HandleVoteRequest(const Message& m);
  void HandleAppend(const Message& m);
  void HandleHeartbeat(const Message& m);
  void HandleSnapshotChunk(const Message& m);
  void HandleAppendResponse(const Message& m, Progress& pr);
  void HandleHeartbeatResponse(const Message& m, Progress& pr);
  void HandleSnapshotResponse(const Message& m, Progress& pr);

  void AdvanceAsync(const Ready& ready, bool check_may_send);
  void AppendAsLeader(EntryType type, std::string data);
  bool MaybeCommit();
  void BroadcastAppend();
  void BroadcastHeartbeat(uint64_t context);
  bool MaybeSendAppend(NodeId to, bool send_if_empty);
  void SendSnapshotChunk(NodeId to, Progress& pr);
  void SendTimeoutNow(NodeId to);
  bool CommittedInCurrentTerm() const;
  bool CountSelfEarly() const { return config_.unsafe == UnsafeVariant::kCountSelfBeforePersist; }
  void ReleaseConfirmedReads(uint64_t context, NodeId from);

  RaftConfig config_;
  Random* random_;
  RaftLog log_;
  Snapshot snapshot_;  // Latest snapshot held locally (sent to laggards).

  Term term_;
  NodeId vote_;
  NodeId leader_ = kNoNode;
  Role role_ = Role::kFollower;
  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_ticks_ = 0;

  std::vector<std::pair<LogIndex, Membership>> config_log_;  // Config entries in the log.
  LogIndex last_config_index_{0};

  std::map<NodeId, Progress> progress_;  // Leader only; ordered for determinism.
  std::map<NodeId, bool> votes_;         // (Pre)candidate only.
  NodeId transferee_ = kNoNode;

  struct PendingRead {
    uint64_t request_id;
    LogIndex index;
    std::vector<NodeId> acks;
  };
  std::deque<PendingRead> pending_reads_;
  std::vector<ReadState> read_states_;

  // Follower side of a chunked snapshot transfer.
  SnapshotMeta incoming_meta_;
  std::string incoming_data_;
  std::optional<Snapshot> snapshot_to_restore_;

  std::vector<Message> outbox_;
  bool pending_broadcast_ = false;  // Proposals wait to be sent in one batch.
  HardState last_ready_hard_state_;
  bool ready_outstanding_ = false;
};

}  // namespace fjord::raft
