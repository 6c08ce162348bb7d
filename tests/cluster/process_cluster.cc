#include "tests/cluster/process_cluster.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "proto/fjord/v1/controller.grpc.pb.h"

namespace fjord::testing {
namespace {

void Reap(pid_t& pid, int signal) {
  if (pid <= 0) return;
  kill(pid, signal);
  waitpid(pid, nullptr, 0);
  pid = -1;
}

}  // namespace

ProcessCluster::ProcessCluster(ProcessClusterOptions options) : options_(std::move(options)) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  root_ = (std::filesystem::path(tmp ? tmp : "/tmp") /
           absl::StrCat("process-cluster-", getpid(), "-", FreeLoopbackPort()))
              .string();
  const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  logs_ = outputs ? outputs : root_;
  std::filesystem::create_directories(root_);
  std::filesystem::create_directories(logs_);
  std::vector<std::string> voters;
  for (int i = 1; i <= options_.controllers; ++i) {
    controller_ports_[i] = FreeLoopbackPort();
    voters.push_back(absl::StrCat(i, "@127.0.0.1:", controller_ports_[i]));
  }
  // Broker ids start above the controllers' so the two never clash.
  for (int i = 1; i <= options_.brokers; ++i) broker_ports_[100 + i] = FreeLoopbackPort();
  voters_ = absl::StrJoin(voters, ",");
}

ProcessCluster::~ProcessCluster() {
  for (auto& [id, pid] : broker_pids_) Reap(pid, SIGKILL);
  for (auto& [id, pid] : controller_pids_) Reap(pid, SIGKILL);
}

pid_t ProcessCluster::Spawn(const std::vector<std::string>& args, const std::string& log_name) {
  return SpawnProcess(args, (std::filesystem::path(logs_) / log_name).string());
}

absl::Status ProcessCluster::StartController(int id) {
  const std::string binary = Runfile("controller/server/fjord-controller");
  const std::string dir = (std::filesystem::path(root_) / absl::StrCat("controller-", id)).string();
  std::vector<std::string> common = {absl::StrCat("--node.id=", id),
                                     "--controller.quorum.voters=" + voters_,
                                     "--metadata.log.dir=" + dir};
  if (!std::filesystem::exists(std::filesystem::path(dir) / "meta.properties")) {
    std::vector<std::string> format = {binary, "format", "--cluster.id=" + options_.cluster_id};
    format.insert(format.end(), common.begin(), common.end());
    const std::string log =
        (std::filesystem::path(logs_) / absl::StrCat("controller-", id, "-format.log")).string();
    if (RunProcess(format, log) != 0) {
      return absl::InternalError(
          absl::StrCat("fjord-controller format failed for node ", id, " (see ", logs_, ")"));
    }
  }
  std::vector<std::string> start = {binary, "start"};
  start.insert(start.end(), common.begin(), common.end());
  start.push_back("--log.level=info");
  for (const auto& [k, v] : options_.controller_flags)
    start.push_back(absl::StrCat("--", k, "=", v));
  controller_pids_[id] = Spawn(start, absl::StrCat("controller-", id, ".log"));
  return absl::OkStatus();
}

absl::Status ProcessCluster::StartBroker(int id) {
  const std::filesystem::path props =
      std::filesystem::path(root_) / absl::StrCat("broker-", id, ".properties");
  std::ofstream out(props);
  out << "node.id=" << id << "\ncluster.id=" << options_.cluster_id
      << "\nlisteners=PLAINTEXT://127.0.0.1:" << broker_ports_.at(id)
      << "\nlog.dirs=" << (std::filesystem::path(root_) / absl::StrCat("broker-", id)).string()
      << "\ncontroller.quorum.voters=" << voters_ << "\nbroker.heartbeat.interval.ms=300"
      << "\nmetrics.listen=127.0.0.1:" << FreeLoopbackPort() << "\n";
  for (const auto& [k, v] : options_.broker_properties) out << k << "=" << v << "\n";
  out.close();
  broker_pids_[id] = Spawn({Runfile("broker/fjord-broker"), "--config", props.string()},
                           absl::StrCat("broker-", id, ".log"));
  return absl::OkStatus();
}

absl::Status ProcessCluster::Start() {
  for (int i = 1; i <= options_.controllers; ++i) {
    if (absl::Status s = StartController(i); !s.ok()) return s;
  }
  for (const auto& [id, port] : broker_ports_) {
    if (absl::Status s = StartBroker(id); !s.ok()) return s;
  }
  return absl::OkStatus();
}

void ProcessCluster::KillController(int id) { Reap(controller_pids_[id], SIGKILL); }
void ProcessCluster::KillBroker(int id) { Reap(broker_pids_[id], SIGKILL); }
bool ProcessCluster::StopBroker(int id) {
  pid_t& pid = broker_pids_[id];
  if (pid <= 0) return true;
  kill(pid, SIGTERM);
  const absl::Time deadline = absl::Now() + options_.stop_max;
  while (waitpid(pid, nullptr, WNOHANG) == 0) {
    if (absl::Now() > deadline) {
      std::fprintf(stderr, "broker %d still running %s after SIGTERM: killed (logs in %s)\n", id,
                   absl::FormatDuration(options_.stop_max).c_str(), logs_.c_str());
      Reap(pid, SIGKILL);
      return false;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  pid = -1;
  return true;
}

absl::Status ProcessCluster::WaitForBrokers(int count) {
  const absl::Time deadline = absl::Now() + options_.wait_max;
  int seen = 0;
  while (absl::Now() < deadline) {
    for (const auto& [id, port] : controller_ports_) {
      auto stub = v1::ControllerService::NewStub(grpc::CreateChannel(
          absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
      v1::DescribeClusterResponse response;
      if (!stub->DescribeCluster(&context, v1::DescribeClusterRequest(), &response).ok() ||
          response.error_code() != v1::NONE) {
        continue;
      }
      seen = 0;
      for (const auto& b : response.brokers()) seen += b.fenced() ? 0 : 1;
      if (seen >= count) return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("timed out after ", absl::FormatDuration(options_.wait_max), " waiting for ",
                   count, " unfenced brokers (saw ", seen, "); logs in ", logs_));
}

std::string ProcessCluster::broker_address(int id) const {
  return absl::StrCat("127.0.0.1:", broker_ports_.at(id));
}

std::string ProcessCluster::controller_address(int id) const {
  return absl::StrCat("127.0.0.1:", controller_ports_.at(id));
}

std::string ProcessCluster::bootstrap_servers() const {
  std::vector<std::string> out;
  for (const auto& [id, port] : broker_ports_) out.push_back(broker_address(id));
  return absl::StrJoin(out, ",");
}

std::string ProcessCluster::controller_addresses() const {
  std::vector<std::string> out;
  for (const auto& [id, port] : controller_ports_) out.push_back(controller_address(id));
  return absl::StrJoin(out, ",");
}

}  // namespace fjord::testing
