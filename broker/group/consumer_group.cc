#include "broker/group/consumer_group.h"

#include <set>

namespace fjord::group {

const char* GroupStateName(GroupState state) {
  switch (state) {
    case GroupState::kEmpty:
      return "Empty";
    case GroupState::kAssigning:
      return "Assigning";
    case GroupState::kReconciling:
      return "Reconciling";
    case GroupState::kStable:
      return "Stable";
    case GroupState::kDead:
      return "Dead";
  }
  return "Unknown";
}

GroupState ConsumerGroup::state() const {
  if (members.empty()) return GroupState::kEmpty;
  if (group_epoch > assignment_epoch) return GroupState::kAssigning;
  for (const auto& [id, m] : members) {
    // A static member that left temporarily keeps its partitions reserved;
    // it is away, not reconciling.
    if (m.member_epoch == kStaticLeaveEpoch) continue;
    if (m.member_epoch != assignment_epoch || m.state != MemberState::kStable) {
      return GroupState::kReconciling;
    }
  }
  return GroupState::kStable;
}

const Member* ConsumerGroup::FindMember(const std::string& member_id) const {
  auto it = members.find(member_id);
  return it == members.end() ? nullptr : &it->second;
}

const Member* ConsumerGroup::FindByInstance(const std::string& instance_id) const {
  for (const auto& [id, m] : members) {
    if (m.instance_id == instance_id) return &m;
  }
  return nullptr;
}

std::vector<std::string> ConsumerGroup::SubscribedTopicNames() const {
  std::set<std::string> names;
  for (const auto& [id, m] : members)
    names.insert(m.subscribed_topics.begin(), m.subscribed_topics.end());
  return {names.begin(), names.end()};
}

}  // namespace fjord::group
