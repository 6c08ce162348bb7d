// Record builders for tests of the image and the controller logic.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "controller/metadata_delta.h"
#include "controller/uuid.h"
#include "proto/fjord/v1/records.pb.h"

namespace fjord::controller::testing {

v1::MetadataRecord RegisterBrokerRec(int32_t id, int64_t epoch, bool fenced = true,
                                     const std::string& rack = "", Uuid incarnation = {7, 7});
v1::MetadataRecord FenceRec(int32_t id, int64_t epoch);
v1::MetadataRecord UnfenceRec(int32_t id, int64_t epoch);
v1::MetadataRecord TopicRec(const std::string& name, Uuid id);
v1::MetadataRecord PartitionRec(Uuid topic, int32_t partition, std::vector<int32_t> replicas,
                                std::vector<int32_t> isr, int32_t leader);
// A PartitionChangeRecord; std::nullopt fields stay absent.
v1::MetadataRecord ChangeRec(Uuid topic, int32_t partition, std::optional<std::vector<int32_t>> isr,
                             std::optional<int32_t> leader);
v1::MetadataRecord RemoveTopicRec(Uuid id);
v1::MetadataRecord ConfigRec(v1::ConfigResource::Type type, const std::string& resource,
                             const std::string& key, std::optional<std::string> value);
v1::MetadataRecordBatch Batch(std::initializer_list<v1::MetadataRecord> records);
v1::MetadataRecordBatch Batch(const std::vector<v1::MetadataRecord>& records);

// Replays `batches` at offsets 1, 2, ... onto an empty image.
std::shared_ptr<const MetadataImage> ReplayAll(const std::vector<v1::MetadataRecordBatch>& batches);

}  // namespace fjord::controller::testing
