// ReplicaManager: the partition replicas this broker hosts, by topic name and
// by topic id, each in its own directory under log.dirs
// (<log_dir>/<topic>-<partition>, as Kafka names them, with Kafka's
// partition.metadata naming the topic id).
//
// Ownership: replicas are shared_ptr; request handlers and replication
// sessions hold a replica for the length of one operation, so removing one
// never pulls it from under a reader.
//
// Change listeners (the purgatory, replication sessions) hear about every
// append and high-watermark move, on the thread that made it, with no
// manager lock held except `listeners_mu_` (shared); a listener must be
// quick and must not add or remove listeners.
//
// Threading: thread-safe. `mu_` guards the replica maps; `listeners_mu_` the
// listener list.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/replica.h"
#include "storage/file_system.h"
#include "storage/log_config.h"

namespace fjord::broker {

struct ReplicaManagerOptions {
  BrokerId local{0};
  std::string log_dir;
  ReplicaConfig replica;
  storage::LogConfig log;
};

class ReplicaManager {
 public:
  using Listener = std::function<void(const Replica&)>;

  // `fs`, `clock` and `sender` must outlive the manager.
  ReplicaManager(storage::FileSystem& fs, const Clock& clock, ReplicaManagerOptions options,
                 AlterPartitionSender& sender);

  // The replica, opening (and recovering) its log on first use.
  absl::StatusOr<std::shared_ptr<Replica>> GetOrCreate(const controller::Uuid& topic_id,
                                                       const std::string& topic, PartitionId p);
  std::shared_ptr<Replica> Get(const std::string& topic, PartitionId p) const;
  std::shared_ptr<Replica> Get(const controller::Uuid& topic_id, PartitionId p) const;
  // Stops hosting the replica; its files stay.
  void Remove(const controller::Uuid& topic_id, PartitionId p);
  // Remove, then deletes its directory (the image no longer assigns it
  // here: topic deleted or replica moved away). Readers still holding the
  // replica finish on the closed log.
  absl::Status Delete(const controller::Uuid& topic_id, PartitionId p);
  std::vector<std::shared_ptr<Replica>> All() const;
  // The startup sweep (Kafka's stray-log cleanup): deletes each partition
  // directory under log.dirs that is neither hosted nor named in `keep`
  // (<topic>-<partition> names the metadata assigns here: a topic deleted
  // while this broker was down), and each `*.deleting` directory a crash
  // left behind in RemoveAll. A directory counts as a partition directory
  // only if its name is <topic>-<number> and it holds log files (segments or
  // checkpoints), so other data under log.dirs (meta.properties, raft/) is
  // never touched. Returns the paths deleted; the first error stops it.
  absl::StatusOr<std::vector<std::string>> DeleteStrayDirectories(
      const std::set<std::string>& keep);
  // <log_dir>/<topic>-<partition>'s name within log_dir.
  static std::string DirName(const std::string& topic, PartitionId p);

  int AddListener(Listener listener);
  void RemoveListener(int id);

  // Timer work for every replica: ISR shrink checks, interval flushes,
  // checkpoints when `checkpoint` is true.
  void Tick(bool checkpoint);
  // Flushes and checkpoints every log (shutdown).
  void CloseAll();

  const ReplicaManagerOptions& options() const { return options_; }

 private:
  void Notify(const Replica& replica);
  // <log_dir>/<topic>-<partition>.
  std::string DirOf(const std::string& topic, PartitionId p) const;
  // Makes `dir` the directory of `topic_id`'s partition: its
  // partition.metadata (Kafka's file: "version: 0", "topic_id: <base64>")
  // names the topic id. A directory naming another topic id (a topic of
  // the same name deleted while this broker was down) is deleted first; one
  // without the file (older brokers) is adopted.
  absl::Status ClaimDirectory(const std::string& dir, const controller::Uuid& topic_id);
  // Removes the replica from the maps and closes its log; null if absent.
  std::shared_ptr<Replica> Detach(const controller::Uuid& topic_id, PartitionId p);

  storage::FileSystem& fs_;
  const Clock& clock_;
  const ReplicaManagerOptions options_;
  AlterPartitionSender& sender_;

  mutable absl::Mutex mu_;
  std::map<std::pair<controller::Uuid, int32_t>, std::shared_ptr<Replica>> by_id_
      ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, int32_t>, std::shared_ptr<Replica>> by_name_ ABSL_GUARDED_BY(mu_);

  mutable absl::Mutex listeners_mu_;
  std::map<int, Listener> listeners_ ABSL_GUARDED_BY(listeners_mu_);
  int next_listener_ ABSL_GUARDED_BY(listeners_mu_) = 0;
};

}  // namespace fjord::broker
