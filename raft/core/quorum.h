// Majority-quorum arithmetic, pure functions over a voter set.
#pragma once

#include <functional>
#include <map>
#include <vector>

#include "common/types.h"

namespace fjord::raft {

// Smallest number of voters that form a majority of `voter_count` (>= 1).
inline size_t MajoritySize(size_t voter_count) { return voter_count / 2 + 1; }

// The largest index that a majority of `voters` have matched, given each
// voter's match index. With no voters there is no quorum: returns 0.
//   voters {1,2,3}, match {1:7, 2:5, 3:4}  ->  5
LogIndex QuorumMatchIndex(const std::vector<NodeId>& voters,
                          const std::function<LogIndex(NodeId)>& match_of);

enum class VoteResult { kPending, kWon, kLost };

// Outcome of an election among `voters` given the replies so far
// (true = granted). Replies from non-voters are ignored.
VoteResult TallyVotes(const std::vector<NodeId>& voters, const std::map<NodeId, bool>& replies);

// Whether the voters for which `acked` is true form a majority.
bool HasQuorum(const std::vector<NodeId>& voters, const std::function<bool(NodeId)>& acked);

}  // namespace fjord::raft
