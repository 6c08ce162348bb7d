// Metadata snapshots: an image stated as records, and its byte form.
//
// Format (records.proto MetadataSnapshotHeader): a sequence of
// varint32-length-delimited protobuf messages, one MetadataSnapshotHeader then
// MetadataRecordBatch messages (at most kSnapshotBatchRecords records each)
// until the end. Record order: brokers by id; each topic's TopicRecord then
// its PartitionRecords by partition id (topics in PersistentMap order, which
// depends only on the topic ids); config records by resource then key; one
// ProducerIdsRecord if any id was handed out. Equal images give equal bytes.
//
// Replaying the records into an empty image gives back an equal image
// (load(write(image)) == image); the tests check this against log replay.
//
// Thread safety: pure functions; the image is immutable.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/metadata_image.h"
#include "proto/fjord/v1/records.pb.h"

namespace fjord::controller {

inline constexpr int kSnapshotVersion = 1;
inline constexpr int kSnapshotBatchRecords = 1024;

// Calls emit(record) for every record of the image, in the order above.
void ImageToRecords(const MetadataImage& image,
                    const std::function<void(const v1::MetadataRecord&)>& emit);
// The number of records ImageToRecords emits.
int64_t ImageRecordCount(const MetadataImage& image);

struct SnapshotInfo {
  int64_t last_included_term = 0;
  std::string cluster_id;
  int64_t create_time_ms = 0;
};

// The snapshot bytes of `image` (at image.offset()).
std::string WriteSnapshot(const MetadataImage& image, const SnapshotInfo& info);

struct LoadedSnapshot {
  v1::MetadataSnapshotHeader header;
  std::shared_ptr<const MetadataImage> image;
};

// Parses and replays a snapshot. Fails on bad framing, a version other than
// kSnapshotVersion, a record count that does not match the header, a record
// that does not replay, or (if expected_cluster_id is not empty) another
// cluster's snapshot.
absl::StatusOr<LoadedSnapshot> LoadSnapshot(absl::string_view bytes,
                                            absl::string_view expected_cluster_id = "");

}  // namespace fjord::controller
