#include "client/config.h"

#include <functional>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace fjord::client {
namespace {

// One known key: how to apply its string value to the config struct.
template <typename Config>
using Setter = std::function<absl::Status(const std::string& value, Config& config)>;

template <typename Config>
using Schema = std::map<std::string, Setter<Config>>;

absl::Status BadValue(const std::string& key, const std::string& value, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid value '", value, "' for configuration ", key, ": ", why));
}

template <typename Int>
absl::Status ParseInt(const std::string& key, const std::string& value, int64_t min, int64_t max,
                      Int& out) {
  int64_t parsed = 0;
  if (!absl::SimpleAtoi(value, &parsed)) return BadValue(key, value, "not an integer");
  if (parsed < min || parsed > max) {
    return BadValue(key, value, absl::StrCat("must be in [", min, ", ", max, "]"));
  }
  out = static_cast<Int>(parsed);
  return absl::OkStatus();
}

absl::Status ParseBool(const std::string& key, const std::string& value, bool& out) {
  const std::string lower = absl::AsciiStrToLower(value);
  if (lower == "true") {
    out = true;
  } else if (lower == "false") {
    out = false;
  } else {
    return BadValue(key, value, "must be true or false");
  }
  return absl::OkStatus();
}

// An integer config member with a valid range.
template <typename Config, typename Owner, typename Int>
Setter<Config> IntField(Int Owner::*member, int64_t min,
                        int64_t max = std::numeric_limits<Int>::max()) {
  return [member, min, max](const std::string& value, Config& config) {
    return ParseInt(/*key=*/"", value, min, max, config.*member);
  };
}

template <typename Config, typename Owner>
Setter<Config> BoolField(bool Owner::*member) {
  return [member](const std::string& value, Config& config) {
    return ParseBool("", value, config.*member);
  };
}

template <typename Config, typename Owner>
Setter<Config> StringField(std::string Owner::*member) {
  return [member](const std::string& value, Config& config) {
    config.*member = value;
    return absl::OkStatus();
  };
}

template <typename Config>
void AddCommon(Schema<Config>& schema) {
  schema["bootstrap.servers"] = [](const std::string& value, Config& config) {
    config.bootstrap_servers.clear();
    for (absl::string_view server : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
      server = absl::StripAsciiWhitespace(server);
      if (server.rfind(':') == absl::string_view::npos) {
        return BadValue("bootstrap.servers", value, "each server must be host:port");
      }
      config.bootstrap_servers.emplace_back(server);
    }
    if (config.bootstrap_servers.empty()) {
      return BadValue("bootstrap.servers", value, "no servers given");
    }
    return absl::OkStatus();
  };
  schema["client.id"] = StringField<Config>(&Config::client_id);
  schema["request.timeout.ms"] = IntField<Config>(&Config::request_timeout_ms, 0);
  schema["retry.backoff.ms"] = IntField<Config>(&Config::retry_backoff_ms, 0);
  schema["retry.backoff.max.ms"] = IntField<Config>(&Config::retry_backoff_max_ms, 0);
  schema["metadata.max.age.ms"] = IntField<Config>(&Config::metadata_max_age_ms, 0);
  // Accepted for compatibility with Kafka property files; meaningless here.
  for (const char* ignored : {"key.serializer", "value.serializer", "key.deserializer",
                              "value.deserializer", "partitioner.class", "interceptor.classes"}) {
    schema[ignored] = [](const std::string&, Config&) { return absl::OkStatus(); };
  }
  schema["security.protocol"] = [](const std::string& value, Config&) {
    if (absl::AsciiStrToUpper(value) != "PLAINTEXT") {
      return BadValue("security.protocol", value, "only PLAINTEXT is supported");
    }
    return absl::OkStatus();
  };
}

template <typename Config>
absl::StatusOr<Config> Apply(const Schema<Config>& schema, const Properties& properties) {
  Config config;
  for (const auto& [key, value] : properties) {
    auto it = schema.find(key);
    if (it == schema.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown configuration '", key, "'"));
    }
    absl::Status status = it->second(value, config);
    if (!status.ok()) {
      // Setters built from the generic helpers do not know their key.
      if (status.message().find(key) == absl::string_view::npos) {
        return absl::InvalidArgumentError(absl::StrCat(status.message(), " (", key, ")"));
      }
      return status;
    }
  }
  if (config.bootstrap_servers.empty()) {
    return absl::InvalidArgumentError("missing required configuration 'bootstrap.servers'");
  }
  return config;
}

}  // namespace

