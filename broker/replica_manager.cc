#include "broker/replica_manager.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace fjord::broker {

ReplicaManager::ReplicaManager(storage::FileSystem& fs, const Clock& clock,
                               ReplicaManagerOptions options, AlterPartitionSender& sender)
    : fs_(fs), clock_(clock), options_(std::move(options)), sender_(sender) {}

absl::StatusOr<std::shared_ptr<Replica>> ReplicaManager::GetOrCreate(
    const controller::Uuid& topic_id, const std::string& topic, PartitionId p) {
  absl::MutexLock lock(&mu_);
  auto it = by_id_.find({topic_id, p.value()});
  if (it != by_id_.end()) return it->second;
  const std::string dir = DirOf(topic, p);
  RETURN_IF_ERROR(ClaimDirectory(dir, topic_id));
  ASSIGN_OR_RETURN(std::unique_ptr<storage::PartitionLog> log,
                   storage::PartitionLog::Open(fs_, clock_, dir, options_.log));
  // The replica's change hook captures a raw pointer: listeners are told
  // which replica changed while it is alive (it is the caller).
  auto replica = std::make_shared<Replica>(topic_id, topic, p, options_.local, std::move(log),
                                           clock_, options_.replica, sender_, nullptr);
  Replica* raw = replica.get();
  replica->SetChangeHook([this, raw] { Notify(*raw); });
  by_id_[{topic_id, p.value()}] = replica;
  by_name_[{topic, p.value()}] = replica;
  spdlog::info("opened replica {}-{} in {}", topic, p.value(), dir);
  return replica;
}

std::shared_ptr<Replica> ReplicaManager::Get(const std::string& topic, PartitionId p) const {
  absl::MutexLock lock(&mu_);
  auto it = by_name_.find({topic, p.value()});
  return it == by_name_.end() ? nullptr : it->second;
}

std::shared_ptr<Replica> ReplicaManager::Get(const controller::Uuid& topic_id,
                                             PartitionId p) const {
  absl::MutexLock lock(&mu_);
  auto it = by_id_.find({topic_id, p.value()});
  return it == by_id_.end() ? nullptr : it->second;
}

std::string ReplicaManager::DirName(const std::string& topic, PartitionId p) {
  return absl::StrCat(topic, "-", p.value());
}

std::string ReplicaManager::DirOf(const std::string& topic, PartitionId p) const {
  return absl::StrCat(options_.log_dir, "/", DirName(topic, p));
}

