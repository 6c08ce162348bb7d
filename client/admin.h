// The Fjord admin client: topics, partitions, configs and the cluster's
// shape (Kafka's AdminClient, synchronous).
//
//   ASSIGN_OR_RETURN(auto admin, Admin::Create(config));
//   ASSIGN_OR_RETURN(auto results, admin->CreateTopics({{.name = "orders",
//                                                        .num_partitions = 12,
//                                                        .replication_factor = 3}}));
//   for (const TopicResult& r : results) if (!r.status.ok()) ...
//
// Administrative calls go to the controller quorum's ControllerService:
// bootstrap.controllers if configured, else bootstrap.servers (a combined
// node serves both APIs on one port). A NOT_CONTROLLER answer names the
// active controller; the call is repeated there. Topic descriptions come
// from the brokers' Metadata RPC. Every call is bounded by
// default.api.timeout.ms. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/channels.h"
#include "client/cluster_metadata.h"
#include "client/config.h"
#include "client/group_rpc.h"
#include "proto/fjord/v1/controller.grpc.pb.h"
#include "proto/fjord/v1/group.grpc.pb.h"

namespace fjord::client {

struct NewTopic {
  std::string name;
  int32_t num_partitions = -1;      // -1: the broker default (num.partitions)
  int32_t replication_factor = -1;  // -1: default.replication.factor
  std::map<std::string, std::string> configs;
  // Explicit assignment, partition -> replicas (leader first); overrides
  // the counts above when set.
  std::vector<std::vector<int32_t>> replica_assignment;
};

// The outcome of one topic in a batch operation.
struct TopicResult {
  std::string name;
  absl::Status status;   // carries the Kafka error code (ToErrorCode)
  std::string topic_id;  // base64url, as Kafka prints it; "" if unknown
  int32_t num_partitions = -1;
  int32_t replication_factor = -1;
};

struct ConfigOp {
  enum class Type { kSet, kDelete };
  Type type = Type::kSet;
  std::string name;
  std::string value;
};

// A consumer group as ListGroups reports it.
struct GroupListing {
  std::string group_id;
  std::string state;  // "Empty", "Assigning", "Reconciling", "Stable", "Dead"
  std::string type;   // "consumer"
};

struct ListGroupsResult {
  std::vector<GroupListing> groups;  // sorted by id, from every broker that answered
  std::vector<std::string> errors;   // brokers that did not answer, and why
};

// The outcome of one group in DeleteGroups.
struct GroupResult {
  std::string group_id;
  absl::Status status;  // GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, ...
};

class Admin {
 public:
  static absl::StatusOr<std::unique_ptr<Admin>> Create(const AdminConfig& config);

  absl::StatusOr<std::vector<TopicResult>> CreateTopics(const std::vector<NewTopic>& topics,
                                                        bool validate_only = false);
  absl::StatusOr<std::vector<TopicResult>> DeleteTopics(const std::vector<std::string>& names);
  // Grows `topic` to `total_count` partitions.
  absl::StatusOr<TopicResult> CreatePartitions(const std::string& topic, int32_t total_count,
                                               bool validate_only = false);

  // Topic names (internal topics only with `include_internal`), sorted.
  absl::StatusOr<std::vector<std::string>> ListTopics(bool include_internal = false);
  // Partitions, leaders, replicas and ISR of `topics` (all when empty).
  absl::StatusOr<std::vector<TopicMetadata>> DescribeTopics(const std::vector<std::string>& topics);

  // The configuration of a topic or broker ("" for the cluster default):
  // every known key with its value and source.
  absl::StatusOr<std::vector<v1::DescribedConfig>> DescribeConfigs(v1::ConfigResource::Type type,
                                                                   const std::string& name);
  absl::Status IncrementalAlterConfigs(v1::ConfigResource::Type type, const std::string& name,
                                       const std::vector<ConfigOp>& ops,
                                       bool validate_only = false);

  absl::StatusOr<v1::DescribeClusterResponse> DescribeCluster();

  // Consumer groups. Each group's calls go to its coordinator (FindCoordinator,
  // retried on NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE /
  // COORDINATOR_LOAD_IN_PROGRESS within default.api.timeout.ms).

  // Every broker is asked (each lists the groups it coordinates). `states`
  // filters ("Stable", "Empty", ...); empty means all.
  absl::StatusOr<ListGroupsResult> ListGroups(const std::vector<std::string>& states = {});
  // Members, epochs and assignments. A group that does not exist comes back
  // with error_code GROUP_ID_NOT_FOUND (or state "Dead").
  absl::StatusOr<std::vector<v1::ConsumerGroupDescribeResponse::DescribedGroup>> DescribeGroups(
      const std::vector<std::string>& group_ids);
  // Deletes empty groups with their committed offsets.
  absl::StatusOr<std::vector<GroupResult>> DeleteGroups(const std::vector<std::string>& group_ids);
  // Committed offsets of `group_id` (every partition with one when
  // `partitions` is empty); partitions without one are absent.
  absl::StatusOr<std::map<TopicPartition, int64_t>> ListConsumerGroupOffsets(
      const std::string& group_id, const std::vector<TopicPartition>& partitions = {});
  // An admin commit (member id "", epoch -1): accepted only while the group
  // has no members, else NON_EMPTY_GROUP. All or nothing per partition
  // errors: the first one is returned.
  absl::Status AlterConsumerGroupOffsets(const std::string& group_id,
                                         const std::map<TopicPartition, int64_t>& offsets);
  // Offsets for `timestamp` (kEarliestTimestamp -2, kLatestTimestamp -1, or
  // ms) of each partition, from its leader's ListOffsets; -1 where no record
  // is that late.
  absl::StatusOr<std::map<TopicPartition, int64_t>> ListOffsets(
      const std::vector<TopicPartition>& partitions, int64_t timestamp);

 private:
  explicit Admin(const AdminConfig& config);

  // Calls `method` on the active controller, following NOT_CONTROLLER
  // redirects and trying the next address when one does not answer.
  template <typename Request, typename Response>
  absl::StatusOr<Response> CallController(const Request& request,
                                          grpc::Status (v1::ControllerService::Stub::*method)(
                                              grpc::ClientContext*, const Request&, Response*));

  const AdminConfig config_;
  Channels channels_;
  ClusterMetadata metadata_;
  GroupRpc group_rpc_;
  absl::Mutex mu_;                                      // guards active_controller_
  std::string active_controller_ ABSL_GUARDED_BY(mu_);  // last known, "" if none
};

// Kafka's text form of a topic id: base64url without padding.
std::string TopicIdToString(const v1::Uuid& id);

}  // namespace fjord::client
