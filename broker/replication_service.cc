#include "broker/replication_service.h"

#include "broker/replication_session.h"

namespace fjord::broker {

grpc::Status ReplicationServiceImpl::ReplicaFetch(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<v1::ReplicaFetchResponse, v1::ReplicaFetchRequest>* stream) {
  v1::ReplicaFetchRequest first;
  if (!stream->Read(&first)) return grpc::Status::OK;
  v1::ReplicaFetchResponse refusal;
  if (first.replica_id() < 0 || first.broker_epoch() < 0) {
    refusal.set_error_code(v1::INVALID_REQUEST);
    refusal.set_error_message("first message needs replica_id and broker_epoch");
  } else if (first.cluster_id() != cluster_id_) {
    refusal.set_error_code(v1::INCONSISTENT_CLUSTER_ID);
    refusal.set_error_message("cluster id " + first.cluster_id() + " != " + cluster_id_);
  } else if (first.max_bytes() <= 0 || first.partition_max_bytes() <= 0) {
    refusal.set_error_code(v1::INVALID_FETCH_SIZE);
    refusal.set_error_message("max_bytes and partition_max_bytes must be > 0");
  }
  if (refusal.error_code() != v1::NONE) {
    stream->Write(refusal);
    return grpc::Status::OK;
  }
  const BrokerId follower(first.replica_id());
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "broker shutting down");
    open_.insert(ctx);
    ++streams_of_[follower];
  }
  ReplicationSession session(replicas_, *stream, first, observer_);
  const std::vector<std::shared_ptr<Replica>> fetched = session.Run(first);
  absl::MutexLock lock(&mu_);
  open_.erase(ctx);
  // A follower that reconnected has its new stream open while the old one
  // ends here: only its last stream's end counts as a disconnect. Said
  // under mu_, so a newer stream's first progress cannot land before it.
  if (--streams_of_[follower] == 0) {
    streams_of_.erase(follower);
    for (const std::shared_ptr<Replica>& r : fetched) r->FollowerDisconnected(follower);
  }
  return grpc::Status::OK;
}

size_t ReplicationServiceImpl::open_streams() const {
  absl::MutexLock lock(&mu_);
  return open_.size();
}

void ReplicationServiceImpl::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
  for (grpc::ServerContext* ctx : open_) ctx->TryCancel();
}

}  // namespace fjord::broker
