// `fjord topic create|delete|alter-config`: topic changes through the admin
// client (the controller quorum), with kafka-topics / kafka-configs
// messages and one exit code for the whole batch (1 if any topic failed).
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/admin.h"
#include "client/cli/command.h"
#include "client/cli/global_options.h"
#include "common/kafka_error.h"
#include "common/status_macros.h"

namespace fjord::cli {
namespace {

struct CreateOptions {
  std::vector<std::string> topics;
  int32_t partitions = -1;
  int32_t replication_factor = -1;
  std::vector<std::string> configs;
  bool dry_run = false;
};

struct AlterOptions {
  std::string topic;
  std::vector<std::string> set;
  std::vector<std::string> remove;
  bool dry_run = false;
};

absl::StatusOr<std::map<std::string, std::string>> ParseConfigs(
    const std::vector<std::string>& specs) {
  std::map<std::string, std::string> configs;
  for (const std::string& spec : specs) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat("config '", spec, "' is not key=value"));
    }
    configs[spec.substr(0, eq)] = spec.substr(eq + 1);
  }
  return configs;
}

// Prints one line per topic (`verb` on success, the error on stderr
// otherwise) or a JSON array; an error status when any topic failed.
absl::Status Report(const GlobalOptions& global, const std::vector<client::TopicResult>& results,
                    const std::string& verb, const std::string& action) {
  nlohmann::json json = nlohmann::json::array();
  int failed = 0;
  for (const client::TopicResult& result : results) {
    if (!result.status.ok()) ++failed;
    if (global.format() == OutputFormat::kJson) {
      json.push_back({{"name", result.name},
                      {"error", ErrorCodeName(ToErrorCode(result.status))},
                      {"message", std::string(result.status.message())},
                      {"topic_id", result.topic_id},
                      {"partitions", result.num_partitions},
                      {"replication_factor", result.replication_factor}});
    } else if (result.status.ok()) {
      std::cout << verb << " topic " << result.name << "." << std::endl;
    } else {
      std::cerr << "Error while " << action << " topic " << result.name << ": "
                << ErrorText(result.status) << std::endl;
    }
  }
  if (global.format() == OutputFormat::kJson) {
    std::cout << json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  }
  if (failed > 0) {
    return absl::AbortedError(absl::StrCat(failed, " of ", results.size(), " topics failed"));
  }
  return absl::OkStatus();
}

absl::Status RunCreate(const GlobalOptions& global, const CreateOptions& options) {
  ASSIGN_OR_RETURN(auto configs, ParseConfigs(options.configs));
  std::vector<client::NewTopic> topics;
  for (const std::string& name : options.topics) {
    topics.push_back({.name = name,
                      .num_partitions = options.partitions,
                      .replication_factor = options.replication_factor,
                      .configs = configs});
  }
  ASSIGN_OR_RETURN(std::unique_ptr<client::Admin> admin, MakeAdmin(global));
  ASSIGN_OR_RETURN(auto results, admin->CreateTopics(topics, options.dry_run));
  return Report(global, results, options.dry_run ? "Would create" : "Created", "creating");
}

absl::Status RunDelete(const GlobalOptions& global, const std::vector<std::string>& topics) {
  ASSIGN_OR_RETURN(std::unique_ptr<client::Admin> admin, MakeAdmin(global));
  ASSIGN_OR_RETURN(auto results, admin->DeleteTopics(topics));
  return Report(global, results, "Deleted", "deleting");
}

absl::Status RunAlterConfig(const GlobalOptions& global, const AlterOptions& options) {
  ASSIGN_OR_RETURN(auto set, ParseConfigs(options.set));
  std::vector<client::ConfigOp> ops;
  for (const auto& [name, value] : set) {
    ops.push_back({.type = client::ConfigOp::Type::kSet, .name = name, .value = value});
  }
  for (const std::string& name : options.remove) {
    ops.push_back({.type = client::ConfigOp::Type::kDelete, .name = name});
  }
  if (ops.empty()) return absl::InvalidArgumentError("give --set key=value or --delete key");
  ASSIGN_OR_RETURN(std::unique_ptr<client::Admin> admin, MakeAdmin(global));
  RETURN_IF_ERROR(admin->IncrementalAlterConfigs(v1::ConfigResource::TOPIC, options.topic, ops,
                                                 options.dry_run));
  if (global.format() == OutputFormat::kJson) {
    std::cout << nlohmann::json{{"name", options.topic}, {"altered", ops.size()}}.dump()
              << std::endl;
  } else {
    std::cout << (options.dry_run ? "Validated" : "Completed updating") << " config for topic "
              << options.topic << "." << std::endl;
  }
  return absl::OkStatus();
}

}  // namespace

void AddTopicAdminCommands(CLI::App& topic, const GlobalOptions& global, Commands& commands) {
  auto create = std::make_shared<CreateOptions>();
  CLI::App* create_app = topic.add_subcommand("create", "Create topics");
  create_app->add_option("topics", create->topics, "Topics to create")->required();
  create_app->add_option("-p,--partitions", create->partitions,
                         "Partitions (default: the broker's num.partitions)");
  create_app->add_option("-r,--replication-factor", create->replication_factor,
                         "Replication factor (default: default.replication.factor)");
  create_app->add_option("-c,--config", create->configs, "Topic config key=value (repeatable)")
      ->allow_extra_args(false);
  create_app->add_flag("--dry-run,--validate-only", create->dry_run,
                       "Validate only; create nothing");
  commands.push_back({create_app, [&global, create] { return RunCreate(global, *create); }});

  auto names = std::make_shared<std::vector<std::string>>();
  CLI::App* delete_app = topic.add_subcommand("delete", "Delete topics");
  delete_app->add_option("topics", *names, "Topics to delete")->required();
  commands.push_back({delete_app, [&global, names] { return RunDelete(global, *names); }});

  auto alter = std::make_shared<AlterOptions>();
  CLI::App* alter_app = topic.add_subcommand("alter-config", "Set or delete topic configs");
  alter_app->add_option("topic", alter->topic, "Topic")->required();
  alter_app->add_option("-s,--set,--add-config", alter->set, "key=value to set (repeatable)")
      ->allow_extra_args(false);
  alter_app
      ->add_option("-d,--delete,--delete-config", alter->remove,
                   "Key to delete, back to the default (repeatable)")
      ->allow_extra_args(false);
  alter_app->add_flag("--dry-run,--validate-only", alter->dry_run, "Validate only");
  commands.push_back({alter_app, [&global, alter] { return RunAlterConfig(global, *alter); }});
}

}  // namespace fjord::cli
