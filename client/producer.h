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
// Two ways to send (the same batching, ordering and retries):
// - Send(ProducerRecord, callback): Kafka's API, returns a std::future. The
//   record owns its strings; each future costs a promise (allocations and a
//   futex wake on completion).
// - Produce(ProducerRecordView, callback): the fast path, like librdkafka's
//   produce(): no future; the outcome, including an error found before the
//   record was queued, goes to the callback (may be null). The record's
//   bytes are only borrowed for the call (copied into the batch). Nothing is
//   allocated per record when the callback's captures fit std::function's
//   small buffer (16 bytes in libstdc++, e.g. a pointer and an int64).
// Both call the callback exactly once. Callbacks of one batch run back to
// back on one thread, in offset order; keep them short, they hold up the
// producer's completions.
//
// Send and Produce wait for a topic they have not seen yet: they refresh
// metadata, asking the broker to create the topic if its
// auto.create.topics.enable allows (Kafka's producer does the same), until
// the topic has partitions with a leader, for up to max.block.ms; then the
// record fails with REQUEST_TIMED_OUT ("Topic X not present in metadata
// after N ms."), as Kafka's TimeoutException. A known topic costs no
// metadata work per record: the producer keeps each topic's partition count
// (updated on every metadata refresh).
//
// Thread-safe: Send, Produce, Flush and Close may be called from any thread.
#pragma once

#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
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

// A record whose bytes the caller owns; they need to live only until
// Produce returns.
struct ProducerRecordView {
  std::string_view topic;
  std::optional<int32_t> partition;  // unset: chosen by key or sticky
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  absl::Span<const storage::RecordHeader> headers;
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

  // The fast path (see the top of this file): no future; `callback` (may be
  // null) gets the outcome, also when the record cannot be queued.
  void Produce(const ProducerRecordView& record, SendCallback callback);

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
  // Queues a record; on error `completion` is left for the caller to run.
  absl::Status Append(const ProducerRecordView& record, RecordCompletion&& completion);
  // The slow path of a topic not in topics_: waits for its metadata (see
  // the top of the file) and returns its partition count.
  absl::StatusOr<int32_t> WaitOnMetadata(std::string_view topic);
  // Copies the partition counts of the current metadata into topics_.
  void UpdateTopics();
  void CloseStreams();

  const ProducerConfig config_;
  SystemClock& clock_;
  Channels channels_;
  ClusterMetadata metadata_;
  RecordAccumulator accumulator_;

  absl::Mutex mu_;  // guards the sender's wake-up flag and in-flight counts
  absl::CondVar wake_;
  bool wake_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool running_ ABSL_GUARDED_BY(mu_) = true;
  bool force_close_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<int32_t, int> in_flight_per_broker_ ABSL_GUARDED_BY(mu_);
  int in_flight_total_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<int32_t, Connection> connections_;  // sender thread only
  // What Send needs per record about a topic: its partition count and
  // sticky partitioner. Filled by WaitOnMetadata, updated on refreshes.
  struct TopicState {
    int32_t num_partitions = 0;
    std::unique_ptr<StickyPartitioner> sticky;
  };
  absl::Mutex topics_mu_;  // guards topics_ and random_ (one lock per Send)
  absl::flat_hash_map<std::string, TopicState> topics_ ABSL_GUARDED_BY(topics_mu_);
  SeededRandom random_ ABSL_GUARDED_BY(topics_mu_);

  std::thread sender_;
  std::once_flag close_once_;
};

}  // namespace fjord::client
