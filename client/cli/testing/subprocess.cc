#include "client/cli/testing/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace fjord::cli::testing {
namespace {

void WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the child closed its stdin
    done += static_cast<size_t>(n);
  }
  close(fd);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(const std::vector<std::string>& argv,
                                                              std::string stdin_data) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: errno ", errno));
  }
  // Built before fork: the child may only call async-signal-safe functions.
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: errno ", errno));
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  auto child = std::unique_ptr<Subprocess>(new Subprocess());
  child->pid_ = pid;
  // The child must not die of SIGPIPE's default here; a closed stdin just
  // ends the writer.
  signal(SIGPIPE, SIG_IGN);
  child->writer_ = std::thread([fd = in[1], data = std::move(stdin_data)] { WriteAll(fd, data); });
  Subprocess* raw = child.get();
  child->out_reader_ = std::thread([raw, fd = out[0]] { raw->ReadLoop(fd, &raw->out_); });
  child->err_reader_ = std::thread([raw, fd = err[0]] { raw->ReadLoop(fd, &raw->err_); });
  return child;
}

void Subprocess::ReadLoop(int fd, std::string* sink) {
  char buffer[4096];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    absl::MutexLock lock(&mu_);
    sink->append(buffer, static_cast<size_t>(n));
  }
  close(fd);
}

bool Subprocess::WaitForStdout(std::string_view needle, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto found = [this, needle]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return out_.find(needle) != std::string::npos;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&found), timeout);
}

void Subprocess::Signal(int signal) {
  if (!reaped_) kill(pid_, signal);
}

Subprocess::Result Subprocess::Wait(absl::Duration timeout) {
  Result result;
  const absl::Time deadline = absl::Now() + timeout;
  while (!reaped_) {
    const pid_t done = waitpid(pid_, &status_, WNOHANG);
    if (done == pid_) {
      reaped_ = true;
      break;
    }
    if (absl::Now() >= deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status_, 0);
      reaped_ = true;
      result.timed_out = true;
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  // The pipes close when the child exits, ending the threads.
  if (writer_.joinable()) writer_.join();
  if (out_reader_.joinable()) out_reader_.join();
  if (err_reader_.joinable()) err_reader_.join();
  result.exit_code = WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  absl::MutexLock lock(&mu_);
  result.out = out_;
  result.err = err_;
  return result;
}

Subprocess::~Subprocess() {
  if (!reaped_) Wait(absl::ZeroDuration());
}

std::string FjordBinary() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir ? srcdir : ".", "/", workspace ? workspace : "fjord",
                      "/client/cli/fjord");
}

}  // namespace fjord::cli::testing
