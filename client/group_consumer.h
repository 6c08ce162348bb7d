// The Fjord consumer in a consumer group (Kafka's subscribe/poll/commit with
// the KIP-848 protocol: the coordinator computes the assignment).
//
//   ASSIGN_OR_RETURN(auto consumer, GroupConsumer::Create(config));  // group.id set
//   RETURN_IF_ERROR(consumer->Subscribe({"orders"}, &listener));
//   while (running) {
//     ASSIGN_OR_RETURN(auto records, consumer->Poll(absl::Milliseconds(500)));
//     for (const ConsumerRecord& r : records) Process(r);
//     RETURN_IF_ERROR(consumer->CommitSync());  // at-least-once
//   }
//   consumer->Close();  // commits (enable.auto.commit), leaves the group
//
// Built on the manual-assignment Consumer: the group decides which
// partitions it reads; the Consumer fetches them.
//
// Threads. The application calls everything from one thread (like Kafka's
// consumer, not thread-safe). A background heartbeat thread talks to the
// coordinator at its heartbeat_interval_ms, also while the application is
// busy between Polls; it only records what the coordinator said. The
// assignment changes on the application's thread, inside Poll, so every
// RebalanceListener callback runs there. A commit thread sends CommitAsync
// and auto-commit requests one at a time, in order; their callbacks run on
// the application's thread in a later Poll/Commit*/Close.
//
// Membership, as the heartbeat thread sees it:
//
//   Subscribe ──> JOINING (epoch 0) ──ok──> STABLE (epoch n) ──Unsubscribe/Close──> leave (-1/-2)
//                     ^                         │
//                     │ OnPartitionsLost ran    │ FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID
//                     └────────── FENCED <──────┘
//
// Reconciliation (in Poll, when a heartbeat brought a new assignment):
// partitions owned but no longer assigned are committed (enable.auto.commit),
// handed to OnPartitionsRevoked and dropped, and only then is the smaller
// owned set reported to the coordinator (which waits for that before giving
// them to anyone else: no partition has two owners). Newly assigned
// partitions start at their committed offset (OffsetFetch), else at
// auto.offset.reset, and go to OnPartitionsAssigned after revocations.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/channels.h"
#include "client/config.h"
#include "client/consumer.h"
#include "client/group_rpc.h"

namespace fjord::client {

// A committed position: the next offset to consume.
struct OffsetAndMetadata {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
};

using OffsetMap = std::map<TopicPartition, OffsetAndMetadata>;

// Called on the application's thread, inside Poll (or Unsubscribe/Close).
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  // Before the partitions are given up; commit their progress here.
  virtual void OnPartitionsRevoked(const std::vector<TopicPartition>& /*partitions*/) {}
  // After their positions are set (committed offset or auto.offset.reset).
  virtual void OnPartitionsAssigned(const std::vector<TopicPartition>& /*partitions*/) {}
  // The member was fenced: the partitions may already belong to another
  // member, so committing them would fail.
  virtual void OnPartitionsLost(const std::vector<TopicPartition>& /*partitions*/) {}
};

// `status` is OK or the first partition's error (STALE_MEMBER_EPOCH, ...).
using CommitCallback = std::function<void(const OffsetMap& offsets, const absl::Status& status)>;

class GroupConsumer {
 public:
  // Needs bootstrap.servers and group.id.
  static absl::StatusOr<std::unique_ptr<GroupConsumer>> Create(const ConsumerConfig& config);
  ~GroupConsumer();  // Close()

  GroupConsumer(const GroupConsumer&) = delete;
  GroupConsumer& operator=(const GroupConsumer&) = delete;

  // Joins the group (or changes the subscription) for `topics`. `listener`
  // (may be null) must outlive the subscription.
  absl::Status Subscribe(const std::vector<std::string>& topics,
                         RebalanceListener* listener = nullptr);
  // Revokes everything (committing first with enable.auto.commit) and
  // leaves the group.
  absl::Status Unsubscribe();

  // Waits up to `timeout` for records of the assigned partitions. Applies
  // assignment changes, runs listener and commit callbacks, and auto-commits
  // every auto.commit.interval.ms the positions returned by earlier Polls.
  absl::StatusOr<std::vector<ConsumerRecord>> Poll(absl::Duration timeout);

  // Commits the positions of every owned partition (the offset after the
  // last record Poll returned), or `offsets`. Waits for earlier CommitAsync
  // calls first, so commits of one consumer land in order.
  absl::Status CommitSync();
  absl::Status CommitSync(const OffsetMap& offsets);
  void CommitAsync(CommitCallback callback = nullptr);
  void CommitAsync(const OffsetMap& offsets, CommitCallback callback);

