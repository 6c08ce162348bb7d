#include "controller/server/controller_flags.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace fjord::controller {
namespace {

TEST(ControllerFlagsTest, ParsesVoters) {
  auto voters = ParseVoters("1@127.0.0.1:9093,2@host-b:9094,3@[::1]:9095");
  ASSERT_TRUE(voters.ok()) << voters.status();
  ASSERT_EQ(voters->size(), 3u);
  EXPECT_EQ(voters->at(NodeId(2)).host(), "host-b");
  EXPECT_EQ(voters->at(NodeId(2)).port(), 9094);
  EXPECT_EQ(voters->at(NodeId(3)).host(), "[::1]");
  for (const char* bad : {"", "1@host", "x@h:1", "1@h:0", "1@h:70000", "1@h:1,1@h:2", "h:1"}) {
    EXPECT_FALSE(ParseVoters(bad).ok()) << bad;
  }
}

TEST(ControllerFlagsTest, FlagsOverrideTheConfigFile) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(tmp ? tmp : "/tmp") + "/c.properties";
  std::ofstream(path) << "# comment\nnode.id=1\nmetrics.port = 9300\n";
  std::string config = "--config=" + path;
  const char* argv[] = {"fjord-controller", "start", config.c_str(), "--node.id=2"};
  auto flags = ParseFlags(4, const_cast<char**>(argv));
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->command, "start");
  EXPECT_EQ(flags->Get("node.id"), "2");
  EXPECT_EQ(flags->Get("metrics.port"), "9300");
  const char* bad[] = {"fjord-controller", "explode"};
  EXPECT_FALSE(ParseFlags(2, const_cast<char**>(bad)).ok());
}

TEST(ControllerFlagsTest, FormatWritesOnceAndReadsBack) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = std::string(tmp ? tmp : "/tmp") + "/formatted";
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(WriteMetaProperties(dir, {{"cluster.id", "abc"}, {"node.id", "1"}}).ok());
  EXPECT_EQ(WriteMetaProperties(dir, {{"cluster.id", "xyz"}}).code(),
            absl::StatusCode::kAlreadyExists);
  auto kv = ReadProperties(dir + "/meta.properties");
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ((*kv)["cluster.id"], "abc");
  EXPECT_EQ((*kv)["version"], "1");
}

}  // namespace
}  // namespace fjord::controller
