#include "controller/replication_control.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "controller/partition_change_builder.h"
#include "controller/topic_config.h"

namespace fjord::controller {

bool BrokerIsActive(const MetadataImage& image, BrokerId broker) {
  const BrokerRegistration* b = image.broker(broker);
  return b != nullptr && b->active();
}

bool UncleanElectionEnabled(const MetadataImage& image, const std::string& topic_name) {
  auto value = image.config(ConfigResourceKey{v1::ConfigResource::TOPIC, topic_name},
                            "unclean.leader.election.enable");
  return value.has_value() && ConfigIsTrue(*value);
}

namespace {

// Calls f(topic, partition id, registration) for every partition.
template <typename F>
void ForEachPartition(const MetadataImage& image, F&& f) {
  image.topics().ForEach([&](const Uuid&, const std::shared_ptr<const TopicImage>& topic) {
    for (size_t p = 0; p < topic->partitions.size(); ++p) {
      f(*topic, PartitionId(static_cast<int32_t>(p)), *topic->partitions[p]);
    }
  });
}

}  // namespace

void RemoveBrokerFromPartitions(const MetadataImage& image, BrokerId broker,
                                std::vector<v1::MetadataRecord>* out) {
  auto eligible = [&](BrokerId b) { return b != broker && BrokerIsActive(image, b); };
  ForEachPartition(image,
                   [&](const TopicImage& topic, PartitionId id, const PartitionRegistration& p) {
                     if (p.leader != broker && !p.InIsr(broker)) return;
                     std::vector<BrokerId> isr;
                     for (BrokerId b : p.isr) {
                       if (b != broker) isr.push_back(b);
                     }
                     auto record = PartitionChangeBuilder(p, topic.id, id, eligible,
                                                          UncleanElectionEnabled(image, topic.name))
                                       .SetTargetIsr(std::move(isr))  // empty keeps the last member
                                       .Build();
                     if (record.has_value()) out->push_back(std::move(*record));
                   });
}

void ElectLeadersForUnfencedBroker(const MetadataImage& image, BrokerId unfenced,
                                   std::vector<v1::MetadataRecord>* out) {
  auto eligible = [&](BrokerId b) { return b == unfenced || BrokerIsActive(image, b); };
  ForEachPartition(image,
                   [&](const TopicImage& topic, PartitionId id, const PartitionRegistration& p) {
                     if (p.has_leader() || !p.IsReplica(unfenced)) return;
                     auto record = PartitionChangeBuilder(p, topic.id, id, eligible,
                                                          UncleanElectionEnabled(image, topic.name))
                                       .Build();
                     if (record.has_value()) out->push_back(std::move(*record));
                   });
}

ControllerResult<int32_t> RebalancePreferredLeaders(const MetadataImage& image, int32_t max_moves) {
  ControllerResult<int32_t> result{{}, 0};
  auto eligible = [&](BrokerId b) { return BrokerIsActive(image, b); };
  ForEachPartition(
      image, [&](const TopicImage& topic, PartitionId id, const PartitionRegistration& p) {
        if (result.response >= max_moves || p.leader == p.preferred_leader()) return;
        auto record = PartitionChangeBuilder(p, topic.id, id, eligible, /*unclean_allowed=*/false)
                          .SetElection(Election::kPreferred)
                          .Build();
        if (!record.has_value()) return;
        result.records.push_back(std::move(*record));
        ++result.response;
      });
  return result;
}

int64_t OfflinePartitionCount(const MetadataImage& image) {
  int64_t count = 0;
  ForEachPartition(image, [&](const TopicImage&, PartitionId, const PartitionRegistration& p) {
    if (!p.has_leader()) ++count;
  });
  return count;
}

}  // namespace fjord::controller
