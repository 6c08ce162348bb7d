#include "controller/snapshot.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controller/metadata_delta.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/delimited_message_util.h"

namespace fjord::controller {

void ImageToRecords(const MetadataImage& image,
                    const std::function<void(const v1::MetadataRecord&)>& emit) {
  v1::MetadataRecord record;
  for (const auto& [id, broker] : image.brokers()) {
    *record.mutable_register_broker() = broker->ToRecord();
    emit(record);
  }
  image.topics().ForEach([&](const Uuid& id, const std::shared_ptr<const TopicImage>& topic) {
    auto* t = record.mutable_topic();
    t->set_name(topic->name);
    id.ToProto(t->mutable_topic_id());
    emit(record);
    for (size_t p = 0; p < topic->partitions.size(); ++p) {
      *record.mutable_partition() =
          topic->partitions[p]->ToRecord(id, PartitionId(static_cast<int32_t>(p)));
      emit(record);
    }
  });
  image.configs().ForEach(
      [&](const ConfigResourceKey& key, const std::shared_ptr<const ConfigValues>& values) {
        for (const auto& [name, value] : *values) {
          auto* c = record.mutable_config();
          c->set_resource_type(key.type);
          c->set_resource_name(key.name);
          c->set_name(name);
          c->set_value(value);
          emit(record);
        }
      });
  if (image.next_producer_id() > 0) {
    auto* p = record.mutable_producer_ids();
    p->set_broker_id(-1);
    p->set_broker_epoch(-1);
    p->set_next_producer_id(image.next_producer_id());
    emit(record);
  }
}

int64_t ImageRecordCount(const MetadataImage& image) {
  int64_t count = static_cast<int64_t>(image.brokers().size()) +
                  static_cast<int64_t>(image.topics().size()) + image.partition_count();
  image.configs().ForEach([&](const ConfigResourceKey&, const auto& values) {
    count += static_cast<int64_t>(values->size());
  });
  if (image.next_producer_id() > 0) ++count;
  return count;
}

std::string WriteSnapshot(const MetadataImage& image, const SnapshotInfo& info) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    v1::MetadataSnapshotHeader header;
    header.set_version(kSnapshotVersion);
    header.set_last_included_offset(image.offset().value());
    header.set_last_included_term(info.last_included_term);
    header.set_record_count(ImageRecordCount(image));
    header.set_create_time_ms(info.create_time_ms);
    header.set_cluster_id(info.cluster_id);
    google::protobuf::util::SerializeDelimitedToZeroCopyStream(header, &stream);
    v1::MetadataRecordBatch batch;
    auto flush = [&] {
      if (batch.records_size() == 0) return;
      google::protobuf::util::SerializeDelimitedToZeroCopyStream(batch, &stream);
      batch.Clear();
    };
    ImageToRecords(image, [&](const v1::MetadataRecord& record) {
      *batch.add_records() = record;
      if (batch.records_size() >= kSnapshotBatchRecords) flush();
    });
    flush();
  }
  return out;
}

absl::StatusOr<LoadedSnapshot> LoadSnapshot(absl::string_view bytes,
                                            absl::string_view expected_cluster_id) {
  google::protobuf::io::ArrayInputStream stream(bytes.data(), static_cast<int>(bytes.size()));
  LoadedSnapshot loaded;
  bool clean_eof = false;
  if (!google::protobuf::util::ParseDelimitedFromZeroCopyStream(&loaded.header, &stream,
                                                                &clean_eof)) {
    return absl::DataLossError("snapshot: bad header");
  }
  const auto& header = loaded.header;
  if (header.version() != kSnapshotVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("snapshot: unsupported version ", header.version()));
  }
  if (!expected_cluster_id.empty() && header.cluster_id() != expected_cluster_id) {
    return absl::FailedPreconditionError(absl::StrCat("snapshot of cluster ", header.cluster_id(),
                                                      ", expected ", expected_cluster_id));
  }
  MetadataDelta delta(MetadataImage::Empty());
  int64_t count = 0;
  v1::MetadataRecordBatch batch;
  while (true) {
    batch.Clear();  // ParseDelimited* merges into the message
    if (!google::protobuf::util::ParseDelimitedFromZeroCopyStream(&batch, &stream, &clean_eof)) {
      if (clean_eof) break;
      return absl::DataLossError("snapshot: bad batch framing");
    }
    for (const auto& record : batch.records()) RETURN_IF_ERROR(delta.Replay(record));
    count += batch.records_size();
  }
  if (count != header.record_count()) {
    return absl::DataLossError(
        absl::StrCat("snapshot: ", count, " records, header says ", header.record_count()));
  }
  delta.SetOffset(Offset(header.last_included_offset()));
  loaded.image = delta.Apply();
  return loaded;
}

}  // namespace fjord::controller