namespace {

constexpr absl::string_view kDeletingSuffix = ".deleting";
constexpr char kPartitionMetadataFile[] = "partition.metadata";

std::string PartitionMetadata(const controller::Uuid& topic_id) {
  return absl::StrCat("version: 0\ntopic_id: ", topic_id.ToString(), "\n");
}

// <topic>-<partition>, as DirName writes it.
bool IsPartitionDirName(absl::string_view name) {
  const size_t dash = name.rfind('-');
  if (dash == absl::string_view::npos || dash == 0 || dash + 1 == name.size()) return false;
  for (char c : name.substr(dash + 1)) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

// A file only a PartitionLog writes: a segment, an index or a checkpoint.
bool IsLogFileName(absl::string_view name) {
  return absl::EndsWith(name, ".log") || absl::EndsWith(name, ".index") ||
         absl::EndsWith(name, ".timeindex") || absl::EndsWith(name, "-checkpoint");
}

}  // namespace

absl::Status ReplicaManager::ClaimDirectory(const std::string& dir,
                                            const controller::Uuid& topic_id) {
  const std::string expected = PartitionMetadata(topic_id);
  absl::StatusOr<std::string> found =
      storage::ReadWholeFile(fs_, absl::StrCat(dir, "/", kPartitionMetadataFile));
  if (found.ok() && *found == expected) return absl::OkStatus();
  if (found.ok()) {
    // A topic of the same name deleted while this broker was down: its
    // records must not show up in the new topic.
    spdlog::warn("{} belongs to another topic id ({}); deleting it for topic id {}", dir,
                 std::string(absl::StripAsciiWhitespace(*found)), topic_id.ToString());
    RETURN_IF_ERROR(fs_.RemoveAll(dir));
  } else if (!absl::IsNotFound(found.status())) {
    return found.status();
  }
  // New, or written before partition.metadata existed (adopted as is).
  RETURN_IF_ERROR(fs_.CreateDir(dir));
  return storage::WriteFileAtomically(fs_, dir, kPartitionMetadataFile, expected);
}

absl::StatusOr<std::vector<std::string>> ReplicaManager::DeleteStrayDirectories(
    const std::set<std::string>& keep) {
  std::set<std::string> hosted;
  for (const std::shared_ptr<Replica>& r : All())
    hosted.insert(DirName(r->topic(), r->partition()));
  ASSIGN_OR_RETURN(std::vector<std::string> names, fs_.List(options_.log_dir));
  std::vector<std::string> deleted;
  for (const std::string& name : names) {
    const std::string path = absl::StrCat(options_.log_dir, "/", name);
    bool stray = false;
    if (absl::EndsWith(name, kDeletingSuffix)) {
      stray = IsPartitionDirName(name.substr(0, name.size() - kDeletingSuffix.size()));
    } else if (absl::EndsWith(name, storage::kDeletedSuffix)) {
      // A partition directory RemoveAll renamed aside, its background
      // deletion cut short by a restart (or still under way: queued once).
      stray = fs_.List(path).ok();
    } else if (IsPartitionDirName(name) && keep.count(name) == 0 && hosted.count(name) == 0) {
      absl::StatusOr<std::vector<std::string>> files = fs_.List(path);  // Fails on a file.
      stray = files.ok() && std::any_of(files->begin(), files->end(), IsLogFileName);
    }
    if (!stray) continue;
    RETURN_IF_ERROR(fs_.RemoveAll(path));
    spdlog::info("deleted stray partition directory {}", path);
    deleted.push_back(path);
  }
  return deleted;
}

std::shared_ptr<Replica> ReplicaManager::Detach(const controller::Uuid& topic_id, PartitionId p) {
  std::shared_ptr<Replica> removed;
  {
    absl::MutexLock lock(&mu_);
    auto it = by_id_.find({topic_id, p.value()});
    if (it == by_id_.end()) return nullptr;
    removed = it->second;
    by_name_.erase({removed->topic(), p.value()});
    by_id_.erase(it);
  }
  absl::Status s = removed->log().Close();
  if (!s.ok()) spdlog::warn("closing {}-{}: {}", removed->topic(), p.value(), s.ToString());
  return removed;
}

void ReplicaManager::Remove(const controller::Uuid& topic_id, PartitionId p) {
  Detach(topic_id, p);
}

absl::Status ReplicaManager::Delete(const controller::Uuid& topic_id, PartitionId p) {
  std::shared_ptr<Replica> removed = Detach(topic_id, p);
  if (removed == nullptr) return absl::OkStatus();
  const std::string dir = DirOf(removed->topic(), p);
  RETURN_IF_ERROR(fs_.RemoveAll(dir));
  spdlog::info("deleted replica {}-{} ({})", removed->topic(), p.value(), dir);
  return absl::OkStatus();
}

std::vector<std::shared_ptr<Replica>> ReplicaManager::All() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<Replica>> out;
  out.reserve(by_id_.size());
  for (const auto& [key, r] : by_id_) out.push_back(r);
  return out;
}

int ReplicaManager::AddListener(Listener listener) {
  absl::WriterMutexLock lock(&listeners_mu_);
  listeners_[next_listener_] = std::move(listener);
  return next_listener_++;
}

void ReplicaManager::RemoveListener(int id) {
  absl::WriterMutexLock lock(&listeners_mu_);
  listeners_.erase(id);
}

void ReplicaManager::Notify(const Replica& replica) {
  absl::ReaderMutexLock lock(&listeners_mu_);
  for (const auto& [id, listener] : listeners_) listener(replica);
}

void ReplicaManager::Tick(bool checkpoint) {
  for (const std::shared_ptr<Replica>& r : All()) {
    if (r->role() == Replica::Role::kLeader) r->MaybeShrinkIsr();
    if (options_.log.flush_policy == storage::FlushPolicy::kInterval) {
      const Offset before = r->log().flushed_offset();
      absl::Status s = r->log().MaybeFlush();
      if (!s.ok())
        spdlog::error("flush {}-{}: {}", r->topic(), r->partition().value(), s.ToString());
      if (r->log().flushed_offset() != before) r->OnLocalFlush();
    }
    if (checkpoint) {
      absl::Status s = r->log().Checkpoint();
      if (!s.ok()) {
        spdlog::error("checkpoint {}-{}: {}", r->topic(), r->partition().value(), s.ToString());
      }
    }
  }
}

void ReplicaManager::CloseAll() {
  for (const std::shared_ptr<Replica>& r : All()) {
    absl::Status s = r->log().Close();
    if (!s.ok())
      spdlog::warn("closing {}-{}: {}", r->topic(), r->partition().value(), s.ToString());
  }
}

}  // namespace fjord::broker
