#include "broker/group/topic_partitions.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fjord::group {

void TopicPartitionSet::Remove(const std::string& topic, int32_t p) {
  auto it = map_.find(topic);
  if (it == map_.end()) return;
  it->second.erase(p);
  if (it->second.empty()) map_.erase(it);
}

bool TopicPartitionSet::Contains(const std::string& topic, int32_t p) const {
  auto it = map_.find(topic);
  return it != map_.end() && it->second.contains(p);
}

size_t TopicPartitionSet::size() const {
  size_t n = 0;
  for (const auto& [t, ps] : map_) n += ps.size();
  return n;
}

TopicPartitionSet TopicPartitionSet::Intersect(const TopicPartitionSet& o) const {
  TopicPartitionSet out;
  for (const auto& [t, ps] : map_) {
    for (int32_t p : ps) {
      if (o.Contains(t, p)) out.Add(t, p);
    }
  }
  return out;
}

TopicPartitionSet TopicPartitionSet::Minus(const TopicPartitionSet& o) const {
  TopicPartitionSet out;
  for (const auto& [t, ps] : map_) {
    for (int32_t p : ps) {
      if (!o.Contains(t, p)) out.Add(t, p);
    }
  }
  return out;
}

TopicPartitionSet TopicPartitionSet::Union(const TopicPartitionSet& o) const {
  TopicPartitionSet out = *this;
  for (const auto& [t, ps] : o.map_) {
    for (int32_t p : ps) out.Add(t, p);
  }
  return out;
}

std::string TopicPartitionSet::ToString() const {
  std::string out;
  for (const auto& [t, ps] : map_) {
    absl::StrAppend(&out, out.empty() ? "" : " ", t, ":[", absl::StrJoin(ps, ","), "]");
  }
  return out.empty() ? "{}" : out;
}

void TopicPartitionSet::Compact() {
  for (auto it = map_.begin(); it != map_.end();) {
    it = it->second.empty() ? map_.erase(it) : std::next(it);
  }
}

}  // namespace fjord::group
