#include "controller/server/controller_flags.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace fjord::controller {

absl::StatusOr<std::map<std::string, std::string>> ReadProperties(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::map<std::string, std::string> kv;
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view l = absl::StripAsciiWhitespace(line);
    if (l.empty() || l[0] == '#') continue;
    std::pair<std::string, std::string> parts = absl::StrSplit(l, absl::MaxSplits('=', 1));
    kv[std::string(absl::StripAsciiWhitespace(parts.first))] =
        std::string(absl::StripAsciiWhitespace(parts.second));
  }
  return kv;
}

absl::StatusOr<ControllerFlags> ParseFlags(int argc, char** argv) {
  ControllerFlags flags;
  flags.command = "start";
  int i = 1;
  if (i < argc && argv[i][0] != '-') flags.command = argv[i++];
  std::map<std::string, std::string> from_flags;
  for (; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (!absl::ConsumePrefix(&arg, "--")) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument ", argv[i]));
    }
    std::pair<std::string, std::string> kv = absl::StrSplit(arg, absl::MaxSplits('=', 1));
    from_flags[kv.first] = kv.second;
  }
  if (auto it = from_flags.find("config"); it != from_flags.end()) {
    auto file = ReadProperties(it->second);
    if (!file.ok()) return file.status();
    flags.values = *file;
  }
  for (auto& [k, v] : from_flags) flags.values[k] = v;
  if (flags.command != "start" && flags.command != "format" && flags.command != "random-uuid") {
    return absl::InvalidArgumentError(absl::StrCat("unknown command ", flags.command));
  }
  return flags;
}

absl::StatusOr<std::map<NodeId, v1::Endpoint>> ParseVoters(const std::string& voters) {
  std::map<NodeId, v1::Endpoint> out;
  for (absl::string_view voter : absl::StrSplit(voters, ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> id_addr =
        absl::StrSplit(voter, absl::MaxSplits('@', 1));
    const size_t colon = id_addr.second.rfind(':');
    int32_t id, port;
    if (colon == absl::string_view::npos || !absl::SimpleAtoi(id_addr.first, &id) ||
        !absl::SimpleAtoi(id_addr.second.substr(colon + 1), &port) || id < 0 || port <= 0 ||
        port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("bad voter '", voter, "': want id@host:port"));
    }
    v1::Endpoint e;
    e.set_name("CONTROLLER");
    e.set_host(std::string(id_addr.second.substr(0, colon)));
    e.set_port(port);
    if (!out.emplace(NodeId(id), e).second) {
      return absl::InvalidArgumentError(absl::StrCat("voter ", id, " listed twice"));
    }
  }
  if (out.empty()) return absl::InvalidArgumentError("controller.quorum.voters is empty");
  return out;
}

absl::Status WriteMetaProperties(const std::string& dir,
                                 const std::map<std::string, std::string>& kv) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  const std::string path = dir + "/meta.properties";
  if (std::filesystem::exists(path)) {
    return absl::AlreadyExistsError(absl::StrCat(path, " exists: already formatted"));
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << "# Written by fjord-controller format. Do not edit.\nversion=1\n";
    for (const auto& [k, v] : kv) out << k << "=" << v << "\n";
    out.flush();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot rename to ", path, ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace fjord::controller
