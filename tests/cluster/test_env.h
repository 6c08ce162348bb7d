// Small helpers for tests that run real processes: a free loopback port and
// the path of a runfile (a binary the test depends on as data).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace fjord::testing {

// A loopback TCP port reserved for this test process until it exits: no
// other test's FreeLoopbackPort, bind to port 0 or outgoing connection can
// get it, even while the server the test starts on it is down (between a
// kill and a restart). The reservation is a socket bound to 127.0.0.1:port
// with SO_REUSEADDR and SO_REUSEPORT that never listens; a server that binds
// with SO_REUSEADDR (gRPC, civetweb) can still listen there. Returns -1 (and
// prints why) only if the OS has no port to give.
int FreeLoopbackPort();

// The path of a runfile of this workspace, e.g. "broker/fjord-broker".
std::string Runfile(const std::string& path);

// Starts `args[0]` with `args` as its argv and returns its pid. With a
// `log_path`, the child's stdout and stderr are appended to that file;
// otherwise they are inherited. Children started from the main thread get
// SIGKILL when the test process dies (PR_SET_PDEATHSIG).
pid_t SpawnProcess(const std::vector<std::string>& args, const std::string& log_path = "");

// SpawnProcess, then waits up to `timeout` for the child: its exit code, or
// -1 if a signal ended it or it was still running at `timeout` (then it is
// SIGKILLed and the reason printed to stderr).
int RunProcess(const std::vector<std::string>& args, const std::string& log_path = "",
               absl::Duration timeout = absl::Seconds(60));

}  // namespace fjord::testing
