// RaftNode: the driver that runs one Raft core on its own thread.
//
//   callers (any thread)          node thread
//   Propose / ReadIndex /   --->  inbox --> Step / Propose / Tick (timer)
//   Receive(message)                             |
//                                               Ready
//                                                 | 1. RocksStorage::SaveReady (synced)
//                                                 | 2. Transport::Send
//                                                 | 3. StateMachine::Restore / Apply
//                                                 | 4. complete proposals and reads
//                                                 v 5. Raft::Advance
//
// Two steps move earlier when the core allows it: a leader whose term and
// vote are durable sends (2) before its sync (etcd's parallel write), and
// committed entries that earlier Readies persisted are applied (3, 4)
// before this Ready's sync, so a commit never waits for an unrelated fsync.
//
// With NodeOptions::async_storage_writes, such a leader does not wait for
// its disk at all (etcd's asynchronous storage writes): it sends
// (2), applies what is committed (3, 4), hands the entries to its
// StorageWriter thread and calls Raft::AdvanceAsync; once they are synced,
// the writer posts Raft::OnPersisted to the inbox, and only then does the
// leader count its own copy. Acknowledgements are handled while its fsync
// runs, and two followers' durable copies commit an entry on their own.
// Before any synchronous use of the storage (a non-leader Ready, a
// snapshot) the node waits for the writer to drain, so writes reach the
// disk in Ready order.
//
// Everything in the inbox is handled before the next Ready, so proposals
// arriving together share one fsync (group commit). The timer turns
// `tick_interval` into Raft::Tick; election timeouts are counted in ticks.
// Callbacks run on the node thread: keep them short and never wait in them
// for another call on this node.
//
// A storage failure is fatal (the process aborts): a node that cannot make
// its votes and entries durable must not keep talking.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "raft/core/raft.h"
#include "raft/node/state_machine.h"
#include "raft/node/storage_writer.h"
#include "raft/storage/rocks_storage.h"

namespace fjord::raft {

// When a proposal passed each stage on the leader (for benchmarks);
// InfinitePast for a stage not seen (a lone voter sends nothing).
struct ProposalStages {
  absl::Time proposed = absl::InfinitePast();   // Propose was called.
  absl::Time started = absl::InfinitePast();    // The node thread appended it.
  absl::Time sent = absl::InfinitePast();       // The first append carrying it left.
  absl::Time committed = absl::InfinitePast();  // The node thread saw it committed.
  absl::Time done = absl::InfinitePast();       // Its callback was about to run.
};

struct NodeOptions {
  NodeId id = kNoNode;
  // Used only when the data directory is empty. Voters of a new group all
  // list the same voters; a node that will join an existing group lists none
  // and waits to be added (as an observer first, then perhaps a voter).
  std::vector<NodeId> initial_voters;
  std::vector<NodeId> initial_observers;
  std::string data_dir;
  absl::Duration tick_interval = absl::Milliseconds(50);
  int election_ticks = 10;  // Election timeout: 10 ticks, randomized up to 20.
  int heartbeat_ticks = 1;
  // Take a state machine snapshot and compact the log every this many entries.
  uint64_t snapshot_every_entries = 10'000;
  // Proposals and reads not resolved by then fail with DEADLINE_EXCEEDED
  // (outcome unknown for proposals).
  absl::Duration request_timeout = absl::Seconds(10);
  // When this node stops being the leader of the term a pending proposal was
  // appended in (it steps down, or is deposed), fail that proposal at once
  // with NOT_LEADER_OR_FOLLOWER (leader hint attached) instead of letting it
  // wait for request_timeout. Its outcome is unknown: the entry may still
  // commit under the next leader, which the state machine will see in Apply.
  // Entries committed before the loss are applied, and their proposals
  // completed, first. Off by default (the historical behaviour).
  bool fail_proposals_on_leadership_loss = false;
  // A leader writes its log on a StorageWriter thread and keeps stepping
  // meanwhile (see the class comment): a commit then waits for the faster
  // two of three fsyncs instead of always for the leader's, and
  // acknowledgements are not held behind it. The seeded simulation drives
  // this path in half of its seeds. Off by default: in raft_bench it is
  // within noise of the synchronous path once memtable flushes stopped
  // stalling fsyncs (docs/benchmarks.md, Raft), and with it on,
  // quorum_controller_test (100-200 ms election timeouts) lost leadership in
  // 2 of 16 heavily loaded parallel runs against 0 of 16 without; that is
  // not understood yet. Off: every Ready is persisted on the node thread.
  bool async_storage_writes = false;
  // Benchmarks only (raft_bench --stages): called on the node thread just
  // before a proposal's successful callback, with when it passed each
  // stage. Unset: no timestamps are taken.
  std::function<void(const ProposalStages&)> on_proposal_stages;
};

// A point-in-time view of the node, for status pages and tests.
struct NodeStatus {
  NodeId id = kNoNode;
  Role role = Role::kFollower;
  Term term;
  NodeId leader = kNoNode;
  LogIndex commit;
  LogIndex applied;
  Membership membership;
};

// The leader's view of one member's log (a copy of the core's Progress),
// for status pages such as DescribeCluster.
struct PeerProgress {
  NodeId id = kNoNode;
  // Last index known to be stored on that member (the leader's own: the
  // last it has persisted). 0 until the member answers this leader.
  LogIndex match;
  // Last time its match reached the end the leader's log had one batch of
  // work earlier (Kafka's lastCaughtUpTimestamp, approximately);
  // InfinitePast if not since this node became leader.
  absl::Time last_caught_up = absl::InfinitePast();
};

class RaftNode {
 public:
  using IndexCallback = std::function<void(absl::StatusOr<LogIndex>)>;
  using ReadCallback = std::function<void(absl::Status)>;
  // The leader appended the proposal at `index` in `term` (not yet committed).
  using AppendedCallback = std::function<void(LogIndex index, Term term)>;

