#include "storage/fault_file_system.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace fjord::storage {
namespace {

std::string Parent(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

}  // namespace

class FaultFileSystem::FaultFile final : public File {
 public:
  FaultFile(FaultFileSystem* fs, std::string path, std::shared_ptr<Inode> inode)
      : fs_(fs), path_(std::move(path)), inode_(std::move(inode)) {}

  absl::Status Append(std::string_view data) override {
    absl::MutexLock lock(&fs_->mu_);
    const uint64_t fits = std::min<uint64_t>(data.size(), fs_->write_budget_);
    inode_->data.append(data.data(), fits);
    fs_->write_budget_ -= fits;
    if (fits < data.size()) {
      return absl::ResourceExhaustedError(
          absl::StrCat("write ", path_, ": No space left on device (injected)"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* out) const override {
    absl::MutexLock lock(&fs_->mu_);
    if (offset >= inode_->data.size()) return 0;
    const size_t got = std::min<uint64_t>(n, inode_->data.size() - offset);
    std::copy_n(inode_->data.data() + offset, got, out);
    return got;
  }

  absl::Status Truncate(uint64_t size) override {
    absl::MutexLock lock(&fs_->mu_);
    inode_->data.resize(size);
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    std::function<void(const std::string&)> hook;
    {
      absl::MutexLock lock(&fs_->mu_);
      hook = fs_->sync_hook_;
    }
    if (hook) hook(path_);
    absl::MutexLock lock(&fs_->mu_);
    ++fs_->sync_count_;
    if (fs_->fail_sync_) {
      return absl::InternalError(
          absl::StrCat("fdatasync ", path_, ": Input/output error (injected)"));
    }
    inode_->durable = inode_->data;
    return absl::OkStatus();
  }

  uint64_t Size() const override {
    absl::MutexLock lock(&fs_->mu_);
    return inode_->data.size();
  }

 private:
  FaultFileSystem* const fs_;
  const std::string path_;
  const std::shared_ptr<Inode> inode_;
};

absl::StatusOr<std::unique_ptr<File>> FaultFileSystem::Open(const std::string& path,
                                                            OpenMode mode) {
  absl::MutexLock lock(&mu_);
  auto it = files_.find(path);
  if (it == files_.end()) {
    if (mode == OpenMode::kExisting) return absl::NotFoundError(absl::StrCat("open ", path));
    it = files_.emplace(path, std::make_shared<Inode>()).first;
  } else if (mode == OpenMode::kCreateTruncate) {
    it->second->data.clear();
  }
  return std::make_unique<FaultFile>(this, path, it->second);
}

absl::Status FaultFileSystem::Rename(const std::string& from, const std::string& to) {
  absl::MutexLock lock(&mu_);
  auto it = files_.find(from);
  if (it == files_.end()) return absl::NotFoundError(absl::StrCat("rename ", from));
  files_[to] = it->second;
  files_.erase(from);
  return absl::OkStatus();
}

absl::Status FaultFileSystem::Unlink(const std::string& path) {
  absl::MutexLock lock(&mu_);
  if (files_.erase(path) == 0) return absl::NotFoundError(absl::StrCat("unlink ", path));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> FaultFileSystem::List(const std::string& dir) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> names;
  for (const auto& [path, inode] : files_) {
    if (Parent(path) == dir) names.push_back(path.substr(dir.size() + 1));
  }
  return names;  // std::map order: already sorted.
}

absl::Status FaultFileSystem::SyncDir(const std::string& dir) {
  absl::MutexLock lock(&mu_);
  ++dir_sync_count_;
  if (fail_sync_) {
    return absl::InternalError(absl::StrCat("fsync dir ", dir, ": Input/output error (injected)"));
  }
  for (auto it = durable_files_.begin(); it != durable_files_.end();) {
    it = Parent(it->first) == dir ? durable_files_.erase(it) : std::next(it);
  }
  for (const auto& [path, inode] : files_) {
    if (Parent(path) == dir) durable_files_[path] = inode;
  }
  return absl::OkStatus();
}

absl::Status FaultFileSystem::CreateDir(const std::string&) {
  return absl::OkStatus();  // Directories are implicit in this model.
}

void FaultFileSystem::SimulateCrash(Random* torn) {
  absl::MutexLock lock(&mu_);
  std::map<std::string, std::shared_ptr<Inode>> survivors;
  std::map<Inode*, std::shared_ptr<Inode>> remap;
  for (const auto& [path, inode] : durable_files_) {
    std::shared_ptr<Inode>& after = remap[inode.get()];
    if (after == nullptr) {
      after = std::make_shared<Inode>();
      after->data = inode->durable;
      // A torn write: some unsynced appended bytes made it to the platter.
      if (torn != nullptr && absl::StartsWith(inode->data, inode->durable) &&
          inode->data.size() > inode->durable.size()) {
        const uint64_t extra = inode->data.size() - inode->durable.size();
        after->data.append(inode->data, inode->durable.size(), torn->Uniform(extra + 1));
      }
      after->durable = after->data;
    }
    survivors[path] = after;
  }
  files_ = survivors;
  durable_files_ = survivors;
}

void FaultFileSystem::SetWriteBudget(uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  write_budget_ = bytes;
}

void FaultFileSystem::SetSyncHook(std::function<void(const std::string&)> hook) {
  absl::MutexLock lock(&mu_);
  sync_hook_ = std::move(hook);
}

void FaultFileSystem::SetSyncFailure(bool fail) {
  absl::MutexLock lock(&mu_);
  fail_sync_ = fail;
}

int64_t FaultFileSystem::sync_count() const {
  absl::MutexLock lock(&mu_);
  return sync_count_;
}

int64_t FaultFileSystem::dir_sync_count() const {
  absl::MutexLock lock(&mu_);
  return dir_sync_count_;
}

absl::StatusOr<std::string> FaultFileSystem::Contents(const std::string& path) const {
  absl::MutexLock lock(&mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return absl::NotFoundError(path);
  return it->second->data;
}

absl::StatusOr<std::string> FaultFileSystem::DurableContents(const std::string& path) const {
  absl::MutexLock lock(&mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return absl::NotFoundError(path);
  return it->second->durable;
}

absl::Status FaultFileSystem::SetContents(const std::string& path, std::string bytes) {
  absl::MutexLock lock(&mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return absl::NotFoundError(path);
  it->second->data = bytes;
  it->second->durable = std::move(bytes);
  return absl::OkStatus();
}

}  // namespace fjord::storage
