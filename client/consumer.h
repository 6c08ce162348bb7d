// The Fjord consumer with manual assignment (Kafka's assign/seek/poll;
// consumer groups come with the group coordinator).
//
//   ASSIGN_OR_RETURN(auto consumer, Consumer::Create(config));
//   consumer->Assign({{"orders", 0}, {"orders", 1}});
//   consumer->SeekToBeginning({{"orders", 0}});
//   while (running) {
//     ASSIGN_OR_RETURN(auto records, consumer->Poll(absl::Milliseconds(500)));
//     for (const ConsumerRecord& r : records) ...
//   }
//
// Fetch pipelining: Poll hands out buffered records and, before returning,
// has the next Fetch already in flight to every leader it reads from (one
// outstanding Fetch per broker), so the network works while the application
// processes. A partition without a position starts from auto.offset.reset
// (latest by default). Records are never returned above the high
// watermark (the broker guarantees it) and are checked with CRC32C
// (check.crcs).
//
// Threads: like Kafka's consumer, not thread-safe: one thread calls
// everything. Fetch responses arrive on gRPC threads and are queued.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "client/channels.h"
#include "client/cluster_metadata.h"
#include "client/config.h"
#include "client/producer_batch.h"
#include "storage/record_batch.h"

namespace fjord::client {

struct ConsumerRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp = -1;
  bool log_append_time = false;  // timestamp type: LogAppendTime, else CreateTime
  int32_t leader_epoch = -1;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

// Kafka's special ListOffsets timestamps.
inline constexpr int64_t kLatestTimestamp = -1;
inline constexpr int64_t kEarliestTimestamp = -2;

class Consumer {
 public:
  static absl::StatusOr<std::unique_ptr<Consumer>> Create(const ConsumerConfig& config);
  ~Consumer();

  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Replaces the assignment. Partitions kept keep their positions.
  absl::Status Assign(const std::vector<TopicPartition>& partitions);
  std::vector<TopicPartition> assignment() const;

  // The next Poll returns records from `offset` on.
  absl::Status Seek(const TopicPartition& tp, int64_t offset);
  // Positions move to the log start / log end, resolved lazily.
  absl::Status SeekToBeginning(const std::vector<TopicPartition>& partitions);
  absl::Status SeekToEnd(const std::vector<TopicPartition>& partitions);
  // Positions move to the first offset whose timestamp is >= `timestamp_ms`
  // (the log end when there is none).
  absl::Status SeekToTimestamp(const std::vector<TopicPartition>& partitions, int64_t timestamp_ms);
  // The offset of the next record Poll will return for `tp`.
  absl::StatusOr<int64_t> Position(const TopicPartition& tp);

  // Waits up to `timeout` for records; returns at most max.poll.records.
  // Empty when nothing arrived in time. Errors: OFFSET_OUT_OF_RANGE with
  // auto.offset.reset=none, a record that fails its CRC, authorization-like
  // fatal errors. Retriable errors (leader moved, ...) are handled inside.
  absl::StatusOr<std::vector<ConsumerRecord>> Poll(absl::Duration timeout);

  // Offsets for `timestamp` (kEarliestTimestamp, kLatestTimestamp, or ms) of
  // each partition, asked from its leader. -1 where no record is that late.
  absl::StatusOr<std::map<TopicPartition, int64_t>> OffsetsForTimes(
      const std::vector<TopicPartition>& partitions, int64_t timestamp);

  void Close();

 private:
  struct PartitionState {
    // Next offset to return; unset until resolved by reset_timestamp.
    std::optional<int64_t> position;
    std::optional<int64_t> reset_timestamp;  // pending seek by timestamp
    int64_t high_watermark = -1;
    bool fetch_in_flight = false;
    absl::Time retry_after = absl::InfinitePast();
  };
  // One partition's data from a completed Fetch, consumed by Poll.
  struct Completed {
    TopicPartition tp;
    int64_t fetch_offset = 0;
    v1::ErrorCode error = v1::NONE;
    std::string error_message;
    int64_t high_watermark = -1;
    std::string records;
    size_t consumed = 0;  // bytes of `records` already handed out
    // The batch at `consumed`, decoded once even when several Polls take
    // its records (max.poll.records smaller than the batch). Its records
    // point into `records` or into itself; `records` is not moved while a
    // Completed sits in buffered_.
    std::optional<storage::DecodedBatch> decoded;
  };
  struct FetchCall;

  explicit Consumer(const ConsumerConfig& config);
  absl::Status ResolvePositions();
  void SendFetches();
  void OnFetchDone(FetchCall& call, const grpc::Status& status);
  // Appends records from `completed` to `out` (up to `max`); false when
  // `completed` is exhausted.
  absl::Status TakeRecords(Completed& completed, std::vector<ConsumerRecord>& out, size_t max,
                           bool* exhausted);

  const ConsumerConfig config_;
  Channels channels_;
  ClusterMetadata metadata_;
  std::map<TopicPartition, PartitionState> partitions_;  // the assignment; owner thread only
  std::deque<Completed> buffered_;                       // owner thread only

  absl::Mutex mu_;  // guards what fetch callbacks hand over
  absl::CondVar arrived_;
  std::deque<Completed> arrivals_ ABSL_GUARDED_BY(mu_);
  std::map<int32_t, int> fetches_in_flight_ ABSL_GUARDED_BY(mu_);  // per broker
  int total_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ = false;
};

}  // namespace fjord::client
