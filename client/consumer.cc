#include "client/consumer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/kafka_error.h"
#include "proto/fjord/v1/broker.grpc.pb.h"
#include "spdlog/spdlog.h"
#include "storage/record_batch.h"

namespace fjord::client {
namespace {

// Response headroom over fetch.max.bytes for the Fetch response's fields.
constexpr int kResponseOverheadBytes = 1 << 20;

}  // namespace

struct Consumer::FetchCall {
  int32_t broker = -1;
  std::unique_ptr<v1::BrokerService::Stub> stub;
  grpc::ClientContext context;
  v1::FetchRequest request;
  v1::FetchResponse response;
};

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Create(const ConsumerConfig& config) {
  if (config.bootstrap_servers.empty()) {
    return absl::InvalidArgumentError("bootstrap.servers is required");
  }
  return std::unique_ptr<Consumer>(new Consumer(config));
}

Consumer::Consumer(const ConsumerConfig& config)
    : config_(config),
      channels_(std::max(config.fetch_max_bytes, config.max_partition_fetch_bytes) +
                kResponseOverheadBytes),
      metadata_(config.bootstrap_servers, channels_, absl::Milliseconds(config.request_timeout_ms),
                absl::Milliseconds(config.metadata_max_age_ms)) {}

Consumer::~Consumer() { Close(); }

void Consumer::Close() {
  if (closed_) return;
  closed_ = true;
  // In-flight fetches hold `this`: wait for them (bounded by their deadline).
  absl::MutexLock lock(&mu_);
  while (total_in_flight_ > 0) arrived_.Wait(&mu_);
}

absl::Status Consumer::Assign(const std::vector<TopicPartition>& partitions) {
  std::map<TopicPartition, PartitionState> next;
  for (const TopicPartition& tp : partitions) {
    if (tp.topic.empty() || tp.partition < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid partition to assign: '", tp.topic, "'-", tp.partition));
    }
    auto it = partitions_.find(tp);
    next[tp] = it != partitions_.end() ? it->second : PartitionState{};
    metadata_.AddInterest(tp.topic);
  }
  partitions_ = std::move(next);
  // Drop buffered data of partitions no longer assigned.
  std::erase_if(buffered_, [&](const Completed& c) { return !partitions_.contains(c.tp); });
  return absl::OkStatus();
}

std::vector<TopicPartition> Consumer::assignment() const {
  std::vector<TopicPartition> out;
  for (const auto& [tp, state] : partitions_) out.push_back(tp);
  return out;
}

absl::Status Consumer::Seek(const TopicPartition& tp, int64_t offset) {
  auto it = partitions_.find(tp);
  if (it == partitions_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot seek ", tp.topic, "-", tp.partition, ": not assigned"));
  }
  if (offset < 0) return absl::InvalidArgumentError(absl::StrCat("negative offset ", offset));
  it->second.position = offset;
  it->second.reset_timestamp.reset();
  return absl::OkStatus();
}

absl::Status Consumer::SeekToTimestamp(const std::vector<TopicPartition>& partitions,
                                       int64_t timestamp_ms) {
  for (const TopicPartition& tp : partitions) {
    auto it = partitions_.find(tp);
    if (it == partitions_.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot seek ", tp.topic, "-", tp.partition, ": not assigned"));
    }
    it->second.position.reset();
    it->second.reset_timestamp = timestamp_ms;
  }
  return absl::OkStatus();
}

absl::Status Consumer::SeekToBeginning(const std::vector<TopicPartition>& partitions) {
  return SeekToTimestamp(partitions, kEarliestTimestamp);
}

absl::Status Consumer::SeekToEnd(const std::vector<TopicPartition>& partitions) {
  return SeekToTimestamp(partitions, kLatestTimestamp);
}

absl::StatusOr<int64_t> Consumer::Position(const TopicPartition& tp) {
  auto it = partitions_.find(tp);
  if (it == partitions_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat(tp.topic, "-", tp.partition, " is not assigned"));
  }
  if (!it->second.position.has_value()) {
    if (absl::Status s = ResolvePositions(); !s.ok()) return s;
  }
  if (!it->second.position.has_value()) {
    return absl::UnavailableError(
        absl::StrCat("position of ", tp.topic, "-", tp.partition, " not yet known"));
  }
  return *it->second.position;
}

