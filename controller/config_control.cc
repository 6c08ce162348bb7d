#include "controller/config_control.h"

#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/kafka_error.h"
#include "controller/topic_config.h"

namespace fjord::controller {

namespace {

// Checks that the resource exists and is well formed.
absl::Status CheckResource(const MetadataImage& image, const v1::ConfigResource& resource) {
  switch (resource.type()) {
    case v1::ConfigResource::TOPIC:
      if (image.topic_by_name(resource.name()) == nullptr) {
        return KafkaError(v1::UNKNOWN_TOPIC_OR_PARTITION,
                          absl::StrCat("no topic ", resource.name()));
      }
      return absl::OkStatus();
    case v1::ConfigResource::BROKER: {
      if (resource.name().empty()) return absl::OkStatus();  // cluster default
      int32_t id;
      if (!absl::SimpleAtoi(absl::string_view(resource.name()), &id) || id < 0 ||
          absl::StrCat(id) != resource.name()) {
        return KafkaError(v1::INVALID_REQUEST,
                          absl::StrCat("bad broker resource name '", resource.name(), "'"));
      }
      if (image.broker(BrokerId(id)) == nullptr) {
        return KafkaError(v1::RESOURCE_NOT_FOUND, absl::StrCat("no broker ", id));
      }
      return absl::OkStatus();
    }
    default:
      return KafkaError(v1::INVALID_REQUEST, "unknown resource type");
  }
}

void AddDescribed(const std::string& name, const std::string& value,
                  v1::DescribedConfig::ConfigSource source,
                  v1::DescribeConfigsResponse::DescribeConfigsResult* out) {
  auto* c = out->add_configs();
  c->set_name(name);
  c->set_value(value);
  c->set_read_only(false);
  c->set_config_source(source);
  c->set_is_sensitive(false);
}

}  // namespace

v1::DescribeConfigsResponse DescribeConfigs(const MetadataImage& image,
                                            const v1::DescribeConfigsRequest& req) {
  v1::DescribeConfigsResponse response;
  for (const auto& item : req.resources()) {
    auto* out = response.add_results();
    *out->mutable_resource() = item.resource();
    absl::Status status = CheckResource(image, item.resource());
    if (!status.ok()) {
      SetError(out, status);
      continue;
    }
    const std::set<std::string> wanted(item.configuration_keys().begin(),
                                       item.configuration_keys().end());
    auto want = [&](const std::string& key) { return wanted.empty() || wanted.count(key) > 0; };
    const ConfigResourceKey key{item.resource().type(), item.resource().name()};
    const ConfigValues* overrides = image.configs(key);
    if (key.type == v1::ConfigResource::TOPIC) {
      for (const TopicConfigDef& def : TopicConfigDefs()) {  // sorted by name
        if (!want(def.name)) continue;
        auto it = overrides == nullptr ? ConfigValues::const_iterator() : overrides->find(def.name);
        if (overrides != nullptr && it != overrides->end()) {
          AddDescribed(def.name, it->second, v1::DescribedConfig::TOPIC_CONFIG, out);
        } else {
          AddDescribed(def.name, def.default_value, v1::DescribedConfig::DEFAULT_CONFIG, out);
        }
      }
    } else if (overrides != nullptr) {
      const auto source = key.name.empty() ? v1::DescribedConfig::DYNAMIC_DEFAULT_BROKER_CONFIG
                                           : v1::DescribedConfig::DYNAMIC_BROKER_CONFIG;
      for (const auto& [name, value] : *overrides) {  // sorted by name
        if (want(name)) AddDescribed(name, value, source, out);
      }
    }
  }
  return response;
}

ControllerResult<v1::IncrementalAlterConfigsResponse> IncrementalAlterConfigs(
    const MetadataImage& image, const v1::IncrementalAlterConfigsRequest& req) {
  ControllerResult<v1::IncrementalAlterConfigsResponse> result;
  std::map<ConfigResourceKey, int> count;
  for (const auto& item : req.resources()) {
    ++count[ConfigResourceKey{item.resource().type(), item.resource().name()}];
  }
  for (const auto& item : req.resources()) {
    auto* out = result.response.add_responses();
    *out->mutable_resource() = item.resource();
    const ConfigResourceKey key{item.resource().type(), item.resource().name()};
    if (count[key] > 1) {
      SetError(out, v1::DUPLICATE_RESOURCE, "resource named twice");
      continue;
    }
    absl::Status status = CheckResource(image, item.resource());
    std::vector<v1::MetadataRecord> records;
    std::set<std::string> seen;
    for (const auto& change : item.configs()) {
      if (!status.ok()) break;
      if (!seen.insert(change.name()).second || change.name().empty()) {
        status = KafkaError(v1::INVALID_REQUEST,
                            absl::StrCat("key '", change.name(), "' twice or empty"));
        break;
      }
      const bool is_set = change.config_operation() == v1::AlterableConfig::SET;
      if (!is_set && change.config_operation() != v1::AlterableConfig::DELETE) {
        status = KafkaError(v1::INVALID_REQUEST, "only SET and DELETE are supported");
        break;
      }
      if (key.type == v1::ConfigResource::TOPIC) {
        if (is_set) {
          status = ValidateTopicConfig(change.name(), change.value());
        } else if (FindTopicConfig(change.name()) == nullptr) {
          status =
              KafkaError(v1::INVALID_CONFIG, absl::StrCat("unknown topic config ", change.name()));
        }
        if (!status.ok()) break;
      } else if (is_set && change.value().empty()) {
        status = KafkaError(v1::INVALID_CONFIG, absl::StrCat("empty value for ", change.name()));
        break;
      }
      // Only real changes become records.
      const auto current = image.config(key, change.name());
      if (is_set ? current == change.value() : !current.has_value()) continue;
      v1::MetadataRecord r;
      auto* c = r.mutable_config();
      c->set_resource_type(key.type);
      c->set_resource_name(key.name);
      c->set_name(change.name());
      if (is_set) c->set_value(change.value());
      records.push_back(std::move(r));
    }
    if (!status.ok()) {
      SetError(out, status);
      continue;
    }
    if (req.validate_only()) continue;
    for (auto& r : records) result.records.push_back(std::move(r));
  }
  return result;
}

}  // namespace fjord::controller
