#include "raft/storage/rocks_storage.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/sst_file_manager.h"
#include "rocksdb/write_batch.h"

namespace fjord::raft {
namespace {

constexpr char kHardStateKey[] = "h";
constexpr char kSnapshotMetaKey[] = "m";
constexpr char kSnapshotDataKey[] = "d";

void PutU64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

bool GetU64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = 0;
  for (int i = 0; i < 8; ++i) *v = (*v << 8) | static_cast<uint8_t>((*in)[i]);
  in->remove_prefix(8);
  return true;
}

std::string EntryKey(LogIndex index) {
  std::string key = "e";
  PutU64(&key, index.value());
  return key;
}

absl::Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("rocksdb ", what, ": ", s.ToString()));
}

absl::Status Corrupt(const std::string& what) {
  return absl::DataLossError(absl::StrCat("raft storage: ", what));
}

std::string EncodeHardState(const HardState& hs) {
  std::string out;
  PutU64(&out, hs.term.value());
  PutU64(&out, static_cast<uint64_t>(static_cast<int64_t>(hs.vote.value())));
  PutU64(&out, hs.commit.value());
  return out;
}

std::string EncodeSnapshotMeta(const SnapshotMeta& meta) {
  std::string out;
  PutU64(&out, meta.index.value());
  PutU64(&out, meta.term.value());
  out += meta.membership.Encode();
  return out;
}

std::string EncodeEntry(const Entry& e) {
  std::string out;
  PutU64(&out, e.term.value());
  out.push_back(static_cast<char>(e.type));
  out += e.data;
  return out;
}

void PutSnapshot(rocksdb::WriteBatch& batch, const Snapshot& snapshot) {
  batch.Put(kSnapshotMetaKey, EncodeSnapshotMeta(snapshot.meta));
  batch.Put(kSnapshotDataKey, snapshot.data);
}

}  // namespace

RocksStorage::RocksStorage(rocksdb::DB* db) : db_(db) {}
RocksStorage::~RocksStorage() = default;

absl::StatusOr<std::unique_ptr<RocksStorage>> RocksStorage::Open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("create ", dir, ": ", ec.message()));
  rocksdb::Options options;
  options.create_if_missing = true;
  // Memtable flushes and compactions run at the lowest CPU priority (nice
  // 19): Raft's commit path (append, fsync, acknowledge) must not wait
  // behind the LSM's housekeeping for a core. A flush of a full 64 MiB
  // memtable takes tens of milliseconds of CPU, which at normal priority
  // showed up as a commit-latency spike on a 2-core machine. Raft storage
  // is the process's only RocksDB user, so lowering the default Env's
  // background pools affects nothing else; it stays lowered for the
  // process's life, which calling it again does not change.
  options.env->LowerThreadPoolCPUPriority(rocksdb::Env::HIGH, rocksdb::CpuPriority::kLow)
      .PermitUncheckedError();
  options.env->LowerThreadPoolCPUPriority(rocksdb::Env::LOW, rocksdb::CpuPriority::kLow)
      .PermitUncheckedError();
  // Obsolete files (a 64 MiB write-ahead log after each memtable flush)
  // are deleted in 4 MiB truncations at up to 128 MiB/s instead of one
  // unlink. On a file system mounted with online discard (as here) the
  // unlink of a 64 MiB file discards it at once, and a concurrent fdatasync
  // of the live log waited 20-30 ms behind it: every flush was a commit
  // latency spike. A 4 MiB truncation delays it 2-4 ms. The trash ratio is
  // set high because the database proper (SST files) is tiny next to its
  // logs, and with the default ratio every deletion would be immediate.
  rocksdb::Status sst_status;
  options.sst_file_manager.reset(rocksdb::NewSstFileManager(
      options.env, /*info_log=*/nullptr, /*trash_dir=*/"", /*rate_bytes_per_sec=*/128 << 20,
      /*delete_existing_trash=*/true, &sst_status, /*max_trash_db_ratio=*/1e6,
      /*bytes_max_delete_chunk=*/4 << 20));
  if (!sst_status.ok()) return FromRocks(sst_status, "create file manager for " + dir);
  rocksdb::DB* db = nullptr;
  absl::Status s = FromRocks(rocksdb::DB::Open(options, dir, &db), "open " + dir);
  if (!s.ok()) return s;
  return std::unique_ptr<RocksStorage>(new RocksStorage(db));
}

