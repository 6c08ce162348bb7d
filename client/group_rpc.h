// Calls to a consumer group's coordinator (GroupService in
// proto/fjord/v1/group.proto), shared by the group consumer and the admin
// client.
//
// The coordinator of a group is found with FindCoordinator, asked of the
// bootstrap servers in turn, and cached per group. A call that fails at the
// transport level or answers NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE
// forgets the cached coordinator and finds it again; COORDINATOR_LOAD_IN_PROGRESS
// retries the same broker. Retries back off (retry.backoff.ms doubling up to
// retry.backoff.max.ms) and stop at the caller's deadline. Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/channels.h"
#include "client/producer_batch.h"
#include "common/kafka_error.h"
#include "proto/fjord/v1/group.grpc.pb.h"

namespace fjord::client {

// Whether `code` means "find the coordinator again" (or wait for it).
bool IsCoordinatorError(v1::ErrorCode code);

// Partitions grouped by topic, as the group protocol sends them (ascending).
std::vector<v1::GroupTopicPartitions> ToGroupTopicPartitions(
    const std::vector<TopicPartition>& partitions);
std::vector<TopicPartition> FromGroupTopicPartitions(
    const google::protobuf::RepeatedPtrField<v1::GroupTopicPartitions>& topics);

class GroupRpc {
 public:
  struct Options {
    std::vector<std::string> bootstrap_servers;
    absl::Duration request_timeout = absl::Seconds(30);
    absl::Duration retry_backoff = absl::Milliseconds(100);
    absl::Duration retry_backoff_max = absl::Seconds(1);
  };
  GroupRpc(Options options, Channels& channels);

  // The coordinator's "host:port" for `group_id`, from the cache or asked
  // with FindCoordinator until `deadline`.
  absl::StatusOr<std::string> FindCoordinator(const std::string& group_id, absl::Time deadline);
  // Forgets the cached coordinator of `group_id`.
  void InvalidateCoordinator(const std::string& group_id);

  // Calls `method` on the coordinator of `group_id`, retrying as the header
  // says until `deadline`. `error_of` extracts the response's group-level
  // error code (the one that can be NOT_COORDINATOR). Other errors are the
  // caller's to interpret: the response is returned.
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(const std::string& group_id, const Request& request,
                                grpc::Status (v1::GroupService::Stub::*method)(grpc::ClientContext*,
                                                                               const Request&,
                                                                               Response*),
                                const std::function<v1::ErrorCode(const Response&)>& error_of,
                                absl::Time deadline);

  // One attempt at `address` (no retry): for calls that must not repeat
  // themselves, such as the heartbeat.
  template <typename Request, typename Response>
  grpc::Status CallOnce(const std::string& address, const Request& request,
                        grpc::Status (v1::GroupService::Stub::*method)(grpc::ClientContext*,
                                                                       const Request&, Response*),
                        Response* response, absl::Time deadline);

  // The bootstrap addresses (ListGroups asks every broker).
  const std::vector<std::string>& bootstrap_servers() const { return options_.bootstrap_servers; }

 private:
  const Options options_;
  Channels& channels_;
  absl::Mutex mu_;                                                        // guards the fields below
  std::map<std::string, std::string> coordinators_ ABSL_GUARDED_BY(mu_);  // group -> address
  size_t next_bootstrap_ ABSL_GUARDED_BY(mu_) = 0;
};

template <typename Request, typename Response>
grpc::Status GroupRpc::CallOnce(const std::string& address, const Request& request,
                                grpc::Status (v1::GroupService::Stub::*method)(grpc::ClientContext*,
                                                                               const Request&,
                                                                               Response*),
                                Response* response, absl::Time deadline) {
  auto stub = v1::GroupService::NewStub(channels_.Get(address));
  grpc::ClientContext context;
  context.set_deadline(
      absl::ToChronoTime(std::min(deadline, absl::Now() + options_.request_timeout)));
  return (stub.get()->*method)(&context, request, response);
}

template <typename Request, typename Response>
absl::StatusOr<Response> GroupRpc::Call(
    const std::string& group_id, const Request& request,
    grpc::Status (v1::GroupService::Stub::*method)(grpc::ClientContext*, const Request&, Response*),
    const std::function<v1::ErrorCode(const Response&)>& error_of, absl::Time deadline) {
  absl::Duration backoff = options_.retry_backoff;
  absl::Status last = absl::DeadlineExceededError("no attempt before the deadline");
  while (absl::Now() < deadline) {
    absl::StatusOr<std::string> address = FindCoordinator(group_id, deadline);
    if (!address.ok()) return address.status();
    Response response;
    grpc::Status status = CallOnce(*address, request, method, &response, deadline);
    if (!status.ok()) {
      InvalidateCoordinator(group_id);
      last = KafkaError(v1::COORDINATOR_NOT_AVAILABLE,
                        absl::StrCat("coordinator ", *address, ": ", status.error_message()));
    } else {
      const v1::ErrorCode code = error_of(response);
      if (!IsCoordinatorError(code)) return response;
      if (code != v1::COORDINATOR_LOAD_IN_PROGRESS) InvalidateCoordinator(group_id);
      last = KafkaError(code, absl::StrCat("coordinator ", *address, ": ", ErrorCodeName(code)));
    }
    absl::SleepFor(std::min(backoff, std::max(absl::ZeroDuration(), deadline - absl::Now())));
    backoff = std::min(backoff * 2, options_.retry_backoff_max);
  }
  return last;
}

}  // namespace fjord::client
