// Process-wide spdlog setup: one line per event, stamped with the node.
//
//   fjord::InitLogging({.node = "broker-1", .level = "info"});
//   spdlog::info("partition {}-{} became leader at epoch {}", topic, p, epoch);
#pragma once

#include <string>

#include "absl/status/status.h"

namespace fjord {

struct LoggingOptions {
  // Printed on every line, e.g. "controller-1" or "broker-3".
  std::string node = "fjord";
  // trace, debug, info, warn, error, critical or off.
  std::string level = "info";
  // Empty: standard error. Otherwise a file appended to.
  std::string file;
};

// Replaces the default logger. Returns InvalidArgument for an unknown level
// and the I/O error when the log file cannot be opened.
absl::Status InitLogging(const LoggingOptions& options);

}  // namespace fjord
