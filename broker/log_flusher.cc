#include "broker/log_flusher.h"

#include "broker/replica.h"
#include "common/assert.h"

namespace fjord::broker {

LogFlusher::LogFlusher(int threads) {
  FJORD_CHECK(threads > 0) << threads;
  threads_.reserve(threads);
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

LogFlusher::~LogFlusher() { Stop(); }

void LogFlusher::Schedule(std::weak_ptr<Replica> replica) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  queue_.push_back(std::move(replica));
}

void LogFlusher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    queue_.clear();
  }
  for (std::thread& t : threads_) t.join();
}

void LogFlusher::Loop() {
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); };
  while (true) {
    std::weak_ptr<Replica> next;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    if (std::shared_ptr<Replica> replica = next.lock()) replica->FlushLocalLog();
  }
}

}  // namespace fjord::broker
