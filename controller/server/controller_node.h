// ControllerNode: one member of the controller quorum running in this
// process: the QuorumController on a RaftNode (RocksDB under
// <metadata.log.dir>/raft), and one gRPC server on this voter's port serving
// ControllerService and RaftService. fjord-controller runs one alone; a
// combined fjord-broker (process.roles=broker,controller) runs one beside its
// broker, which then reaches it over loopback gRPC like any other broker.
//
//   FormatMetadataDir(dir, "cluster-1", NodeId(1), "1@127.0.0.1:9093");
//   ASSIGN_OR_RETURN(auto node, ControllerNode::Start({.node_id = NodeId(1),
//       .voters = "1@127.0.0.1:9093", .metadata_log_dir = dir}));
//   ... node->status().active ...
//   node->Shutdown();
//
// <metadata.log.dir>/meta.properties (written once by `format`, like Kafka's
// `kafka-storage format`) holds cluster.id, node.id and the voters; Start
// refuses an unformatted directory or one formatted for another node.
//
// Threading: status() is thread-safe; Start and Shutdown are called by the
// owner's thread. Shutdown ends metadata streams, stops the listener (2 s
// grace), then the controller and the Raft node; it is idempotent and never
// waits on peers.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "controller/controller_config.h"
#include "controller/quorum_controller.h"
#include "controller/server/controller_service.h"
#include "grpcpp/grpcpp.h"
#include "raft/node/raft_node.h"
#include "raft/transport/grpc_transport.h"

namespace fjord::controller {

// Writes <dir>/meta.properties for `node_id` (who must be among `voters`,
// "1@host:port,..."). Fails if the directory is already formatted.
absl::Status FormatMetadataDir(const std::string& dir, const std::string& cluster_id,
                               NodeId node_id, const std::string& voters);

// The cluster id `format` wrote in `dir`, checking it was formatted for
// `node_id`.
absl::StatusOr<std::string> FormattedClusterId(const std::string& dir, NodeId node_id);

struct ControllerNodeOptions {
  NodeId node_id = kNoNode;
  // controller.quorum.voters; empty = the voters written by `format`.
  std::string voters;
  // metadata.log.dir, formatted.
  std::string metadata_log_dir;
  // Host to bind; the port is this node's entry in the voters.
  std::string bind_host = "0.0.0.0";
  // The decision logic's knobs; cluster_id is taken from meta.properties.
  ControllerConfig config;
};

class ControllerNode {
 public:
  static absl::StatusOr<std::unique_ptr<ControllerNode>> Start(ControllerNodeOptions options);
  ~ControllerNode();  // Shutdown()

  QuorumControllerStatus status() const { return controller_->status(); }
  const std::string& cluster_id() const { return cluster_id_; }
  NodeId node_id() const { return options_.node_id; }
  int port() const { return port_; }
  void Shutdown();

 private:
  explicit ControllerNode(ControllerNodeOptions options) : options_(std::move(options)) {}

  const ControllerNodeOptions options_;
  std::string cluster_id_;
  int port_ = 0;
  // Destroyed bottom-up: the Raft node before the transport and services
  // that feed it, the controller last.
  std::unique_ptr<QuorumController> controller_;
  std::unique_ptr<raft::RaftGrpcService> raft_service_;
  std::unique_ptr<ControllerServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<raft::GrpcTransport> transport_;
  // Guards node_ptr_ against RaftService deliveries and DescribeCluster.
  absl::Mutex node_mu_;
  raft::RaftNode* node_ptr_ ABSL_GUARDED_BY(node_mu_) = nullptr;
  std::unique_ptr<raft::RaftNode> node_;
  bool stopped_ = false;
};

}  // namespace fjord::controller
