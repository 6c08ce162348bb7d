// The FileSystem seam: the only way storage/ touches files, so tests can
// swap in FaultFileSystem (fault_file_system.h) to lose unsynced data,
// fail writes with ENOSPC and fsyncs with EIO. Production uses
// PosixFileSystem (posix_file_system.h).
//
// The contract is POSIX's, narrowed to what a log needs:
// - File::Append writes at the end; data is durable only after Sync()
//   (fdatasync) returns OK.
// - A new, renamed or unlinked directory entry is durable only after
//   SyncDir() on its directory returns OK.
// - After a failed Sync() nothing is known about what reached the disk
//   (fsyncgate): callers must not retry and must treat the file as lost.
// Both implementations are thread-safe; one File may be read (ReadAt) from
// several threads while one thread appends.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fjord::storage {

class File {
 public:
  virtual ~File() = default;
  virtual absl::Status Append(std::string_view data) = 0;
  // Reads up to `n` bytes at `offset` into `out`; returns how many were read
  // (fewer only at the end of the file).
  virtual absl::StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* out) const = 0;
  virtual absl::Status Truncate(uint64_t size) = 0;
  // fdatasync.
  virtual absl::Status Sync() = 0;
  virtual uint64_t Size() const = 0;
};

enum class OpenMode {
  kExisting,        // NotFound if missing.
  kCreate,          // Create if missing, keep contents.
  kCreateTruncate,  // Create if missing, empty it.
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  virtual absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) = 0;
  // Atomically replaces `to` (same directory).
  virtual absl::Status Rename(const std::string& from, const std::string& to) = 0;
  virtual absl::Status Unlink(const std::string& path) = 0;
  // Names (not paths) of the entries in `dir`, sorted, without "." and "..".
  virtual absl::StatusOr<std::vector<std::string>> List(const std::string& dir) = 0;
  virtual absl::Status SyncDir(const std::string& dir) = 0;
  // Creates `dir` (and its parents) if missing.
  virtual absl::Status CreateDir(const std::string& dir) = 0;
  // Deletes `dir` and the files in it (a partition directory holds no
  // subdirectories); a missing `dir` is OK. This default unlinks each listed
  // file. PosixFileSystem renames the directory aside (<dir>.deleted, or
  // <dir>.<n>.deleted while an earlier one is still being deleted; a crash
  // never leaves a half-deleted log under the partition's own name), syncs
  // its parent and returns: its background FileDeleter removes the files
  // gradually, then the directory.
  virtual absl::Status RemoveAll(const std::string& dir);
  // Deletes `path`, a file no one reads or writes any more, possibly after
  // returning (callers rename it first: DeleteFileInBackground). This
  // default unlinks it now; PosixFileSystem hands it to a FileDeleter
  // (file_deleter.h) that truncates it in steps before unlinking it.
  virtual absl::Status UnlinkInBackground(const std::string& path) { return Unlink(path); }
};

// Kafka's suffix for a segment file (or, here, a partition directory) being
// deleted. Whatever carries it is garbage: PartitionLog's recovery and the
// broker's startup sweep delete it.
inline constexpr char kDeletedSuffix[] = ".deleted";

// Deletes the file `path` without waiting for the disk: renames it to
// path + kDeletedSuffix (a crash leaves a name recovery removes, never a
// half-deleted file under its live name) and passes that to
// UnlinkInBackground. The rename is durable once the caller syncs the
// directory (the background deleter also syncs it before truncating).
absl::Status DeleteFileInBackground(FileSystem& fs, const std::string& path);

// Reads a whole file.
absl::StatusOr<std::string> ReadWholeFile(FileSystem& fs, const std::string& path);

// Replaces dir/name with `contents` so that a crash leaves either the old or
// the new file, never a mix: write dir/name.tmp, fsync it, rename over
// dir/name, fsync dir.
absl::Status WriteFileAtomically(FileSystem& fs, const std::string& dir, const std::string& name,
                                 std::string_view contents);

}  // namespace fjord::storage
