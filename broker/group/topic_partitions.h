// TopicPartitionSet: a set of partitions grouped by topic, ordered (topic
// name, then partition), so iteration and the records built from it are
// deterministic. The currency of the group coordinator: subscriptions map to
// these, assignors produce them, members own them.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "google/protobuf/repeated_field.h"

namespace fjord::group {

using TopicPartition = std::pair<std::string, int32_t>;

class TopicPartitionSet {
 public:
  using Map = std::map<std::string, std::set<int32_t>>;

  TopicPartitionSet() = default;
  explicit TopicPartitionSet(Map m) : map_(std::move(m)) { Compact(); }

  void Add(const std::string& topic, int32_t p) { map_[topic].insert(p); }
  void Add(const TopicPartition& tp) { Add(tp.first, tp.second); }
  void Remove(const std::string& topic, int32_t p);
  bool Contains(const std::string& topic, int32_t p) const;
  bool Contains(const TopicPartition& tp) const { return Contains(tp.first, tp.second); }
  bool empty() const { return map_.empty(); }
  size_t size() const;
  const Map& map() const { return map_; }

  TopicPartitionSet Intersect(const TopicPartitionSet& o) const;
  TopicPartitionSet Minus(const TopicPartitionSet& o) const;
  TopicPartitionSet Union(const TopicPartitionSet& o) const;
  bool Disjoint(const TopicPartitionSet& o) const { return Intersect(o).empty(); }

  // Appends {topic, partitions ascending} messages (any proto with `topic`
  // and repeated int32 `partitions`).
  template <typename Msg>
  void ToProto(google::protobuf::RepeatedPtrField<Msg>* out) const {
    for (const auto& [t, ps] : map_) {
      Msg* m = out->Add();
      m->set_topic(t);
      for (int32_t p : ps) m->add_partitions(p);
    }
  }
  template <typename Msg>
  static TopicPartitionSet FromProto(const google::protobuf::RepeatedPtrField<Msg>& in) {
    TopicPartitionSet s;
    for (const Msg& m : in) {
      for (int32_t p : m.partitions()) s.Add(m.topic(), p);
    }
    return s;
  }
  std::string ToString() const;

  friend bool operator==(const TopicPartitionSet&, const TopicPartitionSet&) = default;

 private:
  void Compact();  // Drops topics with no partitions.
  Map map_;
};

}  // namespace fjord::group
