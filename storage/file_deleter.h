// FileDeleter: deletes files on its own thread, gradually. Unlinking a big
// file on a file system mounted with online discard (ext4 `discard`) stalls
// every concurrent fdatasync on the disk until the discard is done: one
// unlink of a 1 GiB segment held other files' fdatasyncs for 120-150 ms
// here. Truncating the file in small steps at a bounded rate first (RocksDB's
// DeleteScheduler, bytes_max_delete_chunk) spreads the discards out.
//
// Only hand it files no one reads any more: a reader of a truncated file
// gets short reads. Callers first rename the file to a name that recovery
// removes (Kafka's ".deleted" suffix), so a crash mid-way never leaves a
// shortened file under a live name; the deleter syncs the file's directory
// before its first truncation so that rename is durable by then.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <set>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fjord::storage {

struct FileDeleterOptions {
  // RocksDB's SstFileManager values: 4 MiB steps at 128 MiB/s (a 1 GiB
  // segment takes about 8 s).
  uint64_t chunk_bytes = 4 << 20;
  uint64_t bytes_per_second = 128 << 20;
  // Called after each truncation with the time to wait; tests replace it.
  std::function<void(absl::Duration)> pause = [](absl::Duration d) { absl::SleepFor(d); };
};

class FileDeleter {
 public:
  explicit FileDeleter(FileDeleterOptions options = {});
  // Stops after the step in progress. Files still queued (or half
  // truncated) stay on disk under their doomed names for the next start's
  // sweep.
  ~FileDeleter();
  FileDeleter(const FileDeleter&) = delete;
  FileDeleter& operator=(const FileDeleter&) = delete;

  // Queues `path` (a file nobody reads any more) and returns at once; a
  // path already queued is not queued twice. A missing file is skipped.
  // In a child forked after the deleter started (no deleter thread there,
  // and its lock may have been held at the fork) it unlinks at once.
  void DeleteFile(std::string path);
  // Queues removing the directory `dir` once the files queued before it are
  // gone (rmdir; a non-empty directory is left and logged).
  void RemoveDir(std::string dir);
  // Blocks until everything queued so far is done.
  void WaitIdle();

  // Truncation steps taken so far (for tests and logs).
  int64_t truncations() const { return truncations_.load(); }
  // True once the destructor has begun (for tests).
  bool stopping() const { return stop_.load(); }

 private:
  struct Job {
    std::string path;
    bool is_dir = false;
  };
  void Enqueue(Job job);
  void Run();
  void DeleteGradually(const std::string& path);

  const FileDeleterOptions options_;
  absl::Mutex mu_;
  std::deque<Job> queue_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> queued_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> truncations_{0};
  const pid_t pid_;  // Of the process that started thread_.
  std::thread thread_;
};

}  // namespace fjord::storage
