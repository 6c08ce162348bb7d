// Kafka's topic-level configuration keys known to Fjord, with their built-in
// defaults and value rules (after Kafka's LogConfig / TopicConfig). Used to
// validate CreateTopics and IncrementalAlterConfigs and to describe topics.
//
// Broker-level keys are not validated here (the controller does not know a
// broker's static configuration); see config_control.h.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace fjord::controller {

struct TopicConfigDef {
  std::string name;
  std::string default_value;
};

// Every known topic config key, sorted by name.
const std::vector<TopicConfigDef>& TopicConfigDefs();

// The definition of `name`, or nullptr if the key is unknown.
const TopicConfigDef* FindTopicConfig(const std::string& name);

// OK if `name` is a known topic config and `value` is valid for it;
// otherwise an INVALID_CONFIG KafkaError saying why.
absl::Status ValidateTopicConfig(const std::string& name, const std::string& value);

// True if the topic config value means "enabled" (Kafka's boolean parsing is
// case-insensitive "true").
bool ConfigIsTrue(const std::string& value);

}  // namespace fjord::controller
