#include "storage/posix_file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace fjord::storage {
namespace {

class PosixFile final : public File {
 public:
  PosixFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixFile() override { ::close(fd_); }

  absl::Status Append(std::string_view data) override {
    uint64_t at = size_.load(std::memory_order_relaxed);
    while (!data.empty()) {
      const ssize_t n = ::pwrite(fd_, data.data(), data.size(), at);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, absl::StrCat("write ", path_));
      }
      data.remove_prefix(n);
      at += n;
      // Published as written, so a short write followed by an error still
      // leaves Size() matching the file.
      size_.store(at, std::memory_order_release);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* out) const override {
    size_t done = 0;
    while (done < n) {
      const ssize_t r = ::pread(fd_, out + done, n - done, offset + done);
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, absl::StrCat("read ", path_));
      }
      if (r == 0) break;
      done += r;
    }
    return done;
  }

  absl::Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, size) != 0) return ErrnoStatus(errno, absl::StrCat("truncate ", path_));
    size_.store(size, std::memory_order_release);
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    if (::fdatasync(fd_) != 0) return ErrnoStatus(errno, absl::StrCat("fdatasync ", path_));
    return absl::OkStatus();
  }

  uint64_t Size() const override { return size_.load(std::memory_order_acquire); }

 private:
  const std::string path_;
  const int fd_;
  std::atomic<uint64_t> size_;
};

}  // namespace

absl::Status ErrnoStatus(int err, std::string_view what) {
  std::string msg =
      absl::StrCat(absl::string_view(what.data(), what.size()), ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    default:
      return absl::InternalError(msg);
  }
}

PosixFileSystem& PosixFileSystem::Get() {
  static PosixFileSystem* fs = new PosixFileSystem();
  return *fs;
}

absl::StatusOr<std::unique_ptr<File>> PosixFileSystem::Open(const std::string& path,
                                                            OpenMode mode) {
  int flags = O_RDWR | O_CLOEXEC;
  if (mode != OpenMode::kExisting) flags |= O_CREAT;
  if (mode == OpenMode::kCreateTruncate) flags |= O_TRUNC;
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("open ", path));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoStatus(err, absl::StrCat("stat ", path));
  }
  return std::make_unique<PosixFile>(path, fd, static_cast<uint64_t>(st.st_size));
}

absl::Status PosixFileSystem::Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return ErrnoStatus(errno, absl::StrCat("rename ", from, " to ", to));
  }
  return absl::OkStatus();
}

absl::Status PosixFileSystem::Unlink(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return ErrnoStatus(errno, absl::StrCat("unlink ", path));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> PosixFileSystem::List(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus(errno, absl::StrCat("opendir ", dir));
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    names.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

absl::Status PosixFileSystem::SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("open dir ", dir));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus(err, absl::StrCat("fsync dir ", dir));
  return absl::OkStatus();
}

absl::Status PosixFileSystem::CreateDir(const std::string& dir) {
  for (size_t pos = 0; pos != std::string::npos;) {
    pos = dir.find('/', pos + 1);
    const std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, absl::StrCat("mkdir ", prefix));
    }
  }
  return absl::OkStatus();
}

absl::Status PosixFileSystem::RemoveAll(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return absl::OkStatus();
  std::string doomed = dir;
  if (!absl::EndsWith(dir, kDeletedSuffix)) {
    // An earlier deletion of a directory of the same name may still run.
    doomed = absl::StrCat(dir, kDeletedSuffix);
    for (int n = 1; std::filesystem::exists(doomed, ec); ++n) {
      doomed = absl::StrCat(dir, ".", n, kDeletedSuffix);
    }
    if (::rename(dir.c_str(), doomed.c_str()) != 0) {
      return ErrnoStatus(errno, absl::StrCat("rename ", dir, " to ", doomed));
    }
    const std::string parent = std::filesystem::path(dir).parent_path().string();
    RETURN_IF_ERROR(SyncDir(parent.empty() ? "." : parent));
  }
  ASSIGN_OR_RETURN(const std::vector<std::string> names, List(doomed));
  for (const std::string& name : names) {
    const std::string path = absl::StrCat(doomed, "/", name);
    if (std::filesystem::is_directory(path, ec)) {
      std::filesystem::remove_all(path, ec);  // Not a partition's; none expected.
      if (ec) return absl::InternalError(absl::StrCat("remove ", path, ": ", ec.message()));
    } else {
      deleter().DeleteFile(path);
    }
  }
  deleter().RemoveDir(doomed);
  return absl::OkStatus();
}

absl::Status PosixFileSystem::UnlinkInBackground(const std::string& path) {
  deleter().DeleteFile(path);
  return absl::OkStatus();
}

FileDeleter& PosixFileSystem::deleter() {
  absl::call_once(deleter_once_, [this] { deleter_ = std::make_unique<FileDeleter>(); });
  return *deleter_;
}

}  // namespace fjord::storage
