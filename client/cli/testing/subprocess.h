// Runs a program as a child process for end-to-end CLI tests: feeds it stdin,
// collects stdout and stderr on reader threads, and waits with a bound.
//
//   auto child = Subprocess::Start({fjord, "consume", "t"}, /*stdin_data=*/"");
//   ASSERT_TRUE(child->WaitForStdout("hello\n", absl::Seconds(30)));
//   child->Signal(SIGINT);
//   Subprocess::Result result = child->Wait(absl::Seconds(30));
//
// The destructor kills a child that is still running. Thread-safe.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fjord::cli::testing {

class Subprocess {
 public:
  struct Result {
    bool timed_out = false;  // killed by Wait after its timeout
    int exit_code = -1;      // -1 when ended by a signal
    std::string out;
    std::string err;
  };

  // Starts argv[0] (a path) with `stdin_data` written to its stdin, which is
  // then closed.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(const std::vector<std::string>& argv,
                                                           std::string stdin_data);
  ~Subprocess();

  // True once stdout contains `needle`; false after `timeout`.
  bool WaitForStdout(std::string_view needle, absl::Duration timeout);
  void Signal(int signal);
  // Waits for the exit, SIGKILLing the child after `timeout`.
  Result Wait(absl::Duration timeout);

 private:
  Subprocess() = default;
  void ReadLoop(int fd, std::string* sink);

  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::thread writer_;
  std::thread out_reader_;
  std::thread err_reader_;
  absl::Mutex mu_;  // guards the captured output
  std::string out_ ABSL_GUARDED_BY(mu_);
  std::string err_ ABSL_GUARDED_BY(mu_);
};

// The `fjord` binary in this test's runfiles.
std::string FjordBinary();

}  // namespace fjord::cli::testing
