// RocksStorage: the durable state of one Raft node, in its own RocksDB.
//
// Keys (default column family; indexes big-endian so keys sort in log order):
//   "h"                 HardState: term u64, vote i32, commit u64
//   "m"                 snapshot metadata: index u64, term u64, membership text
//   "d"                 snapshot data (the state machine's bytes)
//   "e" + index u64     entry: term u64, type u8, data
//
// Every call is one WriteBatch written with sync=true (fdatasync), so a Ready
// is durable before the driver sends its messages, and a crash leaves either
// all of a batch or none of it. One exception: a Ready whose only change is
// the commit index is written without sync (the commit index is volatile in
// Raft; a crash may bring back an older one, never a newer one, and never
// past the stored log). Entries at or below the snapshot index are
// deleted in the same batch that stores the snapshot. Load() refuses (DATA_LOSS)
// a log with a gap or an undecodable record rather than guess.
//
// Not thread-safe: owned by the node's driver thread.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "raft/core/raft.h"

namespace rocksdb {
class DB;
}

namespace fjord::raft {

class RocksStorage {
 public:
  // Opens (creating it and its parents if needed) the database in `dir`.
  static absl::StatusOr<std::unique_ptr<RocksStorage>> Open(const std::string& dir);
  ~RocksStorage();

  // Everything persisted, as the core wants it at start-up; call it once,
  // before any write (it also learns the stored log bounds). A database that
  // was never written yields a zero hard state and an empty snapshot.
  absl::StatusOr<PersistedState> Load();

  // Step 1 of handling a Ready: its snapshot (replacing the whole log), its
  // entries (replacing any stored at or after the first one) and its hard
  // state, in one synced batch. A Ready with none of these writes nothing.
  absl::Status SaveReady(const Ready& ready);

  // The state machine's own snapshot (Raft::CompactLog's result): stores it
  // and deletes the entries it covers.
  absl::Status SaveSnapshot(const Snapshot& snapshot);

  // Writes that were synced so far (for tests and metrics).
  uint64_t synced_writes() const { return synced_writes_; }

 private:
  explicit RocksStorage(rocksdb::DB* db);

  std::unique_ptr<rocksdb::DB> db_;
  uint64_t synced_writes_ = 0;
  HardState stored_hard_state_;  // Last written (term and vote decide the sync).
  // Stored log bounds, so that deletions cover exactly what exists: a range
  // tombstone per append would pile up and slow RocksDB down.
  LogIndex first_index_{1};
  LogIndex last_index_{0};
};

}  // namespace fjord::raft
