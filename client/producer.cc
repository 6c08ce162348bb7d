#include "client/producer.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/kafka_error.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace fjord::client {
namespace {

// Headroom over max.request.size for the Produce request's own fields.
constexpr int kRequestOverheadBytes = 64 * 1024;
// The sender looks at the queues at least this often, to expire batches and
// refresh metadata even when nothing wakes it.
constexpr absl::Duration kSenderMaxSleep = absl::Milliseconds(100);
// How long Close waits for a stream to end by itself before cancelling it.
constexpr absl::Duration kStreamCloseWait = absl::Seconds(5);

storage::Compression ToStorage(CompressionType type) {
  switch (type) {
    case CompressionType::kGzip:
      return storage::Compression::kGzip;
    case CompressionType::kSnappy:
      return storage::Compression::kSnappy;
    case CompressionType::kLz4:
      return storage::Compression::kLz4;
    case CompressionType::kZstd:
      return storage::Compression::kZstd;
    case CompressionType::kNone:
      break;
  }
  return storage::Compression::kNone;
}

RecordAccumulator::Options AccumulatorOptions(const ProducerConfig& config) {
  RecordAccumulator::Options options;
  options.batch_size = config.batch_size;
  options.linger = absl::Milliseconds(config.linger_ms);
  options.buffer_memory = config.buffer_memory;
  options.max_block = absl::Milliseconds(config.max_block_ms);
  options.delivery_timeout = absl::Milliseconds(config.delivery_timeout_ms);
  options.retry_backoff = absl::Milliseconds(config.retry_backoff_ms);
  options.max_request_size = config.max_request_size;
  // One ordered stream per broker: a partition's batches in flight are
  // appended in send order, so the window is the connection's.
  options.max_in_flight_per_partition = config.max_in_flight_requests_per_connection;
  options.compression = ToStorage(config.compression_type);
  return options;
}

}  // namespace

// One Produce request in flight on a broker's stream: the batches it
// carries (their bytes travel in the request).
struct Producer::InFlight {
  int32_t broker = -1;
  std::vector<std::unique_ptr<ProducerBatch>> batches;
};

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(const ProducerConfig& config) {
  if (config.bootstrap_servers.empty()) {
    return absl::InvalidArgumentError("bootstrap.servers is required");
  }
  return std::unique_ptr<Producer>(new Producer(config));
}

Producer::Producer(const ProducerConfig& config)
    : config_(config),
      clock_(SystemClock::Get()),
      channels_(config.max_request_size + kRequestOverheadBytes),
      metadata_(config.bootstrap_servers, channels_, absl::Milliseconds(config.request_timeout_ms),
                absl::Milliseconds(config.metadata_max_age_ms)),
      accumulator_(AccumulatorOptions(config), clock_),
      random_(MakeSystemSeededRandom()) {
  sender_ = std::thread([this] { SenderLoop(); });
}

Producer::~Producer() { Close(); }

std::future<absl::StatusOr<RecordMetadata>> Producer::Send(ProducerRecord record,
                                                           SendCallback callback) {
  RecordCompletion completion{std::move(callback), std::promise<SendResult>()};
  std::future<SendResult> future = completion.promise->get_future();
  std::vector<storage::RecordHeader> headers;
  headers.reserve(record.headers.size());
  for (const auto& [key, value] : record.headers) headers.push_back({key, value});
  ProducerRecordView view{.topic = record.topic,
                          .partition = record.partition,
                          .headers = headers,
                          .timestamp_ms = record.timestamp_ms};
  if (record.key) view.key = *record.key;
  if (record.value) view.value = *record.value;
  if (absl::Status queued = Append(view, std::move(completion)); !queued.ok()) {
    completion.Run(queued);
  }
  return future;
}

void Producer::Produce(const ProducerRecordView& record, SendCallback callback) {
  RecordCompletion completion{std::move(callback), std::nullopt};
  if (absl::Status queued = Append(record, std::move(completion)); !queued.ok()) {
    completion.Run(queued);
  }
}

