// FileSystem on plain POSIX calls (open, pwrite, pread, ftruncate,
// fdatasync, rename, unlink, readdir, fsync of the directory). Stateless and
// thread-safe; use the process-wide instance.
#pragma once

#include "storage/file_system.h"

namespace fjord::storage {

class PosixFileSystem final : public FileSystem {
 public:
  static PosixFileSystem& Get();

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status Unlink(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> List(const std::string& dir) override;
  absl::Status SyncDir(const std::string& dir) override;
  absl::Status CreateDir(const std::string& dir) override;
  absl::Status RemoveAll(const std::string& dir) override;
};

// errno -> absl::Status: ENOENT NotFound, ENOSPC/EDQUOT ResourceExhausted,
// EEXIST AlreadyExists, anything else Internal; the message names `what`.
absl::Status ErrnoStatus(int err, std::string_view what);

}  // namespace fjord::storage
