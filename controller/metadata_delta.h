// MetadataDelta: replays metadata records onto a base image and produces the
// next MetadataImage. Replay is the only way metadata changes, on the active
// controller, on standbys and on brokers alike.
//
//   MetadataDelta delta(current_image);
//   RETURN_IF_ERROR(delta.ReplayBatch(batch, offset));   // any number of batches
//   current_image = delta.Apply();                      // publish
//
// Semantics follow records.proto: PartitionChangeRecord bumps the partition
// epoch, and the leader epoch when it names a leader; a FenceBrokerRecord for
// a stale broker epoch is ignored; a record whose kind is unset or unknown is
// an error and replay stops there.
//
// Errors: a record that cannot apply (unknown topic, broken partition
// invariant, unknown kind, ...) returns an error status. The delta is then in
// an unspecified state and must be discarded; images already produced by
// Apply() are unaffected. For committed records, an error means the log was
// written by a newer or broken controller: the owner stops.
//
// Cost: Apply() copies a few thousand pointers (see PersistentMap); replaying
// a record copies at most one map shard, one topic's partition-pointer
// vector and one partition.
//
// Thread safety: one thread owns a delta. Images it produced are immutable
// and may be handed to any thread.
#pragma once

#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "common/types.h"
#include "controller/metadata_image.h"
#include "proto/fjord/v1/records.pb.h"

namespace fjord::controller {

class MetadataDelta {
 public:
  explicit MetadataDelta(std::shared_ptr<const MetadataImage> base);
  MetadataDelta(const MetadataDelta&) = delete;
  MetadataDelta& operator=(const MetadataDelta&) = delete;

  // Replays the records of one log entry and moves the offset to `offset`,
  // which must exceed the current offset.
  absl::Status ReplayBatch(const v1::MetadataRecordBatch& batch, Offset offset);
  // Replays one record without moving the offset (snapshot loading).
  absl::Status Replay(const v1::MetadataRecord& record);
  // Sets the offset the next image reflects (snapshot loading).
  void SetOffset(Offset offset) { working_.offset_ = offset; }

  // The metadata as replayed so far. Valid until the next Replay.
  const MetadataImage& image() const { return working_; }

  // A new immutable image of everything replayed so far. The delta stays
  // usable and continues from there.
  std::shared_ptr<const MetadataImage> Apply();

 private:
  absl::Status ReplayRegisterBroker(const v1::RegisterBrokerRecord& r);
  absl::Status ReplayFenceBroker(const v1::FenceBrokerRecord& r);
  absl::Status ReplayUnfenceBroker(const v1::UnfenceBrokerRecord& r);
  absl::Status ReplayUnregisterBroker(const v1::UnregisterBrokerRecord& r);
  absl::Status ReplayBrokerChange(const v1::BrokerRegistrationChangeRecord& r);
  absl::Status ReplayTopic(const v1::TopicRecord& r);
  absl::Status ReplayPartition(const v1::PartitionRecord& r);
  absl::Status ReplayPartitionChange(const v1::PartitionChangeRecord& r);
  absl::Status ReplayRemoveTopic(const v1::RemoveTopicRecord& r);
  absl::Status ReplayConfig(const v1::ConfigRecord& r);
  absl::Status ReplayProducerIds(const v1::ProducerIdsRecord& r);

  // A copy of the broker's registration that this delta may change, or
  // nullptr if absent or its epoch differs from `epoch`.
  BrokerRegistration* MutableBroker(BrokerId id, BrokerEpoch epoch);
  // The topic, copied on first write since the last Apply(); nullptr if absent.
  TopicImage* MutableTopic(const Uuid& id);

  MetadataImage working_;
  MetadataImage::TopicMap::Editor topics_;
  MetadataImage::TopicNameMap::Editor topic_names_;
  MetadataImage::ConfigMap::Editor configs_;
  // Objects created by this delta since the last Apply(), editable in place.
  absl::flat_hash_set<const void*> owned_;
};

}  // namespace fjord::controller
