// MetadataImage: the cluster metadata at one metadata offset, immutable.
//
// Who owns it: whoever holds a std::shared_ptr<const MetadataImage>. The
// controller's event loop and a broker's metadata publisher build new images
// with MetadataDelta and publish them by swapping a shared_ptr; request
// handlers on any thread read an image without locks for as long as they
// hold the pointer.
//
// Structural sharing: topics, topic names and configs live in
// PersistentMaps, each topic's partitions in a vector of
// shared_ptr<const PartitionRegistration>. An image that differs from its
// predecessor in one partition shares every other partition, every other
// topic's state and all but one shard of each map with it.
//
// Equality (operator==) compares contents, not pointers: an image loaded
// from a snapshot equals the image built by replaying the log.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/types.h"
#include "controller/broker_registration.h"
#include "controller/partition_registration.h"
#include "controller/persistent_map.h"
#include "controller/uuid.h"
#include "proto/fjord/v1/common.pb.h"

namespace fjord::controller {

// One topic and its partitions, indexed by partition id (0..n-1, no gaps).
struct TopicImage {
  std::string name;
  Uuid id;
  std::vector<std::shared_ptr<const PartitionRegistration>> partitions;

  const PartitionRegistration* partition(PartitionId p) const {
    if (p.value() < 0 || static_cast<size_t>(p.value()) >= partitions.size()) return nullptr;
    return partitions[p.value()].get();
  }
  friend bool operator==(const TopicImage& a, const TopicImage& b);
};

// A resource carrying dynamic configs: (TOPIC, topic name) or (BROKER, id in
// decimal, "" = cluster default).
struct ConfigResourceKey {
  v1::ConfigResource::Type type = v1::ConfigResource::UNKNOWN;
  std::string name;
  friend auto operator<=>(const ConfigResourceKey&, const ConfigResourceKey&) = default;
  friend bool operator==(const ConfigResourceKey&, const ConfigResourceKey&) = default;
};
inline uint64_t ShardHash(const ConfigResourceKey& k) {
  return ShardHash(k.name) ^ static_cast<uint64_t>(k.type);
}

// Dynamic overrides of one resource: key -> value, sorted by key.
using ConfigValues = std::map<std::string, std::string>;

class MetadataImage {
 public:
  using BrokerMap = std::map<BrokerId, std::shared_ptr<const BrokerRegistration>>;
  using TopicMap = PersistentMap<Uuid, std::shared_ptr<const TopicImage>>;
  using TopicNameMap = PersistentMap<std::string, Uuid>;
  using ConfigMap = PersistentMap<ConfigResourceKey, std::shared_ptr<const ConfigValues>>;

  // The image before any record: offset -1, nothing registered.
  static std::shared_ptr<const MetadataImage> Empty();

  // The metadata offset of the last batch this image reflects, or -1.
  Offset offset() const { return offset_; }

  // Brokers, sorted by id.
  const BrokerMap& brokers() const { return brokers_; }
  const BrokerRegistration* broker(BrokerId id) const;

  // Topics (deterministic order, see PersistentMap), by id and by name.
  const TopicMap& topics() const { return topics_; }
  const TopicImage* topic(const Uuid& id) const;
  const TopicImage* topic_by_name(const std::string& name) const;
  const PartitionRegistration* partition(const Uuid& topic_id, PartitionId p) const;
  // Topic names, sorted.
  std::vector<std::string> SortedTopicNames() const { return topic_names_.SortedKeys(); }
  // Total number of partitions of all topics.
  int64_t partition_count() const { return partition_count_; }

  // Dynamic config overrides of a resource; nullptr if it has none.
  const ConfigMap& configs() const { return configs_; }
  const ConfigValues* configs(const ConfigResourceKey& resource) const;
  std::optional<std::string> config(const ConfigResourceKey& resource,
                                    const std::string& key) const;

  // The first producer id not yet handed out (0 before any allocation).
  int64_t next_producer_id() const { return next_producer_id_; }

  friend bool operator==(const MetadataImage& a, const MetadataImage& b);

 private:
  friend class MetadataDelta;

  Offset offset_{-1};
  BrokerMap brokers_;
  TopicMap topics_;
  TopicNameMap topic_names_;
  ConfigMap configs_;
  int64_t next_producer_id_ = 0;
  int64_t partition_count_ = 0;
};

using ImagePtr = std::shared_ptr<const MetadataImage>;

}  // namespace fjord::controller
