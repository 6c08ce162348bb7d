// ProcessCluster: a real Fjord cluster for tests: fjord-controller and
// fjord-broker processes on free loopback ports, data and logs under
// $TEST_TMPDIR (logs copied to the test's undeclared outputs), started the
// way an operator would (`format`, then `start`), killed with SIGKILL or
// stopped with SIGTERM on demand.
//
//   ProcessCluster cluster({.controllers = 3, .brokers = 3});
//   ASSERT_TRUE(cluster.Start().ok());
//   ASSERT_TRUE(cluster.WaitForBrokers(3).ok());
//   ... clients dial cluster.bootstrap_servers() / controller_addresses() ...
//
// Needs the binaries as data dependencies:
//   data = ["//controller/server:fjord-controller", "//broker:fjord-broker"]
// Every wait is bounded and fails with a message naming what it waited for.
// Not thread-safe: the test thread drives it.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tests/cluster/test_env.h"

namespace fjord::testing {

struct ProcessClusterOptions {
  int controllers = 1;
  int brokers = 1;
  std::string cluster_id = "test-cluster";
  // Extra broker properties (key=value), e.g. {"min.insync.replicas", "2"}.
  std::map<std::string, std::string> broker_properties;
  // Extra controller flags (--key=value).
  std::map<std::string, std::string> controller_flags;
  absl::Duration wait_max = absl::Seconds(60);
  // How long StopBroker waits for a SIGTERMed broker to exit.
  absl::Duration stop_max = absl::Seconds(30);
};

class ProcessCluster {
 public:
  explicit ProcessCluster(ProcessClusterOptions options);
  ~ProcessCluster();  // SIGKILLs whatever still runs

  // Formats and starts every controller, then every broker.
  absl::Status Start();

  absl::Status StartController(int id);
  absl::Status StartBroker(int id);
  void KillController(int id);  // SIGKILL
  void KillBroker(int id);      // SIGKILL
  // SIGTERM (controlled shutdown) and waits up to `stop_max` for the exit;
  // false if the broker had to be SIGKILLed after that.
  bool StopBroker(int id);

  // Waits until `count` brokers are registered and unfenced (as the active
  // controller's DescribeCluster says).
  absl::Status WaitForBrokers(int count);

  std::string bootstrap_servers() const;     // "127.0.0.1:p1,127.0.0.1:p2"
  std::string controller_addresses() const;  // same form, controllers
  std::string broker_address(int id) const;
  std::string controller_address(int id) const;
  const std::string& root() const { return root_; }

 private:
  pid_t Spawn(const std::vector<std::string>& args, const std::string& log_name);

  ProcessClusterOptions options_;
  std::string root_;
  std::string logs_;
  std::string voters_;
  std::map<int, int> controller_ports_;
  std::map<int, int> broker_ports_;
  std::map<int, pid_t> controller_pids_;
  std::map<int, pid_t> broker_pids_;
};

}  // namespace fjord::testing
