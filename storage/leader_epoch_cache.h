// Which leader epoch began at which offset: Kafka's LeaderEpochFileCache
// (KIP-101/279). A follower asks the leader "where does my latest epoch end
// on your log?" (EndOffsetFor) and truncates there, so logs that diverged
// under different leaders converge without losing committed records.
//
// Entries are strictly increasing in both epoch and start offset. Every
// change is persisted to leader-epoch-checkpoint (checkpoint_file.h) before
// the call returns. Not thread-safe: PartitionLog calls it under its lock.
#pragma once

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "common/types.h"
#include "storage/checkpoint_file.h"
#include "storage/file_system.h"

namespace fjord::storage {

class LeaderEpochCache {
 public:
  static absl::StatusOr<LeaderEpochCache> Load(FileSystem& fs, std::string dir);

  // Records that `epoch` starts at `start`. A no-op when `epoch` is the
  // latest; InvalidArgument when it is older than the latest (an append
  // from a stale leader must be fenced before it reaches the log).
  absl::Status Assign(LeaderEpoch epoch, Offset start);

  // Kafka's endOffsetFor: for `epoch`, the largest epoch <= it that this log
  // knows and the offset where that epoch ended (the start of the next
  // epoch, or `log_end` for the latest). {kNoLeaderEpoch, kInvalidOffset}
  // when `epoch` is older than every entry.
  std::pair<LeaderEpoch, Offset> EndOffsetFor(LeaderEpoch epoch, Offset log_end) const;

  // Drops entries starting at or after `end` (log truncated to `end`).
  absl::Status TruncateFromEnd(Offset end);
  // Log start moved to `start`: entries before it collapse into one that
  // starts at `start`.
  absl::Status TruncateFromStart(Offset start);

  std::optional<LeaderEpoch> latest_epoch() const;
  const EpochEntries& entries() const { return entries_; }

 private:
  LeaderEpochCache(FileSystem* fs, std::string dir, EpochEntries entries)
      : fs_(fs), dir_(std::move(dir)), entries_(std::move(entries)) {}

  FileSystem* fs_;
  std::string dir_;
  EpochEntries entries_;
};

}  // namespace fjord::storage
