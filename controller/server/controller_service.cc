#include "controller/server/controller_service.h"

#include <algorithm>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "controller/snapshot.h"

namespace fjord::controller {

ControllerServiceImpl::ControllerServiceImpl(QuorumController* controller, std::string cluster_id,
                                             std::map<NodeId, v1::Endpoint> voters,
                                             absl::Duration rpc_timeout,
                                             RaftProgressSource raft_progress)
    : controller_(controller),
      cluster_id_(std::move(cluster_id)),
      voters_(std::move(voters)),
      rpc_timeout_(rpc_timeout),
      raft_progress_(std::move(raft_progress)) {}

void DescribeControllers(const std::map<NodeId, v1::Endpoint>& voters,
                         const QuorumControllerStatus& status,
                         const std::vector<raft::PeerProgress>& progress, absl::Time now,
                         v1::DescribeClusterResponse* resp) {
  for (const auto& [id, endpoint] : voters) {
    auto* c = resp->add_controllers();
    c->set_node_id(id.value());
    *c->add_endpoints() = endpoint;
    c->set_is_voter(true);
    c->set_is_active(id.value() == resp->controller_id());
    c->set_log_end_offset(-1);
    c->set_last_caught_up_time_ms(-1);
    if (!status.active) continue;
    if (id == status.leader) {
      // Its commit index and applied metadata offset are read at different
      // moments; writes are answered after commit one at a time, so at most
      // an entry or two more are in its log.
      c->set_log_end_offset(std::max(status.commit_index, status.metadata_offset));
      c->set_last_caught_up_time_ms(absl::ToUnixMillis(now));
      continue;
    }
    auto pr = std::find_if(progress.begin(), progress.end(),
                           [&](const raft::PeerProgress& p) { return p.id == id; });
    if (pr == progress.end() || pr->match == LogIndex(0)) continue;
    c->set_log_end_offset(static_cast<int64_t>(pr->match.value()));
    if (pr->last_caught_up != absl::InfinitePast()) {
      c->set_last_caught_up_time_ms(absl::ToUnixMillis(pr->last_caught_up));
    }
  }
}

void ControllerServiceImpl::FillEndpoint(v1::ActiveController* active) const {
  auto it = voters_.find(NodeId(active->controller_id()));
  if (it != voters_.end()) *active->mutable_endpoint() = it->second;
}

template <typename R, typename F>
grpc::Status ControllerServiceImpl::Await(F&& call, R* out) {
  // Shared with the callback, which may run after a timeout returned here.
  struct State {
    absl::Notification done;
    R response;
  };
  auto state = std::make_shared<State>();
  call([state](R r) {
    state->response = std::move(r);
    state->done.Notify();
  });
  if (!state->done.WaitForNotificationWithTimeout(rpc_timeout_)) {
    out->set_error_code(v1::REQUEST_TIMED_OUT);
    out->set_error_message("the controller did not answer in time; the change may still commit");
    return grpc::Status::OK;
  }
  *out = state->response;
  FillEndpoint(out->mutable_active_controller());
  return grpc::Status::OK;
}

#define FJORD_UNARY(Method, Req, Resp)                                                 \
  grpc::Status ControllerServiceImpl::Method(grpc::ServerContext*, const v1::Req* req, \
                                             v1::Resp* resp) {                         \
    return Await<v1::Resp>(                                                            \
        [&](QuorumController::Done<v1::Resp> done) {                                   \
          controller_->Method(*req, std::move(done));                                  \
        },                                                                             \
        resp);                                                                         \
  }

FJORD_UNARY(RegisterBroker, RegisterBrokerRequest, RegisterBrokerResponse)
FJORD_UNARY(BrokerHeartbeat, BrokerHeartbeatRequest, BrokerHeartbeatResponse)
FJORD_UNARY(AlterPartition, AlterPartitionRequest, AlterPartitionResponse)
FJORD_UNARY(AllocateProducerIds, AllocateProducerIdsRequest, AllocateProducerIdsResponse)
FJORD_UNARY(UnregisterBroker, UnregisterBrokerRequest, UnregisterBrokerResponse)
FJORD_UNARY(CreateTopics, CreateTopicsRequest, CreateTopicsResponse)
FJORD_UNARY(DeleteTopics, DeleteTopicsRequest, DeleteTopicsResponse)
FJORD_UNARY(CreatePartitions, CreatePartitionsRequest, CreatePartitionsResponse)
FJORD_UNARY(DescribeConfigs, DescribeConfigsRequest, DescribeConfigsResponse)
FJORD_UNARY(IncrementalAlterConfigs, IncrementalAlterConfigsRequest,
            IncrementalAlterConfigsResponse)
#undef FJORD_UNARY

grpc::Status ControllerServiceImpl::DescribeCluster(grpc::ServerContext*,
                                                    const v1::DescribeClusterRequest*,
                                                    v1::DescribeClusterResponse* resp) {
  grpc::Status status = Await<v1::DescribeClusterResponse>(
      [&](QuorumController::Done<v1::DescribeClusterResponse> done) {
        controller_->DescribeCluster(std::move(done));
      },
      resp);
  const QuorumControllerStatus st = controller_->status();
  const std::vector<raft::PeerProgress> progress =
      raft_progress_ ? raft_progress_() : std::vector<raft::PeerProgress>{};
  DescribeControllers(voters_, st, progress, absl::Now(), resp);
  return status;
}

grpc::Status ControllerServiceImpl::FetchMetadata(grpc::ServerContext* context,
                                                  const v1::FetchMetadataRequest* req,
                                                  grpc::ServerWriter<v1::MetadataBatch>* writer) {
  auto finish = [&](v1::ErrorCode code, const std::string& message) {
    v1::MetadataBatch last;
    last.set_error_code(code);
    last.set_error_message(message);
    last.set_end_offset(-1);
    writer->Write(last);
    return grpc::Status::OK;
  };
  if (req->cluster_id() != cluster_id_) {
    return finish(v1::INCONSISTENT_CLUSTER_ID, "cluster id mismatch");
  }
  if (req->fetch_offset() < 0) return finish(v1::INVALID_REQUEST, "negative fetch_offset");
  const size_t max_bytes = req->max_bytes() > 0 ? req->max_bytes() : kFetchDefaultMaxBytes;
  MetadataStateMachine* sm = controller_->state_machine();
  int64_t next = req->fetch_offset();
  absl::Time last_sent = absl::InfinitePast();
  while (!context->IsCancelled()) {
    if (stopping_) return finish(v1::NOT_CONTROLLER, "controller shutting down");
    bool need_snapshot = false;
    std::vector<v1::MetadataLogEntry> entries =
        sm->ReadFrom(next, kFetchEntriesMax, &need_snapshot);
    auto image = sm->image();
    if (need_snapshot) {
      v1::MetadataBatch msg;
      msg.set_is_snapshot(true);
      auto* header = msg.mutable_snapshot_header();
      header->set_version(kSnapshotVersion);
      header->set_last_included_offset(image->offset().value());
      header->set_record_count(ImageRecordCount(*image));
      header->set_cluster_id(cluster_id_);
      msg.set_end_offset(-1);
      bool ok = true;
      ImageToRecords(*image, [&](const v1::MetadataRecord& r) {
        *msg.add_snapshot_records() = r;
        if (msg.snapshot_records_size() >= kFetchSnapshotRecordsPerMessage) {
          ok = ok && writer->Write(msg);
          msg = v1::MetadataBatch();
          msg.set_is_snapshot(true);
          msg.set_end_offset(-1);
        }
      });
      msg.set_snapshot_done(true);
      msg.set_end_offset(image->offset().value());
      msg.set_high_watermark(image->offset().value());
      if (!ok || !writer->Write(msg)) return grpc::Status::OK;  // client gone
      next = image->offset().value() + 1;
      last_sent = absl::Now();
      continue;
    }
    if (!entries.empty()) {
      v1::MetadataBatch msg;
      size_t bytes = 0;
      for (auto& e : entries) {
        if (msg.entries_size() > 0 && bytes + e.ByteSizeLong() > max_bytes) break;
        bytes += e.ByteSizeLong();
        next = e.offset() + 1;
        *msg.add_entries() = std::move(e);
      }
      msg.set_end_offset(next - 1);
      msg.set_high_watermark(image->offset().value());
      if (!writer->Write(msg)) return grpc::Status::OK;
      last_sent = absl::Now();
      continue;
    }
    if (absl::Now() - last_sent >= kFetchIdleInterval) {
      v1::MetadataBatch msg;
      msg.set_end_offset(std::max(next - 1, image->offset().value()));
      msg.set_high_watermark(image->offset().value());
      auto status = controller_->status();
      msg.mutable_active_controller()->set_controller_id(status.leader.value());
      msg.mutable_active_controller()->set_controller_epoch(status.term);
      FillEndpoint(msg.mutable_active_controller());
      if (!writer->Write(msg)) return grpc::Status::OK;
      last_sent = absl::Now();
    }
    absl::SleepFor(kFetchPollInterval);
  }
  return grpc::Status::OK;
}

}  // namespace fjord::controller
