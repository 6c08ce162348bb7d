// Worst concurrent fdatasync while a 1 GiB segment is deleted, by one unlink
// (--unlink) or by FileDeleter (default). Writes 1 GiB under --dir (on the
// disk to measure) and removes it.
//   bazel run --config=opt //storage:file_deleter_bench -- --dir=/tmp/x [--unlink]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "storage/file_deleter.h"

int main(int argc, char** argv) {
  std::string dir = "/tmp/file_deleter_bench";
  bool unlink_once = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--dir=", 6) == 0) dir = argv[i] + 6;
    if (std::strcmp(argv[i], "--unlink") == 0) unlink_once = true;
  }
  std::filesystem::create_directories(dir);
  const std::string big = dir + "/00000000000000000000.log.deleted";
  const std::string small = dir + "/small";
  {
    const int fd = ::open(big.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const std::string buf(8 << 20, 'x');
    for (int i = 0; i < 128; ++i) {
      if (::write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size())) return 1;
    }
    ::fsync(fd);
    ::close(fd);
  }
  absl::SleepFor(absl::Seconds(1));
  std::atomic<bool> stop{false};
  std::vector<double> lat;
  std::thread syncer([&] {
    const int fd = ::open(small.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const std::string page(4096, 'y');
    for (off_t off = 0; !stop.load(); off += 4096) {
      const absl::Time t = absl::Now();
      if (::pwrite(fd, page.data(), page.size(), off) < 0 || ::fdatasync(fd) != 0) break;
      lat.push_back(absl::ToDoubleMilliseconds(absl::Now() - t));
    }
    ::close(fd);
  });
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time t0 = absl::Now();
  double caller_ms = 0;
  if (unlink_once) {
    ::unlink(big.c_str());
    caller_ms = absl::ToDoubleMilliseconds(absl::Now() - t0);
  } else {
    fjord::storage::FileDeleter deleter;
    deleter.DeleteFile(big);
    caller_ms = absl::ToDoubleMilliseconds(absl::Now() - t0);
    deleter.WaitIdle();
  }
  const double total_ms = absl::ToDoubleMilliseconds(absl::Now() - t0);
  absl::SleepFor(absl::Milliseconds(300));
  stop = true;
  syncer.join();
  ::unlink(small.c_str());
  std::sort(lat.begin(), lat.end());
  std::printf(
      "%s: caller %.2f ms, deletion %.0f ms; fdatasync n=%zu p50 %.2f p99 %.2f max %.2f ms\n",
      unlink_once ? "unlink" : "FileDeleter", caller_ms, total_ms, lat.size(), lat[lat.size() / 2],
      lat[lat.size() * 99 / 100], lat.back());
  return 0;
}
