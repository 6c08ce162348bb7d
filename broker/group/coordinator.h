// GroupCoordinator: the consumer-group coordinator of one broker (Kafka's
// GroupCoordinatorService + CoordinatorRuntime). For every partition of
// __consumer_offsets this broker leads, it keeps a shard: a
// GroupStateMachine rebuilt from the partition's log, through which all the
// partition's groups' requests go.
//
// Shard lifecycle (driven by the replica's role, polled every `tick`):
//
//   (none) --replica leader at epoch e--> Loading --log read, replayed--> Active
//     ^                                                                   |
//     +---- no longer leader / new leader epoch / an append failed -------+
//
// Requests: NOT_COORDINATOR when this broker does not lead the group's
// partition, COORDINATOR_LOAD_IN_PROGRESS while Loading,
// COORDINATOR_NOT_AVAILABLE before __consumer_offsets exists (the first
// FindCoordinator asks the controller to create it: compacted,
// offsets.topic.num.partitions x offsets.topic.replication.factor).
//
// Writes: under the shard's lock the state machine turns a request into a
// response plus records and applies them; the records are queued, and one
// appender at a time appends everything queued (group commit: requests that
// arrive during an append and its fsync share the next one) through the
// replica's leader path with acks=all (min.insync.replicas applies). The
// caller then waits in the purgatory until the high watermark passes the
// last record persisted at or after its own (also for requests that wrote
// nothing, so no answer reveals uncommitted state), at most
// offsets.commit.timeout.ms. A heartbeat that changed nothing reveals only
// its member's state, so it waits only for that member's last record (as
// Kafka answers such heartbeats from memory): other members' and groups'
// writes in flight do not delay it. A failed append leaves the state
// machine ahead of the log, so the shard is dropped and reloaded.
//
// Threads: gRPC handler threads call the request methods; one ticker thread
// follows leadership, loads shards, runs the state machines' timers and
// creates the offsets topic; one lag thread refreshes the lag snapshot
// (high watermarks from local leaders, or ListOffsets from the remote
// leader). `mu_` guards the shard map; each shard's `mu` its state machine.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "broker/group/group_state_machine.h"
#include "broker/group/topic_creator.h"
#include "broker/metadata_cache.h"
#include "broker/purgatory.h"
#include "broker/replica_manager.h"
#include "common/random.h"
#include "proto/fjord/v1/broker.grpc.pb.h"
#include "proto/fjord/v1/group.pb.h"

namespace fjord::group {

using broker::MetadataCache;
using broker::Purgatory;
using broker::Replica;
using broker::ReplicaManager;

struct CoordinatorOptions {
  // Filled by the BrokerServer.
  BrokerId local{0};
  std::string listener_name = "PLAINTEXT";

  GroupConfig group;
  // offsets.topic.num.partitions, offsets.topic.replication.factor
  int32_t offsets_topic_num_partitions = 50;
  int16_t offsets_topic_replication_factor = 3;
  // offsets.topic.segment.bytes
  int64_t offsets_topic_segment_bytes = 100 << 20;
  // offsets.commit.timeout.ms: how long a write waits for the ISR.
  absl::Duration commit_timeout = absl::Milliseconds(5000);
  // May be null: then the topic must be created by someone else.
  TopicCreator* topic_creator = nullptr;
  absl::Duration tick = absl::Milliseconds(50);
  // How often the lag snapshot is refreshed; zero disables it.
  absl::Duration lag_interval = absl::Seconds(5);
};

// One committed offset and its partition's high watermark.
struct LagEntry {
  std::string group_id;
  std::string topic;
  int32_t partition = 0;
  int64_t committed = 0;
  int64_t high_watermark = -1;  // -1: unknown (leader unreachable)
  int64_t lag() const {
    return high_watermark < 0 ? -1 : std::max<int64_t>(0, high_watermark - committed);
  }
};

class GroupCoordinator {
 public:
  // All references must outlive the coordinator.
  GroupCoordinator(CoordinatorOptions options, ReplicaManager& replicas, MetadataCache& metadata,
                   Purgatory& purgatory, const Clock& clock);
  ~GroupCoordinator();
  GroupCoordinator(const GroupCoordinator&) = delete;
  GroupCoordinator& operator=(const GroupCoordinator&) = delete;

  void Start();
  void Shutdown();