absl::StatusOr<PersistedState> RocksStorage::Load() {
  PersistedState state;
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), kHardStateKey, &value);
  if (s.ok()) {
    std::string_view in = value;
    uint64_t term, vote, commit;
    if (!GetU64(&in, &term) || !GetU64(&in, &vote) || !GetU64(&in, &commit) || !in.empty()) {
      return Corrupt("bad hard state");
    }
    state.hard_state = {Term(term), NodeId(static_cast<int32_t>(vote)), LogIndex(commit)};
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "get hard state");
  }
  s = db_->Get(rocksdb::ReadOptions(), kSnapshotMetaKey, &value);
  if (s.ok()) {
    std::string_view in = value;
    uint64_t index, term;
    if (!GetU64(&in, &index) || !GetU64(&in, &term)) return Corrupt("bad snapshot metadata");
    std::optional<Membership> membership = Membership::Decode(in);
    if (!membership) return Corrupt("bad snapshot membership");
    state.snapshot.meta = {LogIndex(index), Term(term), *membership};
    s = db_->Get(rocksdb::ReadOptions(), kSnapshotDataKey, &state.snapshot.data);
    if (!s.ok()) return FromRocks(s, "get snapshot data");
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "get snapshot metadata");
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  LogIndex expect = state.snapshot.meta.index + 1;
  for (it->Seek(EntryKey(expect)); it->Valid() && it->key().starts_with("e"); it->Next()) {
    std::string_view key(it->key().data() + 1, it->key().size() - 1);
    std::string_view in(it->value().data(), it->value().size());
    uint64_t index, term;
    if (!GetU64(&key, &index) || !GetU64(&in, &term) || in.empty()) return Corrupt("bad entry");
    if (LogIndex(index) != expect) {
      return Corrupt(absl::StrCat("gap in log: expected ", expect.value(), " found ", index));
    }
    const auto type = static_cast<EntryType>(in[0]);
    if (type > EntryType::kConfig) return Corrupt("bad entry type");
    in.remove_prefix(1);
    state.entries.push_back(Entry{Term(term), LogIndex(index), type, std::string(in)});
    ++expect;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scan log");
  const LogIndex last = state.snapshot.meta.index + state.entries.size();
  stored_hard_state_ = state.hard_state;
  first_index_ = state.snapshot.meta.index + 1;
  last_index_ = last;
  if (state.hard_state.commit > last) {
    return Corrupt(absl::StrCat("commit ", state.hard_state.commit.value(), " past last entry ",
                                last.value()));
  }
  return state;
}

absl::Status RocksStorage::SaveReady(const Ready& ready) {
  if (!ready.snapshot && ready.entries.empty() && !ready.hard_state) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  if (ready.snapshot) {
    // An installed snapshot replaces the whole log.
    if (first_index_ <= last_index_) {
      batch.DeleteRange(EntryKey(first_index_), EntryKey(last_index_ + 1));
    }
    PutSnapshot(batch, *ready.snapshot);
    first_index_ = ready.snapshot->meta.index + 1;
    last_index_ = ready.snapshot->meta.index;
  }
  if (!ready.entries.empty()) {
    // Stored entries at or after the first new one conflict with it: drop them.
    const LogIndex from = ready.entries.front().index;
    if (from <= last_index_) batch.DeleteRange(EntryKey(from), EntryKey(last_index_ + 1));
    for (const Entry& e : ready.entries) batch.Put(EntryKey(e.index), EncodeEntry(e));
    last_index_ = ready.entries.back().index;
  }
  // A batch that only moves the commit index needs no fsync (etcd's
  // MustSync): Raft keeps the commit index in volatile state, a restart that
  // finds an older one re-learns it from the leader, and the WAL's order
  // means this write survives a crash only with every write before it. Such
  // batches are most of a leader's at moderate rates; syncing them stalled
  // the node thread and competed for the disk with the syncs that matter.
  bool sync = ready.snapshot.has_value() || !ready.entries.empty();
  if (ready.hard_state) {
    batch.Put(kHardStateKey, EncodeHardState(*ready.hard_state));
    sync = sync || ready.hard_state->term != stored_hard_state_.term ||
           ready.hard_state->vote != stored_hard_state_.vote;
    stored_hard_state_ = *ready.hard_state;
  }
  rocksdb::WriteOptions options;
  options.sync = sync;
  if (sync) ++synced_writes_;
  return FromRocks(db_->Write(options, &batch), "write ready");
}

absl::Status RocksStorage::SaveSnapshot(const Snapshot& snapshot) {
  rocksdb::WriteBatch batch;
  PutSnapshot(batch, snapshot);
  const LogIndex end = std::min(snapshot.meta.index, last_index_) + 1;
  if (first_index_ < end) batch.DeleteRange(EntryKey(first_index_), EntryKey(end));
  first_index_ = std::max(first_index_, snapshot.meta.index + 1);
  last_index_ = std::max(last_index_, snapshot.meta.index);
  rocksdb::WriteOptions options;
  options.sync = true;
  ++synced_writes_;
  return FromRocks(db_->Write(options, &batch), "write snapshot");
}

}  // namespace fjord::raft
