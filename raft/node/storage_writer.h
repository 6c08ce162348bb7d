// StorageWriter: the leader's asynchronous log writes (etcd's async storage
// writes), on a thread of their own.
//
//   node thread                          writer thread
//   Enqueue(hard state, entries, done) --> queue --> RocksStorage::SaveReady (synced)
//                                                    done()  (RaftNode posts
//                                                    Raft::OnPersisted to its inbox)
//   EnqueueSnapshot(snapshot, garbage) --> queue --> RocksStorage::SaveSnapshot (synced),
//                                                    then frees `garbage` (the
//                                                    log entries it replaced)
//   Drain()  waits until the queue is empty and no write is running; then
//            the node thread may use the RocksStorage directly, until its
//            next Enqueue.
//
// Why: a leader's fsync used to block its node thread, so acknowledgements
// that arrived meanwhile waited for it, and a slow fsync (tens of ms on a
// shared disk) became commit latency even when both followers had the
// entry. With the write here, the node thread keeps stepping: two durable
// follower copies commit an entry without the leader's own fsync.
//
// Writes happen in Enqueue order, and every synchronous use of the storage
// comes after Drain, so the storage sees exactly the order of the Readies.
// A write failure is fatal (the process aborts), as in RaftNode.
//
// Bounded: Enqueue blocks while kQueuedWritesMax writes wait, so a disk that
// falls behind slows the leader down instead of growing memory.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "raft/core/types.h"
#include "raft/storage/rocks_storage.h"

namespace fjord::raft {

inline constexpr size_t kQueuedWritesMax = 64;

class StorageWriter {
 public:
  // `storage` must outlive this writer.
  explicit StorageWriter(RocksStorage* storage, NodeId id);
  StorageWriter(const StorageWriter&) = delete;
  StorageWriter& operator=(const StorageWriter&) = delete;
  ~StorageWriter();  // Finishes the queued writes, then joins the thread.

  // Persists `hard_state` and `entries` as RocksStorage::SaveReady does (one
  // batch), then runs `persisted` on the writer thread.
  void Enqueue(std::optional<HardState> hard_state, std::vector<Entry> entries,
               std::function<void()> persisted);
  // Persists `snapshot` as RocksStorage::SaveSnapshot does (the log up to
  // it is dropped), after every write enqueued before it, then destroys
  // `garbage` on the writer thread: freeing thousands of compacted entries
  // took the node thread up to 10 ms, and the drain a synchronous save
  // needs waited for a leader's fsync in flight.
  void EnqueueSnapshot(Snapshot snapshot, std::vector<Entry> garbage);
  // Returns once every write enqueued so far has finished.
  void Drain();

 private:
  struct Write {
    Ready ready;  // Only hard_state and entries are set.
    std::function<void()> persisted;
    // A snapshot write (ready and persisted are then empty), and the
    // entries to free after it.
    std::optional<Snapshot> snapshot;
    std::vector<Entry> garbage;
  };
  void Run();

  RocksStorage* const storage_;
  const NodeId id_;
  absl::Mutex mu_;  // Guards the queue, the busy flag and the stop flag.
  std::deque<Write> queue_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;  // A write taken from the queue is running.
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace fjord::raft
