// fjord: the command-line tool for Fjord clusters, with rpk's nouns and
// verbs and Kafka's flag spellings. Exit codes: 0 success, 1 a run-time
// failure (printed as "fjord: ERROR_NAME: message"), CLI11's codes (106,
// 105, ...) for a command line that does not parse.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "client/cli/command.h"
#include "client/cli/global_options.h"
#include "common/logging.h"

int main(int argc, char** argv) {
  using fjord::cli::Command;
  // The SDK's log lines (retries, reconnects) go to standard error at warn
  // and above, so standard output carries only records and results.
  (void)fjord::InitLogging({.node = "fjord", .level = "warn"});
  fjord::cli::GlobalOptions global;
  fjord::cli::Commands commands;
  CLI::App app("fjord: produce, consume, inspect and benchmark a Fjord cluster", "fjord");
  app.fallthrough();
  app.require_subcommand(1);
  fjord::cli::AddGlobalOptions(app, global);
  fjord::cli::AddProduceCommand(app, global, commands);
  fjord::cli::AddConsumeCommand(app, global, commands);
  fjord::cli::AddTopicCommands(app, global, commands);
  fjord::cli::AddClusterCommands(app, global, commands);
  fjord::cli::AddGroupCommands(app, global, commands);
  CLI::App* perf = app.add_subcommand("perf", "Benchmarks like Kafka's perf-test tools");
  perf->require_subcommand(1);
  fjord::cli::AddPerfProduceCommand(*perf, global, commands);
  fjord::cli::AddPerfConsumeCommand(*perf, global, commands);

  // CLI11 reports parse errors as exceptions; this is the only place they
  // are caught.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  for (const Command& command : commands) {
    if (!command.app->parsed()) continue;
    const absl::Status status = command.run();
    if (!status.ok()) {
      std::fprintf(stderr, "fjord: %s\n", fjord::cli::ErrorText(status).c_str());
      return 1;
    }
    return 0;
  }
  std::fprintf(stderr, "fjord: no command given; see fjord --help\n");
  return 1;
}