absl::StatusOr<std::map<TopicPartition, int64_t>> Consumer::OffsetsForTimes(
    const std::vector<TopicPartition>& partitions, int64_t timestamp) {
  std::map<TopicPartition, int64_t> result;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (metadata_.NeedsRefresh()) (void)metadata_.Refresh(metadata_.interest());
    std::shared_ptr<const MetadataSnapshot> snapshot = metadata_.current();
    std::map<int32_t, v1::ListOffsetsRequest> requests;
    for (const TopicPartition& tp : partitions) {
      if (result.contains(tp)) continue;
      metadata_.AddInterest(tp.topic);
      const int32_t leader = snapshot->leader(tp.topic, tp.partition);
      if (leader < 0 || snapshot->broker(leader) == nullptr) continue;
      v1::ListOffsetsRequest& request = requests[leader];
      request.set_isolation_level(config_.isolation_level == IsolationLevel::kReadCommitted
                                      ? v1::READ_COMMITTED
                                      : v1::READ_UNCOMMITTED);
      auto* topic = request.add_topics();
      topic->set_topic(tp.topic);
      auto* p = topic->add_partitions();
      p->set_partition(tp.partition);
      p->set_current_leader_epoch(-1);
      p->set_timestamp(timestamp);
    }
    for (auto& [leader, request] : requests) {
      auto stub = v1::BrokerService::NewStub(channels_.Get(snapshot->broker(leader)->address()));
      grpc::ClientContext context;
      context.set_deadline(
          absl::ToChronoTime(absl::Now() + absl::Milliseconds(config_.request_timeout_ms)));
      v1::ListOffsetsResponse response;
      grpc::Status status = stub->ListOffsets(&context, request, &response);
      if (!status.ok()) {
        metadata_.RequestUpdate();
        continue;
      }
      for (const auto& t : response.topics()) {
        for (const auto& p : t.partitions()) {
          if (p.error_code() == v1::NONE) {
            result[{t.topic(), p.partition()}] = p.offset();
          } else if (IsStaleMetadataError(p.error_code())) {
            metadata_.RequestUpdate();
          } else if (!IsRetriable(p.error_code())) {
            return KafkaError(p.error_code(),
                              absl::StrCat("ListOffsets for ", t.topic(), "-", p.partition(), ": ",
                                           ErrorCodeName(p.error_code())));
          }
        }
      }
    }
    if (result.size() == partitions.size()) return result;
    absl::SleepFor(absl::Milliseconds(config_.retry_backoff_ms));
  }
  return KafkaError(v1::LEADER_NOT_AVAILABLE,
                    absl::StrCat("could not list offsets for ", partitions.size() - result.size(),
                                 " partition(s): no reachable leader"));
}

