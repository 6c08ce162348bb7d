// Topic control: CreateTopics, DeleteTopics, CreatePartitions (after Kafka's
// ReplicationControlManager topic paths). Pure functions of the image, the
// request and the injected Random (topic ids, placement); they return the
// records to propose and the response to send once they commit.
//
// Per-topic errors (request-level error stays NONE):
//   CreateTopics: INVALID_REQUEST (duplicate name in the request, counts
//     given with a manual assignment), INVALID_TOPIC_EXCEPTION (name rules,
//     or a name differing from an existing one only by '.' vs '_'),
//     TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR
//     (< 1 or more than the active brokers), INVALID_REPLICA_ASSIGNMENT,
//     INVALID_CONFIG (unknown key, bad value, key given twice).
//   DeleteTopics: INVALID_REQUEST, UNKNOWN_TOPIC_OR_PARTITION,
//     UNKNOWN_TOPIC_ID, TOPIC_DELETION_DISABLED.
//   CreatePartitions: INVALID_REQUEST, UNKNOWN_TOPIC_OR_PARTITION,
//     INVALID_PARTITIONS, INVALID_REPLICA_ASSIGNMENT,
//     INVALID_REPLICATION_FACTOR, REASSIGNMENT_IN_PROGRESS.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "common/random.h"
#include "controller/controller_config.h"
#include "controller/controller_result.h"
#include "controller/metadata_image.h"
#include "proto/fjord/v1/controller.pb.h"

namespace fjord::controller {

// Kafka's topic name rules: not empty, not "." or "..", at most 249
// characters, only [a-zA-Z0-9._-]. INVALID_TOPIC_EXCEPTION otherwise.
absl::Status ValidateTopicName(const std::string& name);

ControllerResult<v1::CreateTopicsResponse> CreateTopics(const MetadataImage& image,
                                                        const ControllerConfig& config,
                                                        const v1::CreateTopicsRequest& req,
                                                        Random& random);

ControllerResult<v1::DeleteTopicsResponse> DeleteTopics(const MetadataImage& image,
                                                        const ControllerConfig& config,
                                                        const v1::DeleteTopicsRequest& req);

ControllerResult<v1::CreatePartitionsResponse> CreatePartitions(
    const MetadataImage& image, const ControllerConfig& config,
    const v1::CreatePartitionsRequest& req, Random& random);

}  // namespace fjord::controller
