#include "broker/broker_config.h"

#include <functional>
#include <limits>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"

namespace fjord::broker {
namespace {

template <typename T>
absl::Status ParseInt(const std::string& key, const std::string& value, T min, T* out) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(value, &v) || v < static_cast<int64_t>(min) ||
      v > static_cast<int64_t>(std::numeric_limits<T>::max())) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, "=", value, ": expected an integer >= ", static_cast<int64_t>(min)));
  }
  *out = static_cast<T>(v);
  return absl::OkStatus();
}

}  // namespace

namespace {

absl::StatusOr<Listener> ParseOneListener(absl::string_view e) {
  e = absl::StripAsciiWhitespace(e);
  const size_t scheme = e.find("://");
  const size_t colon = e.rfind(':');
  Listener l;
  if (scheme == absl::string_view::npos || colon == absl::string_view::npos || colon < scheme + 3 ||
      !absl::SimpleAtoi(e.substr(colon + 1), &l.port) || l.port < 0 || l.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("listener '", e, "' is not NAME://host:port"));
  }
  l.name = absl::AsciiStrToUpper(e.substr(0, scheme));
  l.host = std::string(e.substr(scheme + 3, colon - scheme - 3));
  return l;
}

}  // namespace

absl::StatusOr<std::vector<Listener>> ParseListeners(const std::string& value) {
  std::vector<Listener> out;
  for (absl::string_view e : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
    ASSIGN_OR_RETURN(Listener l, ParseOneListener(e));
    for (const Listener& seen : out) {
      if (seen.name == l.name) {
        return absl::InvalidArgumentError(absl::StrCat("listener ", l.name, " listed twice"));
      }
    }
    out.push_back(std::move(l));
  }
  if (out.empty()) return absl::InvalidArgumentError("empty listener");
  return out;
}

absl::StatusOr<Listener> ParseListener(const std::string& value) {
  ASSIGN_OR_RETURN(std::vector<Listener> all, ParseListeners(value));
  return all.front();
}

namespace {

// Splits `listeners` (empty: keep the defaults) into the broker's listener
// and the controller's, by controller.listener.names, as KRaft does.
absl::Status AssignListeners(const std::string& listeners, BrokerConfig* c) {
  std::set<std::string> controller_names;
  for (absl::string_view n :
       absl::StrSplit(c->controller_listener_names, ',', absl::SkipWhitespace())) {
    controller_names.insert(absl::AsciiStrToUpper(absl::StripAsciiWhitespace(n)));
  }
  if (c->controller_role && controller_names.empty()) {
    return absl::InvalidArgumentError("controller.listener.names is empty");
  }
  if (listeners.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<Listener> all, ParseListeners(listeners));
  bool have_broker = false, have_controller = false;
  for (const Listener& l : all) {
    if (controller_names.count(l.name)) {
      if (!have_controller) c->controller_listener = l;
      have_controller = true;
    } else if (!have_broker) {
      c->listener = l;
      have_broker = true;
    }
  }
  if (c->broker_role && !have_broker) {
    return absl::InvalidArgumentError(
        "listeners has no broker listener (every entry is in controller.listener.names)");
  }
  if (c->controller_role && !have_controller) {
    return absl::InvalidArgumentError(
        "process.roles has controller but listeners has none of controller.listener.names");
  }
  if (!c->controller_role && have_controller) {
    return absl::InvalidArgumentError(
        "listeners names a controller listener but process.roles has no controller");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> ParseProperties(const std::string& text) {
  std::map<std::string, std::string> out;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#' || line[0] == '!') continue;
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": expected key=value"));
    }
    out[std::string(absl::StripAsciiWhitespace(line.substr(0, eq)))] =
        std::string(absl::StripAsciiWhitespace(line.substr(eq + 1)));
  }
  return out;
}

