// The Fjord producer: Kafka's producer model, over gRPC.
//
//   ASSIGN_OR_RETURN(auto producer, Producer::Create(config));
//   producer->Send({.topic = "orders", .key = "k", .value = "v"},
//                  [](const absl::StatusOr<RecordMetadata>& r) { ... });
//   producer->Flush();
//
// Send picks the partition (explicit, murmur2 of the key exactly as Kafka's
// Java client, or sticky for keyless records), appends the record to the
// accumulator (blocking up to max.block.ms for buffer.memory or for the
// topic's metadata) and returns a future. One background sender thread
// drains ready batches per leader broker into Produce requests on one
// ordered ProduceStream per broker (producer_stream.h), at most
// max.in.flight.requests.per.connection requests in flight per broker,
// retries retriable errors with retry.backoff.ms (refreshing metadata when
// the leader moved) until delivery.timeout.ms, and completes each record's
// future and callback on a gRPC callback thread.
//
// Ordering: a partition's records are written in the order they were sent.
// The stream keeps requests in order like a Kafka connection, so up to
// max.in.flight.requests.per.connection batches of one partition are in
// flight at once. Across retries: when a stream breaks, every request in
// flight on it fails and its batches are retried in their original order
// (record_accumulator.h); a batch that fails alone with a retriable error
// while a later batch of its partition succeeds lands after that one, as
// with Kafka's non-idempotent producer (max.in.flight...=1 rules it out).
// A request unanswered for request.timeout.ms breaks its stream.
//
// Thread-safe: Send, Flush and Close may be called from any thread.
#pragma once

#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "client/channels.h"
#include "client/cluster_metadata.h"
#include "client/config.h"
#include "client/partitioner.h"
#include "client/producer_stream.h"
#include "client/record_accumulator.h"
#include "common/random.h"

namespace fjord::client {

struct ProducerRecord {
  std::string topic;
  std::optional<int32_t> partition;  // unset: chosen by key or sticky
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<int64_t> timestamp_ms;  // unset: now
};

class Producer {
 public:
  static absl::StatusOr<std::unique_ptr<Producer>> Create(const ProducerConfig& config);
  ~Producer();  // Close() with no time limit

  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Queues a record. The future (and the callback, if any) completes with
  // the record's offset, or with the error that ended its delivery.
  std::future<absl::StatusOr<RecordMetadata>> Send(ProducerRecord record,
                                                   SendCallback callback = nullptr);

  // Sends everything queued now and waits until it has completed.
  void Flush();

  // Stops accepting records, sends what is queued (waiting up to `timeout`),
  // then fails whatever is left and stops the sender. Idempotent.
  void Close(absl::Duration timeout = absl::InfiniteDuration());

  const ProducerConfig& config() const { return config_; }

 private:
  struct InFlight;
  // The sender's connection to one broker (sender thread only).
  struct Connection {
    std::string address;
    std::unique_ptr<v1::BrokerService::Stub> stub;
    std::shared_ptr<ProducerStream> stream;  // null or broken: opened on the next send
  };

  explicit Producer(const ProducerConfig& config);
  void SenderLoop();
  // One pass: expire, refresh metadata if needed, drain and send.
  absl::Duration RunOnce();
  // Breaks streams whose oldest request waited longer than request.timeout.ms.
  void CheckTimeouts();
  void SendProduce(int32_t broker, const std::string& address,
                   std::vector<std::unique_ptr<ProducerBatch>> batches);
  void HandleResponse(std::unique_ptr<InFlight> call, v1::ProduceRequest& request,
                      const v1::ProduceResponse* response, const grpc::Status& status);
  void RetryOrFail(std::unique_ptr<ProducerBatch> batch, const absl::Status& error);
  void WakeSender();
  int32_t ChoosePartition(const ProducerRecord& record, int32_t num_partitions);
  void CloseStreams();

  const ProducerConfig config_;
  SystemClock& clock_;
  Channels channels_;
  ClusterMetadata metadata_;
  RecordAccumulator accumulator_;

  absl::Mutex mu_;  // guards the sender's wake-up flag, in-flight counts and sticky state
  absl::CondVar wake_;
  bool wake_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool running_ ABSL_GUARDED_BY(mu_) = true;
  bool force_close_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<int32_t, int> in_flight_per_broker_ ABSL_GUARDED_BY(mu_);
  int in_flight_total_ ABSL_GUARDED_BY(mu_) = 0;
  SeededRandom random_ ABSL_GUARDED_BY(mu_);
  std::map<int32_t, Connection> connections_;  // sender thread only
  absl::flat_hash_map<std::string, std::unique_ptr<StickyPartitioner>> sticky_ ABSL_GUARDED_BY(mu_);

  std::thread sender_;
  std::once_flag close_once_;
};

}  // namespace fjord::client
