#include "controller/topic_config.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/kafka_error.h"

namespace fjord::controller {

namespace {

using Validator = std::function<bool(const std::string&)>;

struct Rule {
  TopicConfigDef def;
  Validator valid;
  const char* rule;  // for error messages
};

Validator LongAtLeast(int64_t min) {
  return [min](const std::string& v) {
    int64_t x;
    return absl::SimpleAtoi(absl::string_view(v), &x) && x >= min;
  };
}

Validator IntAtLeast(int32_t min) {
  return [min](const std::string& v) {
    int32_t x;
    return absl::SimpleAtoi(absl::string_view(v), &x) && x >= min;
  };
}

Validator OneOf(std::vector<std::string> allowed) {
  return [allowed](const std::string& v) {
    return std::find(allowed.begin(), allowed.end(), v) != allowed.end();
  };
}

bool ValidCleanupPolicy(const std::string& v) {
  if (v.empty()) return false;
  for (absl::string_view part : absl::StrSplit(absl::string_view(v), ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part != "delete" && part != "compact") return false;
  }
  return true;
}

bool ValidRatio(const std::string& v) {
  double x;
  return absl::SimpleAtod(absl::string_view(v), &x) && x >= 0.0 && x <= 1.0;
}

bool ValidBoolean(const std::string& v) {
  std::string lower = absl::AsciiStrToLower(v);
  return lower == "true" || lower == "false";
}

const std::vector<Rule>& Rules() {
  static const auto* const kRules = new std::vector<Rule>{
      {{"cleanup.policy", "delete"}, ValidCleanupPolicy, "a list of delete, compact"},
      {{"compression.type", "producer"},
       OneOf({"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"}),
       "one of uncompressed, zstd, lz4, snappy, gzip, producer"},
      {{"delete.retention.ms", "86400000"}, LongAtLeast(0), "a long >= 0"},
      {{"file.delete.delay.ms", "60000"}, LongAtLeast(0), "a long >= 0"},
      {{"flush.messages", "9223372036854775807"}, LongAtLeast(1), "a long >= 1"},
      {{"flush.ms", "9223372036854775807"}, LongAtLeast(0), "a long >= 0"},
      {{"index.interval.bytes", "4096"}, IntAtLeast(0), "an int >= 0"},
      {{"max.message.bytes", "1048588"}, IntAtLeast(0), "an int >= 0"},
      {{"message.timestamp.type", "CreateTime"},
       OneOf({"CreateTime", "LogAppendTime"}),
       "CreateTime or LogAppendTime"},
      {{"min.cleanable.dirty.ratio", "0.5"}, ValidRatio, "a number in [0, 1]"},
      {{"min.compaction.lag.ms", "0"}, LongAtLeast(0), "a long >= 0"},
      {{"min.insync.replicas", "1"}, IntAtLeast(1), "an int >= 1"},
      {{"retention.bytes", "-1"}, LongAtLeast(std::numeric_limits<int64_t>::min()), "a long"},
      {{"retention.ms", "604800000"}, LongAtLeast(-1), "a long >= -1"},
      {{"segment.bytes", "1073741824"}, IntAtLeast(14), "an int >= 14"},
      {{"segment.index.bytes", "10485760"}, IntAtLeast(4), "an int >= 4"},
      {{"segment.ms", "604800000"}, LongAtLeast(1), "a long >= 1"},
      {{"unclean.leader.election.enable", "false"}, ValidBoolean, "true or false"},
  };
  return *kRules;
}

const Rule* FindRule(const std::string& name) {
  for (const Rule& rule : Rules()) {
    if (rule.def.name == name) return &rule;
  }
  return nullptr;
}

}  // namespace

const std::vector<TopicConfigDef>& TopicConfigDefs() {
  static const auto* const kDefs = [] {
    auto* defs = new std::vector<TopicConfigDef>;
    for (const Rule& rule : Rules()) defs->push_back(rule.def);
    return defs;
  }();
  return *kDefs;
}

const TopicConfigDef* FindTopicConfig(const std::string& name) {
  const Rule* rule = FindRule(name);
  return rule == nullptr ? nullptr : &rule->def;
}

absl::Status ValidateTopicConfig(const std::string& name, const std::string& value) {
  const Rule* rule = FindRule(name);
  if (rule == nullptr) {
    return KafkaError(v1::INVALID_CONFIG, absl::StrCat("unknown topic config ", name));
  }
  if (!rule->valid(value)) {
    return KafkaError(v1::INVALID_CONFIG, absl::StrCat("invalid value '", value, "' for ", name,
                                                       ": must be ", rule->rule));
  }
  return absl::OkStatus();
}

bool ConfigIsTrue(const std::string& value) { return absl::AsciiStrToLower(value) == "true"; }

}  // namespace fjord::controller
