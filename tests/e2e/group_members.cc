#include "tests/e2e/group_members.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/cluster/test_env.h"

namespace fjord::testing {
namespace {

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

std::set<int32_t> ParsePartitions(const std::string& text) {
  std::set<int32_t> out;
  for (absl::string_view p : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int32_t id = 0;
    if (absl::SimpleAtoi(p, &id)) out.insert(id);
  }
  return out;
}

}  // namespace

MemberLog ReadMemberLog(const std::string& path, int64_t end_us) {
  MemberLog log;
  std::ifstream in(path);
  std::string line;
  std::map<int32_t, int64_t> open;  // partition -> since
  auto close = [&](int32_t p, int64_t at) {
    auto it = open.find(p);
    if (it == open.end()) return;
    log.intervals.push_back({p, it->second, at});
    open.erase(it);
  };
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string event;
    int64_t at = 0;
    fields >> event >> at;
    std::string rest;
    std::getline(fields, rest);
    if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
    if (event == "JOINED") {
      log.member_id = rest;
    } else if (event == "ASSIGNED") {
      for (int32_t p : ParsePartitions(rest)) open.emplace(p, at);
    } else if (event == "REVOKED" || event == "LOST") {
      for (int32_t p : ParsePartitions(rest)) close(p, at);
    } else if (event == "RECORD") {
      MemberLog::Processed r;
      r.at_us = at;
      std::istringstream rf(rest);
      rf >> r.partition >> r.offset >> r.value;
      log.processed.push_back(r);
    } else if (event == "COMMIT") {
      if (rest == "OK") {
        ++log.commits_ok;
      } else {
        log.commit_errors.push_back(rest);
      }
    } else if (event == "CLOSED") {
      log.closed = true;
    }
  }
  for (const auto& [p, since] : open) {
    log.owned.insert(p);
    log.intervals.push_back({p, since, end_us});
  }
  return log;
}

GroupMembers::GroupMembers(std::string bootstrap, std::string group, std::string topic)
    : bootstrap_(std::move(bootstrap)), group_(std::move(group)), topic_(std::move(topic)) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  dir_ = absl::StrCat(tmp ? tmp : "/tmp", "/members-", group_);
  std::system(absl::StrCat("mkdir -p '", dir_, "'").c_str());
}

GroupMembers::~GroupMembers() {
  for (int i = 0; i < count(); ++i) {
    if (running(i)) Kill(i);
  }
}

int GroupMembers::Start(const std::vector<std::string>& extra_args) {
  const int index = count();
  Member m;
  m.path = absl::StrCat(dir_, "/member-", index, ".events");
  std::vector<std::string> args = {Runfile("tests/e2e/group_member"),
                                   "--bootstrap",
                                   bootstrap_,
                                   "--group",
                                   group_,
                                   "--topic",
                                   topic_,
                                   "--out",
                                   m.path};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  m.pid = SpawnProcess(args, absl::StrCat(dir_, "/member-", index, ".log"));
  members_.push_back(m);
  return index;
}

void GroupMembers::Kill(int index) {
  Member& m = members_[index];
  if (m.pid <= 0) return;
  ::kill(m.pid, SIGKILL);
  m.ended_us = NowMicros();
  waitpid(m.pid, nullptr, 0);
  m.pid = -1;
}

bool GroupMembers::Stop(int index, absl::Duration timeout) {
  Member& m = members_[index];
  if (m.pid <= 0) return true;
  ::kill(m.pid, SIGTERM);
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (waitpid(m.pid, nullptr, WNOHANG) == m.pid) {
      m.pid = -1;
      return true;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  Kill(index);
  return false;
}

bool GroupMembers::running(int index) const { return members_[index].pid > 0; }

MemberLog GroupMembers::Log(int index) const {
  return ReadMemberLog(members_[index].path, members_[index].ended_us);
}

std::map<int32_t, int> GroupMembers::Owners() const {
  std::map<int32_t, int> owners;
  for (int i = 0; i < count(); ++i) {
    if (!running(i)) continue;
    for (int32_t p : Log(i).owned) owners[p] = i;
  }
  return owners;
}

bool GroupMembers::Stable(int partitions) const {
  int total = 0;
  for (int i = 0; i < count(); ++i) {
    if (!running(i)) continue;
    MemberLog log = Log(i);
    if (log.member_id.empty()) return false;
    total += static_cast<int>(log.owned.size());
  }
  return total == partitions && static_cast<int>(Owners().size()) == partitions;
}

bool GroupMembers::WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return done();
}

std::string GroupMembers::FindOverlap() const {
  struct Owned {
    int64_t from, to;
    int member;
  };
  std::map<int32_t, std::vector<Owned>> by_partition;
  for (int i = 0; i < count(); ++i) {
    for (const auto& in : Log(i).intervals) {
      by_partition[in.partition].push_back({in.from_us, in.to_us, i});
    }
  }
  for (auto& [p, list] : by_partition) {
    std::sort(list.begin(), list.end(),
              [](const Owned& a, const Owned& b) { return a.from < b.from; });
    for (size_t i = 1; i < list.size(); ++i) {
      if (list[i].from < list[i - 1].to) {
        return absl::StrCat("partition ", p, ": member ", list[i].member, " took it at ",
                            list[i].from, " us while member ", list[i - 1].member,
                            " owned it until ", list[i - 1].to, " us");
      }
    }
  }
  return "";
}

std::string GroupMembers::FindProcessingOutsideOwnership() const {
  for (int i = 0; i < count(); ++i) {
    MemberLog log = Log(i);
    for (const auto& r : log.processed) {
      bool inside = false;
      for (const auto& in : log.intervals) {
        if (in.partition == r.partition && in.from_us <= r.at_us && r.at_us <= in.to_us) {
          inside = true;
        }
      }
      if (!inside) {
        return absl::StrCat("member ", i, " processed partition ", r.partition, " offset ",
                            r.offset, " at ", r.at_us, " us without owning it");
      }
    }
  }
  return "";
}

std::map<std::pair<int32_t, int64_t>, int> GroupMembers::ProcessedCounts() const {
  std::map<std::pair<int32_t, int64_t>, int> counts;
  for (int i = 0; i < count(); ++i) {
    for (const auto& r : Log(i).processed) ++counts[{r.partition, r.offset}];
  }
  return counts;
}

}  // namespace fjord::testing
