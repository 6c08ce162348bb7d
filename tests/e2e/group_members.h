// Consumer-group members as real processes (tests/e2e/group_member) for the
// group end-to-end suites, and what their event files say: who owned which
// partition when, and which records each processed.
//
//   GroupMembers members(cluster.bootstrap_servers(), "g", "topic");
//   int a = members.Start();
//   ASSERT_TRUE(members.WaitFor([&] { return members.OwnedCount() == 12; }, ...));
//   members.Kill(a);  // SIGKILL: its ownership ends now
//   EXPECT_EQ(members.FindOverlap(), "");
//
// Not thread-safe: the test thread drives it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace fjord::testing {

// What one member's event file says.
struct MemberLog {
  struct Interval {
    int32_t partition = 0;
    int64_t from_us = 0;
    int64_t to_us = std::numeric_limits<int64_t>::max();  // open: still owned
  };
  struct Processed {
    int64_t at_us = 0;
    int32_t partition = 0;
    int64_t offset = 0;
    std::string value;
  };
  std::string member_id;
  std::vector<Interval> intervals;
  std::vector<Processed> processed;
  std::set<int32_t> owned;  // at the end of the file
  int commits_ok = 0;
  std::vector<std::string> commit_errors;
  bool closed = false;
};

// Parses a group_member event file; intervals still open end at `end_us`.
MemberLog ReadMemberLog(const std::string& path,
                        int64_t end_us = std::numeric_limits<int64_t>::max());

class GroupMembers {
 public:
  GroupMembers(std::string bootstrap, std::string group, std::string topic);
  ~GroupMembers();  // SIGKILLs what still runs

  // Starts a member process with group_member's extra flags (e.g.
  // {"--process-delay-ms", "100"}); returns its index.
  int Start(const std::vector<std::string>& extra_args = {});
  void Kill(int index);  // SIGKILL; its ownership ends at the kill
  // SIGTERM (the member closes: commit, revoke, leave) and waits; false if
  // it did not exit within `timeout`.
  bool Stop(int index, absl::Duration timeout = absl::Seconds(20));
  bool running(int index) const;
  int count() const { return static_cast<int>(members_.size()); }

  MemberLog Log(int index) const;
  // partition -> index of the running member that owns it now.
  std::map<int32_t, int> Owners() const;
  // Every running member has joined and the running members own `partitions`
  // partitions in total, each exactly once.
  bool Stable(int partitions) const;
  // Polls `done` every 50 ms up to `timeout`.
  static bool WaitFor(const std::function<bool()>& done, absl::Duration timeout);

  // "" when no partition ever had two owners at once (by the listener
  // events; a killed member's ownership ends at its kill), else the first
  // overlap found.
  std::string FindOverlap() const;
  // "" when every record a member processed fell inside one of its
  // ownership intervals, else the first that did not.
  std::string FindProcessingOutsideOwnership() const;
  // (partition, offset) -> how many times processed, over every member.
  std::map<std::pair<int32_t, int64_t>, int> ProcessedCounts() const;

 private:
  struct Member {
    pid_t pid = -1;
    std::string path;
    int64_t ended_us = std::numeric_limits<int64_t>::max();
  };
  const std::string bootstrap_, group_, topic_;
  std::string dir_;
  std::vector<Member> members_;
};

}  // namespace fjord::testing
