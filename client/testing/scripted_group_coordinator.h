// A scripted, in-process GroupService for the group consumer's unit tests.
// The test decides each member's assignment (SetAssignment) and can fence a
// member or fail heartbeats; the fake records every heartbeat and commit it
// receives so tests can check what the client sent and in which order. It
// keeps KIP-848's epoch rules: a new assignment bumps the member's epoch on
// its next heartbeat; commits must carry the current epoch (else
// STALE_MEMBER_EPOCH) of a known member (else UNKNOWN_MEMBER_ID). It is not a
// coordinator (no assignor, no log): the real one runs in broker/group/.
// Served on a ScriptedBroker's port (ScriptedBroker::AddService), whose
// address FindCoordinator returns.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/producer_batch.h"
#include "client/testing/scripted_broker.h"
#include "proto/fjord/v1/group.grpc.pb.h"

namespace fjord::client::testing {

class ScriptedGroupCoordinator final : public v1::GroupService::Service {
 public:
  struct Heartbeat {
    absl::Time at;
    v1::ConsumerGroupHeartbeatRequest request;
  };
  struct Commit {
    absl::Time at;
    v1::OffsetCommitRequest request;
    v1::ErrorCode result = v1::NONE;
  };

  // `broker` is where FindCoordinator points (it must serve this service).
  explicit ScriptedGroupCoordinator(ScriptedBroker* broker, int heartbeat_interval_ms = 50);

  // Gives `member_id` the complete assignment `partitions` (sent with a new
  // epoch on its next heartbeat).
  void SetAssignment(const std::string& member_id, const std::vector<TopicPartition>& partitions);
  // As SetAssignment, but the member's epoch moves now, as the real
  // coordinator's does: until its next heartbeat tells it, the member's
  // commits are STALE_MEMBER_EPOCH (its heartbeats with the previous epoch
  // are still accepted, as in KIP-848).
  void SetAssignmentBumpingEpochNow(const std::string& member_id,
                                    const std::vector<TopicPartition>& partitions);
  // The next heartbeat of `member_id` answers FENCED_MEMBER_EPOCH and the
  // member is forgotten.
  void Fence(const std::string& member_id);
  // The next `count` heartbeats answer `code` (e.g. NOT_COORDINATOR).
  void FailHeartbeats(int count, v1::ErrorCode code);
  void SetCommitted(const TopicPartition& tp, int64_t offset);

  // Waits (bounded) until some heartbeat satisfies `match`; false on timeout.
  bool WaitForHeartbeat(const std::function<bool(const Heartbeat&)>& match, absl::Duration timeout);
  std::vector<Heartbeat> heartbeats();
  std::vector<Commit> commits();
  std::vector<std::string> members();
  std::optional<int64_t> committed(const TopicPartition& tp);
  int32_t epoch(const std::string& member_id);
  // What the member last reported owning.
  std::vector<TopicPartition> owned(const std::string& member_id);

  grpc::Status FindCoordinator(grpc::ServerContext*, const v1::FindCoordinatorRequest*,
                               v1::FindCoordinatorResponse*) override;
  grpc::Status ConsumerGroupHeartbeat(grpc::ServerContext*,
                                      const v1::ConsumerGroupHeartbeatRequest*,
                                      v1::ConsumerGroupHeartbeatResponse*) override;
  grpc::Status OffsetCommit(grpc::ServerContext*, const v1::OffsetCommitRequest*,
                            v1::OffsetCommitResponse*) override;
  grpc::Status OffsetFetch(grpc::ServerContext*, const v1::OffsetFetchRequest*,
                           v1::OffsetFetchResponse*) override;

 private:
  struct Member {
    int32_t epoch = 0;
    int32_t next_epoch = 0;       // > epoch when an assignment waits to be sent
    int32_t previous_epoch = -1;  // also accepted in heartbeats (epoch bumped early)
    bool send_assignment = false;
    std::vector<TopicPartition> assignment;
    std::vector<TopicPartition> owned;
    bool fence = false;
  };

  ScriptedBroker* const broker_;
  const int heartbeat_interval_ms_;
  absl::Mutex mu_;  // guards everything below
  int32_t group_epoch_ ABSL_GUARDED_BY(mu_) = 0;
  int next_member_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<std::string, Member> members_ ABSL_GUARDED_BY(mu_);
  std::map<TopicPartition, int64_t> committed_ ABSL_GUARDED_BY(mu_);
  std::vector<Heartbeat> heartbeats_ ABSL_GUARDED_BY(mu_);
  std::vector<Commit> commits_ ABSL_GUARDED_BY(mu_);
  int fail_heartbeats_ ABSL_GUARDED_BY(mu_) = 0;
  v1::ErrorCode fail_code_ ABSL_GUARDED_BY(mu_) = v1::NONE;
};

}  // namespace fjord::client::testing
