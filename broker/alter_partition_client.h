// AlterPartitionClient: the production AlterPartitionSender. Proposals are
// queued (bounded by kMaxQueued; beyond it a proposal fails at once and the
// replica proposes again on its next check) and sent one RPC at a time to the
// active controller by a worker thread, which calls each proposal's `done`.
//
// Threading: Send is thread-safe and never blocks on the network.
#pragma once

#include <deque>
#include <functional>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "broker/alter_partition_sender.h"
#include "broker/controller_channel.h"

namespace fjord::broker {

class AlterPartitionClient final : public AlterPartitionSender {
 public:
  static constexpr size_t kMaxQueued = 10000;

  AlterPartitionClient(ControllerChannel& channel, BrokerId id,
                       std::function<BrokerEpoch()> broker_epoch);
  ~AlterPartitionClient() override;  // Fails what is still queued.

  void Send(IsrProposal proposal, Done done) override;

 private:
  void Loop();
  absl::StatusOr<PartitionState> Call(const IsrProposal& proposal);

  ControllerChannel& channel_;
  const BrokerId id_;
  const std::function<BrokerEpoch()> broker_epoch_;
  absl::Mutex mu_;
  std::deque<std::pair<IsrProposal, Done>> queue_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace fjord::broker
