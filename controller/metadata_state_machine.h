// MetadataStateMachine: the metadata log as a raft::StateMachine. Each
// committed kNormal Raft entry is one serialized MetadataRecordBatch at
// metadata offset = its Raft index; Apply replays it into the committed
// MetadataImage. Raft snapshots are metadata snapshots (snapshot.h).
//
// It also keeps the last `retained_entries` committed batches in memory, so
// the FetchMetadata stream can serve brokers that are a little behind; a
// broker further behind gets the image as a snapshot first.
//
// Threads: Apply/Snapshot/Restore run on the RaftNode's thread. image(),
// ReadFrom() and the counters may be called from any thread (one mutex
// guards the published image pointer and the retained entries; replay itself
// runs outside it, on the node thread, which is the only writer).
//
// A committed entry that does not replay (a record kind unknown to this
// binary, or a corrupt log) is fatal: a controller that cannot apply the log
// must stop rather than diverge.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "controller/metadata_image.h"
#include "proto/fjord/v1/controller.pb.h"
#include "raft/node/state_machine.h"

namespace fjord::controller {

class MetadataStateMachine : public raft::StateMachine {
 public:
  explicit MetadataStateMachine(std::string cluster_id, size_t retained_entries = 10'000);

  void Apply(const std::vector<raft::Entry>& entries) override;
  std::string Snapshot() override;
  absl::Status Restore(const raft::SnapshotMeta& meta, const std::string& data) override;

  // Called on the node thread after every Apply/Restore (e.g. to wake the
  // controller's event loop). Set before the RaftNode starts.
  void SetListener(std::function<void()> listener) { listener_ = std::move(listener); }

  // The committed image.
  std::shared_ptr<const MetadataImage> image() const;

  // Committed entries with offset >= `from`, at most `max_entries`. Sets
  // *need_snapshot when entries from `from` are no longer retained (the
  // caller sends image() as a snapshot first, then continues after it).
  std::vector<v1::MetadataLogEntry> ReadFrom(int64_t from, size_t max_entries,
                                             bool* need_snapshot) const;

  // PartitionChangeRecords that elected a leader uncleanly, since start.
  int64_t unclean_elections() const;

 private:
  const std::string cluster_id_;
  const size_t retained_entries_;
  std::function<void()> listener_;
  int64_t last_term_ = 0;  // node thread only

  mutable absl::Mutex mu_;
  std::shared_ptr<const MetadataImage> image_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::MetadataLogEntry> retained_ ABSL_GUARDED_BY(mu_);
  int64_t unclean_elections_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fjord::controller
