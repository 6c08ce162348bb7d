// `fjord group list|describe|seek|delete`: consumer groups through the admin
// client (kafka-consumer-groups.sh's --list, --describe, --reset-offsets and
// --delete, with rpk's verbs).
//
// describe prints Kafka's columns, one row per partition the group has a
// committed offset for or a member owns; LOG-END-OFFSET comes from the
// partition leaders (ListOffsets latest), LAG = LOG-END-OFFSET -
// CURRENT-OFFSET. seek moves committed offsets only while the group has no
// members (the coordinator refuses otherwise with NON_EMPTY_GROUP); targets
// are clamped to [log start, log end] as Kafka does.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "client/admin.h"
#include "client/cli/command.h"
#include "client/cli/global_options.h"
#include "client/consumer.h"
#include "common/kafka_error.h"
#include "common/status_macros.h"

namespace fjord::cli {
namespace {

using client::TopicPartition;
using DescribedGroup = v1::ConsumerGroupDescribeResponse::DescribedGroup;

std::string Dump(const nlohmann::json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Left-aligned columns two spaces apart, like kafka-consumer-groups.
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += i + 1 == row.size() ? row[i] : absl::StrFormat("%-*s  ", width[i], row[i]);
    }
    std::cout << line << "\n";
  };
  print(header);
  for (const auto& row : rows) print(row);
  std::cout.flush();
}

// ---------------------------------------------------------------------------
// list
// ---------------------------------------------------------------------------

