// ReplicationSession: one follower's ReplicaFetch stream on the leader (see
// replication_service.h for the protocol). Internal to the service.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "broker/replica_manager.h"
#include "broker/request_observer.h"
#include "proto/fjord/v1/replication.grpc.pb.h"

namespace fjord::broker {

class ReplicationSession {
 public:
  using Stream = grpc::ServerReaderWriter<v1::ReplicaFetchResponse, v1::ReplicaFetchRequest>;

  // `first` is the stream's first message, already validated.
  ReplicationSession(ReplicaManager& replicas, Stream& stream, const v1::ReplicaFetchRequest& first,
                     RequestObserver* observer);
  ~ReplicationSession();

  // Runs the session until the stream ends; returns on the handler thread
  // the replicas hosted here that the follower fetched on the stream (the
  // service tells them when the follower's last stream ends).
  std::vector<std::shared_ptr<Replica>> Run(const v1::ReplicaFetchRequest& first);

 private:
  using Key = std::pair<controller::Uuid, int32_t>;
  struct Credit {
    v1::ReplicaFetchPartition request;
    std::shared_ptr<Replica> replica;  // nullptr: not hosted here.
    absl::Time received;
    // Tells this credit from a later one for the same partition.
    uint64_t generation = 0;
  };
  // What one round of the sender answers from, copied under mu_.
  struct Round {
    std::vector<std::pair<Key, Credit>> credits;
    std::vector<std::optional<int64_t>> hw_sent;  // Per credit.
    int32_t max_bytes = 0;
    int32_t partition_max_bytes = 0;
  };

  // Handler thread: applies one follower message.
  void Receive(const v1::ReplicaFetchRequest& request);
  // Sender thread: answers credits until the session closes.
  void SendLoop();
  // Waits until there may be something to answer; false once closed.
  bool WaitForWork(Round* round);
  // Publishes the answers built outside mu_: consumes each answered credit
  // unless the follower replaced or removed it meanwhile (that answer is
  // dropped; the newer credit is answered in a later round).
  v1::ReplicaFetchResponse PublishLocked(
      const Round& round, std::vector<std::pair<size_t, v1::ReplicaFetchPartitionData>> answers)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The answer for one credit, or false if it must wait. Reads the log:
  // called without mu_.
  bool Answer(const Credit& credit, std::optional<int64_t> hw_sent, int32_t partition_max_bytes,
              int64_t* remaining, v1::ReplicaFetchPartitionData* out) const;

  ReplicaManager& replicas_;
  Stream& stream_;
  RequestObserver* const observer_;
  const BrokerId follower_;
  const BrokerEpoch broker_epoch_;

  absl::Mutex mu_;
  absl::CondVar wake_;
  std::map<Key, Credit> credits_ ABSL_GUARDED_BY(mu_);
  // The high watermark last sent per partition, so an idle caught-up
  // follower hears each HW move once.
  std::map<Key, int64_t> hw_sent_ ABSL_GUARDED_BY(mu_);
  // Every partition this follower fetched on the stream (told when it ends).
  std::set<Key> seen_ ABSL_GUARDED_BY(mu_);
  int32_t max_bytes_ ABSL_GUARDED_BY(mu_);
  int32_t partition_max_bytes_ ABSL_GUARDED_BY(mu_);
  uint64_t next_generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool dirty_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  int listener_id_ = -1;
};

}  // namespace fjord::broker