absl::Status Producer::Append(const ProducerRecordView& record, RecordCompletion&& completion) {
  const absl::string_view topic_key(record.topic.data(), record.topic.size());
  int32_t partition = -1;
  int32_t num_partitions = 0;
  for (int attempt = 0; attempt < 2 && num_partitions == 0; ++attempt) {
    {
      absl::MutexLock lock(&topics_mu_);
      auto it = topics_.find(topic_key);
      if (it != topics_.end() && it->second.num_partitions > 0) {
        num_partitions = it->second.num_partitions;
        if (!record.partition && !record.key) {
          if (it->second.sticky == nullptr) {
            it->second.sticky = std::make_unique<StickyPartitioner>(random_);
          }
          partition = it->second.sticky->Partition(num_partitions);
        }
        break;
      }
    }
    // First record for this topic (or its metadata was lost): the slow path.
    RETURN_IF_ERROR(WaitOnMetadata(record.topic).status());
  }
  if (num_partitions == 0) {
    return KafkaError(v1::UNKNOWN_TOPIC_OR_PARTITION,
                      absl::StrCat("topic ", topic_key, " has no partitions"));
  }
  if (record.partition) {
    partition = *record.partition;
    if (partition < 0 || partition >= num_partitions) {
      return absl::InvalidArgumentError(
          absl::StrCat("Invalid partition given with record: ", partition,
                       " is not in the range [0...", num_partitions, ")."));
    }
  } else if (record.key) {
    partition = PartitionForKey(*record.key, num_partitions);
  }

  const int64_t timestamp =
      record.timestamp_ms ? *record.timestamp_ms : absl::ToUnixMillis(clock_.Wall());
  ASSIGN_OR_RETURN(RecordAccumulator::AppendResult appended,
                   accumulator_.Append({record.topic, partition}, timestamp, record.key,
                                       record.value, record.headers, std::move(completion)));
  if (appended.batch_full && !record.key && !record.partition) {
    absl::MutexLock lock(&topics_mu_);
    auto it = topics_.find(topic_key);
    if (it != topics_.end() && it->second.sticky != nullptr) {
      it->second.sticky->OnNewBatch(partition, num_partitions);
    }
  }
  if (appended.new_batch || appended.batch_full) WakeSender();
  return absl::OkStatus();
}

absl::StatusOr<int32_t> Producer::WaitOnMetadata(std::string_view topic) {
  const std::string name(topic);
  const absl::Time deadline = absl::Now() + absl::Milliseconds(config_.max_block_ms);
  // Kafka's producer asks for auto-creation too: a broker with
  // auto.create.topics.enable creates the topic on the first send.
  ASSIGN_OR_RETURN(TopicMetadata known,
                   metadata_.WaitForTopic(name, deadline, /*allow_auto_topic_creation=*/true,
                                          config_.max_block_ms));
  const auto num_partitions = static_cast<int32_t>(known.partitions.size());
  absl::MutexLock lock(&topics_mu_);
  topics_[name].num_partitions = num_partitions;
  return num_partitions;
}

void Producer::UpdateTopics() {
  std::shared_ptr<const MetadataSnapshot> snapshot = metadata_.current();
  absl::MutexLock lock(&topics_mu_);
  for (auto& [name, state] : topics_) {
    const TopicMetadata* topic = snapshot->topic(name);
    // A topic missing from this answer keeps its count: records keep going
    // to the partitions known, and the sender waits for their leaders.
    if (topic == nullptr || topic->error != v1::NONE || topic->partitions.empty()) continue;
    state.num_partitions = static_cast<int32_t>(topic->partitions.size());
  }
}

void Producer::WakeSender() {
  absl::MutexLock lock(&mu_);
  wake_requested_ = true;
  wake_.Signal();
}

void Producer::SenderLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (!running_ && in_flight_total_ == 0 && (force_close_ || !accumulator_.HasIncomplete())) {
        break;
      }
    }
    const absl::Duration delay = std::min(RunOnce(), kSenderMaxSleep);
    absl::MutexLock lock(&mu_);
    if (!wake_requested_) wake_.WaitWithTimeout(&mu_, delay);
    wake_requested_ = false;
  }
  CloseStreams();
}

void Producer::CloseStreams() {
  for (auto& [broker, connection] : connections_) {
    if (connection.stream != nullptr) connection.stream->Close();
  }
  for (auto& [broker, connection] : connections_) {
    if (connection.stream == nullptr) continue;
    if (!connection.stream->WaitFinished(kStreamCloseWait)) {
      connection.stream->Cancel("producer closing");
      connection.stream->WaitFinished(absl::InfiniteDuration());
    }
  }
  connections_.clear();
}

void Producer::CheckTimeouts() {
  const absl::Time now = absl::Now();
  const absl::Duration limit = absl::Milliseconds(config_.request_timeout_ms);
  for (auto& [broker, connection] : connections_) {
    if (connection.stream == nullptr) continue;
    if (now - connection.stream->oldest_sent() > limit) {
      connection.stream->Cancel(
          absl::StrCat("REQUEST_TIMED_OUT: no produce response from broker ", broker,
                       " within request.timeout.ms=", config_.request_timeout_ms));
    }
  }
}

