#include "broker/purgatory.h"

#include <algorithm>
#include <utility>

namespace fjord::broker {

bool WaitingRequest::TryComplete() {
  absl::MutexLock lock(&mu_);
  if (done()) return true;
  if (!attempt_(false)) return false;
  if (Finish()) complete_.Notify();
  return true;
}

void WaitingRequest::Expire() {
  absl::MutexLock lock(&mu_);
  if (done()) return;
  attempt_(true);
  if (Finish()) complete_.Notify();
}

void WaitingRequest::Wait(absl::Duration limit) {
  if (!complete_.WaitForNotificationWithTimeout(limit)) Expire();
  complete_.WaitForNotification();
}

bool AsyncRequest::TryComplete() {
  absl::MutexLock lock(&mu_);
  if (done()) return true;
  if (!attempt_(false)) return false;
  if (Finish()) on_complete_();
  return true;
}

void AsyncRequest::Expire() {
  absl::MutexLock lock(&mu_);
  if (done()) return;
  attempt_(true);
  if (Finish()) on_complete_();
}

bool Purgatory::Watch(std::shared_ptr<DelayedOperation> op,
                      const std::vector<const Replica*>& replicas, absl::Duration deadline) {
  {
    absl::MutexLock lock(&mu_);
    if (timers_.size() >= max_operations_) PurgeLocked();
    if (timers_.size() >= max_operations_) return false;
    // Registered before the first try, so a change between that try and the
    // registration cannot be missed.
    for (const Replica* r : replicas) watchers_[r].push_back(op);
    timers_.push(Timer{deadline, op});
  }
  op->TryComplete();
  return true;
}

void Purgatory::Notify(const Replica* replica) {
  std::vector<std::shared_ptr<DelayedOperation>> ops;
  {
    absl::MutexLock lock(&mu_);
    auto it = watchers_.find(replica);
    if (it == watchers_.end()) return;
    // Drop finished operations while we are here; the list stays bounded by
    // the operations still waiting.
    std::vector<std::shared_ptr<DelayedOperation>>& list = it->second;
    list.erase(std::remove_if(list.begin(), list.end(), [](const auto& op) { return op->done(); }),
               list.end());
    if (list.empty()) {
      watchers_.erase(it);
      return;
    }
    ops = list;
  }
  for (const auto& op : ops) op->TryComplete();
}

void Purgatory::ExpireDue() {
  const absl::Duration now = clock_.Monotonic();
  std::vector<std::shared_ptr<DelayedOperation>> due;
  {
    absl::MutexLock lock(&mu_);
    if (timers_.size() > max_operations_ / 2) PurgeLocked();
    while (!timers_.empty() && (timers_.top().deadline <= now || timers_.top().op->done())) {
      due.push_back(timers_.top().op);
      timers_.pop();
    }
  }
  for (const auto& op : due) {
    if (!op->done()) op->Expire();
  }
}

size_t Purgatory::size() const {
  absl::MutexLock lock(&mu_);
  return timers_.size();
}

void Purgatory::PurgeLocked() {
  std::vector<Timer> live;
  live.reserve(timers_.size());
  while (!timers_.empty()) {
    if (!timers_.top().op->done()) live.push_back(timers_.top());
    timers_.pop();
  }
  for (Timer& t : live) timers_.push(std::move(t));
  for (auto it = watchers_.begin(); it != watchers_.end();) {
    auto& list = it->second;
    list.erase(std::remove_if(list.begin(), list.end(), [](const auto& op) { return op->done(); }),
               list.end());
    if (list.empty()) {
      watchers_.erase(it++);
    } else {
      ++it;
    }
  }
}

}  // namespace fjord::broker
