#include "broker/group/group_record.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"

namespace fjord::group {

GroupRecord MakeRecord(GroupRecordKey::Type type, const std::string& group_id,
                       const std::string& member_id, const google::protobuf::Message* value) {
  GroupRecord r;
  r.key.set_type(type);
  r.key.set_group_id(group_id);
  r.key.set_member_id(member_id);
  if (value != nullptr) r.value = value->SerializeAsString();
  return r;
}

GroupRecord MakeOffsetRecord(const std::string& group_id, const std::string& topic,
                             int32_t partition, const OffsetCommitValue* value) {
  GroupRecord r;
  r.key.set_type(GroupRecordKey::OFFSET_COMMIT);
  r.key.set_group_id(group_id);
  r.key.set_topic(topic);
  r.key.set_partition(partition);
  if (value != nullptr) r.value = value->SerializeAsString();
  return r;
}

absl::StatusOr<std::string> EncodeBatches(const std::vector<GroupRecord>& records,
                                          int64_t timestamp_ms) {
  std::string out;
  storage::RecordBatchBuilder builder;
  auto flush = [&]() -> absl::Status {
    if (builder.record_count() == 0) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::string batch, builder.Build());
    out += batch;
    return absl::OkStatus();
  };
  for (const GroupRecord& r : records) {
    const std::string key = r.key.SerializeAsString();
    const size_t size = key.size() + (r.value ? r.value->size() : 0) + 32;
    if (builder.record_count() > 0 && builder.uncompressed_size() + size > kMaxGroupBatchBytes) {
      RETURN_IF_ERROR(flush());
    }
    if (r.value) {
      builder.Append(timestamp_ms, key, std::string_view(*r.value));
    } else {
      builder.Append(timestamp_ms, key, std::nullopt);
    }
  }
  RETURN_IF_ERROR(flush());
  return out;
}

absl::Status DecodeBatches(
    std::string_view bytes,
    const std::function<absl::Status(int64_t offset, GroupRecord)>& on_record,
    int64_t* next_offset) {
  storage::BatchIterator it(bytes);
  while (it.Next()) {
    ASSIGN_OR_RETURN(storage::DecodedBatch batch,
                     storage::DecodedBatch::Decode(it.batch(), storage::BatchLimits{}));
    *next_offset = batch.header().next_offset().value();
    if (batch.header().is_control()) continue;
    for (const storage::Record& rec : batch.records()) {
      const int64_t offset = batch.header().base_offset.value() + rec.offset_delta;
      GroupRecord r;
      if (!rec.key.has_value() ||
          !r.key.ParseFromArray(rec.key->data(), static_cast<int>(rec.key->size()))) {
        return absl::DataLossError(absl::StrCat("offset ", offset, ": not a group record key"));
      }
      if (rec.value.has_value()) r.value = std::string(*rec.value);
      RETURN_IF_ERROR(on_record(offset, std::move(r)));
    }
  }
  return it.status();
}

}  // namespace fjord::group
