// Small checkpoint files in a partition directory, in the text formats
// Kafka uses (version line first), always replaced atomically (temp file,
// fsync, rename, fsync of the directory; see WriteFileAtomically):
//
//   recovery-point-offset-checkpoint   "0\n<offset>\n"
//   replication-offset-checkpoint      "0\n<offset>\n"   (high watermark)
//   leader-epoch-checkpoint            "0\n<count>\n<epoch> <start offset>\n..."
//   cleaner-offset-checkpoint          "0\n<offset>\n"   (first dirty offset)
//
// A crash leaves either the old or the new file (plus maybe a stray
// "<name>.tmp", which PartitionLog::Open deletes). A file that does not
// parse is DataLoss naming the file: it was written atomically, so damage
// is real corruption, not a torn write.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/types.h"
#include "storage/file_system.h"

namespace fjord::storage {

inline constexpr char kRecoveryPointFile[] = "recovery-point-offset-checkpoint";
inline constexpr char kHighWatermarkFile[] = "replication-offset-checkpoint";
inline constexpr char kLeaderEpochFile[] = "leader-epoch-checkpoint";
// Log compaction's first dirty offset ("0\n<offset>\n"); losing it only
// makes the next cleaning redo work.
inline constexpr char kCleanerOffsetFile[] = "cleaner-offset-checkpoint";

absl::Status WriteOffsetCheckpoint(FileSystem& fs, const std::string& dir, const std::string& name,
                                   Offset offset);
// std::nullopt when the file does not exist.
absl::StatusOr<std::optional<Offset>> ReadOffsetCheckpoint(FileSystem& fs, const std::string& dir,
                                                           const std::string& name);

using EpochEntries = std::vector<std::pair<LeaderEpoch, Offset>>;
absl::Status WriteEpochCheckpoint(FileSystem& fs, const std::string& dir,
                                  const EpochEntries& entries);
// Empty when the file does not exist.
absl::StatusOr<EpochEntries> ReadEpochCheckpoint(FileSystem& fs, const std::string& dir);

}  // namespace fjord::storage
