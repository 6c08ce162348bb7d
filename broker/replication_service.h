// ReplicationServiceImpl: the leader side of fjord.v1.ReplicationService
// (replication.proto). One ReplicaFetch stream per follower broker
// multiplexes every partition that follower fetches from this broker.
//
// Per stream (a ReplicationSession) two threads: the gRPC handler thread reads
// follower messages (credits, flush progress, removals) and records follower
// progress on the replicas (high watermark, ISR); a sender thread answers
// credits. A credit is answered exactly once, as soon as there is something
// to say: records past its fetch_offset (pushed when they are appended: the
// session listens to replica changes), a new high watermark, a divergence
// (diverging_epoch), or an error. Otherwise the credit is held.
//
// Bounds: one response message is at most the follower's max_bytes
// (replica.fetch.response.max.bytes) and partition_max_bytes per partition
// (replica.fetch.max.bytes), except that a first batch is sent whole;
// max_bytes is capped at kMaxResponseBytes so a response always fits the
// gRPC message limit set on both ends.
//
// Threading: `mu_` of a session guards its credits and flags; replica
// listeners only mark a session dirty. The sender copies the credits under
// `mu_`, reads the logs without it (so a listener on a produce thread never
// waits behind a disk read), then consumes the answered credits under `mu_`
// again, unless the follower replaced or removed one meanwhile.
#pragma once

#include <map>
#include <set>
#include <string>

#include "absl/synchronization/mutex.h"
#include "broker/replica_manager.h"
#include "broker/request_observer.h"
#include "proto/fjord/v1/replication.grpc.pb.h"

namespace fjord::broker {

class ReplicationServiceImpl final : public v1::ReplicationService::Service {
 public:
  // gRPC max message size for replication, both directions (64 MiB).
  static constexpr int kMaxMessageBytes = 64 << 20;
  static constexpr int32_t kMaxResponseBytes = 32 << 20;

  // `observer` (may be null) hears of every answered credit.
  ReplicationServiceImpl(ReplicaManager& replicas, std::string cluster_id,
                         RequestObserver* observer = nullptr)
      : replicas_(replicas), cluster_id_(std::move(cluster_id)), observer_(observer) {}

  grpc::Status ReplicaFetch(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<v1::ReplicaFetchResponse, v1::ReplicaFetchRequest>* stream) override;

  // Ends every open stream and refuses new ones (broker shutdown).
  void Stop();
  size_t open_streams() const;

 private:
  mutable absl::Mutex mu_;  // Guards the open streams.
  std::set<grpc::ServerContext*> open_ ABSL_GUARDED_BY(mu_);
  // Open streams per follower: a follower counts as disconnected from the
  // replicas it fetched only when its last stream ends.
  std::map<BrokerId, int> streams_of_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  ReplicaManager& replicas_;
  const std::string cluster_id_;
  RequestObserver* const observer_;
};

}  // namespace fjord::broker
