// GroupRecord: one record of a coordinator's __consumer_offsets partition
// (key + value, or key + null value = tombstone), the builders for each kind,
// and the codec between records and RecordBatch v2 bytes.
//
// On disk every record is an ordinary Kafka record: key = a serialized
// GroupRecordKey, value = the serialized value message its type names
// (group_records.proto), or null. A coordinator writes the records of one
// operation as one append (one or more batches, appended atomically by the
// replica), so a reader never sees half an operation.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/group/group_records.pb.h"

namespace fjord::group {

struct GroupRecord {
  GroupRecordKey key;
  // The serialized value message; nullopt for a tombstone.
  std::optional<std::string> value;
};

GroupRecord MakeRecord(GroupRecordKey::Type type, const std::string& group_id,
                       const std::string& member_id, const google::protobuf::Message* value);
GroupRecord MakeOffsetRecord(const std::string& group_id, const std::string& topic,
                             int32_t partition, const OffsetCommitValue* value);

// Largest batch EncodeBatches builds (well under message.max.bytes).
inline constexpr size_t kMaxGroupBatchBytes = 512 << 10;

// Concatenated RecordBatch v2 bytes holding `records` in order (several
// batches when they exceed kMaxGroupBatchBytes); base offsets are 0, the
// leader stamps the real ones.
absl::StatusOr<std::string> EncodeBatches(const std::vector<GroupRecord>& records,
                                          int64_t timestamp_ms);

// Calls `on_record` for each record of the concatenated batches in `bytes`,
// in log order, with the offset of each record. Records whose key does not
// parse are an error (the partition holds only coordinator records).
absl::Status DecodeBatches(
    std::string_view bytes,
    const std::function<absl::Status(int64_t offset, GroupRecord)>& on_record,
    int64_t* next_offset);

}  // namespace fjord::group
