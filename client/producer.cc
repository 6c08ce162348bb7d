#include "client/producer.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/kafka_error.h"
#include "spdlog/spdlog.h"

namespace fjord::client {
namespace {

// Headroom over max.request.size for the Produce request's own fields.
constexpr int kRequestOverheadBytes = 64 * 1024;
// The sender looks at the queues at least this often, to expire batches and
// refresh metadata even when nothing wakes it.
constexpr absl::Duration kSenderMaxSleep = absl::Milliseconds(100);

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
  // gRPC runs concurrent unary calls on one channel in parallel on the
  // broker, unlike a Kafka connection, so two batches of one partition in
  // flight at once could be appended out of order. One batch per partition
  // is in flight; max.in.flight.requests.per.connection bounds the requests
  // (for different partitions) pipelined to one broker.
  options.max_in_flight_per_partition = 1;
  options.compression = ToStorage(config.compression_type);
  return options;
}

}  // namespace

// One Produce call in flight: what the gRPC callback needs to finish it.
struct Producer::InFlight {
  int32_t broker = -1;
  std::unique_ptr<v1::BrokerService::Stub> stub;
  grpc::ClientContext context;
  v1::ProduceRequest request;
  v1::ProduceResponse response;
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

int32_t Producer::ChoosePartition(const ProducerRecord& record, int32_t num_partitions) {
  if (record.key.has_value()) return PartitionForKey(*record.key, num_partitions);
  absl::MutexLock lock(&mu_);
  auto& sticky = sticky_[record.topic];
  if (sticky == nullptr) sticky = std::make_unique<StickyPartitioner>(random_);
  return sticky->Partition(num_partitions);
}

std::future<absl::StatusOr<RecordMetadata>> Producer::Send(ProducerRecord record,
                                                           SendCallback callback) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<RecordMetadata>>>();
  std::future<absl::StatusOr<RecordMetadata>> future = promise->get_future();
  SendCallback complete =
      [promise, callback = std::move(callback)](const absl::StatusOr<RecordMetadata>& result) {
        if (callback) callback(result);
        promise->set_value(result);
      };

  const absl::Time deadline = absl::Now() + absl::Milliseconds(config_.max_block_ms);
  absl::StatusOr<TopicMetadata> topic = metadata_.WaitForTopic(record.topic, deadline);
  if (!topic.ok()) {
    complete(topic.status());
    return future;
  }
  const auto num_partitions = static_cast<int32_t>(topic->partitions.size());
  int32_t partition;
  if (record.partition.has_value()) {
    partition = *record.partition;
    if (partition < 0 || partition >= num_partitions) {
      complete(absl::InvalidArgumentError(
          absl::StrCat("Invalid partition given with record: ", partition,
                       " is not in the range [0...", num_partitions, ").")));
      return future;
    }
  } else {
    partition = ChoosePartition(record, num_partitions);
  }

  std::vector<storage::RecordHeader> headers;
  headers.reserve(record.headers.size());
  for (const auto& [key, value] : record.headers) headers.push_back({key, value});
  const int64_t timestamp = record.timestamp_ms.value_or(absl::ToUnixMillis(clock_.Wall()));
  std::optional<std::string_view> key, value;
  if (record.key) key = *record.key;
  if (record.value) value = *record.value;

  absl::StatusOr<RecordAccumulator::AppendResult> appended = accumulator_.Append(
      {record.topic, partition}, timestamp, key, value, headers, std::move(complete));
  if (!appended.ok()) {
    // The callback was not taken: complete here.
    promise->set_value(appended.status());
    if (callback) callback(appended.status());
    return future;
  }
  if (appended->batch_full && !record.key && !record.partition) {
    absl::MutexLock lock(&mu_);
    sticky_[record.topic]->OnNewBatch(partition, num_partitions);
  }
  if (appended->new_batch || appended->batch_full) WakeSender();
  return future;
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
        return;
      }
    }
    const absl::Duration delay = std::min(RunOnce(), kSenderMaxSleep);
    absl::MutexLock lock(&mu_);
    if (!wake_requested_) wake_.WaitWithTimeout(&mu_, delay);
    wake_requested_ = false;
  }
}