  // The RPCs (thread-safe; writes block until committed or timed out).
  v1::FindCoordinatorResponse FindCoordinator(const v1::FindCoordinatorRequest& request);
  v1::ConsumerGroupHeartbeatResponse Heartbeat(const v1::ConsumerGroupHeartbeatRequest& request);
  v1::OffsetCommitResponse OffsetCommit(const v1::OffsetCommitRequest& request);
  v1::OffsetFetchResponse OffsetFetch(const v1::OffsetFetchRequest& request);
  v1::OffsetDeleteResponse OffsetDelete(const v1::OffsetDeleteRequest& request);
  v1::ListGroupsResponse ListGroups(const v1::ListGroupsRequest& request);
  v1::ConsumerGroupDescribeResponse Describe(const v1::ConsumerGroupDescribeRequest& request);
  v1::DeleteGroupsResponse DeleteGroups(const v1::DeleteGroupsRequest& request);

  // One pass of the ticker's work (the ticker calls it; tests may too).
  void RunOnce();
  // Recomputes the lag snapshot now (the lag thread calls it).
  void RefreshLag();
  std::vector<LagEntry> LagSnapshot() const;
  // Offsets partitions this broker has loaded (tests, metrics).
  std::vector<int32_t> ActivePartitions() const;

 private:
  struct Shard;
  // An error to answer with instead of the state machine's response.
  struct Failure {
    v1::ErrorCode code;
    std::string message;
  };
  // Runs `op` on the group's shard, persists its records and waits for them
  // to commit. Returns the failure instead when the shard is not available
  // or the write failed. For a heartbeat, `member` is the member answered:
  // when `op` wrote nothing, only that member's records must commit first;
  // when the answer is replaced by a failure, the member's next answer
  // carries its assignment again.
  template <typename Response>
  std::variant<Response, Failure> Run(
      const std::string& group_id,
      const std::function<Response(GroupStateMachine&, const TopicLookup&,
                                   GroupStateMachine::Records*)>& op,
      const std::string* member = nullptr);
  // The response, or an empty one carrying the failure's error.
  template <typename Response>
  static Response ResponseOrError(std::variant<Response, Failure> result);
  // The shard coordinating `group_id`, or the error to answer.
  std::variant<std::shared_ptr<Shard>, Failure> ShardFor(const std::string& group_id);
  // With the shard's lock held (released while appending): queues the
  // records an operation applied and returns once they and everything
  // applied before them are in the log, with the offset the high watermark
  // must pass before the operation may be answered. An append error breaks
  // the shard (see the class comment).
  absl::StatusOr<Offset> PersistLocked(Shard& shard, GroupStateMachine::Records records);
  // With the shard's lock held: the offset the high watermark must pass
  // before an answer may reveal the member's state (its last record, and
  // whatever the log held at load), once its last record is appended.
  absl::StatusOr<Offset> MemberWrittenLocked(Shard& shard, const std::string& group_id,
                                             const std::string& member_id);
  // Waits until the high watermark passes `offset`.
  absl::Status WaitCommitted(const Shard& shard, Offset offset);
  void Load(const std::shared_ptr<Shard>& shard);
  void SyncShards();
  void MaybeCreateTopic();
  // A thread's loop: `work` every `interval` until Shutdown.
  void RunEvery(absl::Duration interval, void (GroupCoordinator::*work)());
  TopicLookup Topics() const;
  std::shared_ptr<v1::BrokerService::Stub> StubFor(BrokerId broker,
                                                   const controller::MetadataImage& image);

  const CoordinatorOptions options_;
  ReplicaManager& replicas_;
  MetadataCache& metadata_;
  Purgatory& purgatory_;
  const Clock& clock_;

  mutable absl::Mutex mu_;
  std::map<int32_t, std::shared_ptr<Shard>> shards_ ABSL_GUARDED_BY(mu_);
  bool create_wanted_ ABSL_GUARDED_BY(mu_) = false;
  std::string create_error_ ABSL_GUARDED_BY(mu_);
  absl::Duration next_create_attempt_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  SeededRandom seeds_ ABSL_GUARDED_BY(mu_);

  mutable absl::Mutex lag_mu_;
  std::vector<LagEntry> lag_ ABSL_GUARDED_BY(lag_mu_);
  // Lag thread only.
  std::map<std::string, std::shared_ptr<v1::BrokerService::Stub>> stubs_;

  std::thread ticker_;
  std::thread lag_thread_;
};

}  // namespace fjord::group
