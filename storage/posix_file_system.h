// FileSystem on plain POSIX calls (open, pwrite, pread, ftruncate,
// fdatasync, rename, unlink, readdir, fsync of the directory). Thread-safe;
// use the process-wide instance. Its only state is the FileDeleter behind
// UnlinkInBackground and RemoveAll, started on first use.
#pragma once

#include <memory>

#include "absl/base/call_once.h"
#include "storage/file_deleter.h"
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
  absl::Status UnlinkInBackground(const std::string& path) override;

  // The background deleter (FileDeleterOptions' defaults: 4 MiB steps at
  // 128 MiB/s); tests wait on it with WaitIdle.
  FileDeleter& deleter();

 private:
  absl::once_flag deleter_once_;
  std::unique_ptr<FileDeleter> deleter_;
};

// errno -> absl::Status: ENOENT NotFound, ENOSPC/EDQUOT ResourceExhausted,
// EEXIST AlreadyExists, anything else Internal; the message names `what`.
absl::Status ErrnoStatus(int err, std::string_view what);

}  // namespace fjord::storage