absl::Status RunList(const GlobalOptions& global, const std::vector<std::string>& states) {
  ASSIGN_OR_RETURN(auto admin, MakeAdmin(global));
  ASSIGN_OR_RETURN(client::ListGroupsResult result, admin->ListGroups(states));
  for (const std::string& error : result.errors) {
    std::fprintf(stderr, "Warning: a broker did not list its groups: %s\n", error.c_str());
  }
  if (global.format() == OutputFormat::kJson) {
    nlohmann::json json = nlohmann::json::array();
    for (const auto& g : result.groups) {
      json.push_back({{"group", g.group_id}, {"state", g.state}, {"type", g.type}});
    }
    std::cout << Dump(json) << std::endl;
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& g : result.groups) rows.push_back({g.group_id, g.state});
  PrintTable({"GROUP", "STATE"}, rows);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// describe
// ---------------------------------------------------------------------------

struct PartitionRow {
  std::optional<int64_t> current;
  std::optional<int64_t> log_end;
  const v1::ConsumerGroupDescribeResponse::Member* owner = nullptr;
};

absl::Status DescribeOne(client::Admin& admin, const DescribedGroup& group,
                         nlohmann::json* json_out) {
  std::map<TopicPartition, PartitionRow> rows;
  ASSIGN_OR_RETURN(auto committed, admin.ListConsumerGroupOffsets(group.group_id()));
  for (const auto& [tp, offset] : committed) rows[tp].current = offset;
  for (const auto& member : group.members()) {
    for (const auto& t : member.assignment()) {
      for (int32_t p : t.partitions()) rows[{t.topic(), p}].owner = &member;
    }
  }
  std::vector<TopicPartition> partitions;
  for (const auto& [tp, row] : rows) partitions.push_back(tp);
  if (!partitions.empty()) {
    absl::StatusOr<std::map<TopicPartition, int64_t>> ends =
        admin.ListOffsets(partitions, client::kLatestTimestamp);
    if (ends.ok()) {
      for (const auto& [tp, end] : *ends) rows[tp].log_end = end;
    } else {
      std::fprintf(stderr, "Warning: log end offsets unavailable: %s\n",
                   ErrorText(ends.status()).c_str());
    }
  }
  auto lag = [](const PartitionRow& r) -> std::optional<int64_t> {
    if (!r.current || !r.log_end) return std::nullopt;
    return std::max<int64_t>(0, *r.log_end - *r.current);
  };
  if (json_out != nullptr) {
    nlohmann::json parts = nlohmann::json::array();
    for (const auto& [tp, r] : rows) {
      nlohmann::json row = {{"topic", tp.topic}, {"partition", tp.partition}};
      row["current_offset"] = r.current ? nlohmann::json(*r.current) : nlohmann::json(nullptr);
      row["log_end_offset"] = r.log_end ? nlohmann::json(*r.log_end) : nlohmann::json(nullptr);
      row["lag"] = lag(r) ? nlohmann::json(*lag(r)) : nlohmann::json(nullptr);
      row["consumer_id"] = r.owner ? r.owner->member_id() : "";
      row["host"] = r.owner ? r.owner->client_host() : "";
      row["client_id"] = r.owner ? r.owner->client_id() : "";
      parts.push_back(row);
    }
    nlohmann::json members = nlohmann::json::array();
    for (const auto& m : group.members()) {
      nlohmann::json assigned = nlohmann::json::array();
      for (const auto& t : m.assignment()) {
        for (int32_t p : t.partitions())
          assigned.push_back({{"topic", t.topic()}, {"partition", p}});
      }
      members.push_back({{"member_id", m.member_id()},
                         {"instance_id", m.has_instance_id() ? m.instance_id() : ""},
                         {"member_epoch", m.member_epoch()},
                         {"client_id", m.client_id()},
                         {"host", m.client_host()},
                         {"assignment", assigned}});
    }
    int64_t total_lag = 0;
    for (const auto& [tp, r] : rows) total_lag += lag(r).value_or(0);
    *json_out = {{"group", group.group_id()},
                 {"state", group.group_state()},
                 {"group_epoch", group.group_epoch()},
                 {"assignor", group.assignor_name()},
                 {"total_lag", total_lag},
                 {"partitions", parts},
                 {"members", members}};
    return absl::OkStatus();
  }
  if (group.members().empty()) {
    std::printf("\nConsumer group '%s' has no active members.\n", group.group_id().c_str());
  }
  std::printf("\n");
  std::vector<std::vector<std::string>> table;
  auto text = [](const std::optional<int64_t>& v) { return v ? absl::StrCat(*v) : "-"; };
  for (const auto& [tp, r] : rows) {
    table.push_back({group.group_id(), tp.topic, absl::StrCat(tp.partition), text(r.current),
                     text(r.log_end), text(lag(r)), r.owner ? r.owner->member_id() : "-",
                     r.owner ? r.owner->client_host() : "-", r.owner ? r.owner->client_id() : "-"});
  }
  std::fflush(stdout);
  PrintTable({"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
              "CONSUMER-ID", "HOST", "CLIENT-ID"},
             table);
  return absl::OkStatus();
}

absl::Status RunDescribe(const GlobalOptions& global, const std::vector<std::string>& groups) {
  ASSIGN_OR_RETURN(auto admin, MakeAdmin(global));
  ASSIGN_OR_RETURN(auto described, admin->DescribeGroups(groups));
  nlohmann::json json = nlohmann::json::array();
  absl::Status first_error;
  for (const DescribedGroup& group : described) {
    if (group.error_code() != v1::NONE || group.group_state() == "Dead") {
      const v1::ErrorCode code =
          group.error_code() != v1::NONE ? group.error_code() : v1::GROUP_ID_NOT_FOUND;
      absl::Status error = KafkaError(code, absl::StrCat("Consumer group '", group.group_id(),
                                                         "' does not exist or cannot be "
                                                         "described: ",
                                                         group.error_message()));
      std::fprintf(stderr, "Error: %s\n", ErrorText(error).c_str());
      if (first_error.ok()) first_error = error;
      continue;
    }
    nlohmann::json one;
    RETURN_IF_ERROR(
        DescribeOne(*admin, group, global.format() == OutputFormat::kJson ? &one : nullptr));
    if (global.format() == OutputFormat::kJson) json.push_back(one);
  }
  if (global.format() == OutputFormat::kJson) std::cout << Dump(json) << std::endl;
  return first_error;
}

// ---------------------------------------------------------------------------
// seek (reset offsets)
// ---------------------------------------------------------------------------

struct SeekOptions {
  std::string group;
  std::vector<std::string> topics;  // "T" or "T:0,1"
  bool to_earliest = false;
  bool to_latest = false;
  std::optional<int64_t> to_offset;
  std::string to_datetime;
  std::optional<int64_t> to_timestamp;
  std::optional<int64_t> shift_by;
  bool dry_run = false;
};

// Kafka's --to-datetime: YYYY-MM-DDTHH:mm:SS.sss, with an optional zone
// (Z or +hh:mm); local time when none.
absl::StatusOr<int64_t> ParseDatetime(const std::string& text) {
  absl::Time t;
  std::string error;
  for (const char* format : {"%Y-%m-%dT%H:%M:%E*S%Ez", "%Y-%m-%dT%H:%M:%E*SZ"}) {
    if (absl::ParseTime(format, text, &t, &error)) return absl::ToUnixMillis(t);
  }
  if (absl::ParseTime("%Y-%m-%dT%H:%M:%E*S", text, absl::LocalTimeZone(), &t, &error)) {
    return absl::ToUnixMillis(t);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--to-datetime '", text, "' is not YYYY-MM-DDTHH:mm:SS.sss[Z|+hh:mm]: ", error));
}

absl::StatusOr<std::vector<TopicPartition>> SeekPartitions(client::Admin& admin,
                                                           const SeekOptions& options) {
  std::set<TopicPartition> out;
  if (options.topics.empty()) {
    // Like --all-topics: every partition the group has an offset for.
    ASSIGN_OR_RETURN(auto committed, admin.ListConsumerGroupOffsets(options.group));
    for (const auto& [tp, offset] : committed) out.insert(tp);
    if (out.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "group '", options.group, "' has no committed offsets: name the topics with --topic"));
    }
    return std::vector<TopicPartition>(out.begin(), out.end());
  }
  for (const std::string& spec : options.topics) {
    std::vector<std::string> parts = absl::StrSplit(spec, absl::MaxSplits(':', 1));
    const std::string& topic = parts[0];
    ASSIGN_OR_RETURN(auto described, admin.DescribeTopics({topic}));
    if (described.size() != 1 || described[0].error != v1::NONE) {
      return KafkaError(described.empty() ? v1::UNKNOWN_TOPIC_OR_PARTITION : described[0].error,
                        absl::StrCat("topic '", topic, "'"));
    }
    const int32_t count = static_cast<int32_t>(described[0].partitions.size());
    if (parts.size() == 1) {
      for (int32_t p = 0; p < count; ++p) out.insert({topic, p});
      continue;
    }
    for (absl::string_view id : absl::StrSplit(parts[1], ',', absl::SkipWhitespace())) {
      int32_t p = -1;
      if (!absl::SimpleAtoi(id, &p) || p < 0 || p >= count) {
        return absl::InvalidArgumentError(absl::StrCat("--topic ", spec, ": '", std::string(id),
                                                       "' is not a partition of ", topic,
                                                       " (it has ", count, ")"));
      }
      out.insert({topic, p});
    }
  }
  return std::vector<TopicPartition>(out.begin(), out.end());
}