const char* CompressionTypeName(CompressionType type) {
  switch (type) {
    case CompressionType::kNone:
      return "none";
    case CompressionType::kGzip:
      return "gzip";
    case CompressionType::kSnappy:
      return "snappy";
    case CompressionType::kLz4:
      return "lz4";
    case CompressionType::kZstd:
      return "zstd";
  }
  return "none";
}

absl::StatusOr<ProducerConfig> ProducerConfig::FromProperties(const Properties& properties) {
  using C = ProducerConfig;
  Schema<C> schema;
  AddCommon(schema);
  schema["acks"] = [](const std::string& value, C& config) {
    if (value == "all" || value == "-1") {
      config.acks = -1;
    } else if (value == "0" || value == "1") {
      config.acks = static_cast<int16_t>(value[0] - '0');
    } else {
      return BadValue("acks", value, "must be all, -1, 0 or 1");
    }
    return absl::OkStatus();
  };
  schema["linger.ms"] = IntField<C>(&C::linger_ms, 0);
  schema["batch.size"] = IntField<C>(&C::batch_size, 0);
  schema["compression.type"] = [](const std::string& value, C& config) {
    for (CompressionType type :
         {CompressionType::kNone, CompressionType::kGzip, CompressionType::kSnappy,
          CompressionType::kLz4, CompressionType::kZstd}) {
      if (value == CompressionTypeName(type)) {
        config.compression_type = type;
        return absl::OkStatus();
      }
    }
    return BadValue("compression.type", value, "must be none, gzip, snappy, lz4 or zstd");
  };
  schema["retries"] = IntField<C>(&C::retries, 0);
  schema["delivery.timeout.ms"] = IntField<C>(&C::delivery_timeout_ms, 0);
  schema["max.in.flight.requests.per.connection"] =
      IntField<C>(&C::max_in_flight_requests_per_connection, 1);
  schema["buffer.memory"] = IntField<C>(&C::buffer_memory, 0);
  schema["max.block.ms"] = IntField<C>(&C::max_block_ms, 0);
  schema["max.request.size"] = IntField<C>(&C::max_request_size, 1);
  schema["enable.idempotence"] = BoolField<C>(&C::enable_idempotence);
  schema["transactional.id"] = StringField<C>(&C::transactional_id);

  ProducerConfig config;
  {
    auto parsed = Apply(schema, properties);
    if (!parsed.ok()) return parsed.status();
    config = *std::move(parsed);
  }
  // Kafka's cross-field rules.
  if (config.enable_idempotence) {
    const bool explicit_idempotence = properties.count("enable.idempotence") > 0;
    if (config.acks != -1 || config.max_in_flight_requests_per_connection > 5) {
      if (explicit_idempotence) {
        return absl::InvalidArgumentError(
            "enable.idempotence=true requires acks=all and "
            "max.in.flight.requests.per.connection <= 5");
      }
      config.enable_idempotence = false;  // Kafka turns the default off silently.
    }
  }
  if (config.delivery_timeout_ms < config.linger_ms + config.request_timeout_ms) {
    return absl::InvalidArgumentError(
        absl::StrCat("delivery.timeout.ms (", config.delivery_timeout_ms,
                     ") must be at least linger.ms + request.timeout.ms (",
                     config.linger_ms + config.request_timeout_ms, ")"));
  }
  return config;
}