  // The group's committed offsets of `partitions`; absent when none.
  absl::StatusOr<std::map<TopicPartition, int64_t>> Committed(
      const std::vector<TopicPartition>& partitions);

  // Manual positioning of owned partitions (as Consumer).
  absl::Status Seek(const TopicPartition& tp, int64_t offset);
  absl::StatusOr<int64_t> Position(const TopicPartition& tp);

  // The partitions this member owns now (changes only inside Poll).
  std::vector<TopicPartition> assignment() const;
  std::string member_id();
  int32_t member_epoch();

  // Commits (enable.auto.commit), calls OnPartitionsRevoked, leaves the
  // group (epoch -1, or -2 with group.instance.id so a restart within the
  // session timeout keeps the partitions) and stops the threads.
  void Close();

 private:
  enum class State { kUnsubscribed, kJoining, kStable, kFenced, kFatal };
  struct QueuedCommit {
    OffsetMap offsets;
    CommitCallback callback;
    bool auto_commit = false;
  };
  struct CommitResult {
    OffsetMap offsets;
    CommitCallback callback;
    absl::Status status;
  };

  explicit GroupConsumer(const ConsumerConfig& config, std::unique_ptr<Consumer> consumer);

  // Heartbeat thread.
  void HeartbeatLoop();
  v1::ConsumerGroupHeartbeatRequest BuildHeartbeat() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleHeartbeat(const absl::Status& sent, const v1::ConsumerGroupHeartbeatResponse& response,
                       bool sent_owned, bool sent_subscription) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Commit thread.
  void CommitLoop();
  // Commits under the current member epoch; once more under a newer epoch
  // after STALE_MEMBER_EPOCH if a heartbeat brings one before `deadline`.
  absl::Status SendCommit(const OffsetMap& offsets, absl::Time deadline);
  absl::Status SendCommitOnce(const OffsetMap& offsets, const std::string& member_id, int32_t epoch,
                              absl::Time deadline);

  // Application thread.
  absl::Status Reconcile();
  void ReportOwned();
  OffsetMap CurrentPositions();
  absl::StatusOr<std::map<TopicPartition, int64_t>> FetchCommitted(
      const std::vector<TopicPartition>& partitions, bool as_member);
  void MaybeAutoCommit();
  void RunCommitCallbacks();
  void WaitForQueuedCommits();
  void RevokeAll(bool commit);
  void SendLeave();
  absl::Status CheckUsable();

  const ConsumerConfig config_;
  const std::string client_host_;
  Channels channels_;
  GroupRpc rpc_;
  std::unique_ptr<Consumer> consumer_;  // application thread only

  // Application thread only.
  RebalanceListener* listener_ = nullptr;
  std::set<TopicPartition> owned_;
  absl::Time next_auto_commit_ = absl::InfiniteFuture();
  bool closed_ = false;

  absl::Mutex mu_;                // guards the membership and commit state shared with the threads
  absl::CondVar heartbeat_wake_;  // the heartbeat thread has something to do
  absl::CondVar commit_wake_;     // the commit queue changed
  State state_ ABSL_GUARDED_BY(mu_) = State::kUnsubscribed;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;  // bumped by Subscribe/Unsubscribe
  std::string member_id_ ABSL_GUARDED_BY(mu_);
  int32_t member_epoch_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration heartbeat_interval_ ABSL_GUARDED_BY(mu_);
  absl::Time next_heartbeat_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool heartbeat_now_ ABSL_GUARDED_BY(mu_) = false;
  bool heartbeat_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::string> subscription_ ABSL_GUARDED_BY(mu_);
  bool subscription_dirty_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<TopicPartition> reported_owned_ ABSL_GUARDED_BY(mu_);
  bool owned_dirty_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<std::vector<TopicPartition>> target_ ABSL_GUARDED_BY(mu_);  // to reconcile
  bool lost_pending_ ABSL_GUARDED_BY(mu_) = false;  // fenced: OnPartitionsLost not yet run
  absl::Status fatal_ ABSL_GUARDED_BY(mu_);
  std::deque<QueuedCommit> commit_queue_ ABSL_GUARDED_BY(mu_);
  bool commit_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<CommitResult> commit_results_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;

  std::thread heartbeat_thread_;
  std::thread commit_thread_;
};

}  // namespace fjord::client
