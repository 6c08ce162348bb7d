// The interfaces a RaftNode is wired to: the replicated StateMachine (the
// controller implements it) and the Transport that carries messages (gRPC in
// production, in-process in tests).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "raft/core/types.h"

namespace fjord::raft {

// Called only on the RaftNode's thread, never concurrently.
class StateMachine {
 public:
  virtual ~StateMachine() = default;
  // Committed kNormal entries, in index order, each exactly once per process
  // lifetime after the last Restore (leader-change and config entries are
  // not passed). After a restart, entries after the last snapshot are
  // applied again: Apply must be a deterministic function of the entries.
  virtual void Apply(const std::vector<Entry>& entries) = 0;
  // An image of everything applied so far, for log compaction.
  virtual std::string Snapshot() = 0;
  // Replaces the whole state with an image taken by Snapshot() on some node,
  // covering the log through meta.index.
  virtual absl::Status Restore(const SnapshotMeta& meta, const std::string& data) = 0;
};

// Outgoing messages. Send must not block on the network; delivery is best
// effort (Raft retries), and messages to one peer should keep their order.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual void Send(std::vector<Message> messages) = 0;
};

}  // namespace fjord::raft
