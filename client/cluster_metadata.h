// What a client knows about the cluster: brokers and, per topic, partitions
// with their leaders. Learned from the Metadata RPC of any broker (starting
// from bootstrap.servers) and refreshed when a request reports a stale view
// (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, a dead broker) or
// when metadata.max.age.ms passes.
//
// Readers get an immutable snapshot (shared_ptr<const>) and never block on a
// refresh. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/channels.h"
#include "proto/fjord/v1/broker.grpc.pb.h"

namespace fjord::client {

struct PartitionMetadata {
  int32_t partition = 0;
  int32_t leader = -1;  // -1: no leader right now
  int32_t leader_epoch = -1;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  std::vector<int32_t> offline_replicas;
};

struct TopicMetadata {
  std::string name;
  v1::ErrorCode error = v1::NONE;
  bool is_internal = false;
  std::vector<PartitionMetadata> partitions;  // indexed by partition id
};

struct BrokerMetadata {
  int32_t id = -1;
  std::string host;
  int32_t port = 0;
  std::string rack;
  std::string address() const { return host + ":" + std::to_string(port); }
};

struct MetadataSnapshot {
  std::string cluster_id;
  int32_t controller_id = -1;
  std::map<int32_t, BrokerMetadata> brokers;
  std::map<std::string, TopicMetadata> topics;

  const TopicMetadata* topic(const std::string& name) const;
  // The leader's broker id of a partition, or -1.
  int32_t leader(const std::string& topic, int32_t partition) const;
  const BrokerMetadata* broker(int32_t id) const;
};

// Whether a partition error means the client's view of leadership is stale
// (the leader moved, the topic changed, the broker is gone) and metadata
// should be refreshed before retrying.
bool IsStaleMetadataError(v1::ErrorCode code);

class ClusterMetadata {
 public:
  ClusterMetadata(std::vector<std::string> bootstrap_servers, Channels& channels,
                  absl::Duration request_timeout, absl::Duration max_age);

  std::shared_ptr<const MetadataSnapshot> current();

  // Asks a broker for `topics` (empty: all topics) and replaces the
  // snapshot. Tries known brokers, then the bootstrap servers; Unavailable
  // when none answers. `allow_auto_topic_creation` asks the broker to
  // create missing topics (if its auto.create.topics.enable allows).
  absl::Status Refresh(const std::vector<std::string>& topics,
                       bool allow_auto_topic_creation = false);

  // Refreshes until `topic` is known with at least one partition that has a
  // leader (or a permanent error), bounded by `deadline`; each refresh asks
  // for `topic` to be auto-created when `allow_auto_topic_creation` (a
  // producer's metadata does, as Kafka's). After the deadline fails with
  // REQUEST_TIMED_OUT (Kafka's TimeoutException: "Topic X not present in
  // metadata after N ms."), `waited_ms` being N.
  absl::StatusOr<TopicMetadata> WaitForTopic(const std::string& topic, absl::Time deadline,
                                             bool allow_auto_topic_creation = false,
                                             int64_t waited_ms = -1);

  // Marks the snapshot stale: the next NeedsRefresh() is true.
  void RequestUpdate();
  bool NeedsRefresh();

  // Topics the client uses; every refresh asks for all of them.
  void AddInterest(const std::string& topic);
  std::vector<std::string> interest();

 private:
  absl::StatusOr<v1::MetadataResponse> Ask(const std::string& address,
                                           const v1::MetadataRequest& request);

  const std::vector<std::string> bootstrap_servers_;
  Channels& channels_;
  const absl::Duration request_timeout_;
  const absl::Duration max_age_;

  absl::Mutex mu_;  // guards the fields below
  std::shared_ptr<const MetadataSnapshot> snapshot_ ABSL_GUARDED_BY(mu_);
  absl::Time last_refresh_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool update_requested_ ABSL_GUARDED_BY(mu_) = true;
  std::vector<std::string> interest_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fjord::client
