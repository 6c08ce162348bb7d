#include "common/seed_range.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace fjord {

bool ParseSeedInterval(const std::string& text, uint64_t* lo, uint64_t* hi) {
  const size_t dots = text.find("..");
  if (dots == std::string::npos) return false;
  uint64_t a = 0;
  uint64_t b = 0;
  if (!absl::SimpleAtoi(text.substr(0, dots), &a) || !absl::SimpleAtoi(text.substr(dots + 2), &b) ||
      a >= b) {
    return false;
  }
  *lo = a;
  *hi = b;
  return true;
}

absl::Status SeedRange::ReadEnvironment() {
  const char* env = std::getenv("FJORD_SIM_SEEDS");
  if (env == nullptr || ParseSeedInterval(env, &lo, &hi)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("bad FJORD_SIM_SEEDS=", env, " (want A..B)"));
}

bool SeedRange::ParseFlag(const std::string& arg, absl::Status* status) {
  *status = absl::OkStatus();
  if (absl::StartsWith(arg, "--seed=")) {
    uint64_t seed = 0;
    if (!absl::SimpleAtoi(arg.substr(7), &seed)) {
      *status = absl::InvalidArgumentError(absl::StrCat("bad ", arg, " (want a number)"));
      return true;
    }
    lo = seed;
    hi = seed + 1;
    return true;
  }
  if (absl::StartsWith(arg, "--seeds=")) {
    if (!ParseSeedInterval(arg.substr(8), &lo, &hi)) {
      *status = absl::InvalidArgumentError(absl::StrCat("bad ", arg, " (want A..B)"));
    }
    return true;
  }
  return false;
}

absl::StatusOr<std::vector<std::string>> SeedRange::Parse(int argc, const char* const* argv) {
  if (absl::Status s = ReadEnvironment(); !s.ok()) return s;
  std::vector<std::string> rest;
  for (int i = 1; i < argc; ++i) {
    absl::Status parsed;
    if (!ParseFlag(argv[i], &parsed)) {
      rest.push_back(argv[i]);
    } else if (!parsed.ok()) {
      return parsed;
    }
  }
  ReadSharding();
  return rest;
}

void SeedRange::ReadSharding() {
  uint64_t n = 0;
  uint64_t i = 0;
  if (const char* s = std::getenv("TEST_TOTAL_SHARDS"); s != nullptr && absl::SimpleAtoi(s, &n)) {
    shards = n > 0 ? n : 1;
  }
  if (const char* s = std::getenv("TEST_SHARD_INDEX"); s != nullptr && absl::SimpleAtoi(s, &i)) {
    shard = i;
  }
  if (const char* f = std::getenv("TEST_SHARD_STATUS_FILE")) {
    if (FILE* touch = std::fopen(f, "w")) std::fclose(touch);
  }
}

}  // namespace fjord
