#include "broker/group/assignor.h"

#include <algorithm>
#include <limits>

namespace fjord::group {
namespace {

bool Subscribes(const AssignmentMember& m, const std::string& topic) {
  return std::binary_search(m.subscribed_topics.begin(), m.subscribed_topics.end(), topic);
}

class UniformAssignor final : public Assignor {
 public:
  const std::string& name() const override { return kUniformAssignor; }

  GroupAssignment Assign(const AssignmentSpec& spec) const override {
    const size_t n = spec.members.size();
    std::vector<TopicPartitionSet> out(n);
    std::vector<size_t> count(n, 0);
    TopicPartitionSet taken;
    // 1. Keep what is still valid from the previous target (first claim wins
    //    if two members ever claimed the same partition).
    for (size_t i = 0; i < n; ++i) {
      const AssignmentMember& m = spec.members[i];
      for (const auto& [topic, ps] : m.current_target.map()) {
        auto t = spec.topics.find(topic);
        if (t == spec.topics.end() || !Subscribes(m, topic)) continue;
        for (int32_t p : ps) {
          if (p >= t->second || taken.Contains(topic, p)) continue;
          out[i].Add(topic, p);
          taken.Add(topic, p);
          ++count[i];
        }
      }
    }
    // 2. Every unowned subscribed partition goes to the least-loaded
    //    subscriber (ties: member id order).
    for (const auto& [topic, partitions] : spec.topics) {
      for (int32_t p = 0; p < partitions; ++p) {
        if (taken.Contains(topic, p)) continue;
        size_t best = n;
        for (size_t i = 0; i < n; ++i) {
          if (Subscribes(spec.members[i], topic) && (best == n || count[i] < count[best])) best = i;
        }
        if (best == n) continue;  // Nobody subscribes.
        out[best].Add(topic, p);
        taken.Add(topic, p);
        ++count[best];
      }
    }
    // 3. Balance: move one partition at a time from a member to a subscriber
    //    holding at least two fewer, most-loaded donors first. Each move
    //    lowers the sum of squared counts, so this ends; it moves only
    //    partitions balance requires.
    const size_t max_moves = taken.size() * std::max<size_t>(n, 1) + 1;
    for (size_t moves = 0; moves < max_moves; ++moves) {
      std::vector<size_t> donors(n);
      for (size_t i = 0; i < n; ++i) donors[i] = i;
      std::stable_sort(donors.begin(), donors.end(),
                       [&](size_t a, size_t b) { return count[a] > count[b]; });
      bool moved = false;
      for (size_t d : donors) {
        if (count[d] < 2) break;
        // Last partitions first, so low partitions tend to stay put.
        for (auto t = out[d].map().rbegin(); t != out[d].map().rend() && !moved; ++t) {
          size_t best = n;
          for (size_t i = 0; i < n; ++i) {
            if (i == d || !Subscribes(spec.members[i], t->first) || count[i] + 1 >= count[d]) {
              continue;
            }
            if (best == n || count[i] < count[best]) best = i;
          }
          if (best == n) continue;
          const std::string topic = t->first;
          const int32_t p = *t->second.rbegin();
          out[d].Remove(topic, p);
          out[best].Add(topic, p);
          --count[d];
          ++count[best];
          moved = true;
        }
        if (moved) break;
      }
      if (!moved) break;
    }
    GroupAssignment result;
    for (size_t i = 0; i < n; ++i) result[spec.members[i].member_id] = std::move(out[i]);
    return result;
  }
};

class RangeAssignor final : public Assignor {
 public:
  const std::string& name() const override { return kRangeAssignor; }

  // Per topic, with k subscribers (member-id order) and n partitions, each
  // subscriber's quota is n / k, and the first n % k of them to claim it
  // get one more. Sticky as KIP-848's server-side range assignor: a
  // subscriber first keeps up to its quota of its previous target's
  // partitions (lowest first; one more while extra slots remain), then the
  // partitions left go, ascending, to the subscribers still short. With no
  // previous target this is the classic contiguous ranges, and subscribers
  // with equal previous targets on co-partitioned topics keep getting the
  // same partition numbers on each.
  GroupAssignment Assign(const AssignmentSpec& spec) const override {
    GroupAssignment result;
    for (const AssignmentMember& m : spec.members) result[m.member_id];
    for (const auto& [topic, partitions] : spec.topics) {
      std::vector<const AssignmentMember*> subscribers;
      for (const AssignmentMember& m : spec.members) {
        if (Subscribes(m, topic)) subscribers.push_back(&m);
      }
      if (subscribers.empty()) continue;
      const int32_t k = static_cast<int32_t>(subscribers.size());
      const int32_t quota = partitions / k;
      int32_t extra_slots = partitions % k;
      std::vector<bool> taken(partitions, false);
      // Subscribers still short after keeping, and by how many (before any
      // extra slot).
      std::vector<std::pair<const AssignmentMember*, int32_t>> short_of;
      for (const AssignmentMember* m : subscribers) {
        TopicPartitionSet& out = result[m->member_id];
        std::vector<int32_t> previous;
        auto prev = m->current_target.map().find(topic);
        if (prev != m->current_target.map().end()) {
          for (int32_t p : prev->second) {
            if (p < partitions && !taken[p]) previous.push_back(p);
          }
        }
        const int32_t have = static_cast<int32_t>(previous.size());
        int32_t keep = std::min(have, quota);
        if (have > quota && extra_slots > 0) {
          ++keep;
          --extra_slots;
        } else {
          short_of.emplace_back(m, quota - keep);
        }
        for (int32_t i = 0; i < keep; ++i) {
          out.Add(topic, previous[i]);
          taken[previous[i]] = true;
        }
      }
      int32_t next = 0;
      for (auto& [m, missing] : short_of) {
        if (extra_slots > 0) {
          ++missing;
          --extra_slots;
        }
        for (; missing > 0 && next < partitions; ++next) {
          if (taken[next]) continue;
          result[m->member_id].Add(topic, next);
          taken[next] = true;
          --missing;
        }
      }
    }
    return result;
  }
};

}  // namespace

const Assignor* FindAssignor(const std::string& name) {
  static const UniformAssignor* uniform = new UniformAssignor();
  static const RangeAssignor* range = new RangeAssignor();
  if (name == kUniformAssignor) return uniform;
  if (name == kRangeAssignor) return range;
  return nullptr;
}

}  // namespace fjord::group
