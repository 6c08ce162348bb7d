// PartitionLog's flushing: group commit (leader/follower fdatasync).
//
// Appenders that need durability call WaitDurable(target). If no flush is
// in flight, the caller becomes the flush leader: it snapshots the files
// with unsynced appends and the log end, drops the lock, fdatasyncs, and
// publishes the new durable offset to every waiter. Appenders arriving
// meanwhile wait for the next round, whose leader covers all of them with
// one fdatasync. With N concurrent appenders this costs about 2 fsyncs per
// round instead of N.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "storage/partition_log.h"

namespace fjord::storage {

absl::StatusOr<Offset> PartitionLog::SyncUnsynced() {
  std::vector<std::shared_ptr<File>> files;
  Offset end;
  {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(failure_);
    files.swap(unsynced_);
    end = LogEndLocked();
    unflushed_records_ = 0;
  }
  const absl::Duration start = clock_.Monotonic();
  for (const std::shared_ptr<File>& f : files) {
    if (absl::Status s = f->Sync(); !s.ok()) {
      // Never retried: after a failed fsync the kernel may have dropped the
      // dirty pages, so a later "successful" fsync would prove nothing.
      absl::MutexLock lock(&mu_);
      return Fail(s);
    }
  }
  if (config_.flush_observer != nullptr && !files.empty()) {
    config_.flush_observer->OnFlush(clock_.Monotonic() - start);
  }
  return end;
}

absl::Status PartitionLog::WaitDurable(Offset target) {
  absl::MutexLock lock(&flush_mu_);
  const uint64_t generation = truncations_;
  while (true) {
    if (!flush_failure_.ok()) return flush_failure_;
    if (truncations_ != generation) {
      return absl::AbortedError("log truncated while waiting for a flush");
    }
    if (durable_ >= target) return absl::OkStatus();
    if (flushing_) {
      flush_done_.Wait(&flush_mu_);
      continue;
    }
    flushing_ = true;
    flush_mu_.Unlock();
    absl::StatusOr<Offset> flushed = SyncUnsynced();
    flush_mu_.Lock();
    flushing_ = false;
    if (!flushed.ok()) {
      flush_failure_ = flushed.status();
    } else if (truncations_ == generation) {
      durable_ = std::max(durable_, *flushed);
      last_flush_ = clock_.Monotonic();
    }
    flush_done_.SignalAll();
  }
}

absl::StatusOr<Offset> PartitionLog::Flush() {
  RETURN_IF_ERROR(WaitDurable(log_end_offset()));
  return flushed_offset();
}

absl::Status PartitionLog::MaybeFlush() {
  bool due = false;
  {
    absl::MutexLock lock(&flush_mu_);
    due = clock_.Monotonic() - last_flush_ >= absl::Milliseconds(config_.flush_ms);
  }
  return due ? Flush().status() : absl::OkStatus();
}

}  // namespace fjord::storage
