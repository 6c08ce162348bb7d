// Small helpers for tests that run real processes: a free loopback port and
// the path of a runfile (a binary the test depends on as data).
#pragma once

#include <string>

namespace fjord::testing {

// A loopback TCP port that is free right now (the OS picks it; another
// process could still take it before the caller binds).
int FreeLoopbackPort();

// The path of a runfile of this workspace, e.g. "broker/fjord-broker".
std::string Runfile(const std::string& path);

}  // namespace fjord::testing
