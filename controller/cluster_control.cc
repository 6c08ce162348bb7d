// ControllerLogic's broker lifecycle handlers (declared in
// controller_logic.h).
#include <set>

#include "absl/strings/str_cat.h"
#include "common/assert.h"
#include "controller/controller_logic.h"
#include "controller/replication_control.h"

namespace fjord::controller {

namespace {

// The registration, or an error response (BROKER_ID_NOT_REGISTERED,
// STALE_BROKER_EPOCH) set on `response`.
template <typename R>
const BrokerRegistration* CheckBroker(const MetadataImage& image, int32_t id, int64_t epoch,
                                      R* response) {
  const BrokerRegistration* b = image.broker(BrokerId(id));
  if (b == nullptr) {
    SetError(response, v1::BROKER_ID_NOT_REGISTERED,
             absl::StrCat("broker ", id, " not registered"));
    return nullptr;
  }
  if (b->epoch != BrokerEpoch(epoch)) {
    SetError(response, v1::STALE_BROKER_EPOCH,
             absl::StrCat("broker epoch ", epoch, " is not the current ", b->epoch.value()));
    return nullptr;
  }
  return b;
}

bool LeadsAnyPartition(const MetadataImage& image, BrokerId broker) {
  bool leads = false;
  image.topics().ForEach([&](const Uuid&, const std::shared_ptr<const TopicImage>& topic) {
    for (const auto& p : topic->partitions) leads |= p->leader == broker;
  });
  return leads;
}

}  // namespace

ControllerResult<v1::RegisterBrokerResponse> ControllerLogic::RegisterBroker(
    const v1::RegisterBrokerRequest& req, Offset next_offset) const {
  FJORD_CHECK(next_offset > image_->offset())
      << "next offset " << next_offset << " not after " << image_->offset();
  ControllerResult<v1::RegisterBrokerResponse> result;
  auto& response = result.response;
  response.set_broker_epoch(-1);
  if (req.cluster_id() != config_.cluster_id) {
    SetError(&response, v1::INCONSISTENT_CLUSTER_ID,
             absl::StrCat("cluster id '", req.cluster_id(), "' is not '", config_.cluster_id, "'"));
    return result;
  }
  std::set<std::string> names;
  bool names_ok = true;
  for (const auto& l : req.listeners()) names_ok &= names.insert(l.name()).second;
  const Uuid incarnation = Uuid::FromProto(req.incarnation_id());
  if (req.broker_id() < 0 || req.listeners_size() == 0 || !names_ok || incarnation.IsZero()) {
    SetError(&response, v1::INVALID_REQUEST,
             "need a broker id >= 0, an incarnation id and uniquely named listeners");
    return result;
  }
  BrokerRegistration reg;
  reg.id = BrokerId(req.broker_id());
  reg.epoch = BrokerEpoch(next_offset.value());
  reg.incarnation_id = incarnation;
  for (const auto& l : req.listeners()) reg.endpoints.push_back(BrokerEndpoint::FromProto(l));
  reg.rack = req.rack();
  reg.fenced = true;

  const BrokerRegistration* existing = image_->broker(reg.id);
  if (existing != nullptr) {
    if (existing->incarnation_id == incarnation && existing->endpoints == reg.endpoints &&
        existing->rack == reg.rack) {
      response.set_broker_epoch(existing->epoch.value());  // a retry
      return result;
    }
    if (existing->incarnation_id != incarnation && !existing->fenced &&
        sessions_.IsAlive(reg.id, clock_.Monotonic())) {
      SetError(&response, v1::DUPLICATE_BROKER_REGISTRATION,
               absl::StrCat("broker ", reg.id.value(), " is registered by a live incarnation"));
      return result;
    }
    // The new registration starts fenced: its old self's leaderships and
    // ISR places go now, not when the old session would have expired.
    RemoveBrokerFromPartitions(*image_, reg.id, &result.records);
  }
  v1::MetadataRecord record;
  *record.mutable_register_broker() = reg.ToRecord();
  result.records.push_back(std::move(record));
  response.set_broker_epoch(reg.epoch.value());
  return result;
}

ControllerResult<v1::BrokerHeartbeatResponse> ControllerLogic::BrokerHeartbeat(
    const v1::BrokerHeartbeatRequest& req) {
  ControllerResult<v1::BrokerHeartbeatResponse> result;
  auto& response = result.response;
  response.set_is_caught_up(false);
  response.set_is_fenced(true);
  response.set_should_shut_down(false);
  const BrokerRegistration* b =
      CheckBroker(*image_, req.broker_id(), req.broker_epoch(), &response);
  if (b == nullptr) return result;
  sessions_.Touch(b->id, clock_.Monotonic());
  const bool caught_up = req.current_metadata_offset() >= b->epoch.value();
  response.set_is_caught_up(caught_up);
  response.set_is_fenced(b->fenced);

  if (b->in_controlled_shutdown || req.want_shut_down()) {
    if (!b->fenced && !b->in_controlled_shutdown) {
      v1::MetadataRecord change;
      auto* c = change.mutable_broker_registration_change();
      c->set_broker_id(b->id.value());
      c->set_broker_epoch(b->epoch.value());
      c->set_in_controlled_shutdown(true);
      result.records.push_back(std::move(change));
    }
    RemoveBrokerFromPartitions(*image_, b->id, &result.records);
    // Done once an earlier heartbeat's moves have committed and this one
    // finds nothing left to lead; a fenced broker leads nothing already.
    response.set_should_shut_down(result.records.empty() && !LeadsAnyPartition(*image_, b->id));
    return result;
  }
  if (b->fenced) {
    if (caught_up && !req.want_fence()) {
      v1::MetadataRecord unfence;
      unfence.mutable_unfence_broker()->set_id(b->id.value());
      unfence.mutable_unfence_broker()->set_epoch(b->epoch.value());
      result.records.push_back(std::move(unfence));
      ElectLeadersForUnfencedBroker(*image_, b->id, &result.records);
      response.set_is_fenced(false);
    }
    return result;
  }
  if (req.want_fence()) {
    RemoveBrokerFromPartitions(*image_, b->id, &result.records);
    v1::MetadataRecord fence;
    fence.mutable_fence_broker()->set_id(b->id.value());
    fence.mutable_fence_broker()->set_epoch(b->epoch.value());
    result.records.push_back(std::move(fence));
    response.set_is_fenced(true);
  }
  return result;
}

ControllerResult<v1::UnregisterBrokerResponse> ControllerLogic::UnregisterBroker(
    const v1::UnregisterBrokerRequest& req) const {
  ControllerResult<v1::UnregisterBrokerResponse> result;
  const BrokerRegistration* b = image_->broker(BrokerId(req.broker_id()));
  if (b == nullptr) {
    SetError(&result.response, v1::BROKER_ID_NOT_REGISTERED,
             absl::StrCat("broker ", req.broker_id(), " not registered"));
    return result;
  }
  RemoveBrokerFromPartitions(*image_, b->id, &result.records);
  v1::MetadataRecord record;
  record.mutable_unregister_broker()->set_broker_id(b->id.value());
  record.mutable_unregister_broker()->set_broker_epoch(b->epoch.value());
  result.records.push_back(std::move(record));
  return result;
}

ControllerResult<BrokerId> ControllerLogic::FenceStaleBrokers() const {
  ControllerResult<BrokerId> result{{}, kNoBroker};
  const absl::Duration now = clock_.Monotonic();
  for (const auto& [id, b] : image_->brokers()) {  // by id: deterministic
    if (b->fenced || sessions_.IsAlive(id, now)) continue;
    RemoveBrokerFromPartitions(*image_, id, &result.records);
    v1::MetadataRecord fence;
    fence.mutable_fence_broker()->set_id(id.value());
    fence.mutable_fence_broker()->set_epoch(b->epoch.value());
    result.records.push_back(std::move(fence));
    result.response = id;
    break;
  }
  return result;
}

ControllerResult<v1::AllocateProducerIdsResponse> ControllerLogic::AllocateProducerIds(
    const v1::AllocateProducerIdsRequest& req) const {
  ControllerResult<v1::AllocateProducerIdsResponse> result;
  auto& response = result.response;
  response.set_producer_id_start(-1);
  response.set_producer_id_len(0);
  if (CheckBroker(*image_, req.broker_id(), req.broker_epoch(), &response) == nullptr) {
    return result;
  }
  const int64_t start = image_->next_producer_id();
  const int32_t len = config_.producer_id_block_size;
  if (start > std::numeric_limits<int64_t>::max() - len) {
    SetError(&response, v1::UNKNOWN_SERVER_ERROR, "producer ids exhausted");
    return result;
  }
  v1::MetadataRecord record;
  auto* p = record.mutable_producer_ids();
  p->set_broker_id(req.broker_id());
  p->set_broker_epoch(req.broker_epoch());
  p->set_next_producer_id(start + len);
  result.records.push_back(std::move(record));
  response.set_producer_id_start(start);
  response.set_producer_id_len(len);
  return result;
}

v1::DescribeClusterResponse ControllerLogic::DescribeCluster() const {
  v1::DescribeClusterResponse response;
  response.set_cluster_id(config_.cluster_id);
  response.set_controller_id(-1);
  response.set_controller_epoch(-1);
  response.set_high_watermark(image_->offset().value());
  for (const auto& [id, b] : image_->brokers()) {
    auto* out = response.add_brokers();
    out->set_broker_id(id.value());
    out->set_broker_epoch(b->epoch.value());
    b->incarnation_id.ToProto(out->mutable_incarnation_id());
    for (const auto& e : b->endpoints) e.ToProto(out->add_endpoints());
    out->set_rack(b->rack);
    out->set_fenced(b->fenced);
    out->set_in_controlled_shutdown(b->in_controlled_shutdown);
  }
  return response;
}

}  // namespace fjord::controller
