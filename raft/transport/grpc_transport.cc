#include "raft/transport/grpc_transport.h"

#include "absl/random/random.h"
#include "grpcpp/grpcpp.h"
#include "raft/transport/convert.h"

namespace fjord::raft {
namespace {

// gRPC draws from Abseil's shared random pool (absl::BitGen seeding) on its
// own threads and on our lane threads. The first draw builds the pool under
// absl::call_once, which TSAN cannot see (Debian's Abseil is not
// instrumented), so it reported the pool's first reads on one lane thread
// as racing with its construction on another. Building the pool here, on
// the thread that constructs the transport or the service and so before
// any lane or gRPC server thread exists, orders the construction before
// every later use by thread creation, which TSAN does see. Called before
// any channel or server is created.
void BuildAbseilRandomPoolEarly() {
  static const bool built = [] {
    absl::BitGen seeded_from_the_pool;
    (void)seeded_from_the_pool();
    return true;
  }();
  (void)built;
}

}  // namespace

// One ordered stream of batches to one peer, with its own thread.
class GrpcTransport::Lane {
 public:
  Lane(std::string address, std::string cluster_id)
      : address_(std::move(address)), cluster_id_(std::move(cluster_id)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Lane() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      if (context_) context_->TryCancel();  // Unblocks a pending Write.
    }
    thread_.join();
  }

  void Enqueue(Message m) {
    absl::MutexLock lock(&mu_);
    if (queue_.size() >= kLaneQueueMessagesMax) return;  // Raft will retry.
    queue_.push_back(std::move(m));
  }

 private:
  void Run() {
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    std::unique_ptr<v1::RaftService::Stub> stub = v1::RaftService::NewStub(channel);
    std::unique_ptr<grpc::ClientWriter<v1::RaftMessageBatch>> writer;
    v1::RaftAck ack;
    while (true) {
      v1::RaftMessageBatch batch;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stopping_ || !queue_.empty();
        };
        mu_.Await(absl::Condition(&ready));
        if (stopping_) break;
        size_t bytes = 0;
        while (!queue_.empty() && batch.messages_size() < static_cast<int>(kBatchMessagesMax) &&
               bytes < kBatchBytesMax) {
          v1::RaftMessage* wire = batch.add_messages();
          ToProto(queue_.front(), wire);
          bytes += wire->ByteSizeLong();
          queue_.pop_front();
        }
        if (!writer) context_ = std::make_unique<grpc::ClientContext>();
      }
      // Only this thread replaces context_, so the pointer stays valid here;
      // the call may block while connecting, so never under the lock.
      if (!writer) writer = stub->Send(context_.get(), &ack);
      batch.set_cluster_id(cluster_id_);
      if (writer->Write(batch)) continue;
      // The stream broke: drop it and what is queued, wait, reconnect lazily.
      (void)writer->Finish();
      writer.reset();
      absl::SleepFor(kReconnectBackoff);
      absl::MutexLock lock(&mu_);
      queue_.clear();
      context_.reset();
    }
    if (writer) {
      writer->WritesDone();
      (void)writer->Finish();
    }
  }

  const std::string address_;
  const std::string cluster_id_;
  std::thread thread_;
  absl::Mutex mu_;  // Guards the queue, the stop flag and the call context.
  std::deque<Message> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::unique_ptr<grpc::ClientContext> context_ ABSL_GUARDED_BY(mu_);
};

GrpcTransport::GrpcTransport(std::string cluster_id, std::map<NodeId, std::string> peers)
    : cluster_id_(std::move(cluster_id)) {
  BuildAbseilRandomPoolEarly();
  for (const auto& [id, address] : peers) AddPeer(id, address);
}

GrpcTransport::~GrpcTransport() = default;

void GrpcTransport::AddPeer(NodeId id, const std::string& address) {
  absl::MutexLock lock(&mu_);
  if (peers_.count(id)) return;
  Peer& peer = peers_[id];
  peer.normal = std::make_unique<Lane>(address, cluster_id_);
  peer.snapshot = std::make_unique<Lane>(address, cluster_id_);
}

void GrpcTransport::Send(std::vector<Message> messages) {
  absl::MutexLock lock(&mu_);
  for (Message& m : messages) {
    auto it = peers_.find(m.to);
    if (it == peers_.end()) continue;  // Unknown peer: as if lost.
    Lane& lane = m.type == MessageType::kSnapshot ? *it->second.snapshot : *it->second.normal;
    lane.Enqueue(std::move(m));
  }
}

RaftGrpcService::RaftGrpcService(std::string cluster_id, std::function<void(Message)> receive)
    : cluster_id_(std::move(cluster_id)), receive_(std::move(receive)) {
  BuildAbseilRandomPoolEarly();
}

grpc::Status RaftGrpcService::Send(grpc::ServerContext*,
                                   grpc::ServerReader<v1::RaftMessageBatch>* reader,
                                   v1::RaftAck* ack) {
  v1::RaftMessageBatch batch;
  while (reader->Read(&batch)) {
    if (batch.cluster_id() != cluster_id_) {
      ack->set_error_code(v1::INCONSISTENT_CLUSTER_ID);
      ack->set_error_message("cluster id " + batch.cluster_id() + " is not " + cluster_id_);
      return grpc::Status::OK;
    }
    for (const v1::RaftMessage& wire : batch.messages()) {
      absl::StatusOr<Message> m = FromProto(wire);
      if (!m.ok()) {
        ack->set_error_code(v1::INVALID_REQUEST);
        ack->set_error_message(std::string(m.status().message()));
        return grpc::Status::OK;
      }
      receive_(std::move(*m));
    }
  }
  return grpc::Status::OK;
}

}  // namespace fjord::raft
