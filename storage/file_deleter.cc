#include "storage/file_deleter.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "spdlog/spdlog.h"

namespace fjord::storage {

FileDeleter::FileDeleter(FileDeleterOptions options)
    : options_(std::move(options)), pid_(::getpid()), thread_([this] { Run(); }) {}

FileDeleter::~FileDeleter() {
  stop_.store(true);
  {
    absl::MutexLock lock(&mu_);  // Wakes Run's wait.
  }
  thread_.join();
}

void FileDeleter::DeleteFile(std::string path) { Enqueue({std::move(path), false}); }

void FileDeleter::RemoveDir(std::string dir) { Enqueue({std::move(dir), true}); }

void FileDeleter::Enqueue(Job job) {
  if (::getpid() != pid_) {
    // A forked child has no deleter thread: remove at once.
    const int rc = job.is_dir ? ::rmdir(job.path.c_str()) : ::unlink(job.path.c_str());
    if (rc != 0 && errno != ENOENT) {
      spdlog::warn("deleting {}: {}", job.path, std::strerror(errno));
    }
    return;
  }
  absl::MutexLock lock(&mu_);
  if (!queued_.insert(job.path).second) return;
  queue_.push_back(std::move(job));
}

void FileDeleter::WaitIdle() {
  if (::getpid() != pid_) return;  // Nothing was queued in this process.
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](FileDeleter* d) ABSL_EXCLUSIVE_LOCKS_REQUIRED(d->mu_) {
        return (d->queue_.empty() && !d->busy_) || d->stop_.load();
      },
      this));
}

void FileDeleter::Run() {
  while (true) {
    Job job;
    {
      absl::MutexLock lock(&mu_);
      busy_ = false;
      mu_.Await(absl::Condition(
          +[](FileDeleter* d) ABSL_EXCLUSIVE_LOCKS_REQUIRED(d->mu_) {
            return !d->queue_.empty() || d->stop_.load();
          },
          this));
      if (stop_.load()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    if (job.is_dir) {
      if (::rmdir(job.path.c_str()) != 0 && errno != ENOENT) {
        spdlog::warn("removing directory {}: {}", job.path, std::strerror(errno));
      }
    } else {
      DeleteGradually(job.path);
    }
    absl::MutexLock lock(&mu_);
    queued_.erase(job.path);
  }
}

void FileDeleter::DeleteGradually(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) spdlog::warn("deleting {}: open: {}", path, std::strerror(errno));
    return;
  }
  // The caller's rename to the doomed name must be durable before the file
  // shrinks: a crash must not leave a shortened file under its old name.
  const std::string parent = std::filesystem::path(path).parent_path().string();
  const int dir_fd =
      ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool dir_synced = dir_fd >= 0 && ::fsync(dir_fd) == 0;
  if (dir_fd >= 0) ::close(dir_fd);
  struct stat st;
  if (!dir_synced || ::fstat(fd, &st) != 0) {
    spdlog::warn("deleting {}: cannot sync its directory or stat it; unlinking at once", path);
    ::close(fd);
    ::unlink(path.c_str());
    return;
  }
  const uint64_t chunk = std::max<uint64_t>(options_.chunk_bytes, 1);
  const absl::Duration step =
      absl::Seconds(static_cast<double>(chunk) / std::max<uint64_t>(options_.bytes_per_second, 1));
  uint64_t size = static_cast<uint64_t>(st.st_size);
  while (size > chunk) {
    if (stop_.load()) {  // Left for the next start's sweep.
      ::close(fd);
      return;
    }
    size -= chunk;
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
      spdlog::warn("deleting {}: truncate: {}", path, std::strerror(errno));
      break;
    }
    truncations_.fetch_add(1);
    options_.pause(step);
  }
  ::close(fd);
  // The last chunk (at most chunk_bytes) goes with the unlink.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    spdlog::warn("deleting {}: unlink: {}", path, std::strerror(errno));
  }
}

}  // namespace fjord::storage
