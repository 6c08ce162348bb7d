// ControllerLogic: the quorum controller's decision logic, without Raft,
// threads or I/O (after Kafka's QuorumController and its control managers).
//
//   handlers  --(records + response)-->  caller proposes the records as one
//                                        Raft entry at `next_offset`
//   Replay(batch, offset)  <------------  committed (or, on the active
//                                        controller, speculative) entries
//
// Handlers never change metadata: they read the current image and return a
// ControllerResult. Replay() is the only mutation of the image. The one piece
// of non-replicated state is broker sessions (BrokerSessions): heartbeats
// touch them, Replay of a registration starts one, ActivateSessions() on
// becoming active restarts them all.
//
// Broker lifecycle (per broker, as the image records it):
//
//   RegisterBroker --> [fenced] --heartbeat caught up--> [active]
//        ^               ^   |                              |  |
//        |               |   +--want_shut_down------+       |  | session expired /
//   new incarnation      +---- FenceStaleBrokers ---|-------+  | want_fence
//                                                   v          v
//                            [in controlled shutdown] --> should_shut_down
//                             (leaderships and ISR places moved away)
//
// Determinism: time comes from the injected Clock, randomness (topic ids,
// placement) from the injected Random; records are emitted in sorted or
// map-deterministic order. Same image + same inputs = same records.
//
// Owner and thread: one event loop thread (the QuorumController's); not
// thread-safe. image() may be handed to other threads (immutable).
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/types.h"
#include "controller/broker_sessions.h"
#include "controller/controller_config.h"
#include "controller/controller_result.h"
#include "controller/metadata_image.h"
#include "proto/fjord/v1/controller.pb.h"

namespace fjord::controller {

class ControllerLogic {
 public:
  ControllerLogic(ControllerConfig config, const Clock& clock, Random& random,
                  std::shared_ptr<const MetadataImage> image = MetadataImage::Empty());

  // --- The only mutation ---
  // Applies one committed (or speculative) entry at `offset`. An error means
  // the log cannot be applied (written by a newer binary or corrupt): the
  // owner must stop; the image is left as it was before the batch.
  absl::Status Replay(const v1::MetadataRecordBatch& batch, Offset offset);
  // Replaces the image wholesale (snapshot load, or dropping speculative
  // state after losing leadership).
  void ResetImage(std::shared_ptr<const MetadataImage> image);
  // Starts a fresh session for every registered broker (on becoming active).
  void ActivateSessions();

  const MetadataImage& image() const { return *image_; }
  std::shared_ptr<const MetadataImage> image_ptr() const { return image_; }
  const ControllerConfig& config() const { return config_; }

  // --- Broker lifecycle (cluster_control.cc) ---
  // `next_offset` is the metadata offset the records will be written at; it
  // becomes the broker epoch. INCONSISTENT_CLUSTER_ID, INVALID_REQUEST,
  // DUPLICATE_BROKER_REGISTRATION (another incarnation's session is alive).
  // A retry with the same incarnation and listeners returns the current
  // epoch and writes nothing.
  ControllerResult<v1::RegisterBrokerResponse> RegisterBroker(const v1::RegisterBrokerRequest& req,
                                                              Offset next_offset) const;
  // Touches the session (the only side effect), then decides: unfence when
  // caught up, fence on want_fence, start or continue controlled shutdown.
  ControllerResult<v1::BrokerHeartbeatResponse> BrokerHeartbeat(
      const v1::BrokerHeartbeatRequest& req);
  ControllerResult<v1::UnregisterBrokerResponse> UnregisterBroker(
      const v1::UnregisterBrokerRequest& req) const;
  // Fences the lowest-id active broker whose session expired, moving its
  // leaderships and ISR places away. Response: the fenced broker, or -1 if
  // none. Call periodically; call again while it fences someone.
  ControllerResult<BrokerId> FenceStaleBrokers() const;
  ControllerResult<v1::AllocateProducerIdsResponse> AllocateProducerIds(
      const v1::AllocateProducerIdsRequest& req) const;
  // Brokers and metadata offset; the caller fills in the quorum fields.
  v1::DescribeClusterResponse DescribeCluster() const;

  // --- Topics, configs, replication (see topic_control.h, config_control.h,
  // replication_control.h for rules and errors) ---
  ControllerResult<v1::CreateTopicsResponse> CreateTopics(const v1::CreateTopicsRequest& req);
  ControllerResult<v1::DeleteTopicsResponse> DeleteTopics(const v1::DeleteTopicsRequest& req) const;
  ControllerResult<v1::CreatePartitionsResponse> CreatePartitions(
      const v1::CreatePartitionsRequest& req);
  v1::DescribeConfigsResponse DescribeConfigs(const v1::DescribeConfigsRequest& req) const;
  ControllerResult<v1::IncrementalAlterConfigsResponse> IncrementalAlterConfigs(
      const v1::IncrementalAlterConfigsRequest& req) const;
  ControllerResult<v1::AlterPartitionResponse> AlterPartition(
      const v1::AlterPartitionRequest& req) const;
  // Periodic preferred-leader rebalance; response = partitions moved.
  ControllerResult<int32_t> RebalancePreferredLeaders() const;

  // --- Metrics (derived from the image and the replayed log) ---
  int64_t fenced_broker_count() const;
  int64_t offline_partition_count() const;
  // Unclean leader elections replayed so far (PartitionChangeRecords that
  // set RECOVERING).
  int64_t unclean_election_count() const { return unclean_elections_; }

 private:
  ControllerConfig config_;
  const Clock& clock_;
  Random& random_;
  std::shared_ptr<const MetadataImage> image_;
  BrokerSessions sessions_;
  int64_t unclean_elections_ = 0;
};

}  // namespace fjord::controller
