#include "broker/replica_fetcher.h"

#include <utility>

#include "broker/leader_fetcher.h"

namespace fjord::broker {

ReplicaFetcherManager::ReplicaFetcherManager(FetcherOptions options,
                                             std::function<BrokerEpoch()> broker_epoch)
    : options_(std::move(options)), broker_epoch_(std::move(broker_epoch)) {}

ReplicaFetcherManager::~ReplicaFetcherManager() { Shutdown(); }

void ReplicaFetcherManager::Follow(std::shared_ptr<Replica> replica, BrokerId,
                                   std::string address) {
  absl::MutexLock lock(&mu_);
  // A partition follows one leader: drop it from any other stream first.
  for (auto it = fetchers_.begin(); it != fetchers_.end();) {
    if (it->first != address) {
      it->second->Remove(*replica);
      if (it->second->empty()) {
        it = fetchers_.erase(it);  // Joins that fetcher's thread.
        continue;
      }
    }
    ++it;
  }
  std::unique_ptr<LeaderFetcher>& fetcher = fetchers_[address];
  if (fetcher == nullptr)
    fetcher = std::make_unique<LeaderFetcher>(options_, broker_epoch_, address);
  fetcher->Add(std::move(replica));
}

void ReplicaFetcherManager::Unfollow(const Replica& replica) {
  absl::MutexLock lock(&mu_);
  for (auto it = fetchers_.begin(); it != fetchers_.end();) {
    it->second->Remove(replica);
    if (it->second->empty()) {
      it = fetchers_.erase(it);
    } else {
      ++it;
    }
  }
}

void ReplicaFetcherManager::Reconnect() {
  absl::MutexLock lock(&mu_);
  for (auto& [address, fetcher] : fetchers_) fetcher->Reconnect();
}

void ReplicaFetcherManager::Shutdown() {
  std::map<std::string, std::unique_ptr<LeaderFetcher>> fetchers;
  {
    absl::MutexLock lock(&mu_);
    fetchers.swap(fetchers_);
  }
  fetchers.clear();
}

}  // namespace fjord::broker
