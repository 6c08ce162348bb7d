#include "controller/metadata_image.h"

#include <algorithm>

namespace fjord::controller {

bool operator==(const TopicImage& a, const TopicImage& b) {
  return a.name == b.name && a.id == b.id &&
         std::equal(a.partitions.begin(), a.partitions.end(), b.partitions.begin(),
                    b.partitions.end(),
                    [](const auto& x, const auto& y) { return DeepEquals(x, y); });
}

std::shared_ptr<const MetadataImage> MetadataImage::Empty() {
  static const auto* const kEmpty =
      new std::shared_ptr<const MetadataImage>(std::make_shared<const MetadataImage>());
  return *kEmpty;
}

const BrokerRegistration* MetadataImage::broker(BrokerId id) const {
  auto it = brokers_.find(id);
  return it == brokers_.end() ? nullptr : it->second.get();
}

const TopicImage* MetadataImage::topic(const Uuid& id) const {
  const auto* t = topics_.Find(id);
  return t == nullptr ? nullptr : t->get();
}

const TopicImage* MetadataImage::topic_by_name(const std::string& name) const {
  const Uuid* id = topic_names_.Find(name);
  return id == nullptr ? nullptr : topic(*id);
}

const PartitionRegistration* MetadataImage::partition(const Uuid& topic_id, PartitionId p) const {
  const TopicImage* t = topic(topic_id);
  return t == nullptr ? nullptr : t->partition(p);
}

const ConfigValues* MetadataImage::configs(const ConfigResourceKey& resource) const {
  const auto* c = configs_.Find(resource);
  return c == nullptr ? nullptr : c->get();
}

std::optional<std::string> MetadataImage::config(const ConfigResourceKey& resource,
                                                 const std::string& key) const {
  const ConfigValues* values = configs(resource);
  if (values == nullptr) return std::nullopt;
  auto it = values->find(key);
  if (it == values->end()) return std::nullopt;
  return it->second;
}

bool operator==(const MetadataImage& a, const MetadataImage& b) {
  return a.offset_ == b.offset_ && a.next_producer_id_ == b.next_producer_id_ &&
         a.partition_count_ == b.partition_count_ &&
         std::equal(a.brokers_.begin(), a.brokers_.end(), b.brokers_.begin(), b.brokers_.end(),
                    [](const auto& x, const auto& y) {
                      return x.first == y.first && DeepEquals(x.second, y.second);
                    }) &&
         a.topics_ == b.topics_ && a.topic_names_ == b.topic_names_ && a.configs_ == b.configs_;
}

}  // namespace fjord::controller