absl::Duration Producer::RunOnce() {
  accumulator_.ExpireBatches();
  CheckTimeouts();
  if (metadata_.NeedsRefresh()) {
    std::vector<std::string> topics = metadata_.interest();
    if (!topics.empty()) {
      absl::Status refreshed = metadata_.Refresh(topics);
      if (refreshed.ok()) {
        UpdateTopics();
      } else {
        spdlog::debug("producer metadata refresh failed: {}", std::string(refreshed.message()));
      }
    }
  }
  RecordAccumulator::ReadyCheck check = accumulator_.Ready();
  std::shared_ptr<const MetadataSnapshot> snapshot = metadata_.current();
  std::map<int32_t, std::vector<TopicPartition>> by_leader;
  bool leader_unknown = false;
  for (const TopicPartition& tp : check.ready) {
    const int32_t leader = snapshot->leader(tp.topic, tp.partition);
    if (leader < 0 || snapshot->broker(leader) == nullptr) {
      leader_unknown = true;
      continue;
    }
    by_leader[leader].push_back(tp);
  }
  if (leader_unknown) metadata_.RequestUpdate();

  for (auto& [broker, partitions] : by_leader) {
    // Fill the broker's window: each request takes at most one batch per
    // partition, so a partition with several ready batches spreads them
    // over consecutive requests of the stream.
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        if (in_flight_per_broker_[broker] >= config_.max_in_flight_requests_per_connection) break;
      }
      auto batches = accumulator_.Drain(broker, partitions, config_.max_request_size);
      if (batches.empty()) break;
      SendProduce(broker, snapshot->broker(broker)->address(), std::move(batches));
    }
  }
  absl::Duration delay = check.next_check;
  if (leader_unknown) delay = std::min(delay, absl::Milliseconds(config_.retry_backoff_ms));
  return delay;
}

void Producer::SendProduce(int32_t broker, const std::string& address,
                           std::vector<std::unique_ptr<ProducerBatch>> batches) {
  auto call = std::make_unique<InFlight>();
  call->broker = broker;
  v1::ProduceRequest request;
  request.set_acks(config_.acks);
  request.set_timeout_ms(config_.request_timeout_ms);
  v1::ProduceRequest::TopicProduceData* topic = nullptr;
  for (auto& batch : batches) {
    absl::StatusOr<std::string_view> bytes = batch->Encode();
    if (!bytes.ok()) {
      accumulator_.Complete(std::move(batch), bytes.status());
      continue;
    }
    // Drain hands batches over sorted by topic: one TopicProduceData each.
    if (topic == nullptr || topic->topic() != batch->topic_partition().topic) {
      topic = request.add_topic_data();
      topic->set_topic(batch->topic_partition().topic);
    }
    auto* data = topic->add_partition_data();
    data->set_partition(batch->topic_partition().partition);
    *data->mutable_records() = batch->TakeEncoded();
    call->batches.push_back(std::move(batch));
  }
  if (call->batches.empty()) return;

  Connection& connection = connections_[broker];
  if (connection.stream == nullptr || connection.stream->broken() ||
      connection.address != address) {
    if (connection.stream != nullptr) connection.stream->Close();
    connection.address = address;
    connection.stub = v1::BrokerService::NewStub(channels_.Get(address));
    connection.stream = ProducerStream::Open(
        *connection.stub, [this](uint64_t tag, v1::ProduceRequest& request,
                                 const v1::ProduceResponse* response, const grpc::Status& status) {
          HandleResponse(std::unique_ptr<InFlight>(reinterpret_cast<InFlight*>(tag)), request,
                         response, status);
        });
  }
  {
    absl::MutexLock lock(&mu_);
    ++in_flight_per_broker_[broker];
    ++in_flight_total_;
  }
  InFlight* tag = call.release();
  if (!connection.stream->Send(reinterpret_cast<uint64_t>(tag), request)) {
    // Broke between the check and the send: fail this request like the
    // ones the stream had taken, so it is retried in order.
    HandleResponse(std::unique_ptr<InFlight>(tag), request, nullptr,
                   grpc::Status(grpc::StatusCode::UNAVAILABLE, "produce stream broken"));
  }
}