absl::StatusOr<BrokerConfig> BrokerConfig::FromProperties(
    const std::map<std::string, std::string>& properties) {
  BrokerConfig c;
  bool advertised_set = false;
  std::string listeners;
  using Setter = std::function<absl::Status(const std::string&, const std::string&)>;
  auto str = [](std::string* field) -> Setter {
    return [field](const std::string&, const std::string& v) {
      *field = v;
      return absl::OkStatus();
    };
  };
  const std::map<std::string, Setter> setters = {
      {"node.id", [&](auto& k, auto& v) { return ParseInt(k, v, 0, &c.node_id); }},
      {"broker.id", [&](auto& k, auto& v) { return ParseInt(k, v, 0, &c.node_id); }},
      {"cluster.id", str(&c.cluster_id)},
      {"listeners", str(&listeners)},
      {"process.roles",
       [&](auto& k, auto& v) {
         c.broker_role = c.controller_role = false;
         for (absl::string_view role : absl::StrSplit(v, ',', absl::SkipWhitespace())) {
           role = absl::StripAsciiWhitespace(role);
           if (role == "broker") {
             c.broker_role = true;
           } else if (role == "controller") {
             c.controller_role = true;
           } else {
             return absl::InvalidArgumentError(
                 absl::StrCat(k, "=", v, ": broker, controller or broker,controller"));
           }
         }
         if (!c.broker_role && !c.controller_role) {
           return absl::InvalidArgumentError(absl::StrCat(k, " is empty"));
         }
         return absl::OkStatus();
       }},
      {"controller.listener.names", str(&c.controller_listener_names)},
      {"metadata.log.dir", str(&c.metadata_log_dir)},
      {"broker.session.timeout.ms",
       [&](auto& k, auto& v) { return ParseInt(k, v, int64_t{1}, &c.broker_session_timeout_ms); }},
      {"auto.create.topics.enable",
       [&](auto& k, auto& v) {
         if (v != "true" && v != "false") {
           return absl::InvalidArgumentError(absl::StrCat(k, "=", v, ": true or false"));
         }
         c.auto_create_topics_enable = v == "true";
         return absl::OkStatus();
       }},
      {"delete.topic.enable",
       [&](auto& k, auto& v) {
         if (v != "true" && v != "false") {
           return absl::InvalidArgumentError(absl::StrCat(k, "=", v, ": true or false"));
         }
         c.delete_topic_enable = v == "true";
         return absl::OkStatus();
       }},
      {"advertised.listeners",
       [&](auto&, auto& v) {
         ASSIGN_OR_RETURN(c.advertised, ParseListener(v));
         advertised_set = true;
         return absl::OkStatus();
       }},
      {"log.dirs", str(&c.log_dirs)},
      {"log.dir", str(&c.log_dirs)},
      {"controller.quorum.voters", str(&c.controller_quorum_voters)},
      {"num.partitions", [&](auto& k, auto& v) { return ParseInt(k, v, 1, &c.num_partitions); }},
      {"default.replication.factor",
       [&](auto& k, auto& v) { return ParseInt(k, v, 1, &c.default_replication_factor); }},
      {"min.insync.replicas",
       [&](auto& k, auto& v) { return ParseInt(k, v, 1, &c.min_insync_replicas); }},
      {"replica.lag.time.max.ms",
       [&](auto& k, auto& v) { return ParseInt(k, v, int64_t{1}, &c.replica_lag_time_max_ms); }},
      {"message.max.bytes",
       [&](auto& k, auto& v) { return ParseInt(k, v, 61, &c.message_max_bytes); }},
      {"log.flush.policy",
       [&](auto& k, auto& v) {
         if (v != "always" && v != "relaxed") {
           return absl::InvalidArgumentError(absl::StrCat(k, "=", v, ": always or relaxed"));
         }
         c.log_flush_policy = v;
         return absl::OkStatus();
       }},
      {"log.segment.bytes",
       [&](auto& k, auto& v) { return ParseInt(k, v, int64_t{1024}, &c.log_segment_bytes); }},
      {"log.cleaner.enable",
       [&](auto& k, auto& v) {
         if (v != "true" && v != "false") {
           return absl::InvalidArgumentError(absl::StrCat(k, "=", v, ": true or false"));
         }
         c.log_cleaner_enable = v == "true";
         return absl::OkStatus();
       }},
      {"log.cleaner.backoff.ms",
       [&](auto& k, auto& v) { return ParseInt(k, v, int64_t{1}, &c.log_cleaner_backoff_ms); }},
      {"log.retention.check.interval.ms",
       [&](auto& k, auto& v) {
         return ParseInt(k, v, int64_t{1}, &c.log_retention_check_interval_ms);
       }},
      {"replica.fetch.max.bytes",
       [&](auto& k, auto& v) { return ParseInt(k, v, 1, &c.replica_fetch_max_bytes); }},
      {"replica.fetch.response.max.bytes",
       [&](auto& k, auto& v) { return ParseInt(k, v, 1, &c.replica_fetch_response_max_bytes); }},
      {"socket.request.max.bytes",
       [&](auto& k, auto& v) { return ParseInt(k, v, 1024, &c.socket_request_max_bytes); }},
      {"broker.heartbeat.interval.ms",
       [&](auto& k, auto& v) {
         return ParseInt(k, v, int64_t{1}, &c.broker_heartbeat_interval_ms);
       }},
      {"broker.rack", str(&c.rack)},
      {"metrics.listen", str(&c.metrics_listen)},
      {"log.level", str(&c.log_level)},
      {"offsets.topic.num.partitions",
       [&](auto& k, auto& v) { return ParseInt(k, v, 1, &c.offsets_topic_num_partitions); }},
      {"offsets.topic.replication.factor",
       [&](auto& k, auto& v) {
         return ParseInt(k, v, int16_t{1}, &c.offsets_topic_replication_factor);
       }},
      {"offsets.topic.segment.bytes",
       [&](auto& k, auto& v) {
         return ParseInt(k, v, int64_t{14}, &c.offsets_topic_segment_bytes);
       }},
      {"offsets.commit.timeout.ms",
       [&](auto& k, auto& v) { return ParseInt(k, v, int64_t{1}, &c.offsets_commit_timeout_ms); }},
      {"offsets.retention.minutes",
       [&](auto& k, auto& v) { return ParseInt(k, v, int64_t{1}, &c.offsets_retention_minutes); }},
      {"offsets.retention.check.interval.ms",
       [&](auto& k, auto& v) {
         return ParseInt(k, v, int64_t{1}, &c.offsets_retention_check_interval_ms);
       }},
      {"offset.metadata.max.bytes",
       [&](auto& k, auto& v) { return ParseInt(k, v, 0, &c.offset_metadata_max_bytes); }},
      {"group.consumer.session.timeout.ms",
       [&](auto& k, auto& v) { return ParseInt(k, v, 1, &c.group_consumer_session_timeout_ms); }},
      {"group.consumer.heartbeat.interval.ms",
       [&](auto& k, auto& v) {
         return ParseInt(k, v, 1, &c.group_consumer_heartbeat_interval_ms);
       }},
      {"group.consumer.max.size",
       [&](auto& k, auto& v) { return ParseInt(k, v, 1, &c.group_consumer_max_size); }},
  };
  for (const auto& [key, value] : properties) {
    auto it = setters.find(key);
    if (it == setters.end()) return absl::InvalidArgumentError("unknown setting " + key);
    RETURN_IF_ERROR(it->second(key, value));
  }
  if (c.node_id < 0) return absl::InvalidArgumentError("node.id (or broker.id) is required");
  if (c.metadata_log_dir.empty()) c.metadata_log_dir = c.first_log_dir();
  if (c.broker_role && c.log_dirs.empty()) {
    return absl::InvalidArgumentError("log.dirs is required");
  }
  if (c.metadata_log_dir.empty()) {
    return absl::InvalidArgumentError("metadata.log.dir (or log.dirs) is required");
  }
  // A controller node reads its cluster id from meta.properties (format).
  if (c.cluster_id.empty() && !c.controller_role) {
    return absl::InvalidArgumentError("cluster.id is required");
  }
  RETURN_IF_ERROR(AssignListeners(listeners, &c));
  if (!c.broker_role) return c;
  // gRPC binds with SO_REUSEPORT: two servers on one port would both start
  // and split the connections between them.
  if (c.controller_role && c.listener.port != 0 && c.listener.port == c.controller_listener.port &&
      c.listener.host == c.controller_listener.host) {
    return absl::InvalidArgumentError(absl::StrCat("listeners ", c.listener.name, " and ",
                                                   c.controller_listener.name, " share port ",
                                                   c.listener.port));
  }
  if (!advertised_set) c.advertised = c.listener;
  if (c.advertised.host.empty() || c.advertised.host == "0.0.0.0") {
    return absl::InvalidArgumentError("advertised.listeners needs a host clients can reach");
  }
  if (c.advertised.name != c.listener.name) {
    return absl::InvalidArgumentError("advertised.listeners names a listener not in listeners");
  }
  return c;
}

