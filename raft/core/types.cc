#include "raft/core/types.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace fjord::raft {
namespace {

std::string JoinIds(const std::vector<NodeId>& ids) {
  return absl::StrJoin(ids, ",",
                       [](std::string* out, NodeId id) { absl::StrAppend(out, id.value()); });
}

bool ParseIds(absl::string_view text, std::vector<NodeId>* out) {
  if (text.empty()) return true;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int32_t id;
    if (!absl::SimpleAtoi(part, &id) || id < 0) return false;
    out->push_back(NodeId(id));
  }
  return std::is_sorted(out->begin(), out->end()) &&
         std::adjacent_find(out->begin(), out->end()) == out->end();
}

}  // namespace

bool Membership::IsVoter(NodeId id) const {
  return std::binary_search(voters.begin(), voters.end(), id);
}

bool Membership::IsLearner(NodeId id) const {
  return std::binary_search(learners.begin(), learners.end(), id);
}

std::vector<NodeId> Membership::All() const {
  std::vector<NodeId> all = voters;
  all.insert(all.end(), learners.begin(), learners.end());
  return all;
}

std::string Membership::Encode() const {
  return absl::StrCat("voters=", JoinIds(voters), " learners=", JoinIds(learners));
}

std::optional<Membership> Membership::Decode(std::string_view text) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(text.data(), text.size()), ' ');
  if (parts.size() != 2 || !absl::ConsumePrefix(&parts[0], "voters=") ||
      !absl::ConsumePrefix(&parts[1], "learners=")) {
    return std::nullopt;
  }
  Membership m;
  if (!ParseIds(parts[0], &m.voters) || !ParseIds(parts[1], &m.learners)) return std::nullopt;
  for (NodeId id : m.learners) {
    if (m.IsVoter(id)) return std::nullopt;
  }
  return m;
}

const char* ToString(MessageType type) {
  switch (type) {
    case MessageType::kAppend:
      return "Append";
    case MessageType::kAppendResponse:
      return "AppendResp";
    case MessageType::kHeartbeat:
      return "Heartbeat";
    case MessageType::kHeartbeatResponse:
      return "HeartbeatResp";
    case MessageType::kVote:
      return "Vote";
    case MessageType::kVoteResponse:
      return "VoteResp";
    case MessageType::kPreVote:
      return "PreVote";
    case MessageType::kPreVoteResponse:
      return "PreVoteResp";
    case MessageType::kSnapshot:
      return "Snapshot";
    case MessageType::kSnapshotResponse:
      return "SnapshotResp";
    case MessageType::kTimeoutNow:
      return "TimeoutNow";
  }
  return "?";
}

const char* ToString(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "?";
}

const char* ToString(EntryType type) {
  switch (type) {
    case EntryType::kNormal:
      return "normal";
    case EntryType::kLeaderChange:
      return "leader-change";
    case EntryType::kConfig:
      return "config";
  }
  return "?";
}

std::string Describe(const Entry& e) {
  std::string out = absl::StrCat(e.term.value(), "/", e.index.value());
  if (e.type != EntryType::kNormal) absl::StrAppend(&out, " ", ToString(e.type));
  if (!e.data.empty()) absl::StrAppend(&out, " \"", e.data, "\"");
  return out;
}

std::string Describe(const Message& m) {
  std::string out = absl::StrCat(m.from.value(), "->", m.to.value(), " ", ToString(m.type),
                                 " term=", m.term.value());
  switch (m.type) {
    case MessageType::kAppend:
      absl::StrAppend(&out, " prev=", m.log_term.value(), "/", m.index.value(),
                      " commit=", m.commit.value());
      if (!m.entries.empty()) {
        absl::StrAppend(
            &out, " entries=[",
            absl::StrJoin(m.entries, ", ",
                          [](std::string* s, const Entry& e) { absl::StrAppend(s, Describe(e)); }),
            "]");
      }
      break;
    case MessageType::kAppendResponse:
      absl::StrAppend(&out, " index=", m.index.value());
      if (m.reject) absl::StrAppend(&out, " reject hint=", m.reject_hint.value());
      break;
    case MessageType::kHeartbeat:
      absl::StrAppend(&out, " commit=", m.commit.value());
      [[fallthrough]];
    case MessageType::kHeartbeatResponse:
      if (m.context != 0) absl::StrAppend(&out, " read=", m.context);
      break;
    case MessageType::kVote:
    case MessageType::kPreVote:
      absl::StrAppend(&out, " last=", m.log_term.value(), "/", m.index.value());
      if (m.transfer) absl::StrAppend(&out, " transfer");
      break;
    case MessageType::kVoteResponse:
    case MessageType::kPreVoteResponse:
      absl::StrAppend(&out, m.reject ? " rejected" : " granted");
      break;
    case MessageType::kSnapshot:
      absl::StrAppend(&out, " snap=", m.snapshot.term.value(), "/", m.snapshot.index.value(),
                      " offset=", m.chunk_offset, " bytes=", m.chunk.size(),
                      m.chunk_last ? " last" : "");
      break;
    case MessageType::kSnapshotResponse:
      absl::StrAppend(&out, " snap=", m.snapshot.index.value(), " offset=", m.chunk_offset,
                      m.reject ? " reject" : "");
      break;
    case MessageType::kTimeoutNow:
      break;
  }
  return out;
}

}  // namespace fjord::raft
