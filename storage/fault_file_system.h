// An in-memory FileSystem for tests that models what a crash and a failing
// disk do to files, so crash safety is tested rather than hoped for.
//
// Model: each file has its current bytes and its durable bytes (as of its
// last successful Sync). The directory tree has a current view and a durable
// view (as of the last SyncDir of each directory). SimulateCrash() replaces
// the current state with the durable one: unsynced appends are lost (or,
// given a Random, a random prefix of them survives: a torn write), and
// directory entries created, renamed or removed since the last SyncDir
// revert. File handles opened before a crash are detached: their later
// writes go nowhere.
//
// Faults: SetWriteBudget(n) lets n more bytes be appended in total, then
// fails appends with ENOSPC (ResourceExhausted) after writing what fits;
// SetSyncFailure(true) fails every Sync/SyncDir with EIO (Internal).
// Counters (sync_count) let tests assert how many fdatasyncs happened.
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "common/random.h"
#include "storage/file_system.h"

namespace fjord::storage {

class FaultFileSystem final : public FileSystem {
 public:
  FaultFileSystem() = default;

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status Unlink(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> List(const std::string& dir) override;
  absl::Status SyncDir(const std::string& dir) override;
  absl::Status CreateDir(const std::string& dir) override;

  // Reverts to the durable state. With `torn` non-null, each file keeps a
  // random prefix of its unsynced appended bytes.
  void SimulateCrash(Random* torn = nullptr);

  void SetWriteBudget(uint64_t bytes);
  void ClearWriteBudget() { SetWriteBudget(std::numeric_limits<uint64_t>::max()); }
  void SetSyncFailure(bool fail);
  // Runs `hook(path)` at the start of every File::Sync, outside the file
  // system's lock, so tests can hold a flush in flight deterministically.
  void SetSyncHook(std::function<void(const std::string&)> hook);

  int64_t sync_count() const;
  int64_t dir_sync_count() const;

  // Test access to raw bytes (current view); NotFound if missing.
  absl::StatusOr<std::string> Contents(const std::string& path) const;
  // The bytes of `path` as of its last successful Sync: what a crash now
  // would leave (without a torn tail). NotFound if missing.
  absl::StatusOr<std::string> DurableContents(const std::string& path) const;
  absl::Status SetContents(const std::string& path, std::string bytes);

 private:
  struct Inode {
    std::string data;
    std::string durable;
  };
  class FaultFile;
  friend class FaultFile;

  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Inode>> files_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<Inode>> durable_files_ ABSL_GUARDED_BY(mu_);
  uint64_t write_budget_ ABSL_GUARDED_BY(mu_) = std::numeric_limits<uint64_t>::max();
  bool fail_sync_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void(const std::string&)> sync_hook_ ABSL_GUARDED_BY(mu_);
  int64_t sync_count_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t dir_sync_count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fjord::storage
