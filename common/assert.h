// Assertions for broken invariants: programmer errors that must crash loudly.
// Expected run-time failures use absl::Status instead, never these.
//
//   FJORD_CHECK(commit <= last_index) << "commit " << commit << " last " << last_index;
//   FJORD_DCHECK(...)   // compiled out under NDEBUG (--config=opt)
#pragma once

#include <cstdlib>
#include <iostream>
#include <sstream>

#include "absl/base/optimization.h"

namespace fjord::internal {

// Collects a failure message; aborts the process when destroyed.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition) {
    stream_ << file << ":" << line << ": check failed: " << condition << " ";
  }
  CheckFailure(const CheckFailure&) = delete;
  CheckFailure& operator=(const CheckFailure&) = delete;
  [[noreturn]] ~CheckFailure() {
    std::cerr << stream_.str() << std::endl;
    std::abort();
  }
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

// Lets `cond ? (void)0 : Voidify() & stream << ...` type-check.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace fjord::internal

#define FJORD_CHECK(cond)              \
  (ABSL_PREDICT_TRUE(cond))            \
      ? (void)0                        \
      : ::fjord::internal::Voidify() & \
            ::fjord::internal::CheckFailure(__FILE__, __LINE__, #cond).stream()

#ifdef NDEBUG
#define FJORD_DCHECK(cond) \
  while (false) FJORD_CHECK(cond)
#else
#define FJORD_DCHECK(cond) FJORD_CHECK(cond)
#endif