std::string BrokerConfig::first_log_dir() const {
  std::vector<std::string> dirs = absl::StrSplit(log_dirs, ',', absl::SkipWhitespace());
  return dirs.empty() ? "" : std::string(absl::StripAsciiWhitespace(dirs[0]));
}

BrokerServerOptions BrokerConfig::ToServerOptions() const {
  BrokerServerOptions o;
  o.id = BrokerId(node_id);
  o.cluster_id = cluster_id;
  o.host = listener.host;
  o.port = listener.port;
  o.listener_name = listener.name;
  o.log_dir = first_log_dir();
  o.replica.min_insync_replicas = min_insync_replicas;
  o.replica.replica_lag_time_max = absl::Milliseconds(replica_lag_time_max_ms);
  o.replica.batch_limits.max_batch_bytes = static_cast<size_t>(message_max_bytes);
  o.log.batch_limits.max_batch_bytes = static_cast<size_t>(message_max_bytes);
  o.log.segment_bytes = log_segment_bytes;
  o.cleaner.enable = log_cleaner_enable;
  o.cleaner.backoff = absl::Milliseconds(log_cleaner_backoff_ms);
  o.cleaner.retention_check_interval = absl::Milliseconds(log_retention_check_interval_ms);
  if (log_flush_policy == "relaxed") {
    o.replica.durability = DurabilityMode::kRelaxed;
    o.log.flush_policy = storage::FlushPolicy::kNever;
  }
  o.replica_fetch_max_bytes = replica_fetch_max_bytes;
  o.replica_fetch_response_max_bytes = replica_fetch_response_max_bytes;
  o.max_request_bytes = socket_request_max_bytes;
  o.group.offsets_topic_num_partitions = offsets_topic_num_partitions;
  o.group.offsets_topic_replication_factor = offsets_topic_replication_factor;
  o.group.offsets_topic_segment_bytes = offsets_topic_segment_bytes;
  o.group.commit_timeout = absl::Milliseconds(offsets_commit_timeout_ms);
  o.group.group.offsets_retention = absl::Minutes(offsets_retention_minutes);
  o.group.group.offsets_retention_check_interval =
      absl::Milliseconds(offsets_retention_check_interval_ms);
  o.group.group.offset_metadata_max_bytes = static_cast<size_t>(offset_metadata_max_bytes);
  o.group.group.session_timeout = absl::Milliseconds(group_consumer_session_timeout_ms);
  o.group.group.heartbeat_interval = absl::Milliseconds(group_consumer_heartbeat_interval_ms);
  o.group.group.max_size = group_consumer_max_size;
  return o;
}

}  // namespace fjord::broker
