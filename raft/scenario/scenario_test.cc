// Scripted scenarios with golden output (etcd-io/raft's datadriven style).
// Each file in raft/testdata/ is a list of blocks:
//
//   command args
//   ----
//   expected output (may be empty), ended by a blank line
//
// To regenerate after an intended change, review the diff afterwards:
//   FJORD_REWRITE=1 bazel run //raft/scenario:scenario_test
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "raft/scenario/scenario_env.h"

namespace fjord::raft::scenario {
namespace {

struct Block {
  std::string comments;  // Lines before the command, kept on rewrite.
  std::string command;
  std::string expected;
};

std::vector<Block> Parse(const std::string& text) {
  std::vector<Block> blocks;
  std::istringstream in(text);
  std::string line;
  Block block;
  while (std::getline(in, line)) {
    if (block.command.empty()) {
      if (line.empty() || line[0] == '#') {
        block.comments += line + "\n";
        continue;
      }
      block.command = line;
      std::getline(in, line);
      EXPECT_EQ(line, "----") << "after command: " << block.command;
      while (std::getline(in, line) && !line.empty()) block.expected += line + "\n";
      blocks.push_back(block);
      block = Block();
    }
  }
  return blocks;
}

class ScenarioTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ScenarioTest, MatchesGoldenOutput) {
  const std::string path = "raft/testdata/" + GetParam() + ".txt";
  std::ifstream file(path);
  ASSERT_TRUE(file.good()) << "cannot open " << path;
  std::stringstream text;
  text << file.rdbuf();
  const std::vector<Block> blocks = Parse(text.str());
  ASSERT_FALSE(blocks.empty());

  ScenarioEnv env;
  std::string rewritten;
  for (const Block& block : blocks) {
    const std::string actual = env.Run(block.command);
    EXPECT_EQ(actual, block.expected) << path << ": " << block.command;
    rewritten += block.comments + block.command + "\n----\n" + actual + "\n";
  }
  // Only the deliberately unsafe scenarios may (and must) trip the checker.
  const bool unsafe = GetParam().ends_with("_unsafe");
  EXPECT_EQ(rewritten.find("VIOLATION") != std::string::npos, unsafe) << path;
  const char* rewrite = std::getenv("FJORD_REWRITE");
  const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  if (rewrite != nullptr && workspace != nullptr) {
    std::ofstream out(std::string(workspace) + "/" + path);
    out << rewritten.substr(0, rewritten.size() - 1);  // No trailing blank line.
  }
}

INSTANTIATE_TEST_SUITE_P(Scenarios, ScenarioTest,
                         ::testing::Values("election", "split_vote", "partitioned_leader",
                                           "stale_leader_rejoins", "snapshot_catchup",
                                           "membership_during_partition", "leadership_transfer",
                                           "read_index", "figure8_safe", "figure8_unsafe"));

}  // namespace
}  // namespace fjord::raft::scenario
