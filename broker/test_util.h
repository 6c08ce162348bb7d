// Test helpers for broker/: an AlterPartitionSender that records proposals
// and lets the test answer them, and batch builders.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "broker/alter_partition_sender.h"
#include "proto/fjord/v1/broker.pb.h"
#include "storage/test_util.h"

namespace fjord::broker::testing {

using storage::testing::MakeBatch;

// Records proposals; the test answers each with Accept() or Fail().
class RecordingSender final : public AlterPartitionSender {
 public:
  void Send(IsrProposal proposal, Done done) override {
    absl::MutexLock lock(&mu_);
    pending_.emplace_back(std::move(proposal), std::move(done));
  }
  size_t pending() const {
    absl::MutexLock lock(&mu_);
    return pending_.size();
  }
  IsrProposal last() const {
    absl::MutexLock lock(&mu_);
    return pending_.back().first;
  }
  // Answers the oldest proposal as the controller would if it accepted it:
  // same leader, partition epoch + 1, the proposed ISR.
  void Accept(BrokerId leader, std::vector<BrokerId> replicas) {
    std::pair<IsrProposal, Done> p = Pop();
    PartitionState s{.leader_epoch = p.first.leader_epoch,
                     .partition_epoch = p.first.partition_epoch + 1,
                     .leader = leader,
                     .replicas = std::move(replicas)};
    for (const auto& [b, e] : p.first.isr) s.isr.push_back(b);
    p.second(s);
  }
  void Fail(absl::Status status) { Pop().second(std::move(status)); }

 private:
  std::pair<IsrProposal, Done> Pop() {
    absl::MutexLock lock(&mu_);
    std::pair<IsrProposal, Done> p = std::move(pending_.front());
    pending_.erase(pending_.begin());
    return p;
  }
  mutable absl::Mutex mu_;
  std::vector<std::pair<IsrProposal, Done>> pending_ ABSL_GUARDED_BY(mu_);
};

// `n` single-record batches concatenated, values tagged by `tag`.
inline std::string MakeBatches(int n, int records_each, const std::string& tag = "v",
                               size_t value_size = 16) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += MakeBatch(records_each, 1'700'000'000'000 + i, tag + std::to_string(i), value_size);
  }
  return out;
}

// A Produce of `records` to partition 0 of `topic`.
inline v1::ProduceRequest ProduceRequestFor(const std::string& topic, std::string records,
                                            int acks) {
  v1::ProduceRequest req;
  req.set_acks(acks);
  req.set_timeout_ms(5000);
  auto* td = req.add_topic_data();
  td->set_topic(topic);
  auto* pd = td->add_partition_data();
  pd->set_partition(0);
  pd->set_records(std::move(records));
  return req;
}

}  // namespace fjord::broker::testing