absl::Status Consumer::ResolvePositions() {
  // Group the partitions needing a position by the timestamp to look up.
  std::map<int64_t, std::vector<TopicPartition>> wanted;
  for (auto& [tp, state] : partitions_) {
    if (state.position.has_value()) continue;
    if (!state.reset_timestamp.has_value()) {
      switch (config_.auto_offset_reset) {
        case AutoOffsetReset::kEarliest:
          state.reset_timestamp = kEarliestTimestamp;
          break;
        case AutoOffsetReset::kLatest:
          state.reset_timestamp = kLatestTimestamp;
          break;
        case AutoOffsetReset::kNone:
          return KafkaError(v1::OFFSET_OUT_OF_RANGE,
                            absl::StrCat("no position for ", tp.topic, "-", tp.partition,
                                         " and auto.offset.reset=none"));
      }
    }
    wanted[*state.reset_timestamp].push_back(tp);
  }
  for (const auto& [timestamp, tps] : wanted) {
    absl::StatusOr<std::map<TopicPartition, int64_t>> offsets = OffsetsForTimes(tps, timestamp);
    if (!offsets.ok()) {
      if (!IsRetriable(ToErrorCode(offsets.status()))) return offsets.status();
      continue;  // try again on the next poll
    }
    for (const auto& [tp, offset] : *offsets) {
      PartitionState& state = partitions_[tp];
      if (offset >= 0) {
        state.position = offset;
      } else {
        // No record at or after the timestamp: start at the end, as Kafka.
        auto end = OffsetsForTimes({tp}, kLatestTimestamp);
        if (end.ok()) state.position = end->at(tp);
      }
      if (state.position.has_value()) state.reset_timestamp.reset();
    }
  }
  return absl::OkStatus();
}

void Consumer::SendFetches() {
  std::shared_ptr<const MetadataSnapshot> snapshot = metadata_.current();
  std::map<int32_t, std::vector<TopicPartition>> by_leader;
  const absl::Time now = absl::Now();
  bool leader_unknown = false;
  for (auto& [tp, state] : partitions_) {
    if (!state.position.has_value() || state.fetch_in_flight || now < state.retry_after) continue;
    const bool has_buffered = std::any_of(buffered_.begin(), buffered_.end(),
                                          [&](const Completed& c) { return c.tp == tp; });
    if (has_buffered) continue;
    const int32_t leader = snapshot->leader(tp.topic, tp.partition);
    if (leader < 0 || snapshot->broker(leader) == nullptr) {
      leader_unknown = true;
      continue;
    }
    by_leader[leader].push_back(tp);
  }
  if (leader_unknown) metadata_.RequestUpdate();

  for (const auto& [leader, tps] : by_leader) {
    {
      absl::MutexLock lock(&mu_);
      if (fetches_in_flight_[leader] > 0) continue;  // one outstanding Fetch per broker
      ++fetches_in_flight_[leader];
      ++total_in_flight_;
    }
    auto* call = new FetchCall;
    call->broker = leader;
    v1::FetchRequest& request = call->request;
    request.set_replica_id(-1);
    request.set_max_wait_ms(config_.fetch_max_wait_ms);
    request.set_min_bytes(config_.fetch_min_bytes);
    request.set_max_bytes(config_.fetch_max_bytes);
    request.set_isolation_level(config_.isolation_level == IsolationLevel::kReadCommitted
                                    ? v1::READ_COMMITTED
                                    : v1::READ_UNCOMMITTED);
    std::map<std::string, v1::FetchRequest::FetchTopic*> topics;
    for (const TopicPartition& tp : tps) {
      PartitionState& state = partitions_[tp];
      state.fetch_in_flight = true;
      auto*& topic = topics[tp.topic];
      if (topic == nullptr) {
        topic = request.add_topics();
        topic->set_topic(tp.topic);
      }
      auto* p = topic->add_partitions();
      p->set_partition(tp.partition);
      const TopicMetadata* tm = snapshot->topic(tp.topic);
      p->set_current_leader_epoch(tm ? tm->partitions[tp.partition].leader_epoch : -1);
      p->set_fetch_offset(*state.position);
      p->set_partition_max_bytes(config_.max_partition_fetch_bytes);
      p->set_log_start_offset(-1);
    }
    call->context.set_deadline(absl::ToChronoTime(
        absl::Now() + absl::Milliseconds(config_.fetch_max_wait_ms + config_.request_timeout_ms)));
    call->stub = v1::BrokerService::NewStub(channels_.Get(snapshot->broker(leader)->address()));
    call->stub->async()->Fetch(&call->context, &call->request, &call->response,
                               [this, call](grpc::Status status) {
                                 OnFetchDone(*call, status);
                                 delete call;
                               });
  }
}

