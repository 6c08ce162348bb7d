// ImageApplier: makes the local replicas match a MetadataImage (Kafka's
// ReplicaManager.applyDelta): creates the replicas this broker is assigned,
// makes each leader or follower at the image's leader epoch, points the
// follower fetchers at the right leader, and stops hosting replicas the image
// no longer assigns here (deleted topics, reassignments), deleting their
// files. Removals come first, so a topic deleted and created again under the
// same name (the same directory) starts from an empty log.
//
// Initial catch-up (Kafka's broker waits for it before publishing metadata
// to its replica manager): with a `broker_epoch`, images are ignored until
// one holds this run's own registration (that epoch). An older image, e.g.
// the one a restarted broker rebuilds before the controller has fenced its
// previous incarnation, can name it leader at an epoch it already led: it
// would append at offsets its followers hold with other records.
//
// Startup sweep: directories of replicas a previous run hosted but the
// metadata no longer assigns here (a topic deleted while this broker was
// down) are never opened, so nothing above deletes them. At the first
// caught-up image every partition directory it does not assign here is
// deleted, with any `*.deleting` left by a crash
// (ReplicaManager::DeleteStrayDirectories). Never earlier: an image older
// than this run's registration may predate the creation of a topic whose
// directory is on disk.
//
// Threading: Apply() is called by one thread (the metadata follower, or a
// test); it is not reentrant.
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "broker/replica_manager.h"
#include "controller/metadata_image.h"

namespace fjord::broker {

// Where follower replicas fetch from (the ReplicaFetcherManager).
class FollowerRegistry {
 public:
  virtual ~FollowerRegistry() = default;
  // Fetch `replica` from broker `leader` at `address` ("host:port").
  virtual void Follow(std::shared_ptr<Replica> replica, BrokerId leader, std::string address) = 0;
  // Stop fetching `replica` (it leads now, or is gone).
  virtual void Unfollow(const Replica& replica) = 0;
};

class ImageApplier {
 public:
  // `listener_name` names the inter-broker listener followers connect to.
  // `broker_epoch` returns this run's registration epoch (-1 before
  // registering); without it every image applies and there is no sweep.
  ImageApplier(ReplicaManager& replicas, FollowerRegistry& followers, std::string listener_name,
               std::function<BrokerEpoch()> broker_epoch = nullptr)
      : replicas_(replicas),
        followers_(followers),
        listener_name_(std::move(listener_name)),
        broker_epoch_(std::move(broker_epoch)) {}

  // Applies `image`. A replica whose log cannot be opened is reported and
  // skipped (it stays offline); the rest still apply.
  absl::Status Apply(const controller::MetadataImage& image);

 private:
  // True from the first image that holds this run's registration on.
  bool CaughtUp(const controller::MetadataImage& image);
  // The startup sweep, at the first caught-up image.
  absl::Status MaybeSweep(const controller::MetadataImage& image,
                          const std::set<std::string>& assigned_dirs);

  ReplicaManager& replicas_;
  FollowerRegistry& followers_;
  const std::string listener_name_;
  const std::function<BrokerEpoch()> broker_epoch_;
  bool caught_up_ = false;
  bool swept_ = false;
};

}  // namespace fjord::broker
