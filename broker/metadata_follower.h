// MetadataFollower: follows the controller's committed metadata log over the
// FetchMetadata stream and publishes MetadataImages (Kafka's
// BrokerMetadataListener + publisher). A snapshot (when the broker is too far
// behind) rebuilds the image from empty; log entries are replayed with the
// controller's MetadataDelta; after each stream message the new image goes
// to `publish` (the BrokerServer's ApplyImage).
//
// A record that cannot replay means the log came from a newer or broken
// controller: the follower logs it and stops following (the image stays at
// the last good offset) rather than guess.
//
// Threading: one thread runs the stream; Stop() cancels it. applied_offset()
// is thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "broker/controller_channel.h"
#include "controller/metadata_delta.h"

namespace fjord::broker {

struct MetadataFollowerOptions {
  std::string cluster_id;
  BrokerId id{0};
  absl::Duration retry_backoff = absl::Milliseconds(200);
};

class MetadataFollower {
 public:
  MetadataFollower(ControllerChannel& channel, MetadataFollowerOptions options,
                   std::function<BrokerEpoch()> broker_epoch,
                   std::function<void(controller::ImagePtr)> publish);
  ~MetadataFollower();  // Stop()s.

  void Start();
  void Stop();
  // The metadata offset of the last published image, or -1.
  int64_t applied_offset() const;
  // True once a replay error stopped the follower.
  bool failed() const;

 private:
  void Loop();
  // One stream's life; false after a replay error (stop following).
  bool RunStream();

  ControllerChannel& channel_;
  const MetadataFollowerOptions options_;
  const std::function<BrokerEpoch()> broker_epoch_;
  const std::function<void(controller::ImagePtr)> publish_;

  // Owned by the stream thread.
  controller::ImagePtr image_ = controller::MetadataImage::Empty();
  std::unique_ptr<controller::MetadataDelta> delta_;
  std::unique_ptr<controller::MetadataDelta> snapshot_;

  mutable absl::Mutex mu_;
  int64_t applied_ ABSL_GUARDED_BY(mu_) = -1;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool failed_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

}  // namespace fjord::broker
