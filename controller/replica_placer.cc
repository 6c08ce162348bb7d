#include "controller/replica_placer.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/assert.h"
#include "common/kafka_error.h"

namespace fjord::controller {

namespace {

template <typename T>
void Shuffle(std::vector<T>& v, Random& random) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[random.Uniform(i)]);
}

}  // namespace

absl::StatusOr<std::vector<std::vector<BrokerId>>> PlaceReplicas(
    std::vector<PlacementBroker> brokers, int32_t num_partitions, int32_t replication_factor,
    Random& random) {
  FJORD_CHECK(num_partitions > 0 && replication_factor > 0);
  if (static_cast<size_t>(replication_factor) > brokers.size()) {
    return KafkaError(v1::INVALID_REPLICATION_FACTOR,
                      absl::StrCat("replication factor ", replication_factor, " exceeds the ",
                                   brokers.size(), " available brokers"));
  }
  // Sorted first so the shuffle, not the caller's order, decides.
  std::map<std::string, std::vector<BrokerId>> by_rack;
  std::map<BrokerId, std::string> rack_of;
  for (const auto& b : brokers) {
    by_rack[b.rack].push_back(b.id);
    rack_of[b.id] = b.rack;
  }
  std::vector<std::vector<BrokerId>> racks;
  for (auto& [rack, ids] : by_rack) {
    std::sort(ids.begin(), ids.end());
    Shuffle(ids, random);
    racks.push_back(std::move(ids));
  }
  Shuffle(racks, random);
  std::vector<BrokerId> list;  // rack-alternated
  for (size_t i = 0; list.size() < brokers.size(); ++i) {
    for (const auto& rack : racks) {
      if (i < rack.size()) list.push_back(rack[i]);
    }
  }

  const size_t n = list.size();
  const size_t num_racks = racks.size();
  const size_t start = random.Uniform(n);
  size_t shift = random.Uniform(n);
  std::vector<std::vector<BrokerId>> placement;
  placement.reserve(num_partitions);
  for (size_t p = 0; p < static_cast<size_t>(num_partitions); ++p) {
    if (p > 0 && p % n == 0) ++shift;
    const size_t first = (start + p) % n;
    std::vector<BrokerId> replicas = {list[first]};
    std::set<std::string> racks_used = {rack_of[list[first]]};
    std::set<BrokerId> used = {list[first]};
    for (size_t k = 0; replicas.size() < static_cast<size_t>(replication_factor); ++k) {
      const size_t offset = 1 + (shift * num_racks + k) % (n - 1);
      const BrokerId b = list[(first + offset) % n];
      const bool rack_ok = racks_used.size() == num_racks || !racks_used.count(rack_of[b]);
      if (rack_ok && !used.count(b)) {
        replicas.push_back(b);
        used.insert(b);
        racks_used.insert(rack_of[b]);
      }
    }
    placement.push_back(std::move(replicas));
  }
  return placement;
}

}  // namespace fjord::controller
