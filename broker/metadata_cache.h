// MetadataCache: the broker's current MetadataImage plus what the image does
// not carry (cluster id, active controller). The metadata follower publishes
// a new image with Publish(); request handlers take a snapshot with image()
// and read it without locks for as long as they hold the pointer.
//
// Threading: thread-safe; `mu_` guards only the pointer swap.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "common/types.h"
#include "controller/metadata_image.h"

namespace fjord::broker {

class MetadataCache {
 public:
  explicit MetadataCache(std::string cluster_id) : cluster_id_(std::move(cluster_id)) {}

  controller::ImagePtr image() const {
    absl::MutexLock lock(&mu_);
    return image_;
  }
  void Publish(controller::ImagePtr image) {
    absl::MutexLock lock(&mu_);
    image_ = std::move(image);
  }
  NodeId controller_id() const {
    absl::MutexLock lock(&mu_);
    return controller_id_;
  }
  void set_controller_id(NodeId id) {
    absl::MutexLock lock(&mu_);
    controller_id_ = id;
  }
  const std::string& cluster_id() const { return cluster_id_; }

 private:
  const std::string cluster_id_;
  mutable absl::Mutex mu_;
  controller::ImagePtr image_ ABSL_GUARDED_BY(mu_) = controller::MetadataImage::Empty();
  NodeId controller_id_ ABSL_GUARDED_BY(mu_) = kNoNode;
};

}  // namespace fjord::broker
