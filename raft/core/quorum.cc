#include "raft/core/quorum.h"

#include <algorithm>

namespace fjord::raft {

LogIndex QuorumMatchIndex(const std::vector<NodeId>& voters,
                          const std::function<LogIndex(NodeId)>& match_of) {
  if (voters.empty()) return LogIndex(0);
  std::vector<LogIndex> matches;
  matches.reserve(voters.size());
  for (NodeId id : voters) matches.push_back(match_of(id));
  // Sorted descending, the majority-th value is held by at least a majority.
  std::sort(matches.begin(), matches.end(), std::greater<>());
  return matches[MajoritySize(voters.size()) - 1];
}

VoteResult TallyVotes(const std::vector<NodeId>& voters, const std::map<NodeId, bool>& replies) {
  size_t granted = 0;
  size_t rejected = 0;
  for (NodeId id : voters) {
    auto it = replies.find(id);
    if (it == replies.end()) continue;
    (it->second ? granted : rejected)++;
  }
  const size_t majority = MajoritySize(voters.size());
  if (granted >= majority) return VoteResult::kWon;
  if (voters.size() - rejected < majority) return VoteResult::kLost;
  return VoteResult::kPending;
}

bool HasQuorum(const std::vector<NodeId>& voters, const std::function<bool(NodeId)>& acked) {
  if (voters.empty()) return false;
  size_t count = 0;
  for (NodeId id : voters) count += acked(id) ? 1 : 0;
  return count >= MajoritySize(voters.size());
}

}  // namespace fjord::raft
