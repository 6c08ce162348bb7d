#include "broker/group/group_metrics.h"

#include <set>

namespace fjord::group {

GroupMetrics::GroupMetrics(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)),
      lag_(prometheus::BuildGauge()
               .Name("fjord_consumer_group_lag")
               .Help("Records between a group's committed offset and the partition's high "
                     "watermark (groups this broker coordinates)")
               .Register(*registry_)),
      lag_sum_(prometheus::BuildGauge()
                   .Name("fjord_consumer_group_lag_sum")
                   .Help("Sum of fjord_consumer_group_lag over a group's partitions")
                   .Register(*registry_)) {}

void GroupMetrics::Update(const std::vector<LagEntry>& lag) {
  std::set<std::tuple<std::string, std::string, int32_t>> seen;
  std::map<std::string, double> sums;
  for (const LagEntry& e : lag) {
    if (e.lag() < 0) continue;
    auto key = std::make_tuple(e.group_id, e.topic, e.partition);
    seen.insert(key);
    auto& gauge = partitions_[key];
    if (gauge == nullptr) {
      gauge = &lag_.Add(
          {{"group", e.group_id}, {"topic", e.topic}, {"partition", std::to_string(e.partition)}});
    }
    gauge->Set(static_cast<double>(e.lag()));
    sums[e.group_id] += static_cast<double>(e.lag());
  }
  for (auto it = partitions_.begin(); it != partitions_.end();) {
    if (seen.contains(it->first)) {
      ++it;
      continue;
    }
    lag_.Remove(it->second);
    it = partitions_.erase(it);
  }
  for (const auto& [group, sum] : sums) {
    auto& gauge = groups_[group];
    if (gauge == nullptr) gauge = &lag_sum_.Add({{"group", group}});
    gauge->Set(sum);
  }
  for (auto it = groups_.begin(); it != groups_.end();) {
    if (sums.contains(it->first)) {
      ++it;
      continue;
    }
    lag_sum_.Remove(it->second);
    it = groups_.erase(it);
  }
}

}  // namespace fjord::group