  // Loads (or bootstraps) the node's state from options.data_dir, restores
  // the state machine from the latest snapshot and starts the thread.
  static absl::StatusOr<std::unique_ptr<RaftNode>> Start(const NodeOptions& options,
                                                         StateMachine* state_machine,
                                                         Transport* transport);
  ~RaftNode();  // Stops the thread; pending callbacks get CANCELLED.

  // Replicates `data`; `done` gets its index once committed and applied
  // here, or an error. NOT_LEADER_OR_FOLLOWER carries the leader hint
  // (LeaderHint below).
  void Propose(std::string data, IndexCallback done);
  void ProposeConfigChange(ConfigChange change, IndexCallback done);
  // The same, and `appended` runs (on the node thread, before `done`) as
  // soon as the leader has appended the entry, with its index and term, so
  // the caller knows where its write sits before it commits (KRaft's
  // scheduleAppend returning the offset). Not called when the proposal is
  // refused: then only `done` runs, with the error.
  void Propose(std::string data, AppendedCallback appended, IndexCallback done);
  void ProposeConfigChange(ConfigChange change, AppendedCallback appended, IndexCallback done);
  void TransferLeadership(NodeId target);
  // Linearizable read barrier (ReadIndex): `done` gets OK once the local
  // state machine reflects every write committed before this call; the
  // caller then reads it. Leader only.
  void ReadIndex(ReadCallback done);
  // A message from a peer (called by the transport, any thread).
  void Receive(Message message);

  NodeStatus status() const;
  // Every member (voters, then observers) while this node leads; empty
  // otherwise. A copy refreshed after each batch of work.
  std::vector<PeerProgress> progress() const;

 private:
  using Task = std::function<void()>;
  RaftNode(const NodeOptions& options, StateMachine* sm, Transport* transport,
           std::unique_ptr<RocksStorage> storage, PersistedState state);
  void Post(Task task);
  void Loop();
  void HandleReady();
  // HandleReady for a Ready that may be persisted asynchronously (a leader's).
  void HandleReadyAsync(Ready rd);
  // Restores rd.snapshot if `with_snapshot`, then applies the committed
  // entries with index in [from, to) and completes their requests.
  void Apply(const Ready& rd, bool with_snapshot, LogIndex from, LogIndex to);
  void MaybeCompact();
  void ExpireRequests(absl::Time now);
  // fail_proposals_on_leadership_loss: fail proposals of a term we no
  // longer lead. Runs after each HandleReady, so commits are applied first.
  void FailStrandedProposals();
  // Registers a proposal the core accepted (or answers `done` with its error).
  void TrackProposal(absl::StatusOr<LogIndex> index, AppendedCallback appended, IndexCallback done,
                     absl::Time proposed);
  // on_proposal_stages: stamps the pending proposals of `entries` as
  // committed, and those first carried by an append of `messages` as sent.
  void StampCommitted(const std::vector<Entry>& entries);
  void StampSent(const std::vector<Message>& messages);
  void Shutdown();
  // Node thread: the PeerProgress copy that progress() returns.
  std::vector<PeerProgress> CollectProgress(absl::Time now);

  const NodeOptions options_;
  StateMachine* const sm_;
  Transport* const transport_;
  std::unique_ptr<RocksStorage> storage_;
  // Writes a leader's Readies; storage_ is used directly only after Drain.
  std::unique_ptr<StorageWriter> writer_;
  std::unique_ptr<Random> random_;
  std::unique_ptr<Raft> raft_;  // Node thread only, like everything below.

  struct PendingProposal {
    Term term;
    IndexCallback done;
    absl::Time deadline;
    ProposalStages stages;  // Only with on_proposal_stages.
  };
  std::map<LogIndex, PendingProposal> proposals_;
  struct PendingRead {
    ReadCallback done;
    absl::Time deadline;
    std::optional<LogIndex> index;  // Set once confirmed by a quorum.
  };
  std::map<uint64_t, PendingRead> reads_;
  uint64_t next_read_id_ = 1;
  LogIndex applied_;
  std::map<NodeId, absl::Time> caught_up_;  // Since this node became leader.
  LogIndex last_index_before_;              // The log's end at the previous CollectProgress.

  mutable absl::Mutex mu_;  // Guards the inbox, the stop flag and the status copy.
  std::deque<Task> inbox_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  NodeStatus status_ ABSL_GUARDED_BY(mu_);
  std::vector<PeerProgress> progress_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// The leader a NOT_LEADER_OR_FOLLOWER error from RaftNode points to, if known.
std::optional<NodeId> LeaderHint(const absl::Status& status);

}  // namespace fjord::raft
