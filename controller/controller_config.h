// ControllerConfig: the knobs of the controller's decision logic, with
// Kafka's names and defaults where the concept is Kafka's.
#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace fjord::controller {

struct ControllerConfig {
  // The cluster id written by `fjord-controller format`; brokers must match.
  std::string cluster_id;
  // broker.session.timeout.ms: a broker without a heartbeat for this long is
  // fenced.
  absl::Duration broker_session_timeout = absl::Milliseconds(9000);
  // num.partitions: partitions of a topic created with num_partitions = -1.
  int32_t default_num_partitions = 1;
  // default.replication.factor: replicas of a topic created with -1.
  int32_t default_replication_factor = 1;
  // delete.topic.enable.
  bool delete_topic_enable = true;
  // Producer ids per AllocateProducerIds block (Kafka's 1000).
  int32_t producer_id_block_size = 1000;
  // Upper bounds on one request's work (a named limit on everything).
  int32_t max_partitions_per_topic = 1'000'000;
  // Partitions moved per preferred-leader rebalance call.
  int32_t max_rebalance_moves = 1000;
};

}  // namespace fjord::controller
