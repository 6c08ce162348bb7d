#include "controller/metadata_state_machine.h"

#include "common/assert.h"
#include "controller/metadata_delta.h"
#include "controller/snapshot.h"

namespace fjord::controller {

MetadataStateMachine::MetadataStateMachine(std::string cluster_id, size_t retained_entries)
    : cluster_id_(std::move(cluster_id)),
      retained_entries_(retained_entries),
      image_(MetadataImage::Empty()) {}

std::shared_ptr<const MetadataImage> MetadataStateMachine::image() const {
  absl::MutexLock lock(&mu_);
  return image_;
}

int64_t MetadataStateMachine::unclean_elections() const {
  absl::MutexLock lock(&mu_);
  return unclean_elections_;
}

void MetadataStateMachine::Apply(const std::vector<raft::Entry>& entries) {
  MetadataDelta delta(image());
  std::vector<v1::MetadataLogEntry> applied;
  int64_t unclean = 0;
  for (const raft::Entry& entry : entries) {
    const int64_t offset = static_cast<int64_t>(entry.index.value());
    last_term_ = static_cast<int64_t>(entry.term.value());
    // Entries already in the image (replayed again after a restart) and
    // entries without records carry nothing to apply.
    if (entry.data.empty() || offset <= delta.image().offset().value()) continue;
    v1::MetadataLogEntry log_entry;
    log_entry.set_offset(offset);
    log_entry.set_term(last_term_);
    FJORD_CHECK(log_entry.mutable_batch()->ParseFromString(entry.data))
        << "metadata entry " << offset << " does not parse";
    absl::Status status = delta.ReplayBatch(log_entry.batch(), Offset(offset));
    FJORD_CHECK(status.ok()) << "cannot apply committed metadata at offset " << offset << ": "
                             << status;
    for (const auto& r : log_entry.batch().records()) {
      if (r.has_partition_change() && r.partition_change().has_leader() &&
          r.partition_change().leader() != -1 &&
          r.partition_change().leader_recovery_state() == v1::RECOVERING) {
        ++unclean;
      }
    }
    applied.push_back(std::move(log_entry));
  }
  auto next = delta.Apply();
  {
    absl::MutexLock lock(&mu_);
    image_ = std::move(next);
    unclean_elections_ += unclean;
    for (auto& e : applied) retained_.push_back(std::move(e));
    while (retained_.size() > retained_entries_) retained_.pop_front();
  }
  if (listener_) listener_();
}

std::string MetadataStateMachine::Snapshot() {
  return WriteSnapshot(*image(), {.last_included_term = last_term_, .cluster_id = cluster_id_});
}

absl::Status MetadataStateMachine::Restore(const raft::SnapshotMeta& meta,
                                           const std::string& data) {
  auto loaded = LoadSnapshot(data, cluster_id_);
  if (!loaded.ok()) return loaded.status();
  last_term_ = static_cast<int64_t>(meta.term.value());
  {
    absl::MutexLock lock(&mu_);
    image_ = loaded->image;
    retained_.clear();  // entries before the snapshot are gone; fetchers get it
  }
  if (listener_) listener_();
  return absl::OkStatus();
}

std::vector<v1::MetadataLogEntry> MetadataStateMachine::ReadFrom(int64_t from, size_t max_entries,
                                                                 bool* need_snapshot) const {
  absl::MutexLock lock(&mu_);
  std::vector<v1::MetadataLogEntry> out;
  // Entries from `from` are all retained if `from` is past the image, or the
  // oldest retained entry is at or before it.
  const int64_t image_offset = image_->offset().value();
  *need_snapshot = from <= image_offset &&
                   (retained_.empty() || retained_.front().offset() > from) && image_offset >= 0;
  if (*need_snapshot) return out;
  for (const auto& e : retained_) {
    if (e.offset() < from) continue;
    if (out.size() >= max_entries) break;
    out.push_back(e);
  }
  return out;
}

}  // namespace fjord::controller
