// TopicCreator: how the group coordinator asks the controller to create
// __consumer_offsets (the seam between broker/group and the controller
// client; tests implement it over their in-process metadata).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"

namespace fjord::group {

class TopicCreator {
 public:
  virtual ~TopicCreator() = default;
  // Creates `name` and returns once the controller answered (bounded by the
  // implementation's deadline). TOPIC_ALREADY_EXISTS counts as success.
  virtual absl::Status CreateTopic(const std::string& name, int32_t partitions,
                                   int16_t replication_factor,
                                   const std::map<std::string, std::string>& configs) = 0;
};

}  // namespace fjord::group
