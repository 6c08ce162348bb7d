#include "broker/broker_node.h"

#include <utility>

#include "common/random.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"
#include "storage/posix_file_system.h"

namespace fjord::broker {

// Forwards to the AlterPartitionClient, which needs the server's broker
// epoch and so is created after the server.
class BrokerNode::ForwardingSender final : public AlterPartitionSender {
 public:
  void Set(AlterPartitionSender* target) {
    absl::MutexLock lock(&mu_);
    target_ = target;
  }
  void Send(IsrProposal proposal, Done done) override {
    absl::MutexLock lock(&mu_);
    if (target_ == nullptr) {
      done(absl::UnavailableError("controller client not started"));
      return;
    }
    target_->Send(std::move(proposal), std::move(done));
  }

 private:
  absl::Mutex mu_;
  AlterPartitionSender* target_ ABSL_GUARDED_BY(mu_) = nullptr;
};

BrokerNode::BrokerNode(const BrokerConfig& config, BrokerNodeLimits limits,
                       std::vector<ControllerVoter> voters)
    : config_(config),
      limits_(limits),
      channel_(std::move(voters)),
      forward_(std::make_unique<ForwardingSender>()) {}

absl::StatusOr<std::unique_ptr<BrokerNode>> BrokerNode::Start(
    const BrokerConfig& config, RequestObserver* observer, storage::FlushObserver* flush_observer,
    BrokerNodeLimits limits) {
  if (config.cluster_id.empty()) return absl::InvalidArgumentError("cluster.id is required");
  ASSIGN_OR_RETURN(std::vector<ControllerVoter> voters,
                   ParseQuorumVoters(config.controller_quorum_voters));
  std::unique_ptr<BrokerNode> n(new BrokerNode(config, limits, std::move(voters)));
  BrokerServerOptions options = config.ToServerOptions();
  options.observer = observer;
  n->topic_creator_ = std::make_unique<group::ControllerTopicCreator>(n->channel_);
  options.group.topic_creator = n->topic_creator_.get();
  if (config.auto_create_topics_enable) {
    options.auto_create_topic = [creator = n->topic_creator_.get(),
                                 partitions = config.num_partitions,
                                 rf = config.default_replication_factor](const std::string& topic) {
      return creator->CreateTopic(topic, partitions, static_cast<int16_t>(rf), {});
    };
  }
  options.log.flush_observer = flush_observer;
  ASSIGN_OR_RETURN(n->server_, BrokerServer::Start(options, storage::PosixFileSystem::Get(),
                                                   SystemClock::Get(), *n->forward_));
  BrokerServer* broker = n->server_.get();
  n->alter_ = std::make_unique<AlterPartitionClient>(n->channel_, options.id,
                                                     [broker] { return broker->broker_epoch(); });
  n->forward_->Set(n->alter_.get());

  ControllerChannel* channel = &n->channel_;
  n->follower_ = std::make_unique<MetadataFollower>(
      n->channel_, MetadataFollowerOptions{.cluster_id = config.cluster_id, .id = options.id},
      [broker] { return broker->broker_epoch(); },
      [broker, channel](controller::ImagePtr image) {
        broker->metadata().set_controller_id(NodeId(channel->active_id()));
        absl::Status s = broker->ApplyImage(std::move(image));
        if (!s.ok()) spdlog::error("applying metadata: {}", s.ToString());
      });
  v1::Endpoint endpoint;
  endpoint.set_name(config.advertised.name);
  endpoint.set_host(config.advertised.host);
  endpoint.set_port(config.advertised.port == 0 ? broker->port() : config.advertised.port);
  SeededRandom random = MakeSystemSeededRandom();
  MetadataFollower* follower = n->follower_.get();
  n->lifecycle_ = std::make_unique<BrokerLifecycle>(
      n->channel_,
      LifecycleOptions{
          .id = options.id,
          .cluster_id = config.cluster_id,
          .incarnation_id = controller::Uuid::Random(random),
          .listeners = {endpoint},
          .rack = config.rack,
          .heartbeat_interval = absl::Milliseconds(config.broker_heartbeat_interval_ms)},
      [follower] { return follower->applied_offset(); },
      [broker](BrokerEpoch epoch) { broker->SetBrokerEpoch(epoch); });
  n->follower_->Start();
  n->lifecycle_->Start();
  return n;
}

BrokerNode::~BrokerNode() { Shutdown(); }

void BrokerNode::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  const int32_t id = config_.node_id;
  spdlog::info("broker {}: controlled shutdown", id);
  const absl::Time start = absl::Now();
  switch (lifecycle_->ControlledShutdown(limits_.controlled_shutdown_max,
                                         limits_.controller_unreachable_max)) {
    case ShutdownOutcome::kReleased:
      spdlog::info("broker {}: released by the controller after {}", id,
                   absl::FormatDuration(absl::Now() - start));
      break;
    case ShutdownOutcome::kControllerUnreachable:
      spdlog::warn("broker {}: no controller answered for {}; stopping without its release", id,
                   absl::FormatDuration(limits_.controller_unreachable_max));
      break;
    case ShutdownOutcome::kTimedOut:
      spdlog::warn("broker {}: controller did not release us within {}; stopping anyway", id,
                   absl::FormatDuration(limits_.controlled_shutdown_max));
      break;
  }
  lifecycle_.reset();  // No heartbeat may outlive the server.
  follower_->Stop();
  server_->Shutdown();
  forward_->Set(nullptr);
  alter_.reset();
}

}  // namespace fjord::broker
