// GroupServiceImpl: fjord.v1.GroupService (proto/fjord/v1/group.proto) on a
// broker's client listener, forwarding each RPC to the GroupCoordinator.
// Errors travel in the responses' error_code fields; the gRPC status is OK.
//
// Threading: gRPC's synchronous server threads; writes block in the
// coordinator until committed (bounded by offsets.commit.timeout.ms).
#pragma once

#include "broker/group/coordinator.h"
#include "proto/fjord/v1/group.grpc.pb.h"

namespace fjord::group {

class GroupServiceImpl final : public v1::GroupService::Service {
 public:
  explicit GroupServiceImpl(GroupCoordinator& coordinator) : coordinator_(coordinator) {}

  grpc::Status FindCoordinator(grpc::ServerContext*, const v1::FindCoordinatorRequest* request,
                               v1::FindCoordinatorResponse* response) override {
    *response = coordinator_.FindCoordinator(*request);
    return grpc::Status::OK;
  }
  grpc::Status ConsumerGroupHeartbeat(grpc::ServerContext*,
                                      const v1::ConsumerGroupHeartbeatRequest* request,
                                      v1::ConsumerGroupHeartbeatResponse* response) override {
    *response = coordinator_.Heartbeat(*request);
    return grpc::Status::OK;
  }
  grpc::Status OffsetCommit(grpc::ServerContext*, const v1::OffsetCommitRequest* request,
                            v1::OffsetCommitResponse* response) override {
    *response = coordinator_.OffsetCommit(*request);
    return grpc::Status::OK;
  }
  grpc::Status OffsetFetch(grpc::ServerContext*, const v1::OffsetFetchRequest* request,
                           v1::OffsetFetchResponse* response) override {
    *response = coordinator_.OffsetFetch(*request);
    return grpc::Status::OK;
  }
  grpc::Status OffsetDelete(grpc::ServerContext*, const v1::OffsetDeleteRequest* request,
                            v1::OffsetDeleteResponse* response) override {
    *response = coordinator_.OffsetDelete(*request);
    return grpc::Status::OK;
  }
  grpc::Status ListGroups(grpc::ServerContext*, const v1::ListGroupsRequest* request,
                          v1::ListGroupsResponse* response) override {
    *response = coordinator_.ListGroups(*request);
    return grpc::Status::OK;
  }
  grpc::Status ConsumerGroupDescribe(grpc::ServerContext*,
                                     const v1::ConsumerGroupDescribeRequest* request,
                                     v1::ConsumerGroupDescribeResponse* response) override {
    *response = coordinator_.Describe(*request);
    return grpc::Status::OK;
  }
  grpc::Status DeleteGroups(grpc::ServerContext*, const v1::DeleteGroupsRequest* request,
                            v1::DeleteGroupsResponse* response) override {
    *response = coordinator_.DeleteGroups(*request);
    return grpc::Status::OK;
  }

 private:
  GroupCoordinator& coordinator_;
};

}  // namespace fjord::group
