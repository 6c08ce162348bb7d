// One Metadata RPC to the cluster, for commands that show what the broker
// says (topic ids, errors per topic) rather than a client's cached view.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/fjord/v1/broker.grpc.pb.h"

namespace fjord::cli {

// Asks the bootstrap servers in turn for `topics` (empty: every topic) and
// returns the first answer; Unavailable naming the last failure when no
// server answers within `timeout` each.
absl::StatusOr<v1::MetadataResponse> FetchMetadata(
    const std::vector<std::string>& bootstrap_servers, const std::vector<std::string>& topics,
    absl::Duration timeout);

// Kafka's rendering of a topic id: 16 bytes, URL-safe base64 without padding.
std::string TopicIdString(const v1::Uuid& id);

}  // namespace fjord::cli