absl::Status RunSeek(const GlobalOptions& global, const SeekOptions& options) {
  const int targets = options.to_earliest + options.to_latest + options.to_offset.has_value() +
                      !options.to_datetime.empty() + options.to_timestamp.has_value() +
                      options.shift_by.has_value();
  if (targets != 1) {
    return absl::InvalidArgumentError(
        "give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, "
        "--to-timestamp, --shift-by");
  }
  ASSIGN_OR_RETURN(auto admin, MakeAdmin(global));
  // Only an empty group may be reset: its members would overwrite the new
  // offsets (the coordinator enforces it too, with NON_EMPTY_GROUP).
  ASSIGN_OR_RETURN(auto described, admin->DescribeGroups({options.group}));
  if (!described.empty() && described[0].error_code() == v1::NONE &&
      described[0].members_size() > 0) {
    return KafkaError(
        v1::NON_EMPTY_GROUP,
        absl::StrCat("Assignments can only be reset if the group '", options.group,
                     "' is inactive, but the current state is ", described[0].group_state(),
                     " with ", described[0].members_size(),
                     " member(s); stop its consumers first"));
  }
  ASSIGN_OR_RETURN(std::vector<TopicPartition> partitions, SeekPartitions(*admin, options));
  ASSIGN_OR_RETURN(auto earliest, admin->ListOffsets(partitions, client::kEarliestTimestamp));
  ASSIGN_OR_RETURN(auto latest, admin->ListOffsets(partitions, client::kLatestTimestamp));
  std::map<TopicPartition, int64_t> committed;
  if (options.shift_by) {
    ASSIGN_OR_RETURN(committed, admin->ListConsumerGroupOffsets(options.group, partitions));
  }
  std::map<TopicPartition, int64_t> by_time;
  if (!options.to_datetime.empty() || options.to_timestamp) {
    int64_t ms = options.to_timestamp.value_or(0);
    if (!options.to_datetime.empty()) {
      ASSIGN_OR_RETURN(ms, ParseDatetime(options.to_datetime));
    }
    ASSIGN_OR_RETURN(by_time, admin->ListOffsets(partitions, ms));
  }
  std::map<TopicPartition, int64_t> plan;
  for (const TopicPartition& tp : partitions) {
    const int64_t low = earliest.at(tp), high = latest.at(tp);
    int64_t target = 0;
    if (options.to_earliest) {
      target = low;
    } else if (options.to_latest) {
      target = high;
    } else if (options.to_offset) {
      target = *options.to_offset;
    } else if (options.shift_by) {
      auto it = committed.find(tp);
      // Without a committed offset Kafka shifts from the log end.
      target = (it == committed.end() ? high : it->second) + *options.shift_by;
    } else {
      const int64_t found = by_time.at(tp);
      target = found < 0 ? high : found;
    }
    plan[tp] = std::clamp(target, low, high);
  }
  if (!options.dry_run) RETURN_IF_ERROR(admin->AlterConsumerGroupOffsets(options.group, plan));
  if (global.format() == OutputFormat::kJson) {
    nlohmann::json json = nlohmann::json::array();
    for (const auto& [tp, offset] : plan) {
      json.push_back({{"group", options.group},
                      {"topic", tp.topic},
                      {"partition", tp.partition},
                      {"new_offset", offset}});
    }
    std::cout << Dump(nlohmann::json{{"dry_run", options.dry_run}, {"offsets", json}}) << std::endl;
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [tp, offset] : plan) {
    rows.push_back({options.group, tp.topic, absl::StrCat(tp.partition), absl::StrCat(offset)});
  }
  std::printf("\n");
  PrintTable({"GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"}, rows);
  if (options.dry_run) std::printf("(dry run: nothing was changed)\n");
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// delete
// ---------------------------------------------------------------------------

absl::Status RunDelete(const GlobalOptions& global, const std::vector<std::string>& groups) {
  ASSIGN_OR_RETURN(auto admin, MakeAdmin(global));
  ASSIGN_OR_RETURN(auto results, admin->DeleteGroups(groups));
  absl::Status first_error;
  nlohmann::json json = nlohmann::json::array();
  for (const auto& r : results) {
    if (global.format() == OutputFormat::kJson) {
      json.push_back({{"group", r.group_id},
                      {"error", r.status.ok() ? "" : ErrorCodeName(ToErrorCode(r.status))},
                      {"message", std::string(r.status.message())}});
    } else if (r.status.ok()) {
      std::printf("Deleted consumer group '%s'.\n", r.group_id.c_str());
    } else {
      std::fprintf(stderr, "Error deleting consumer group '%s': %s\n", r.group_id.c_str(),
                   ErrorText(r.status).c_str());
    }
    if (!r.status.ok() && first_error.ok()) first_error = r.status;
  }
  if (global.format() == OutputFormat::kJson) std::cout << Dump(json) << std::endl;
  return first_error;
}

}  // namespace

