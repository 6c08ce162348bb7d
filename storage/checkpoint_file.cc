#include "storage/checkpoint_file.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace fjord::storage {
namespace {

absl::StatusOr<std::optional<std::vector<std::string>>> ReadLines(FileSystem& fs,
                                                                  const std::string& path) {
  absl::StatusOr<std::string> text = ReadWholeFile(fs, path);
  if (absl::IsNotFound(text.status())) return std::optional<std::vector<std::string>>();
  RETURN_IF_ERROR(text.status());
  std::vector<std::string> lines = absl::StrSplit(*text, '\n', absl::SkipEmpty());
  if (lines.empty() || lines[0] != "0") {
    return absl::DataLossError(absl::StrCat(path, ": missing or unknown version line"));
  }
  return std::optional(std::move(lines));
}

absl::Status Corrupt(const std::string& path, const std::string& line) {
  return absl::DataLossError(absl::StrCat(path, ": cannot parse line \"", line, "\""));
}

}  // namespace

absl::Status WriteOffsetCheckpoint(FileSystem& fs, const std::string& dir, const std::string& name,
                                   Offset offset) {
  return WriteFileAtomically(fs, dir, name, absl::StrCat("0\n", offset.value(), "\n"));
}

absl::StatusOr<std::optional<Offset>> ReadOffsetCheckpoint(FileSystem& fs, const std::string& dir,
                                                           const std::string& name) {
  const std::string path = absl::StrCat(dir, "/", name);
  ASSIGN_OR_RETURN(auto lines, ReadLines(fs, path));
  if (!lines.has_value()) return std::optional<Offset>();
  int64_t v = 0;
  if (lines->size() != 2 || !absl::SimpleAtoi((*lines)[1], &v) || v < 0) {
    return Corrupt(path, lines->size() > 1 ? (*lines)[1] : "");
  }
  return std::optional(Offset(v));
}

absl::Status WriteEpochCheckpoint(FileSystem& fs, const std::string& dir,
                                  const EpochEntries& entries) {
  std::string text = absl::StrCat("0\n", entries.size(), "\n");
  for (const auto& [epoch, offset] : entries) {
    absl::StrAppend(&text, epoch.value(), " ", offset.value(), "\n");
  }
  return WriteFileAtomically(fs, dir, kLeaderEpochFile, text);
}

absl::StatusOr<EpochEntries> ReadEpochCheckpoint(FileSystem& fs, const std::string& dir) {
  const std::string path = absl::StrCat(dir, "/", kLeaderEpochFile);
  ASSIGN_OR_RETURN(auto lines, ReadLines(fs, path));
  EpochEntries entries;
  if (!lines.has_value()) return entries;
  size_t count = 0;
  if (lines->size() < 2 || !absl::SimpleAtoi((*lines)[1], &count) || count != lines->size() - 2) {
    return Corrupt(path, lines->size() > 1 ? (*lines)[1] : "");
  }
  for (size_t i = 2; i < lines->size(); ++i) {
    std::vector<std::string> parts = absl::StrSplit((*lines)[i], ' ');
    int32_t epoch = 0;
    int64_t offset = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &epoch) ||
        !absl::SimpleAtoi(parts[1], &offset)) {
      return Corrupt(path, (*lines)[i]);
    }
    entries.emplace_back(LeaderEpoch(epoch), Offset(offset));
  }
  return entries;
}

}  // namespace fjord::storage