void Consumer::OnFetchDone(FetchCall& call, const grpc::Status& status) {
  std::vector<Completed> completed;
  for (const auto& topic : call.request.topics()) {
    for (const auto& p : topic.partitions()) {
      Completed c;
      c.tp = {topic.topic(), p.partition()};
      c.fetch_offset = p.fetch_offset();
      if (!status.ok()) {
        c.error = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
                      ? v1::REQUEST_TIMED_OUT
                      : v1::NETWORK_EXCEPTION;
        c.error_message = status.error_message();
      } else {
        c.error = v1::UNKNOWN_SERVER_ERROR;  // unless the response mentions it
        c.error_message = "partition missing from the fetch response";
      }
      completed.push_back(std::move(c));
    }
  }
  if (status.ok()) {
    for (auto& topic : *call.response.mutable_responses()) {
      for (auto& p : *topic.mutable_partitions()) {
        for (Completed& c : completed) {
          if (c.tp.topic != topic.topic() || c.tp.partition != p.partition()) continue;
          c.error = p.error_code();
          c.error_message.clear();
          c.high_watermark = p.high_watermark();
          c.records = std::move(*p.mutable_records());
        }
      }
    }
  }
  absl::MutexLock lock(&mu_);
  for (Completed& c : completed) arrivals_.push_back(std::move(c));
  --fetches_in_flight_[call.broker];
  --total_in_flight_;
  arrived_.SignalAll();
}

