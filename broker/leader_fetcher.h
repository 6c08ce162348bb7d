// LeaderFetcher: one follower->leader ReplicaFetch stream and its thread (see
// replica_fetcher.h). Internal to ReplicaFetcherManager.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "broker/replica.h"
#include "broker/replica_fetcher.h"
#include "grpcpp/grpcpp.h"
#include "proto/fjord/v1/replication.grpc.pb.h"

namespace fjord::broker {

class LeaderFetcher {
 public:
  LeaderFetcher(const FetcherOptions& options, std::function<BrokerEpoch()> broker_epoch,
                std::string address);
  ~LeaderFetcher();  // Stops and joins.

  void Add(std::shared_ptr<Replica> replica);
  void Remove(const Replica& replica);
  bool empty() const;
  // Ends the current stream; the next one opens after the backoff (with the
  // broker's current epoch).
  void Reconnect();

 private:
  using Key = std::pair<controller::Uuid, int32_t>;
  using Stream = grpc::ClientReaderWriter<v1::ReplicaFetchRequest, v1::ReplicaFetchResponse>;

  void Loop();
  // One stream's life; returns when it breaks or the fetcher stops.
  void RunStream();
  // Handles one answer, adding the partition's next credit to `next` unless
  // it must stop; sets `retry` when the answer was a retriable error.
  void Handle(const v1::ReplicaFetchPartitionData& data, v1::ReplicaFetchRequest* next,
              bool* retry);
  static void FillCredit(const Replica& r, v1::ReplicaFetchPartition* credit);
  bool Write(const v1::ReplicaFetchRequest& request);

  const FetcherOptions options_;
  const std::function<BrokerEpoch()> broker_epoch_;
  const std::string address_;
  std::shared_ptr<grpc::Channel> channel_;

  mutable absl::Mutex mu_;
  std::map<Key, std::shared_ptr<Replica>> partitions_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;

  // Serialises writes on the current stream.
  // Order: write_mu_ before mu_ (the first message is built under both).
  absl::Mutex write_mu_;
  Stream* stream_ ABSL_GUARDED_BY(write_mu_) = nullptr;

  std::thread thread_;
};

}  // namespace fjord::broker
