// GroupMetrics: consumer-group lag on the broker's /metrics, from the
// coordinator's lag snapshot (only groups this broker coordinates):
//
//   fjord_consumer_group_lag{group,topic,partition}   high watermark - committed
//   fjord_consumer_group_lag_sum{group}               sum over the group's partitions
//
// Partitions whose leader could not be asked are left out (not reported as 0).
// Series of groups or partitions that disappear (moved coordinator, deleted
// group, expired offsets) are removed.
//
// Threading: Update() from one thread (the broker's metrics loop).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "broker/group/coordinator.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace fjord::group {

class GroupMetrics {
 public:
  explicit GroupMetrics(std::shared_ptr<prometheus::Registry> registry);
  void Update(const std::vector<LagEntry>& lag);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Gauge>& lag_;
  prometheus::Family<prometheus::Gauge>& lag_sum_;
  std::map<std::tuple<std::string, std::string, int32_t>, prometheus::Gauge*> partitions_;
  std::map<std::string, prometheus::Gauge*> groups_;
};

}  // namespace fjord::group