absl::Status Consumer::TakeRecords(Completed& c, std::vector<ConsumerRecord>& out, size_t max,
                                   bool* exhausted) {
  *exhausted = false;
  PartitionState& state = partitions_[c.tp];
  std::string_view rest = std::string_view(c.records).substr(c.consumed);
  storage::BatchIterator it(rest);
  storage::BatchLimits limits;
  limits.max_batch_bytes = static_cast<size_t>(config_.fetch_max_bytes) + kResponseOverheadBytes;
  while (out.size() < max && it.Next()) {
    const storage::BatchHeader& header = it.header();
    const int64_t last_offset = header.base_offset.value() + header.last_offset_delta;
    if (last_offset < *state.position || header.is_control()) {
      c.consumed += it.batch().size();
      c.decoded.reset();
      continue;
    }
    if (!c.decoded.has_value()) {
      // Decode validates the CRC (Fjord always checks: check.crcs=false
      // skips nothing, as the codec cannot read a batch it has not verified).
      absl::StatusOr<storage::DecodedBatch> decoded =
          storage::DecodedBatch::Decode(it.batch(), limits);
      if (!decoded.ok()) {
        return KafkaError(
            v1::CORRUPT_MESSAGE,
            absl::StrCat("record batch at offset ", header.base_offset.value(), " of ", c.tp.topic,
                         "-", c.tp.partition, " is invalid: ", decoded.status().message()));
      }
      c.decoded = *std::move(decoded);
    }
    const storage::DecodedBatch* batch = &*c.decoded;
    const bool log_append = (header.attributes & storage::kTimestampTypeBit) != 0;
    for (const storage::Record& record : batch->records()) {
      const int64_t offset = header.base_offset.value() + record.offset_delta;
      if (offset < *state.position) continue;
      if (out.size() >= max) break;
      ConsumerRecord r;
      r.topic = c.tp.topic;
      r.partition = c.tp.partition;
      r.offset = offset;
      r.log_append_time = log_append;
      r.timestamp =
          log_append ? header.max_timestamp : header.base_timestamp + record.timestamp_delta;
      r.leader_epoch = header.partition_leader_epoch.value();
      if (record.key) r.key = std::string(*record.key);
      if (record.value) r.value = std::string(*record.value);
      for (const storage::RecordHeader& h : record.headers) {
        r.headers.emplace_back(
            std::string(h.key),
            h.value ? std::optional<std::string>(std::string(*h.value)) : std::nullopt);
      }
      out.push_back(std::move(r));
      state.position = offset + 1;
    }
    if (*state.position > last_offset) {
      c.consumed += it.batch().size();
      c.decoded.reset();
    }
  }
  // A partial batch at the end of a response is normal (byte limits): the
  // next fetch starts from the position and gets it whole.
  *exhausted = out.size() < max;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ConsumerRecord>> Consumer::Poll(absl::Duration timeout) {
  if (closed_) return absl::FailedPreconditionError("consumer is closed");
  const absl::Time deadline = absl::Now() + timeout;
  const size_t max = static_cast<size_t>(config_.max_poll_records);
  while (true) {
    if (metadata_.NeedsRefresh() && !metadata_.interest().empty()) {
      absl::Status s = metadata_.Refresh(metadata_.interest());
      if (!s.ok()) spdlog::debug("consumer metadata refresh: {}", std::string(s.message()));
    }
    if (absl::Status s = ResolvePositions(); !s.ok()) return s;
    {
      absl::MutexLock lock(&mu_);
      while (!arrivals_.empty()) {
        buffered_.push_back(std::move(arrivals_.front()));
        arrivals_.pop_front();
      }
    }
    std::vector<ConsumerRecord> records;
    while (!buffered_.empty() && records.size() < max) {
      Completed& c = buffered_.front();
      auto it = partitions_.find(c.tp);
      // Drop data for partitions unassigned, or sought elsewhere meanwhile.
      if (it == partitions_.end() || !it->second.position.has_value() ||
          (c.consumed == 0 && c.fetch_offset != *it->second.position && c.error == v1::NONE)) {
        if (it != partitions_.end()) it->second.fetch_in_flight = false;
        buffered_.pop_front();
        continue;
      }
      PartitionState& state = it->second;
      if (c.error != v1::NONE) {
        state.fetch_in_flight = false;
        // Copy what the error needs: pop_front() destroys `c`.
        const v1::ErrorCode error = c.error;
        const std::string message = c.error_message;
        const TopicPartition tp = c.tp;
        buffered_.pop_front();
        if (error == v1::OFFSET_OUT_OF_RANGE) {
          if (config_.auto_offset_reset == AutoOffsetReset::kNone) {
            return KafkaError(error, absl::StrCat("offset ", *state.position, " of ", tp.topic, "-",
                                                  tp.partition, " is out of range"));
          }
          state.position.reset();  // ResolvePositions applies auto.offset.reset
          continue;
        }
        if (IsStaleMetadataError(error)) metadata_.RequestUpdate();
        if (!IsRetriable(error) && error != v1::UNKNOWN_SERVER_ERROR) {
          return KafkaError(error, absl::StrCat("fetch ", tp.topic, "-", tp.partition, ": ",
                                                ErrorCodeName(error), " ", message));
        }
        state.retry_after = absl::Now() + absl::Milliseconds(config_.retry_backoff_ms);
        continue;
      }
      state.high_watermark = c.high_watermark;
      bool exhausted = false;
      if (absl::Status s = TakeRecords(c, records, max, &exhausted); !s.ok()) {
        state.fetch_in_flight = false;
        buffered_.pop_front();
        return s;
      }
      if (exhausted) {
        state.fetch_in_flight = false;
        buffered_.pop_front();
      }
    }
    // Pipelining: the next fetches go out before the records are handed over.
    SendFetches();
    if (!records.empty()) return records;
    absl::MutexLock lock(&mu_);
    if (arrivals_.empty()) {
      const absl::Time wake = std::min(deadline, absl::Now() + absl::Milliseconds(100));
      arrived_.WaitWithDeadline(&mu_, wake);
    }
    if (arrivals_.empty() && absl::Now() >= deadline) return records;
  }
}

}  // namespace fjord::client