void AddGroupCommands(CLI::App& root, const GlobalOptions& global, Commands& commands) {
  CLI::App* group = root.add_subcommand("group", "Consumer groups (kafka-consumer-groups)");
  group->require_subcommand(1);

  auto states = std::make_shared<std::vector<std::string>>();
  CLI::App* list = group->add_subcommand("list", "List groups (every broker is asked)");
  list->add_option("--state", *states, "Only groups in these states (Stable, Empty, ...)");
  commands.push_back({list, [&global, states] { return RunList(global, *states); }});

  auto describe_groups = std::make_shared<std::vector<std::string>>();
  CLI::App* describe = group->add_subcommand(
      "describe", "Offsets, log end offsets, lag and owners of each partition of the groups");
  describe->add_option("groups", *describe_groups, "Group ids")->required();
  commands.push_back(
      {describe, [&global, describe_groups] { return RunDescribe(global, *describe_groups); }});

  auto seek = std::make_shared<SeekOptions>();
  CLI::App* seek_app = group->add_subcommand(
      "seek", "Reset a group's committed offsets (only while it has no members)");
  seek_app->add_option("group", seek->group, "Group id")->required();
  seek_app->add_option("--topic", seek->topics,
                       "T or T:0,1,2 (repeatable; default: the topics the group has offsets for)");
  seek_app->add_flag("--to-earliest", seek->to_earliest, "To each partition's log start");
  seek_app->add_flag("--to-latest", seek->to_latest, "To each partition's log end");
  seek_app->add_option("--to-offset", seek->to_offset, "To this offset (clamped to the log)");
  seek_app->add_option("--to-datetime", seek->to_datetime,
                       "To the first record at or after YYYY-MM-DDTHH:mm:SS.sss[Z|+hh:mm]");
  seek_app->add_option("--to-timestamp", seek->to_timestamp,
                       "To the first record at or after this time (ms since the epoch)");
  seek_app->add_option("--shift-by", seek->shift_by, "Move each committed offset by N (+/-)");
  seek_app->add_flag("--dry-run", seek->dry_run, "Print the new offsets without committing them");
  commands.push_back({seek_app, [&global, seek] { return RunSeek(global, *seek); }});

  auto delete_groups = std::make_shared<std::vector<std::string>>();
  CLI::App* del = group->add_subcommand("delete", "Delete empty groups and their offsets");
  del->add_option("groups", *delete_groups, "Group ids")->required();
  commands.push_back({del, [&global, delete_groups] { return RunDelete(global, *delete_groups); }});
}

}  // namespace fjord::cli
