#include "raft/node/storage_writer.h"

#include "common/assert.h"

namespace fjord::raft {

StorageWriter::StorageWriter(RocksStorage* storage, NodeId id) : storage_(storage), id_(id) {
  thread_ = std::thread([this] { Run(); });
}

StorageWriter::~StorageWriter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void StorageWriter::Enqueue(std::optional<HardState> hard_state, std::vector<Entry> entries,
                            std::function<void()> persisted) {
  Write write{.persisted = std::move(persisted)};
  write.ready.hard_state = std::move(hard_state);
  write.ready.entries = std::move(entries);
  absl::MutexLock lock(&mu_);
  auto room = [this]()
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return queue_.size() < kQueuedWritesMax; };
  mu_.Await(absl::Condition(&room));
  queue_.push_back(std::move(write));
}

void StorageWriter::EnqueueSnapshot(Snapshot snapshot, std::vector<Entry> garbage) {
  Write write;
  write.snapshot = std::move(snapshot);
  write.garbage = std::move(garbage);
  absl::MutexLock lock(&mu_);
  auto room = [this]()
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return queue_.size() < kQueuedWritesMax; };
  mu_.Await(absl::Condition(&room));
  queue_.push_back(std::move(write));
}

void StorageWriter::Drain() {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return queue_.empty() && !busy_; };
  mu_.Await(absl::Condition(&idle));
}

void StorageWriter::Run() {
  while (true) {
    Write write;
    std::vector<std::function<void()>> persisted;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); };
      mu_.Await(absl::Condition(&ready));
      // Queued writes are finished even when stopping: what was handed over
      // is written, as a synchronous caller would have done.
      if (queue_.empty()) return;
      // Everything queued goes into one batch and one fsync (group commit):
      // a leader's Readies are small at moderate rates, and one sync each
      // would let the disk fall behind. A leader only appends, so the
      // entries of consecutive writes follow each other; anything else
      // waits for the next batch.
      write = std::move(queue_.front());
      queue_.pop_front();
      persisted.push_back(std::move(write.persisted));
      std::vector<Entry>& entries = write.ready.entries;
      while (!write.snapshot && !queue_.empty()) {
        Write& next = queue_.front();
        if (next.snapshot) break;  // Written on its own, in order.
        const std::vector<Entry>& more = next.ready.entries;
        if (!entries.empty() && !more.empty() && more.front().index != entries.back().index + 1) {
          break;
        }
        entries.insert(entries.end(), std::make_move_iterator(more.begin()),
                       std::make_move_iterator(more.end()));
        if (next.ready.hard_state) write.ready.hard_state = next.ready.hard_state;
        persisted.push_back(std::move(next.persisted));
        queue_.pop_front();
      }
      busy_ = true;
    }
    if (write.snapshot) {
      absl::Status s = storage_->SaveSnapshot(*write.snapshot);
      FJORD_CHECK(s.ok()) << "raft node " << id_ << " cannot save snapshot: " << s;
      write.garbage = {};  // Frees the compacted entries here, off the node thread.
    } else {
      absl::Status s = storage_->SaveReady(write.ready);
      FJORD_CHECK(s.ok()) << "raft node " << id_ << " cannot persist: " << s;
    }
    for (auto& done : persisted) {
      if (done) done();
    }
    absl::MutexLock lock(&mu_);
    busy_ = false;
  }
}

}  // namespace fjord::raft
