// BrokerConfig: fjord-broker's settings, named and defaulted as Kafka's
// server.properties where the concept is Kafka's. Read from a properties
// file (key=value lines, '#' comments) and then `--set key=value` overrides.
//
// Keys: node.id (alias broker.id), cluster.id, listeners,
// advertised.listeners, log.dirs, controller.quorum.voters, num.partitions,
// default.replication.factor, min.insync.replicas, replica.lag.time.max.ms,
// message.max.bytes, log.flush.policy (always = fsync before acks, the
// default | relaxed = page cache, HW on log end offsets), log.segment.bytes,
// replica.fetch.max.bytes, replica.fetch.response.max.bytes,
// socket.request.max.bytes, broker.heartbeat.interval.ms, broker.rack,
// metrics.listen (host:port of /metrics), log.level, log.cleaner.enable,
// log.cleaner.backoff.ms, log.retention.check.interval.ms.
// auto.create.topics.enable (default true, as Kafka): a Metadata request
// that allows it creates an unknown topic with num.partitions and
// default.replication.factor (capped at the registered brokers by the
// controller's check: a too-large factor answers INVALID_REPLICATION_FACTOR).
// Consumer groups (broker/group/): offsets.topic.num.partitions (50),
// offsets.topic.replication.factor (3), offsets.topic.segment.bytes,
// offsets.commit.timeout.ms, offsets.retention.minutes (10080),
// offsets.retention.check.interval.ms, offset.metadata.max.bytes (4096),
// group.consumer.session.timeout.ms (45000),
// group.consumer.heartbeat.interval.ms (5000), group.consumer.max.size.
//
// Roles (KRaft's): process.roles = broker (the default) | controller |
// broker,controller. A node with the controller role also runs a member of
// the controller quorum in this process (controller/server's
// ControllerNode): its listener is the entry of `listeners` named in
// controller.listener.names (default CONTROLLER), its port must be this
// node's entry in controller.quorum.voters, and its data lives in
// metadata.log.dir (default: the first of log.dirs), formatted first with
// `fjord-broker format`. Its cluster.id may then come from meta.properties.
// The controller role also reads broker.session.timeout.ms and
// delete.topic.enable, and uses num.partitions/default.replication.factor
// for topics created without them.
//
//   process.roles=broker,controller
//   node.id=1
//   listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093
//   controller.listener.names=CONTROLLER
//   controller.quorum.voters=1@127.0.0.1:9093
//   log.dirs=/var/lib/fjord
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/broker_server.h"

namespace fjord::broker {

struct Listener {
  std::string name;  // e.g. PLAINTEXT
  std::string host;
  int port = 0;
};

// Parses "NAME://host:port" (the first entry of a comma-separated list).
absl::StatusOr<Listener> ParseListener(const std::string& value);
// Every entry of a comma-separated listener list.
absl::StatusOr<std::vector<Listener>> ParseListeners(const std::string& value);

struct BrokerConfig {
  int32_t node_id = -1;
  std::string cluster_id;
  // process.roles.
  bool broker_role = true;
  bool controller_role = false;
  // The first listener not named in controller.listener.names.
  Listener listener{"PLAINTEXT", "127.0.0.1", 9092};
  // The listener named in controller.listener.names (controller role only).
  Listener controller_listener{"CONTROLLER", "127.0.0.1", 9093};
  std::string controller_listener_names = "CONTROLLER";
  // metadata.log.dir; defaults to the first of log.dirs.
  std::string metadata_log_dir;
  int64_t broker_session_timeout_ms = 9000;
  bool delete_topic_enable = true;
  Listener advertised{"PLAINTEXT", "127.0.0.1", 9092};
  std::string log_dirs;
  std::string controller_quorum_voters;
  int32_t num_partitions = 1;
  int32_t default_replication_factor = 1;
  bool auto_create_topics_enable = true;
  int32_t min_insync_replicas = 1;
  int64_t replica_lag_time_max_ms = 30000;
  int32_t message_max_bytes = 1048588;
  std::string log_flush_policy = "always";
  int64_t log_segment_bytes = int64_t{1} << 30;
  // The log cleaner (broker/log_cleaner.h).
  bool log_cleaner_enable = true;
  int64_t log_cleaner_backoff_ms = 15000;
  int64_t log_retention_check_interval_ms = 300000;
  int32_t replica_fetch_max_bytes = 1048576;
  int32_t replica_fetch_response_max_bytes = 10485760;
  int32_t socket_request_max_bytes = 104857600;
  int64_t broker_heartbeat_interval_ms = 2000;
  std::string rack;
  std::string metrics_listen = "0.0.0.0:9308";
  std::string log_level = "info";
  // Consumer groups (group::CoordinatorOptions).
  int32_t offsets_topic_num_partitions = 50;
  int16_t offsets_topic_replication_factor = 3;
  int64_t offsets_topic_segment_bytes = 104857600;
  int64_t offsets_commit_timeout_ms = 5000;
  int64_t offsets_retention_minutes = 10080;
  int64_t offsets_retention_check_interval_ms = 600000;
  int32_t offset_metadata_max_bytes = 4096;
  int32_t group_consumer_session_timeout_ms = 45000;
  int32_t group_consumer_heartbeat_interval_ms = 5000;
  int32_t group_consumer_max_size = 2147483647;

  // Applies `properties` over the defaults; unknown keys are errors (a typo
  // must not silently leave a default in place).
  static absl::StatusOr<BrokerConfig> FromProperties(
      const std::map<std::string, std::string>& properties);
  // The BrokerServer options these settings mean.
  BrokerServerOptions ToServerOptions() const;
  // The first of log.dirs.
  std::string first_log_dir() const;
};

// key=value lines; '#' and '!' start comments; later keys win.
absl::StatusOr<std::map<std::string, std::string>> ParseProperties(const std::string& text);

}  // namespace fjord::broker
