// Configuration of the fjord-controller binary: Kafka-style keys, given as
// --key=value flags and/or a properties file (--config=path, one key=value
// per line, '#' comments); flags win over the file.
//
//   node.id                      this controller's id (required)
//   controller.quorum.voters     1@host:port,2@host:port,... (required); this
//                                node listens on its own entry's port
//   metadata.log.dir             data directory (required)
//   metrics.port                 Prometheus /metrics port, 0 = off (default 0)
//   broker.session.timeout.ms    default 9000
//   num.partitions, default.replication.factor, delete.topic.enable
//   cluster.id                   for `format` only (else from meta.properties)
//   log.level                    default info
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "common/types.h"
#include "proto/fjord/v1/common.pb.h"

namespace fjord::controller {

struct ControllerFlags {
  std::string command;  // "start" (default), "format" or "random-uuid"
  std::map<std::string, std::string> values;

  std::string Get(const std::string& key, const std::string& fallback = "") const {
    auto it = values.find(key);
    return it == values.end() ? fallback : it->second;
  }
};

// Parses argv: an optional command first, then --key=value flags.
absl::StatusOr<ControllerFlags> ParseFlags(int argc, char** argv);

// Parses "1@host:port,2@host:port".
absl::StatusOr<std::map<NodeId, v1::Endpoint>> ParseVoters(const std::string& voters);

// meta.properties (written by `format`): cluster.id, node.id, voters.
absl::Status WriteMetaProperties(const std::string& dir,
                                 const std::map<std::string, std::string>& kv);
absl::StatusOr<std::map<std::string, std::string>> ReadProperties(const std::string& path);

}  // namespace fjord::controller
