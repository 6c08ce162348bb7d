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
// ProduceStream: the ordered, pipelined Produce (contract in broker.proto).
// Per stream, one reader thread reads ahead up to kStreamReadAhead requests;
// the handler thread appends them in arrival order and writes the responses
// in request order. An acks=-1 request waits in the purgatory as an
// AsyncRequest, so later requests of the stream are appended meanwhile; its
// response (and every later one) is written once it completes.
//
// InitProducerId is not served yet (no producer-id block from the
// controller): gRPC UNIMPLEMENTED.
//
// Threading: gRPC's synchronous server calls these on its thread pool
// (bounded by the server's ResourceQuota); a waiting Produce/Fetch blocks its
// thread in WaitingRequest::Wait, which the purgatory's ticker bounds.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

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
  // auto.create.topics.enable: asks the controller to create a topic a
  // Metadata request names, allows creating (allow_auto_topic_creation), and
  // the image does not know; null = off. Called on the handler thread; the
  // topic is then answered LEADER_NOT_AVAILABLE (retriable) as Kafka does.
  std::function<absl::Status(const std::string& topic)> auto_create_topic;
};

class BrokerServiceImpl final : public v1::BrokerService::Service {
 public:
  // All references must outlive the service.
  BrokerServiceImpl(ReplicaManager& replicas, MetadataCache& metadata, Purgatory& purgatory,
                    const Clock& clock, BrokerServiceOptions options = {});

  grpc::Status Produce(grpc::ServerContext* ctx, const v1::ProduceRequest* request,
                       v1::ProduceResponse* response) override;
  grpc::Status ProduceStream(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<v1::ProduceResponse, v1::ProduceRequest>* stream) override;
  grpc::Status Fetch(grpc::ServerContext* ctx, const v1::FetchRequest* request,
                     v1::FetchResponse* response) override;

  // Requests one ProduceStream reads ahead of its appends (its bound on
  // buffered requests; gRPC flow control holds the client back beyond it).
  static constexpr size_t kStreamReadAhead = 16;
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
  // One acks=-1 partition waiting for its high watermark.
  struct PendingAck {
    v1::ProduceResponse::PartitionProduceResponse* out;
    std::shared_ptr<Replica> replica;
    Offset last_offset;
    LeaderEpoch epoch;
    bool resolved = false;
  };
  // Appends every partition of `request` in order and fills `response`
  // (acks=0: all NONE). The records bytes are moved out of `request`.
  // Returns the acks=-1 partitions that still wait for their replicas.
  std::vector<PendingAck> AppendProduce(v1::ProduceRequest& request, v1::ProduceResponse* response,
                                        int64_t* records_in, int64_t* bytes_in);
  // Settles what can be settled in `pending` (with expired: everything, as
  // REQUEST_TIMED_OUT); true once all are settled.
  static bool ResolveAcks(std::vector<PendingAck>& pending, bool expired);
  // How long an acks=-1 request may wait.
  absl::Duration ProduceTimeout(const v1::ProduceRequest& request) const;
  grpc::Status DoProduce(grpc::ServerContext* ctx, v1::ProduceRequest& request,
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
