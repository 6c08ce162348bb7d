#include "common/logging.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "spdlog/spdlog.h"

namespace fjord {
namespace {

TEST(Logging, RejectsUnknownLevel) {
  absl::Status s = InitLogging({.node = "n", .level = "loud"});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("loud"), absl::string_view::npos);
}

TEST(Logging, WritesNodeNameToFile) {
  const std::string path = std::string(getenv("TEST_TMPDIR")) + "/log.txt";
  ASSERT_TRUE(InitLogging({.node = "broker-7", .level = "info", .file = path}).ok());
  spdlog::info("partition {} became leader", 3);
  spdlog::debug("not shown at info");
  spdlog::default_logger()->flush();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("[broker-7] partition 3 became leader"), std::string::npos)
      << text.str();
  EXPECT_EQ(text.str().find("not shown"), std::string::npos);
}

TEST(Logging, UnopenableFileIsAnError) {
  absl::Status s = InitLogging({.file = "/dev/null/not-a-dir/log.txt"});
  EXPECT_FALSE(s.ok());
}

}  // namespace
}  // namespace fjord