void Producer::HandleResponse(std::unique_ptr<InFlight> call, v1::ProduceRequest& request,
                              const v1::ProduceResponse* response, const grpc::Status& status) {
  // Every batch gets its bytes back first: it may be retried.
  {
    size_t i = 0;
    for (auto& topic : *request.mutable_topic_data()) {
      for (auto& data : *topic.mutable_partition_data()) {
        if (i < call->batches.size()) {
          call->batches[i++]->RestoreEncoded(std::move(*data.mutable_records()));
        }
      }
    }
  }
  if (!status.ok()) {
    metadata_.RequestUpdate();
    const bool timed_out = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
                           status.error_message().rfind("REQUEST_TIMED_OUT", 0) == 0;
    const absl::Status error =
        KafkaError(timed_out ? v1::REQUEST_TIMED_OUT : v1::NETWORK_EXCEPTION,
                   absl::StrCat("produce to broker ", call->broker, ": ", status.error_message()));
    for (auto& batch : call->batches) RetryOrFail(std::move(batch), error);
  } else {
    // Responses list topics and partitions in request order (the i-th
    // partition answers the i-th batch); look up by name only if a broker
    // orders them differently.
    using PartitionResponse = v1::ProduceResponse::PartitionProduceResponse;
    std::vector<std::pair<const std::string*, const PartitionResponse*>> results;
    results.reserve(call->batches.size());
    for (const auto& topic : response->responses()) {
      for (const auto& p : topic.partition_responses()) results.emplace_back(&topic.topic(), &p);
    }
    auto find = [&results](size_t i, const TopicPartition& tp) -> const PartitionResponse* {
      auto matches = [&tp](const auto& r) {
        return *r.first == tp.topic && r.second->partition() == tp.partition;
      };
      if (i < results.size() && matches(results[i])) return results[i].second;
      for (const auto& r : results) {
        if (matches(r)) return r.second;
      }
      return nullptr;
    };
    for (size_t i = 0; i < call->batches.size(); ++i) {
      std::unique_ptr<ProducerBatch>& batch = call->batches[i];
      const TopicPartition& tp = batch->topic_partition();
      const PartitionResponse* found = find(i, tp);
      if (found == nullptr) {
        accumulator_.Complete(
            std::move(batch),
            KafkaError(v1::UNKNOWN_SERVER_ERROR, "broker response did not mention the partition"));
        continue;
      }
      const auto& result = *found;
      if (result.error_code() == v1::NONE) {
        accumulator_.Complete(std::move(batch), result.base_offset(), result.log_append_time_ms());
        continue;
      }
      if (IsStaleMetadataError(result.error_code())) metadata_.RequestUpdate();
      const absl::Status error = KafkaError(
          result.error_code(),
          absl::StrCat(ErrorCodeName(result.error_code()), " from broker ", call->broker, " for ",
                       tp.topic, "-", tp.partition, result.error_message().empty() ? "" : ": ",
                       result.error_message()));
      if (IsRetriable(result.error_code())) {
        RetryOrFail(std::move(batch), error);
      } else {
        accumulator_.Complete(std::move(batch), error);
      }
    }
  }
  {
    absl::MutexLock lock(&mu_);
    --in_flight_per_broker_[call->broker];
    --in_flight_total_;
  }
  WakeSender();
}

void Producer::RetryOrFail(std::unique_ptr<ProducerBatch> batch, const absl::Status& error) {
  const bool attempts_left = batch->attempts() <= config_.retries;
  const bool time_left =
      clock_.Monotonic() - batch->created() < absl::Milliseconds(config_.delivery_timeout_ms);
  bool closing;
  {
    absl::MutexLock lock(&mu_);
    closing = force_close_;
  }
  if (attempts_left && time_left && !closing) {
    // Kafka's producer logs this at WARN: a retry of a batch the broker may
    // have written already is where duplicates come from. Debug here: the
    // routine retry after a leader move would land on the fjord CLI's
    // stdout (spdlog's default sink).
    const TopicPartition& tp = batch->topic_partition();
    spdlog::debug("produce of {} record(s) to {}-{} failed (attempt {}), retrying: {}",
                  batch->record_count(), tp.topic, tp.partition, batch->attempts(),
                  std::string(error.message()));
    batch->set_last_error(error);
    accumulator_.Reenqueue(std::move(batch));
    return;
  }
  const int attempts = batch->attempts();
  accumulator_.Complete(
      std::move(batch),
      absl::Status(error.code(),
                   absl::StrCat(error.message(), " (gave up after ", attempts, " attempt(s)",
                                time_left ? "" : ", delivery.timeout.ms expired", ")")));
}

void Producer::Flush() {
  WakeSender();
  accumulator_.Flush();
}

void Producer::Close(absl::Duration timeout) {
  std::call_once(close_once_, [&] {
    accumulator_.Close();
    {
      absl::MutexLock lock(&mu_);
      running_ = false;
      wake_requested_ = true;
      wake_.Signal();
    }
    if (timeout != absl::InfiniteDuration()) {
      const absl::Time deadline = absl::Now() + timeout;
      while (accumulator_.HasIncomplete() && absl::Now() < deadline) {
        absl::SleepFor(absl::Milliseconds(5));
      }
      if (accumulator_.HasIncomplete()) {
        {
          absl::MutexLock lock(&mu_);
          force_close_ = true;
        }
        accumulator_.AbortQueued(absl::CancelledError(
            absl::StrCat("producer closed before the record was sent (close timeout ",
                         absl::FormatDuration(timeout), ")")));
        WakeSender();
      }
    }
    sender_.join();
  });
}

}  // namespace fjord::client
