#include "broker/alter_partition_client.h"

#include "common/kafka_error.h"
#include "grpcpp/grpcpp.h"

namespace fjord::broker {

AlterPartitionClient::AlterPartitionClient(ControllerChannel& channel, BrokerId id,
                                           std::function<BrokerEpoch()> broker_epoch)
    : channel_(channel), id_(id), broker_epoch_(std::move(broker_epoch)) {
  thread_ = std::thread([this] { Loop(); });
}

AlterPartitionClient::~AlterPartitionClient() {
  std::deque<std::pair<IsrProposal, Done>> left;
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
  {
    absl::MutexLock lock(&mu_);
    left.swap(queue_);
  }
  for (auto& [p, done] : left) done(absl::CancelledError("broker shutting down"));
}

void AlterPartitionClient::Send(IsrProposal proposal, Done done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stop_ && queue_.size() < kMaxQueued) {
      queue_.emplace_back(std::move(proposal), std::move(done));
      return;
    }
  }
  done(absl::ResourceExhaustedError("AlterPartition queue full"));
}

void AlterPartitionClient::Loop() {
  while (true) {
    std::pair<IsrProposal, Done> next;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || !queue_.empty(); };
      mu_.Await(absl::Condition(&ready));
      if (stop_) return;
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    next.second(Call(next.first));
  }
}

absl::StatusOr<PartitionState> AlterPartitionClient::Call(const IsrProposal& proposal) {
  v1::AlterPartitionRequest req;
  req.set_broker_id(id_.value());
  req.set_broker_epoch(broker_epoch_().value());
  auto* topic = req.add_topics();
  proposal.topic_id.ToProto(topic->mutable_topic_id());
  auto* p = topic->add_partitions();
  p->set_partition(proposal.partition.value());
  p->set_leader_epoch(proposal.leader_epoch.value());
  p->set_partition_epoch(proposal.partition_epoch.value());
  p->set_leader_recovery_state(v1::RECOVERED);
  for (const auto& [b, e] : proposal.isr) {
    auto* s = p->add_new_isr_with_epochs();
    s->set_broker_id(b.value());
    s->set_broker_epoch(e.value());
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  v1::AlterPartitionResponse resp;
  grpc::Status s = channel_.Current()->AlterPartition(&ctx, req, &resp);
  if (!s.ok()) {
    channel_.Failed(nullptr);
    return absl::UnavailableError(s.error_message());
  }
  if (resp.error_code() != v1::NONE) {
    if (resp.error_code() == v1::NOT_CONTROLLER) {
      channel_.Failed(resp.has_active_controller() ? &resp.active_controller() : nullptr);
    }
    return KafkaError(resp.error_code(), resp.error_message());
  }
  if (resp.topics_size() != 1 || resp.topics(0).partitions_size() != 1) {
    return KafkaError(v1::UNKNOWN_SERVER_ERROR, "AlterPartition answer without the partition");
  }
  const auto& out = resp.topics(0).partitions(0);
  if (out.error_code() != v1::NONE) return KafkaError(out.error_code(), "AlterPartition refused");
  PartitionState state{.leader_epoch = LeaderEpoch(out.leader_epoch()),
                       .partition_epoch = PartitionEpoch(out.partition_epoch()),
                       .leader = BrokerId(out.leader_id())};
  for (int32_t b : out.isr()) state.isr.push_back(BrokerId(b));
  return state;
}

}  // namespace fjord::broker
