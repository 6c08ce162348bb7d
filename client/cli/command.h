// One runnable `fjord` command: the CLI11 subcommand that parses its flags
// and the function that runs it once parsing succeeded.
//
// Each command group (produce, consume, perf, topic, ...) registers its
// subcommands with an Add*Commands function; main parses, finds the parsed
// subcommand and calls `run`. Parse errors are CLI11 exceptions handled in
// main only; `run` reports run-time failures as absl::Status (exit code 1).
#pragma once

#include <functional>
#include <vector>

#include "absl/status/status.h"

namespace CLI {
class App;
}

namespace fjord::cli {

struct GlobalOptions;

struct Command {
  CLI::App* app = nullptr;
  std::function<absl::Status()> run;
};

using Commands = std::vector<Command>;

void AddProduceCommand(CLI::App& root, const GlobalOptions& global, Commands& commands);
void AddConsumeCommand(CLI::App& root, const GlobalOptions& global, Commands& commands);
void AddTopicCommands(CLI::App& root, const GlobalOptions& global, Commands& commands);
// Under `fjord topic`: create, delete, alter-config (through the admin client).
void AddTopicAdminCommands(CLI::App& topic, const GlobalOptions& global, Commands& commands);
void AddClusterCommands(CLI::App& root, const GlobalOptions& global, Commands& commands);
// `fjord group list|describe|seek|delete`.
void AddGroupCommands(CLI::App& root, const GlobalOptions& global, Commands& commands);
// Under `fjord perf`.
void AddPerfProduceCommand(CLI::App& perf, const GlobalOptions& global, Commands& commands);
void AddPerfConsumeCommand(CLI::App& perf, const GlobalOptions& global, Commands& commands);

}  // namespace fjord::cli
