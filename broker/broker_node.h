// BrokerNode: the broker role of a fjord-broker process: the BrokerServer
// (data plane and replication) plus its session with the controller quorum:
// BrokerLifecycle (register, heartbeat, controlled shutdown), the
// MetadataFollower feeding images to the server, and the AlterPartition
// client. In a combined node (process.roles=broker,controller) the quorum
// includes this process's own controller, reached over loopback gRPC like
// any other.
//
//   ASSIGN_OR_RETURN(auto node, BrokerNode::Start(config, &metrics));
//   ... node->server().replicas() ...
//   node->Shutdown();   // controlled shutdown (bounded), then stop
//
// Threading: Start and Shutdown on the owner's thread; server() as
// BrokerServer documents.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/alter_partition_client.h"
#include "broker/broker_config.h"
#include "broker/broker_lifecycle.h"
#include "broker/broker_server.h"
#include "broker/controller_channel.h"
#include "broker/group/controller_topic_creator.h"
#include "broker/metadata_follower.h"

namespace fjord::broker {

struct BrokerNodeLimits {
  // How long a controlled shutdown waits for the controller's release.
  absl::Duration controlled_shutdown_max = absl::Seconds(30);
  // ...and how long it keeps trying while no controller answers (the quorum
  // stopped with us, or lost): then it stops without the release.
  absl::Duration controller_unreachable_max = absl::Seconds(3);
};

class BrokerNode {
 public:
  // Starts serving and registering. The observers (metrics) may be null and
  // must outlive the node.
  static absl::StatusOr<std::unique_ptr<BrokerNode>> Start(
      const BrokerConfig& config, RequestObserver* observer,
      storage::FlushObserver* flush_observer = nullptr, BrokerNodeLimits limits = {});
  ~BrokerNode();  // Shutdown()

  BrokerServer& server() { return *server_; }
  const BrokerLifecycle& lifecycle() const { return *lifecycle_; }
  // Controlled shutdown within the limits, then stops the follower and the
  // server. Idempotent.
  void Shutdown();

 private:
  class ForwardingSender;
  BrokerNode(const BrokerConfig& config, BrokerNodeLimits limits,
             std::vector<ControllerVoter> voters);

  const BrokerConfig config_;
  const BrokerNodeLimits limits_;
  ControllerChannel channel_;
  std::unique_ptr<ForwardingSender> forward_;
  // Creates __consumer_offsets for the group coordinator.
  std::unique_ptr<group::ControllerTopicCreator> topic_creator_;
  std::unique_ptr<BrokerServer> server_;
  std::unique_ptr<AlterPartitionClient> alter_;
  std::unique_ptr<MetadataFollower> follower_;
  std::unique_ptr<BrokerLifecycle> lifecycle_;
  bool stopped_ = false;
};

}  // namespace fjord::broker
