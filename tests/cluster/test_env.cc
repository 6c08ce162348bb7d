#include "tests/cluster/test_env.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace fjord::testing {

int FreeLoopbackPort() {
  // The old way (bind to port 0, close, return the port) raced: until the
  // server bound it, the kernel could hand the same port to another test
  // running in parallel or use it as the local port of an outgoing
  // connection, and a broker's port was free for anyone while the broker was
  // being restarted. The socket below is never closed (the kernel frees it
  // when the process exits) and not inherited by children (SOCK_CLOEXEC).
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("FreeLoopbackPort: socket");
    return -1;
  }
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;  // the kernel never picks a port another socket holds
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("FreeLoopbackPort: bind");
    close(fd);
    return -1;
  }
  return ntohs(addr.sin_port);
}

std::string Runfile(const std::string& path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir ? srcdir : ".", "/", workspace ? workspace : "fjord", "/", path);
}

pid_t SpawnProcess(const std::vector<std::string>& args, const std::string& log_path) {
  // A child started from the main thread dies with the test process, so a
  // crashed or killed test leaves no cluster behind. (The death signal fires
  // when the forking *thread* exits, so children of other threads are left to
  // the test's own cleanup.)
  const pid_t parent = getpid();
  const bool from_main_thread = syscall(SYS_gettid) == parent;
  const pid_t pid = fork();
  if (pid == 0) {
    if (from_main_thread) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);  // the test died before prctl
    }
    if (!log_path.empty()) {
      const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
      }
    }
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

int RunProcess(const std::vector<std::string>& args, const std::string& log_path,
               absl::Duration timeout) {
  const pid_t pid = SpawnProcess(args, log_path);
  if (pid < 0) return -1;
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0) return -1;
    if (absl::Now() > deadline) {
      std::fprintf(stderr, "RunProcess: %s still running after %s; killed\n", args[0].c_str(),
                   absl::FormatDuration(timeout).c_str());
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return -1;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace fjord::testing