absl::Duration Producer::RunOnce() {
  accumulator_.ExpireBatches();
  if (metadata_.NeedsRefresh()) {
    std::vector<std::string> topics = metadata_.interest();
    if (!topics.empty()) {
      absl::Status refreshed = metadata_.Refresh(topics);
      if (!refreshed.ok())
        spdlog::debug("producer metadata refresh failed: {}", std::string(refreshed.message()));
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
    {
      absl::MutexLock lock(&mu_);
      if (in_flight_per_broker_[broker] >= config_.max_in_flight_requests_per_connection) continue;
    }
    auto batches = accumulator_.Drain(partitions, config_.max_request_size);
    if (!batches.empty())
      SendProduce(broker, snapshot->broker(broker)->address(), std::move(batches));
  }
  absl::Duration delay = check.next_check;
  if (leader_unknown) delay = std::min(delay, absl::Milliseconds(config_.retry_backoff_ms));
  return delay;
}

void Producer::SendProduce(int32_t broker, const std::string& address,
                           std::vector<std::unique_ptr<ProducerBatch>> batches) {
  auto* call = new InFlight;
  call->broker = broker;
  call->request.set_acks(config_.acks);
  call->request.set_timeout_ms(config_.request_timeout_ms);
  std::map<std::string, v1::ProduceRequest::TopicProduceData*> topics;
  for (auto& batch : batches) {
    absl::StatusOr<std::string_view> bytes = batch->Encode();
    if (!bytes.ok()) {
      accumulator_.Complete(std::move(batch), bytes.status());
      continue;
    }
    auto*& topic = topics[batch->topic_partition().topic];
    if (topic == nullptr) {
      topic = call->request.add_topic_data();
      topic->set_topic(batch->topic_partition().topic);
    }
    auto* data = topic->add_partition_data();
    data->set_partition(batch->topic_partition().partition);
    data->set_records(bytes->data(), bytes->size());
    call->batches.push_back(std::move(batch));
  }
  if (call->batches.empty()) {
    delete call;
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    ++in_flight_per_broker_[broker];
    ++in_flight_total_;
  }
  call->context.set_deadline(absl::ToChronoTime(
      absl::Now() + absl::Milliseconds(config_.request_timeout_ms) + absl::Seconds(1)));
  call->stub = v1::BrokerService::NewStub(channels_.Get(address));
  call->stub->async()->Produce(&call->context, &call->request, &call->response,
                               [this, call](grpc::Status status) {
                                 HandleResponse(*call, status);
                                 delete call;
                               });
}

void Producer::HandleResponse(InFlight& call, const grpc::Status& status) {
  if (!status.ok()) {
    metadata_.RequestUpdate();
    const absl::Status error = KafkaError(
        status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ? v1::REQUEST_TIMED_OUT
                                                                   : v1::NETWORK_EXCEPTION,
        absl::StrCat("produce to broker ", call.broker, ": ", status.error_message()));
    for (auto& batch : call.batches) RetryOrFail(std::move(batch), error);
  } else {
    std::map<std::pair<std::string, int32_t>, const v1::ProduceResponse::PartitionProduceResponse*>
        results;
    for (const auto& topic : call.response.responses()) {
      for (const auto& p : topic.partition_responses()) {
        results[{topic.topic(), p.partition()}] = &p;
      }
    }
    for (auto& batch : call.batches) {
      const TopicPartition& tp = batch->topic_partition();
      auto it = results.find({tp.topic, tp.partition});
      if (it == results.end()) {
        accumulator_.Complete(
            std::move(batch),
            KafkaError(v1::UNKNOWN_SERVER_ERROR, "broker response did not mention the partition"));
        continue;
      }
      const auto& result = *it->second;
      if (result.error_code() == v1::NONE) {
        accumulator_.Complete(std::move(batch), result.base_offset(), result.log_append_time_ms());
        continue;
      }
      if (IsStaleMetadataError(result.error_code())) metadata_.RequestUpdate();
      const absl::Status error = KafkaError(
          result.error_code(),
          absl::StrCat(ErrorCodeName(result.error_code()), " from broker ", call.broker, " for ",
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
    --in_flight_per_broker_[call.broker];
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
