#include "controller/partition_change_builder.h"

namespace fjord::controller {

std::optional<v1::MetadataRecord> PartitionChangeBuilder::Build() const {
  std::vector<BrokerId> isr = target_isr_.empty() ? current_.isr : target_isr_;
  v1::LeaderRecoveryState recovery = target_recovery_.value_or(current_.leader_recovery_state);
  auto usable = [&](BrokerId b) {
    return b != kNoBroker && eligible_(b) && PartitionRegistration::Contains(isr, b);
  };

  BrokerId leader = kNoBroker;
  const BrokerId preferred = current_.preferred_leader();
  if (election_ == Election::kPreferred && usable(preferred)) {
    leader = preferred;
  } else if (usable(current_.leader)) {
    leader = current_.leader;
  } else {
    for (BrokerId r : current_.replicas) {
      if (usable(r)) {
        leader = r;
        break;
      }
    }
    if (leader == kNoBroker && unclean_allowed_) {
      // Unclean: a replica outside the ISR may have lost committed data; it
      // leads alone until it reports recovery through AlterPartition.
      for (BrokerId r : current_.replicas) {
        if (eligible_(r)) {
          leader = r;
          isr = {r};
          recovery = v1::RECOVERING;
          break;
        }
      }
    } else if (leader != current_.leader && leader != kNoBroker) {
      recovery = v1::RECOVERED;  // a clean election ends any recovery
    }
  }

  v1::MetadataRecord record;
  auto* change = record.mutable_partition_change();
  change->set_partition_id(partition_.value());
  topic_id_.ToProto(change->mutable_topic_id());
  bool changed = false;
  if (isr != current_.isr) {
    FromBrokerIds(isr, change->mutable_isr()->mutable_broker_ids());
    changed = true;
  }
  if (leader != current_.leader) {
    change->set_leader(leader.value());
    changed = true;
  }
  if (recovery != current_.leader_recovery_state) {
    change->set_leader_recovery_state(recovery);
    changed = true;
  }
  if (!changed) return std::nullopt;
  return record;
}

}  // namespace fjord::controller
