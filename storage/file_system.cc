#include "storage/file_system.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace fjord::storage {

absl::StatusOr<std::string> ReadWholeFile(FileSystem& fs, const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<File> f, fs.Open(path, OpenMode::kExisting));
  std::string out(f->Size(), '\0');
  ASSIGN_OR_RETURN(const size_t n, f->ReadAt(0, out.size(), out.data()));
  out.resize(n);
  return out;
}

absl::Status WriteFileAtomically(FileSystem& fs, const std::string& dir, const std::string& name,
                                 std::string_view contents) {
  const std::string path = absl::StrCat(dir, "/", name);
  const std::string tmp = absl::StrCat(path, ".tmp");
  {
    ASSIGN_OR_RETURN(std::unique_ptr<File> f, fs.Open(tmp, OpenMode::kCreateTruncate));
    RETURN_IF_ERROR(f->Append(contents));
    RETURN_IF_ERROR(f->Sync());
  }
  RETURN_IF_ERROR(fs.Rename(tmp, path));
  return fs.SyncDir(dir);
}

absl::Status FileSystem::RemoveAll(const std::string& dir) {
  absl::StatusOr<std::vector<std::string>> names = List(dir);
  if (absl::IsNotFound(names.status())) return absl::OkStatus();
  RETURN_IF_ERROR(names.status());
  for (const std::string& name : *names) RETURN_IF_ERROR(Unlink(absl::StrCat(dir, "/", name)));
  return absl::OkStatus();
}

absl::Status DeleteFileInBackground(FileSystem& fs, const std::string& path) {
  const std::string doomed = absl::StrCat(path, kDeletedSuffix);
  RETURN_IF_ERROR(fs.Rename(path, doomed));
  return fs.UnlinkInBackground(doomed);
}

}  // namespace fjord::storage
