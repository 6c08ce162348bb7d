// What every `fjord` command shares: where the cluster is, how to print, and
// the SDK properties given on the command line.
//
// Properties are layered, later wins: the command's defaults, then `-X k=v`
// (any client), then the `--producer.config` / `--consumer.config` file,
// then `--producer-property` / `--consumer-property`, then the command's own
// flags (`--acks`, `--compression-type`, ...). Unknown keys are
// rejected by the SDK's FromProperties with the key's name.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/admin.h"
#include "client/config.h"

namespace CLI {
class App;
}

namespace fjord::cli {

enum class OutputFormat { kText, kJson };

struct GlobalOptions {
  std::string bootstrap_servers = "localhost:9092";
  std::string bootstrap_controllers;    // "" = ask bootstrap_servers
  std::string output = "text";          // "text" or "json"
  std::vector<std::string> properties;  // -X key=value

  OutputFormat format() const {
    return output == "json" ? OutputFormat::kJson : OutputFormat::kText;
  }
  // bootstrap_servers split at commas, blanks dropped.
  std::vector<std::string> BootstrapList() const;
};

// Adds -b/--bootstrap-server (env FJORD_BOOTSTRAP_SERVERS), --output and -X
// to `app`; subcommands inherit them through fallthrough.
void AddGlobalOptions(CLI::App& app, GlobalOptions& options);

// The properties for a client: bootstrap.servers, then `defaults`, then -X,
// then `client_specific` ("k=v" strings), then `overrides`.
absl::StatusOr<client::Properties> BuildProperties(const GlobalOptions& global,
                                                   const client::Properties& defaults,
                                                   const std::vector<std::string>& client_specific,
                                                   const client::Properties& overrides);

// The client-specific property lines: those of `config_file` (Kafka's
// --producer.config / --consumer.config; "" for none), then `properties`.
absl::StatusOr<std::vector<std::string>> ClientPropertyLines(
    const std::string& config_file, const std::vector<std::string>& properties);

// "UNKNOWN_TOPIC_OR_PARTITION: message": the Kafka error name users know,
// then the SDK's explanation.
std::string ErrorText(const absl::Status& status);

// An admin client for the cluster (controllers from --bootstrap-controller,
// else the bootstrap servers) with `defaults`, then -X properties applied.
absl::StatusOr<std::unique_ptr<client::Admin>> MakeAdmin(const GlobalOptions& global,
                                                         const client::Properties& defaults = {});

}  // namespace fjord::cli
