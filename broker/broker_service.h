// BrokerServiceImpl: the client-facing fjord.v1.BrokerService (Produce,
// Fetch, ListOffsets, Metadata) over the ReplicaManager and MetadataCache.
//
// Produce: acks 0/1/-1 (else INVALID_REQUIRED_ACKS); each partition's
// batches are validated and appended by its Replica; acks=-1 waits in the
// purgatory until the high watermark passes the last offset, or answers
// REQUEST_TIMED_OUT at timeout_ms. Fetch: long poll until min_bytes are
// available or max_wait_ms passes (the purgatory again), never past the high
// watermark, within partition_max_bytes and max_bytes (the first batch of the
// first non-empty partition whole). Errors travel per partition with Kafka's
// codes; NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH carry the current leader
// and its endpoint.
//
// InitProducerId is not served yet (no producer-id block from the
// controller): gRPC UNIMPLEMENTED.
//
// Threading: gRPC's synchronous server calls these on its thread pool
// (bounded by the server's ResourceQuota); a waiting Produce/Fetch blocks its
// thread in WaitingRequest::Wait, which the purgatory's ticker bounds.
#pragma once

#include <string>

#include "broker/metadata_cache.h"
#include "broker/purgatory.h"
#include "broker/replica_manager.h"
#include "broker/request_observer.h"
#include "proto/fjord/v1/broker.grpc.pb.h"

namespace fjord::broker {

struct BrokerServiceOptions {
  // Listener name whose endpoints Metadata and node_endpoints report.
  std::string listener_name = "PLAINTEXT";
  // Upper bound on fetch.max.wait.ms a client may ask for.
  absl::Duration fetch_max_wait_max = absl::Seconds(30);
  // Upper bound on a produce timeout_ms.
  absl::Duration produce_timeout_max = absl::Minutes(5);
  // Told about every request (metrics); may be null. Must outlive the service.
  RequestObserver* observer = nullptr;
};

class BrokerServiceImpl final : public v1::BrokerService::Service {
 public:
  // All references must outlive the service.
  BrokerServiceImpl(ReplicaManager& replicas, MetadataCache& metadata, Purgatory& purgatory,
                    const Clock& clock, BrokerServiceOptions options = {});

  grpc::Status Produce(grpc::ServerContext* ctx, const v1::ProduceRequest* request,
                       v1::ProduceResponse* response) override;
  grpc::Status Fetch(grpc::ServerContext* ctx, const v1::FetchRequest* request,
                     v1::FetchResponse* response) override;
  grpc::Status ListOffsets(grpc::ServerContext* ctx, const v1::ListOffsetsRequest* request,
                           v1::ListOffsetsResponse* response) override;
  grpc::Status Metadata(grpc::ServerContext* ctx, const v1::MetadataRequest* request,
                        v1::MetadataResponse* response) override;

 private:
  // The leader replica for a client request, or the partition's error:
  // UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER (with `leader` set from
  // the image), or the replica's epoch check.
  absl::StatusOr<std::shared_ptr<Replica>> LeaderReplica(const std::string& topic, int32_t p,
                                                         LeaderEpoch current_leader_epoch,
                                                         v1::LeaderIdAndEpoch* leader) const;
  grpc::Status DoProduce(grpc::ServerContext* ctx, const v1::ProduceRequest* request,
                         v1::ProduceResponse* response, int64_t* records_in, int64_t* bytes_in);
  void DoListOffsets(const v1::ListOffsetsRequest* request,
                     v1::ListOffsetsResponse* response) const;
  grpc::Status DoFetch(grpc::ServerContext* ctx, const v1::FetchRequest* request,
                       v1::FetchResponse* response);
  // Adds the endpoint of `leader` (if known) to `nodes` once.
  void AddNodeEndpoint(int32_t leader, google::protobuf::RepeatedPtrField<v1::Node>* nodes) const;
  // One fetch attempt: fills `response` afresh; returns the bytes gathered
  // and whether any partition has an error.
  int64_t ReadFetch(const v1::FetchRequest& request, v1::FetchResponse* response,
                    bool* error) const;

  ReplicaManager& replicas_;
  MetadataCache& metadata_;
  Purgatory& purgatory_;
  const Clock& clock_;
  const BrokerServiceOptions options_;
};

}  // namespace fjord::broker
