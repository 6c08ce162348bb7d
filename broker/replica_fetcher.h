// ReplicaFetcherManager: the follower side of replication. One LeaderFetcher
// per leader broker keeps one ReplicaFetch stream open to it and multiplexes
// every partition this broker follows there (replication.proto).
//
// A LeaderFetcher's thread opens the stream (reopening with backoff if it
// breaks), sends one credit per partition, and for each answer: appends the
// records (AppendFromLeader; under the default flush policy they are fsynced
// before the next credit reports them as flushed), adopts the high watermark
// (never above the leader's), truncates on a divergence or
// OFFSET_OUT_OF_RANGE (Kafka's rules: where the leader epochs part; below
// the leader's log start it restarts its log there, truncateFullyAndStartAt;
// past the leader's log end it cuts back to it; after an unclean election
// that goes below its own high watermark, with a warning), and sends the
// next credit with its new log end and flushed offsets. An answer names the
// credit's fetch offset: one for an older, duplicate credit is dropped, and
// records past the log end (a gap the leader's compaction left) are taken.
// It never stops fetching a partition on a leader's answer (only on its own
// disk failure).
// Follow()/Unfollow() from the image applier add or drop partitions on the
// open stream.
//
// Threading: Follow/Unfollow/Shutdown are thread-safe. Each LeaderFetcher has
// one thread that reads the stream; `write_mu_` serialises writes (credits
// from that thread, new partitions from Follow). `mu_` guards the fetcher map.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "broker/image_applier.h"

namespace fjord::broker {

struct FetcherOptions {
  BrokerId local{0};
  std::string cluster_id;
  // replica.fetch.response.max.bytes and replica.fetch.max.bytes.
  int32_t max_bytes = 10 << 20;
  int32_t partition_max_bytes = 1 << 20;
  // replica.fetch.backoff.ms: wait before reopening a broken stream.
  absl::Duration backoff = absl::Milliseconds(100);
};

class LeaderFetcher;

class ReplicaFetcherManager final : public FollowerRegistry {
 public:
  // `broker_epoch` returns this broker's current registration epoch.
  ReplicaFetcherManager(FetcherOptions options, std::function<BrokerEpoch()> broker_epoch);
  ~ReplicaFetcherManager() override;

  void Follow(std::shared_ptr<Replica> replica, BrokerId leader, std::string address) override;
  void Unfollow(const Replica& replica) override;
  // Reopens every stream (the broker epoch changed: streams carry it).
  void Reconnect();
  // Stops every fetcher (closing streams) and joins their threads.
  void Shutdown();

 private:
  const FetcherOptions options_;
  const std::function<BrokerEpoch()> broker_epoch_;
  absl::Mutex mu_;
  // Keyed by leader address.
  std::map<std::string, std::unique_ptr<LeaderFetcher>> fetchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fjord::broker
