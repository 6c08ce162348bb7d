// FreeLoopbackPort reserves its port for the test process: nothing else on
// the machine gets it (other tests' reservations, bind to port 0, outgoing
// connections), while a server binding with SO_REUSEADDR, as gRPC and
// civetweb do, can listen there and be restarted there.
#include "tests/cluster/test_env.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "absl/time/clock.h"

namespace fjord::testing {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

// A socket bound to `port` (0: the kernel picks), with SO_REUSEADDR if
// `reuse_addr`; its fd, or -1 with errno set.
int Bind(int port, bool reuse_addr) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const int on = 1;
  if (reuse_addr) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  sockaddr_in addr = Loopback(port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

int LocalPort(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

TEST(FreeLoopbackPortTest, NobodyElseCanBindTheReservedPort) {
  const int port = FreeLoopbackPort();
  ASSERT_GT(port, 0);
  EXPECT_EQ(Bind(port, /*reuse_addr=*/false), -1) << "port " << port << " is not held";
  EXPECT_EQ(errno, EADDRINUSE);
}

TEST(FreeLoopbackPortTest, ReservedPortsAreNeverHandedOutAgain) {
  std::set<int> reserved;
  for (int i = 0; i < 100; ++i) {
    const int port = FreeLoopbackPort();
    ASSERT_GT(port, 0);
    EXPECT_TRUE(reserved.insert(port).second) << "port " << port << " handed out twice";
  }
  // Neither bind to port 0 nor an outgoing connection's local port lands on
  // one (the old probe-and-close version gave no such promise).
  for (int i = 0; i < 500; ++i) {
    const int fd = Bind(0, /*reuse_addr=*/true);
    ASSERT_GE(fd, 0);
    EXPECT_FALSE(reserved.contains(LocalPort(fd))) << "bind(0) got " << LocalPort(fd);
    close(fd);
  }
  const int server = Bind(0, /*reuse_addr=*/true);
  ASSERT_EQ(listen(server, 512), 0);
  sockaddr_in to = Loopback(LocalPort(server));
  for (int i = 0; i < 300; ++i) {
    const int client = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&to), sizeof(to)), 0);
    EXPECT_FALSE(reserved.contains(LocalPort(client))) << "a connection got " << LocalPort(client);
    close(accept(server, nullptr, nullptr));
    close(client);
  }
  close(server);
}

TEST(FreeLoopbackPortTest, AServerListensThereAndCanRestartThere) {
  const int port = FreeLoopbackPort();
  ASSERT_GT(port, 0);
  for (int run = 0; run < 2; ++run) {
    const int server = Bind(port, /*reuse_addr=*/true);
    ASSERT_GE(server, 0) << "run " << run << ": " << std::strerror(errno);
    ASSERT_EQ(listen(server, 8), 0);
    const int client = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to = Loopback(port);
    EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&to), sizeof(to)), 0);
    const int accepted = accept(server, nullptr, nullptr);
    EXPECT_GE(accepted, 0);
    close(accepted);
    close(client);
    close(server);
    // Still reserved while the "server" is down.
    EXPECT_EQ(Bind(port, /*reuse_addr=*/false), -1) << "run " << run;
  }
}

TEST(RunProcessTest, ExitCodeOrMinusOneWhenKilledAtTheTimeout) {
  EXPECT_EQ(RunProcess({"/bin/sh", "-c", "exit 3"}), 3);
  const absl::Time start = absl::Now();
  EXPECT_EQ(RunProcess({"/bin/sleep", "30"}, "", absl::Milliseconds(200)), -1);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10)) << "the timeout did not end the wait";
}

}  // namespace
}  // namespace fjord::testing
