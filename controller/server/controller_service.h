// ControllerService over gRPC (proto/fjord/v1/controller.proto), backed by a
// QuorumController.
//
// Unary RPCs hand the request to the QuorumController and wait (on the gRPC
// server thread) for its answer, at most `rpc_timeout`; a write's answer
// comes only after its records commit. A timeout answers REQUEST_TIMED_OUT
// (the write may still commit). Every response's active_controller carries
// the active controller's endpoint when the voters list knows it.
//
// FetchMetadata streams committed metadata from fetch_offset: a snapshot
// first when those entries are no longer retained, then log entries as they
// commit (polled every kFetchPollInterval), and an empty progress message at
// least every kFetchIdleInterval. The stream ends when the client cancels or
// the service shuts down (a last message with NOT_CONTROLLER).
//
// Threads: gRPC's server threads; the QuorumController and its state machine
// are thread-safe at the calls used here.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <vector>

#include "absl/time/time.h"
#include "controller/quorum_controller.h"
#include "proto/fjord/v1/controller.grpc.pb.h"
#include "raft/node/raft_node.h"

namespace fjord::controller {

inline constexpr absl::Duration kFetchPollInterval = absl::Milliseconds(20);
inline constexpr absl::Duration kFetchIdleInterval = absl::Seconds(2);
inline constexpr size_t kFetchEntriesMax = 1000;
inline constexpr int kFetchSnapshotRecordsPerMessage = 1000;
inline constexpr int32_t kFetchDefaultMaxBytes = 1 << 20;

// The Raft leader's per-member progress (RaftNode::progress), or empty.
using RaftProgressSource = std::function<std::vector<raft::PeerProgress>()>;

// DescribeCluster's controllers, one per voter in id order. The active
// controller (`status.active`) reports its own log end (its commit index or
// applied metadata offset, whichever is newer) and every other voter's
// from `progress`: the Raft match index, i.e. the last metadata offset it
// is known to hold, and when it last caught up with the leader's log end.
// What is unknown is -1: any voter when the responder is not active, and a
// voter that has not answered this leader yet (match 0).
void DescribeControllers(const std::map<NodeId, v1::Endpoint>& voters,
                         const QuorumControllerStatus& status,
                         const std::vector<raft::PeerProgress>& progress, absl::Time now,
                         v1::DescribeClusterResponse* resp);

class ControllerServiceImpl final : public v1::ControllerService::Service {
 public:
  // `raft_progress` (may be empty) feeds DescribeCluster's log end offsets;
  // it may be called on any gRPC thread until Shutdown.
  ControllerServiceImpl(QuorumController* controller, std::string cluster_id,
                        std::map<NodeId, v1::Endpoint> voters,
                        absl::Duration rpc_timeout = absl::Seconds(30),
                        RaftProgressSource raft_progress = nullptr);

  // Ends open FetchMetadata streams (call before grpc::Server::Shutdown).
  void Shutdown() { stopping_ = true; }

  grpc::Status RegisterBroker(grpc::ServerContext*, const v1::RegisterBrokerRequest* req,
                              v1::RegisterBrokerResponse* resp) override;
  grpc::Status BrokerHeartbeat(grpc::ServerContext*, const v1::BrokerHeartbeatRequest* req,
                               v1::BrokerHeartbeatResponse* resp) override;
  grpc::Status AlterPartition(grpc::ServerContext*, const v1::AlterPartitionRequest* req,
                              v1::AlterPartitionResponse* resp) override;
  grpc::Status FetchMetadata(grpc::ServerContext* context, const v1::FetchMetadataRequest* req,
                             grpc::ServerWriter<v1::MetadataBatch>* writer) override;
  grpc::Status AllocateProducerIds(grpc::ServerContext*, const v1::AllocateProducerIdsRequest* req,
                                   v1::AllocateProducerIdsResponse* resp) override;
  grpc::Status UnregisterBroker(grpc::ServerContext*, const v1::UnregisterBrokerRequest* req,
                                v1::UnregisterBrokerResponse* resp) override;
  grpc::Status CreateTopics(grpc::ServerContext*, const v1::CreateTopicsRequest* req,
                            v1::CreateTopicsResponse* resp) override;
  grpc::Status DeleteTopics(grpc::ServerContext*, const v1::DeleteTopicsRequest* req,
                            v1::DeleteTopicsResponse* resp) override;
  grpc::Status CreatePartitions(grpc::ServerContext*, const v1::CreatePartitionsRequest* req,
                                v1::CreatePartitionsResponse* resp) override;
  grpc::Status DescribeCluster(grpc::ServerContext*, const v1::DescribeClusterRequest* req,
                               v1::DescribeClusterResponse* resp) override;
  grpc::Status DescribeConfigs(grpc::ServerContext*, const v1::DescribeConfigsRequest* req,
                               v1::DescribeConfigsResponse* resp) override;
  grpc::Status IncrementalAlterConfigs(grpc::ServerContext*,
                                       const v1::IncrementalAlterConfigsRequest* req,
                                       v1::IncrementalAlterConfigsResponse* resp) override;

 private:
  template <typename R, typename F>
  grpc::Status Await(F&& call, R* out);
  void FillEndpoint(v1::ActiveController* active) const;

  QuorumController* const controller_;
  const std::string cluster_id_;
  const std::map<NodeId, v1::Endpoint> voters_;
  const absl::Duration rpc_timeout_;
  const RaftProgressSource raft_progress_;
  std::atomic<bool> stopping_{false};
};

}  // namespace fjord::controller
