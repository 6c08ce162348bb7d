// Ctrl-C handling for long-running commands (consume, perf): SIGINT and
// SIGTERM set a flag that the command's loop checks between polls, so it
// stops cleanly and prints its summary instead of dying mid-line.
#pragma once

namespace fjord::cli {

// Installs the handlers; idempotent.
void InstallInterruptHandler();

// True once SIGINT or SIGTERM arrived.
bool Interrupted();

}  // namespace fjord::cli
