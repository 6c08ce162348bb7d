// BrokerServer: one broker's data plane in a process: replicas, purgatory,
// the BrokerService and ReplicationService on one gRPC listener, follower
// fetchers, the image applier and the ticker. The fjord-broker binary wraps
// it with configuration, the controller client and metrics; tests start it
// in-process on a free loopback port and feed it images directly.
//
//   BrokerServerOptions o{.id = BrokerId(1), .cluster_id = "c", .log_dir = dir};
//   ASSIGN_OR_RETURN(auto broker, BrokerServer::Start(o, sender));
//   broker->ApplyImage(image);              // what the metadata stream does
//   ... clients dial 127.0.0.1:broker->port() ...
//   broker->Shutdown();
//
// Flush threads (log_flusher.h): leader appends under
// log.flush.policy=always are made durable there, off the request path.
// Ticker thread (every `tick`): purgatory expiry, ISR shrink checks,
// interval flushes; high-watermark and recovery-point checkpoints every
// `checkpoint_interval`.
//
// Threading: ApplyImage is called from one thread at a time; everything else
// is thread-safe. Shutdown() stops the listener, the fetchers and the ticker,
// then closes every log (flush + checkpoint).
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/broker_service.h"
#include "broker/group/coordinator.h"
#include "broker/group/group_service.h"
#include "broker/image_applier.h"
#include "broker/log_cleaner.h"
#include "broker/log_flusher.h"
#include "broker/metadata_cache.h"
#include "broker/purgatory.h"
#include "broker/replica_fetcher.h"
#include "broker/replica_manager.h"
#include "broker/replication_service.h"
#include "grpcpp/grpcpp.h"
#include "storage/file_system.h"

namespace fjord::broker {

struct BrokerServerOptions {
  BrokerId id{0};
  std::string cluster_id;
  // Listener: host to bind, port (0 = any free port).
  std::string host = "127.0.0.1";
  int port = 0;
  std::string listener_name = "PLAINTEXT";
  std::string log_dir;
  ReplicaConfig replica;
  storage::LogConfig log;
  int32_t replica_fetch_max_bytes = 1 << 20;
  int32_t replica_fetch_response_max_bytes = 10 << 20;
  // socket.request.max.bytes: gRPC refuses larger messages before buffering
  // them whole (RESOURCE_EXHAUSTED).
  int max_request_bytes = 100 << 20;
  // Bound on gRPC server threads (each waiting Produce/Fetch holds one).
  int max_threads = 256;
  size_t max_delayed_operations = Purgatory::kDefaultMaxOperations;
  // Metrics hook for request handlers; may be null; must outlive the server.
  RequestObserver* observer = nullptr;
  // auto.create.topics.enable (BrokerServiceOptions::auto_create_topic).
  std::function<absl::Status(const std::string& topic)> auto_create_topic;
  absl::Duration tick = absl::Milliseconds(10);
  absl::Duration isr_check_interval = absl::Milliseconds(250);
  absl::Duration checkpoint_interval = absl::Seconds(5);
  // The consumer-group coordinator (GroupService on the same listener);
  // `local` and `listener_name` are filled from the fields above.
  group::CoordinatorOptions group;
  // Log compaction and retention (log.cleaner.*, log.retention.check.interval.ms).
  LogCleanerOptions cleaner;
};

class BrokerServer {
 public:
  // Starts serving. `fs`, `clock` and `sender` must outlive the server.
  static absl::StatusOr<std::unique_ptr<BrokerServer>> Start(BrokerServerOptions options,
                                                             storage::FileSystem& fs,
                                                             const Clock& clock,
                                                             AlterPartitionSender& sender);
  ~BrokerServer();

  int port() const { return port_; }
  std::string address() const { return options_.host + ":" + std::to_string(port_); }
  // Publishes `image` to request handlers and makes local replicas match it.
  absl::Status ApplyImage(controller::ImagePtr image);
  // A new registration: follower streams reopen carrying `epoch`.
  void SetBrokerEpoch(BrokerEpoch epoch);
  BrokerEpoch broker_epoch() const;

  ReplicaManager& replicas() { return replicas_; }
  // Requests waiting in the purgatory (tests, metrics).
  size_t delayed_operations() const { return purgatory_.size(); }
  MetadataCache& metadata() { return metadata_; }
  group::GroupCoordinator& groups() { return *groups_; }
  void Shutdown();

 private:
  BrokerServer(BrokerServerOptions options, storage::FileSystem& fs, const Clock& clock,
               AlterPartitionSender& sender);
  void TickLoop();

  const BrokerServerOptions options_;
  const Clock& clock_;
  // Makes leader appends durable under log.flush.policy=always; outlives
  // every replica's use of it (stopped in Shutdown before the logs close).
  LogFlusher flusher_;
  ReplicaManager replicas_;
  MetadataCache metadata_;
  Purgatory purgatory_;
  BrokerServiceImpl broker_service_;
  ReplicationServiceImpl replication_service_;
  ReplicaFetcherManager fetchers_;
  ImageApplier applier_;
  std::unique_ptr<group::GroupCoordinator> groups_;
  std::unique_ptr<group::GroupServiceImpl> group_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;

  mutable absl::Mutex mu_;
  // -1 until registered (SetBrokerEpoch); follower streams wait for it.
  BrokerEpoch broker_epoch_ ABSL_GUARDED_BY(mu_){-1};
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::thread ticker_;
  std::unique_ptr<LogCleaner> cleaner_;
};

}  // namespace fjord::broker
