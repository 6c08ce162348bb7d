// ImageApplier: makes the local replicas match a MetadataImage (Kafka's
// ReplicaManager.applyDelta): creates the replicas this broker is assigned,
// makes each leader or follower at the image's leader epoch, points the
// follower fetchers at the right leader, and stops hosting replicas the image
// no longer assigns here (deleted topics, reassignments), deleting their
// files. Removals come first, so a topic deleted and created again under the
// same name (the same directory) starts from an empty log.
//
// Threading: Apply() is called by one thread (the metadata follower, or a
// test); it is not reentrant.
#pragma once

#include <memory>
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
  ImageApplier(ReplicaManager& replicas, FollowerRegistry& followers, std::string listener_name)
      : replicas_(replicas), followers_(followers), listener_name_(std::move(listener_name)) {}

  // Applies `image`. A replica whose log cannot be opened is reported and
  // skipped (it stays offline); the rest still apply.
  absl::Status Apply(const controller::MetadataImage& image);

 private:
  ReplicaManager& replicas_;
  FollowerRegistry& followers_;
  const std::string listener_name_;
};

}  // namespace fjord::broker
