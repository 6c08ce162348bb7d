#include "controller/server/controller_node.h"

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/status_macros.h"
#include "controller/server/controller_flags.h"
#include "spdlog/spdlog.h"

namespace fjord::controller {

absl::Status FormatMetadataDir(const std::string& dir, const std::string& cluster_id,
                               NodeId node_id, const std::string& voters) {
  if (dir.empty() || cluster_id.empty() || node_id == kNoNode) {
    return absl::InvalidArgumentError("format needs cluster.id, node.id and metadata.log.dir");
  }
  ASSIGN_OR_RETURN(auto parsed, ParseVoters(voters));
  if (!parsed.count(node_id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("node.id ", node_id.value(), " is not in controller.quorum.voters"));
  }
  return WriteMetaProperties(dir, {{"cluster.id", cluster_id},
                                   {"node.id", std::to_string(node_id.value())},
                                   {"controller.quorum.voters", voters}});
}

absl::StatusOr<std::string> FormattedClusterId(const std::string& dir, NodeId node_id) {
  auto meta = ReadProperties(dir + "/meta.properties");
  if (!meta.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(dir, " is not formatted: run format first"));
  }
  if (std::to_string(node_id.value()) != (*meta)["node.id"]) {
    return absl::FailedPreconditionError(absl::StrCat("node.id ", node_id.value(), " but ", dir,
                                                      " belongs to node ", (*meta)["node.id"]));
  }
  return (*meta)["cluster.id"];
}

absl::StatusOr<std::unique_ptr<ControllerNode>> ControllerNode::Start(
    ControllerNodeOptions options) {
  const std::string dir = options.metadata_log_dir;
  if (dir.empty()) return absl::InvalidArgumentError("metadata.log.dir is required");
  ASSIGN_OR_RETURN(std::string cluster_id, FormattedClusterId(dir, options.node_id));
  if (options.voters.empty()) {
    ASSIGN_OR_RETURN(auto meta, ReadProperties(dir + "/meta.properties"));
    options.voters = meta["controller.quorum.voters"];
  }
  ASSIGN_OR_RETURN(auto voters, ParseVoters(options.voters));
  if (!voters.count(options.node_id)) {
    return absl::InvalidArgumentError("node.id is not in controller.quorum.voters");
  }
  std::unique_ptr<ControllerNode> n(new ControllerNode(std::move(options)));
  n->cluster_id_ = cluster_id;
  const ControllerNodeOptions& o = n->options_;

  QuorumControllerOptions qc;
  qc.node_id = o.node_id;
  qc.config = o.config;
  qc.config.cluster_id = cluster_id;
  n->controller_ = std::make_unique<QuorumController>(
      qc, SystemClock::Get(), std::make_unique<SeededRandom>(MakeSystemSeededRandom()));

  // One server: ControllerService and RaftService on this voter's port.
  n->raft_service_ =
      std::make_unique<raft::RaftGrpcService>(cluster_id, [p = n.get()](raft::Message m) {
        absl::MutexLock lock(&p->node_mu_);
        if (p->node_ptr_ != nullptr) p->node_ptr_->Receive(std::move(m));
      });
  // DescribeCluster reads the Raft leader's progress through node_ptr_,
  // which Shutdown clears (under node_mu_) before destroying the node.
  n->service_ = std::make_unique<ControllerServiceImpl>(
      n->controller_.get(), cluster_id, voters, absl::Seconds(30), [p = n.get()] {
        absl::MutexLock lock(&p->node_mu_);
        return p->node_ptr_ != nullptr ? p->node_ptr_->progress()
                                       : std::vector<raft::PeerProgress>{};
      });
  const v1::Endpoint& self = voters.at(o.node_id);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat(o.bind_host, ":", self.port()),
                           grpc::InsecureServerCredentials(), &n->port_);
  builder.RegisterService(n->raft_service_.get());
  builder.RegisterService(n->service_.get());
  n->server_ = builder.BuildAndStart();
  if (n->server_ == nullptr || n->port_ == 0) {
    n->stopped_ = true;  // Nothing started that Shutdown would stop.
    return absl::UnavailableError(
        absl::StrCat("controller cannot listen on ", o.bind_host, ":", self.port()));
  }

  std::map<NodeId, std::string> peers;
  std::vector<NodeId> voter_ids;
  for (const auto& [id, e] : voters) {
    voter_ids.push_back(id);
    if (id != o.node_id) peers[id] = absl::StrCat(e.host(), ":", e.port());
  }
  n->transport_ = std::make_unique<raft::GrpcTransport>(cluster_id, peers);
  raft::NodeOptions node_options{
      .id = o.node_id, .initial_voters = voter_ids, .data_dir = dir + "/raft"};
  auto node =
      raft::RaftNode::Start(node_options, n->controller_->state_machine(), n->transport_.get());
  if (!node.ok()) {
    n->service_->Shutdown();
    n->server_->Shutdown(std::chrono::system_clock::now());
    n->stopped_ = true;
    return node.status();
  }
  n->node_ = *std::move(node);
  {
    absl::MutexLock lock(&n->node_mu_);
    n->node_ptr_ = n->node_.get();
  }
  n->controller_->Start(n->node_.get());
  spdlog::info("controller {} serving cluster {} on {}:{}", o.node_id.value(), cluster_id,
               o.bind_host, n->port_);
  return n;
}

ControllerNode::~ControllerNode() { Shutdown(); }

void ControllerNode::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  spdlog::info("controller {}: shutting down", options_.node_id.value());
  service_->Shutdown();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  controller_->Stop();
  {
    absl::MutexLock lock(&node_mu_);
    node_ptr_ = nullptr;
  }
  node_.reset();
  spdlog::info("controller {} stopped", options_.node_id.value());
}

}  // namespace fjord::controller
