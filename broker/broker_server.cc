#include "broker/broker_server.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "grpcpp/resource_quota.h"
#include "spdlog/spdlog.h"

namespace fjord::broker {
namespace {

ReplicaConfig WithFlusher(ReplicaConfig config, LogFlusher* flusher) {
  config.flusher = flusher;
  return config;
}

}  // namespace

BrokerServer::BrokerServer(BrokerServerOptions options, storage::FileSystem& fs, const Clock& clock,
                           AlterPartitionSender& sender)
    : options_(std::move(options)),
      clock_(clock),
      replicas_(fs, clock,
                ReplicaManagerOptions{.local = options_.id,
                                      .log_dir = options_.log_dir,
                                      .replica = WithFlusher(options_.replica, &flusher_),
                                      .log = options_.log},
                sender),
      metadata_(options_.cluster_id),
      purgatory_(clock, options_.max_delayed_operations),
      broker_service_(replicas_, metadata_, purgatory_, clock,
                      BrokerServiceOptions{.listener_name = options_.listener_name,
                                           .observer = options_.observer,
                                           .auto_create_topic = options_.auto_create_topic}),
      replication_service_(replicas_, options_.cluster_id, options_.observer),
      fetchers_(FetcherOptions{.local = options_.id,
                               .cluster_id = options_.cluster_id,
                               .max_bytes = options_.replica_fetch_response_max_bytes,
                               .partition_max_bytes = options_.replica_fetch_max_bytes},
                [this] { return broker_epoch(); }),
      applier_(replicas_, fetchers_, options_.listener_name, [this] { return broker_epoch(); }) {
  group::CoordinatorOptions group = options_.group;
  group.local = options_.id;
  group.listener_name = options_.listener_name;
  groups_ =
      std::make_unique<group::GroupCoordinator>(group, replicas_, metadata_, purgatory_, clock_);
  group_service_ = std::make_unique<group::GroupServiceImpl>(*groups_);
}

absl::StatusOr<std::unique_ptr<BrokerServer>> BrokerServer::Start(BrokerServerOptions options,
                                                                  storage::FileSystem& fs,
                                                                  const Clock& clock,
                                                                  AlterPartitionSender& sender) {
  if (options.log_dir.empty()) return absl::InvalidArgumentError("log.dirs is empty");
  RETURN_IF_ERROR(fs.CreateDir(options.log_dir));
  std::unique_ptr<BrokerServer> server(new BrokerServer(std::move(options), fs, clock, sender));
  const BrokerServerOptions& o = server->options_;
  server->replicas_.AddListener([p = &server->purgatory_](const Replica& r) { p->Notify(&r); });

  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat(o.host, ":", o.port), grpc::InsecureServerCredentials(),
                           &server->port_);
  builder.SetMaxReceiveMessageSize(o.max_request_bytes);
  builder.SetMaxSendMessageSize(
      std::max(o.max_request_bytes, ReplicationServiceImpl::kMaxMessageBytes));
  grpc::ResourceQuota quota("fjord-broker");
  quota.SetMaxThreads(o.max_threads);
  builder.SetResourceQuota(quota);
  builder.RegisterService(&server->broker_service_);
  builder.RegisterService(&server->replication_service_);
  builder.RegisterService(server->group_service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", o.host, ":", o.port));
  }
  server->ticker_ = std::thread([s = server.get()] { s->TickLoop(); });
  server->cleaner_ = std::make_unique<LogCleaner>(server->replicas_, server->metadata_, clock,
                                                  o.cleaner, o.observer);
  server->cleaner_->Start();
  server->groups_->Start();
  spdlog::info("broker {} serving on {}:{} (log.dirs {})", o.id.value(), o.host, server->port_,
               o.log_dir);
  return server;
}

BrokerServer::~BrokerServer() { Shutdown(); }

absl::Status BrokerServer::ApplyImage(controller::ImagePtr image) {
  metadata_.Publish(image);
  return applier_.Apply(*image);
}

void BrokerServer::SetBrokerEpoch(BrokerEpoch epoch) {
  {
    absl::MutexLock lock(&mu_);
    if (broker_epoch_ == epoch) return;
    broker_epoch_ = epoch;
  }
  fetchers_.Reconnect();
}

BrokerEpoch BrokerServer::broker_epoch() const {
  absl::MutexLock lock(&mu_);
  return broker_epoch_;
}

void BrokerServer::TickLoop() {
  absl::Duration last_isr_check = clock_.Monotonic();
  absl::Duration last_checkpoint = clock_.Monotonic();
  auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.tick)) return;
    }
    purgatory_.ExpireDue();
    const absl::Duration now = clock_.Monotonic();
    const bool checkpoint = now - last_checkpoint >= options_.checkpoint_interval;
    if (checkpoint) last_checkpoint = now;
    if (checkpoint || now - last_isr_check >= options_.isr_check_interval) {
      last_isr_check = now;
      replicas_.Tick(checkpoint);
    }
  }
}

void BrokerServer::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
  }
  // Followers first, so no append races the close; then the listener, whose
  // waiting requests the ticker's last expiry pass answers.
  groups_->Shutdown();
  fetchers_.Shutdown();
  replication_service_.Stop();
  purgatory_.ExpireDue();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  ticker_.join();
  if (cleaner_ != nullptr) cleaner_->Stop();
  flusher_.Stop();  // Close below flushes what it had queued.
  replicas_.CloseAll();
  spdlog::info("broker {} stopped", options_.id.value());
}

}  // namespace fjord::broker
