// Client configuration with Kafka's property names and defaults.
//
//   ASSIGN_OR_RETURN(ProducerConfig config, ProducerConfig::FromProperties({
//       {"bootstrap.servers", "localhost:9092"}, {"acks", "all"}, {"linger.ms", "5"}}));
//
// Values are parsed and range-checked as Kafka does; an unknown key, a value
// of the wrong type or out of range is an InvalidArgument naming the key.
// Keys that only make sense to Kafka's Java client (serializer classes,
// security.protocol=PLAINTEXT) are accepted and ignored, so existing
// property files work.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fjord::client {

using Properties = std::map<std::string, std::string>;

enum class CompressionType { kNone, kGzip, kSnappy, kLz4, kZstd };
enum class IsolationLevel { kReadUncommitted, kReadCommitted };
enum class AutoOffsetReset { kEarliest, kLatest, kNone };

// Settings every client shares.
struct CommonConfig {
  std::vector<std::string> bootstrap_servers;  // "host:port" list; required
  std::string client_id;                       // "" = generated
  int32_t request_timeout_ms = 30000;
  int64_t retry_backoff_ms = 100;
  int64_t retry_backoff_max_ms = 1000;
  int64_t metadata_max_age_ms = 300000;
  int32_t max_message_bytes = 64 * 1024 * 1024;  // largest gRPC message accepted
};

struct ProducerConfig : CommonConfig {
  int16_t acks = -1;  // "all"; 0, 1 or -1
  int64_t linger_ms = 5;
  int32_t batch_size = 16384;
  CompressionType compression_type = CompressionType::kNone;
  int32_t retries = INT32_MAX;
  int32_t delivery_timeout_ms = 120000;
  int32_t max_in_flight_requests_per_connection = 5;
  int64_t buffer_memory = 32 * 1024 * 1024;
  int64_t max_block_ms = 60000;
  int32_t max_request_size = 1048576;
  bool enable_idempotence = true;
  std::string transactional_id;

  static absl::StatusOr<ProducerConfig> FromProperties(const Properties& properties);
};

struct ConsumerConfig : CommonConfig {
  std::string group_id;
  std::string group_instance_id;
  int32_t fetch_min_bytes = 1;
  int32_t fetch_max_bytes = 52428800;
  int32_t fetch_max_wait_ms = 500;
  int32_t max_partition_fetch_bytes = 1048576;
  int32_t max_poll_records = 500;
  int32_t max_poll_interval_ms = 300000;
  int32_t session_timeout_ms = 45000;
  int32_t heartbeat_interval_ms = 3000;
  bool enable_auto_commit = true;
  int32_t auto_commit_interval_ms = 5000;
  AutoOffsetReset auto_offset_reset = AutoOffsetReset::kLatest;
  IsolationLevel isolation_level = IsolationLevel::kReadUncommitted;
  bool check_crcs = true;             // accepted; Fjord's consumer always verifies CRC32C
  std::string client_rack;            // client.rack, sent to the group coordinator
  std::string group_remote_assignor;  // "uniform", "range" or "" (the group's default)

  static absl::StatusOr<ConsumerConfig> FromProperties(const Properties& properties);
};

struct AdminConfig : CommonConfig {
  // Controller quorum addresses (Kafka's bootstrap.controllers, KIP-919).
  // Empty: administrative calls go to bootstrap.servers, which serve the
  // controller API on a combined node; either way NOT_CONTROLLER answers
  // redirect to the active controller.
  std::vector<std::string> bootstrap_controllers;
  int32_t default_api_timeout_ms = 60000;

  static absl::StatusOr<AdminConfig> FromProperties(const Properties& properties);
};

// Parses "key=value" lines (a Java .properties subset: '#' and '!' comments,
// blank lines, surrounding spaces trimmed) or `--producer-property k=v`
// style arguments.
absl::StatusOr<Properties> ParseProperties(const std::vector<std::string>& lines);

const char* CompressionTypeName(CompressionType type);

}  // namespace fjord::client