absl::StatusOr<ConsumerConfig> ConsumerConfig::FromProperties(const Properties& properties) {
  using C = ConsumerConfig;
  Schema<C> schema;
  AddCommon(schema);
  schema["group.id"] = StringField<C>(&C::group_id);
  schema["group.instance.id"] = StringField<C>(&C::group_instance_id);
  schema["fetch.min.bytes"] = IntField<C>(&C::fetch_min_bytes, 0);
  schema["fetch.max.bytes"] = IntField<C>(&C::fetch_max_bytes, 0);
  schema["fetch.max.wait.ms"] = IntField<C>(&C::fetch_max_wait_ms, 0);
  schema["max.partition.fetch.bytes"] = IntField<C>(&C::max_partition_fetch_bytes, 0);
  schema["max.poll.records"] = IntField<C>(&C::max_poll_records, 1);
  schema["max.poll.interval.ms"] = IntField<C>(&C::max_poll_interval_ms, 1);
  schema["session.timeout.ms"] = IntField<C>(&C::session_timeout_ms, 1);
  schema["heartbeat.interval.ms"] = IntField<C>(&C::heartbeat_interval_ms, 1);
  schema["enable.auto.commit"] = BoolField<C>(&C::enable_auto_commit);
  schema["auto.commit.interval.ms"] = IntField<C>(&C::auto_commit_interval_ms, 0);
  schema["check.crcs"] = BoolField<C>(&C::check_crcs);
  schema["client.rack"] = StringField<C>(&C::client_rack);
  schema["group.remote.assignor"] = StringField<C>(&C::group_remote_assignor);
  // KIP-848's switch: Fjord's groups always use the consumer protocol.
  schema["group.protocol"] = [](const std::string& value, C&) {
    if (value == "consumer" || value == "CONSUMER") return absl::OkStatus();
    return BadValue("group.protocol", value, "must be consumer (the only protocol Fjord serves)");
  };
  schema["auto.offset.reset"] = [](const std::string& value, C& config) {
    if (value == "earliest") {
      config.auto_offset_reset = AutoOffsetReset::kEarliest;
    } else if (value == "latest") {
      config.auto_offset_reset = AutoOffsetReset::kLatest;
    } else if (value == "none") {
      config.auto_offset_reset = AutoOffsetReset::kNone;
    } else {
      return BadValue("auto.offset.reset", value, "must be earliest, latest or none");
    }
    return absl::OkStatus();
  };
  schema["isolation.level"] = [](const std::string& value, C& config) {
    if (value == "read_uncommitted") {
      config.isolation_level = IsolationLevel::kReadUncommitted;
    } else if (value == "read_committed") {
      config.isolation_level = IsolationLevel::kReadCommitted;
    } else {
      return BadValue("isolation.level", value, "must be read_uncommitted or read_committed");
    }
    return absl::OkStatus();
  };
  return Apply(schema, properties);
}

absl::StatusOr<AdminConfig> AdminConfig::FromProperties(const Properties& properties) {
  using C = AdminConfig;
  Schema<C> schema;
  AddCommon(schema);
  schema["bootstrap.controllers"] = [](const std::string& value, C& config) {
    config.bootstrap_controllers.clear();
    for (absl::string_view server : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
      server = absl::StripAsciiWhitespace(server);
      if (server.rfind(':') == absl::string_view::npos) {
        return BadValue("bootstrap.controllers", value, "each controller must be host:port");
      }
      config.bootstrap_controllers.emplace_back(server);
    }
    return absl::OkStatus();
  };
  schema["default.api.timeout.ms"] = IntField<C>(&C::default_api_timeout_ms, 1);
  return Apply(schema, properties);
}

absl::StatusOr<Properties> ParseProperties(const std::vector<std::string>& lines) {
  Properties properties;
  for (const std::string& raw : lines) {
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line[0] == '#' || line[0] == '!') continue;
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("property '", line, "' is not of the form key=value"));
    }
    properties[std::string(absl::StripAsciiWhitespace(line.substr(0, eq)))] =
        std::string(absl::StripAsciiWhitespace(line.substr(eq + 1)));
  }
  return properties;
}

}  // namespace fjord::client
