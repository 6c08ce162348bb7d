// LogFlusher: the broker's flush threads for leader logs under
// log.flush.policy=always (Redpanda-style group commit decoupled from
// appends).
//
// A leader append returns once its batches are written to the log (page
// cache); the replica then schedules its log here. A flush thread runs
// PartitionLog::Flush, one fdatasync covering everything appended to that
// log so far (all the batches appended while the previous fdatasync ran),
// and the replica moves its high watermark, which wakes the acks=all
// requests waiting for it (Replica::FlushLocalLog). So appends never wait
// for an fsync, and each request waits for the durability of its last
// offset once (in the purgatory, not on a thread).
//
//   append -> Schedule(replica) --queue--> flush thread: Flush() (group
//   commit) -> Replica::OnLocalFlush -> HW moves -> purgatory completes acks
//
// Bounds: `threads` flush threads, so that many partitions fsync in
// parallel; a replica sits in the queue at most once (Replica coalesces
// schedules), so the queue is bounded by the hosted replicas.
//
// Threading: thread-safe. Schedule() never blocks on I/O. Replicas are held
// weakly: one removed before its turn is skipped. Stop() (or the
// destructor) joins the threads; queued flushes are dropped (a log's Close
// flushes it anyway).
#pragma once

#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace fjord::broker {

class Replica;

class LogFlusher {
 public:
  static constexpr int kDefaultThreads = 4;

  explicit LogFlusher(int threads = kDefaultThreads);
  ~LogFlusher();
  LogFlusher(const LogFlusher&) = delete;
  LogFlusher& operator=(const LogFlusher&) = delete;

  // Queues a flush of `replica`'s log (Replica::FlushLocalLog).
  void Schedule(std::weak_ptr<Replica> replica);
  // Joins the flush threads; later Schedule calls are ignored.
  void Stop();

 private:
  void Loop();

  absl::Mutex mu_;
  std::deque<std::weak_ptr<Replica>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace fjord::broker
