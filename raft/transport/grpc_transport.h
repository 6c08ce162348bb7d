// Raft messages over gRPC (RaftService in proto/fjord/v1/raft.proto).
//
// Sending (GrpcTransport, a Transport for RaftNode): per peer, two lanes,
// each a thread with a bounded queue and one long-lived client stream
// RaftService.Send. Snapshot chunks use their own lane so bulk transfers
// never delay heartbeats. A lane writes everything queued as one
// RaftMessageBatch (bounded by kBatchMessagesMax / kBatchBytesMax). When a
// stream breaks, its queued messages are dropped and the lane reconnects
// after kReconnectBackoff: Raft retransmits what matters, and stale
// messages are worthless. A full queue drops new messages for the same reason.
//
// Receiving (RaftGrpcService): each incoming stream is read on a gRPC server
// thread; every message is validated (FromProto) and handed to the receiver
// (RaftNode::Receive), which only enqueues.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/fjord/v1/raft.grpc.pb.h"
#include "raft/node/state_machine.h"

namespace fjord::raft {

inline constexpr size_t kLaneQueueMessagesMax = 8192;
inline constexpr size_t kBatchMessagesMax = 512;
inline constexpr size_t kBatchBytesMax = 4 << 20;
inline constexpr absl::Duration kReconnectBackoff = absl::Milliseconds(20);

class GrpcTransport final : public Transport {
 public:
  // `peers`: node id -> "host:port" of its RaftService.
  GrpcTransport(std::string cluster_id, std::map<NodeId, std::string> peers);
  ~GrpcTransport() override;

  void Send(std::vector<Message> messages) override;
  // For membership changes: a node added later.
  void AddPeer(NodeId id, const std::string& address);

 private:
  class Lane;
  struct Peer {
    std::unique_ptr<Lane> normal;
    std::unique_ptr<Lane> snapshot;
  };
  const std::string cluster_id_;
  absl::Mutex mu_;  // Guards peers_ (lanes are internally synchronized).
  std::map<NodeId, Peer> peers_ ABSL_GUARDED_BY(mu_);
};

class RaftGrpcService final : public v1::RaftService::Service {
 public:
  RaftGrpcService(std::string cluster_id, std::function<void(Message)> receive);

  grpc::Status Send(grpc::ServerContext* context, grpc::ServerReader<v1::RaftMessageBatch>* reader,
                    v1::RaftAck* ack) override;

 private:
  const std::string cluster_id_;
  const std::function<void(Message)> receive_;
};

}  // namespace fjord::raft
