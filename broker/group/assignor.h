// Server-side partition assignors (KIP-848): the coordinator computes a
// group's target assignment from its members' subscriptions and the topics'
// partition counts. Pure functions of their input: deterministic, no I/O.
//
// - "uniform" (the default): balanced (member counts differ by at most one
//   when subscriptions are equal) and sticky: a member keeps every partition
//   of its previous target that it still subscribes to unless balance needs
//   it elsewhere, so a join or leave moves only what it must.
// - "range": per topic, the subscribed members in member-id order take
//   contiguous ranges (co-partitioned topics land together); sticky as
//   KIP-848's range assignor: members keep what they had up to their quota,
//   and only the rest is handed out in ranges.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "broker/group/topic_partitions.h"

namespace fjord::group {

struct AssignmentMember {
  std::string member_id;
  std::vector<std::string> subscribed_topics;  // sorted
  // The member's previous target (stickiness).
  TopicPartitionSet current_target;
};

struct AssignmentSpec {
  // Sorted by member_id.
  std::vector<AssignmentMember> members;
  // Topic -> partition count, for the topics that exist.
  std::map<std::string, int32_t> topics;
};

// Member id -> its target partitions (every member of the spec appears).
using GroupAssignment = std::map<std::string, TopicPartitionSet>;

class Assignor {
 public:
  virtual ~Assignor() = default;
  virtual const std::string& name() const = 0;
  virtual GroupAssignment Assign(const AssignmentSpec& spec) const = 0;
};

inline const std::string kUniformAssignor = "uniform";
inline const std::string kRangeAssignor = "range";

// The assignor named `name`, or nullptr ("" is not a name: callers default).
const Assignor* FindAssignor(const std::string& name);

}  // namespace fjord::group
