#include "controller/controller_logic.h"

#include "common/status_macros.h"
#include "controller/config_control.h"
#include "controller/metadata_delta.h"
#include "controller/replication_control.h"
#include "controller/topic_control.h"

namespace fjord::controller {

ControllerLogic::ControllerLogic(ControllerConfig config, const Clock& clock, Random& random,
                                 std::shared_ptr<const MetadataImage> image)
    : config_(std::move(config)),
      clock_(clock),
      random_(random),
      image_(std::move(image)),
      sessions_(config_.broker_session_timeout) {
  ActivateSessions();
}

absl::Status ControllerLogic::Replay(const v1::MetadataRecordBatch& batch, Offset offset) {
  MetadataDelta delta(image_);
  RETURN_IF_ERROR(delta.ReplayBatch(batch, offset));
  image_ = delta.Apply();
  const absl::Duration now = clock_.Monotonic();
  for (const auto& record : batch.records()) {
    if (record.has_register_broker()) {
      sessions_.Touch(BrokerId(record.register_broker().broker_id()), now);
    } else if (record.has_unregister_broker()) {
      sessions_.Remove(BrokerId(record.unregister_broker().broker_id()));
    } else if (record.has_partition_change()) {
      const auto& change = record.partition_change();
      if (change.has_leader() && change.leader() != kNoBroker.value() &&
          change.has_leader_recovery_state() && change.leader_recovery_state() == v1::RECOVERING) {
        ++unclean_elections_;
      }
    }
  }
  return absl::OkStatus();
}

void ControllerLogic::ResetImage(std::shared_ptr<const MetadataImage> image) {
  image_ = std::move(image);
}

void ControllerLogic::ActivateSessions() {
  sessions_.Clear();
  const absl::Duration now = clock_.Monotonic();
  for (const auto& [id, broker] : image_->brokers()) sessions_.Touch(id, now);
}

ControllerResult<v1::CreateTopicsResponse> ControllerLogic::CreateTopics(
    const v1::CreateTopicsRequest& req) {
  return controller::CreateTopics(*image_, config_, req, random_);
}

ControllerResult<v1::DeleteTopicsResponse> ControllerLogic::DeleteTopics(
    const v1::DeleteTopicsRequest& req) const {
  return controller::DeleteTopics(*image_, config_, req);
}

ControllerResult<v1::CreatePartitionsResponse> ControllerLogic::CreatePartitions(
    const v1::CreatePartitionsRequest& req) {
  return controller::CreatePartitions(*image_, config_, req, random_);
}

v1::DescribeConfigsResponse ControllerLogic::DescribeConfigs(
    const v1::DescribeConfigsRequest& req) const {
  return controller::DescribeConfigs(*image_, req);
}

ControllerResult<v1::IncrementalAlterConfigsResponse> ControllerLogic::IncrementalAlterConfigs(
    const v1::IncrementalAlterConfigsRequest& req) const {
  return controller::IncrementalAlterConfigs(*image_, req);
}

ControllerResult<v1::AlterPartitionResponse> ControllerLogic::AlterPartition(
    const v1::AlterPartitionRequest& req) const {
  return controller::AlterPartition(*image_, req);
}

ControllerResult<int32_t> ControllerLogic::RebalancePreferredLeaders() const {
  return controller::RebalancePreferredLeaders(*image_, config_.max_rebalance_moves);
}

int64_t ControllerLogic::fenced_broker_count() const {
  int64_t count = 0;
  for (const auto& [id, broker] : image_->brokers()) count += broker->fenced ? 1 : 0;
  return count;
}

int64_t ControllerLogic::offline_partition_count() const { return OfflinePartitionCount(*image_); }

}  // namespace fjord::controller
