#include "client/cli/global_options.h"

#include <CLI/CLI.hpp>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/kafka_error.h"
#include "common/status_macros.h"

namespace fjord::cli {

void AddGlobalOptions(CLI::App& app, GlobalOptions& options) {
  app.add_option("-b,--bootstrap-server", options.bootstrap_servers,
                 "Broker addresses, host:port[,host:port...]")
      ->envname("FJORD_BOOTSTRAP_SERVERS")
      ->capture_default_str();
  app.add_option("--bootstrap-controller", options.bootstrap_controllers,
                 "Controller addresses for admin commands (default: the bootstrap servers)")
      ->envname("FJORD_BOOTSTRAP_CONTROLLERS");
  app.add_option("--output", options.output, "Output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("-X", options.properties,
                 "SDK property key=value for the command's client (repeatable)")
      ->allow_extra_args(false);
}

std::vector<std::string> GlobalOptions::BootstrapList() const {
  return absl::StrSplit(bootstrap_servers, ',', absl::SkipWhitespace());
}

absl::StatusOr<client::Properties> BuildProperties(const GlobalOptions& global,
                                                   const client::Properties& defaults,
                                                   const std::vector<std::string>& client_specific,
                                                   const client::Properties& overrides) {
  client::Properties properties = {{"bootstrap.servers", global.bootstrap_servers}};
  for (const auto& [key, value] : defaults) properties[key] = value;
  for (const std::vector<std::string>* lines : {&global.properties, &client_specific}) {
    ASSIGN_OR_RETURN(client::Properties parsed, client::ParseProperties(*lines));
    for (auto& [key, value] : parsed) properties[key] = value;
  }
  for (const auto& [key, value] : overrides) properties[key] = value;
  return properties;
}

absl::StatusOr<std::vector<std::string>> ClientPropertyLines(
    const std::string& config_file, const std::vector<std::string>& properties) {
  std::vector<std::string> lines;
  if (!config_file.empty()) {
    std::ifstream file(config_file);
    if (!file) return absl::NotFoundError(absl::StrCat("cannot read ", config_file));
    for (std::string line; std::getline(file, line);) lines.push_back(line);
  }
  lines.insert(lines.end(), properties.begin(), properties.end());
  return lines;
}

std::string ErrorText(const absl::Status& status) {
  return absl::StrCat(ErrorCodeName(ToErrorCode(status)), ": ", status.message());
}

absl::StatusOr<std::unique_ptr<client::Admin>> MakeAdmin(const GlobalOptions& global,
                                                         const client::Properties& defaults) {
  client::Properties overrides;
  if (!global.bootstrap_controllers.empty()) {
    overrides["bootstrap.controllers"] = global.bootstrap_controllers;
  }
  ASSIGN_OR_RETURN(client::Properties properties, BuildProperties(global, defaults, {}, overrides));
  ASSIGN_OR_RETURN(client::AdminConfig config, client::AdminConfig::FromProperties(properties));
  return client::Admin::Create(config);
}

}  // namespace fjord::cli
