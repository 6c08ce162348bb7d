// The v1 contract round-trips through the wire format, record batches stay
// opaque bytes, and error codes carry Kafka's numbers.
#include <gtest/gtest.h>

#include <string>

#include "google/protobuf/util/message_differencer.h"
#include "proto/fjord/v1/broker.pb.h"
#include "proto/fjord/v1/controller.pb.h"
#include "proto/fjord/v1/errors.pb.h"
#include "proto/fjord/v1/records.pb.h"

namespace fjord {
namespace {

using google::protobuf::util::MessageDifferencer;

template <typename M>
M RoundTrip(const M& in) {
  std::string wire;
  EXPECT_TRUE(in.SerializeToString(&wire));
  M out;
  EXPECT_TRUE(out.ParseFromString(wire));
  return out;
}

TEST(ProtoRoundTrip, ProduceRequestKeepsBatchBytesExactly) {
  v1::ProduceRequest request;
  request.set_acks(-1);
  request.set_timeout_ms(30000);
  auto* topic = request.add_topic_data();
  topic->set_topic("orders");
  auto* partition = topic->add_partition_data();
  partition->set_partition(3);
  std::string batch(61, '\0');
  batch[16] = 2;  // magic
  batch += std::string("\xff\x00\x7f\x80", 4);
  partition->set_records(batch);

  v1::ProduceRequest out = RoundTrip(request);
  EXPECT_TRUE(MessageDifferencer::Equals(request, out));
  EXPECT_EQ(out.topic_data(0).partition_data(0).records(), batch);
  EXPECT_EQ(out.acks(), -1);
}

TEST(ProtoRoundTrip, MetadataRecordBatchDistinguishesAbsentFromEmpty) {
  v1::MetadataRecordBatch batch;
  auto* topic = batch.add_records()->mutable_topic();
  topic->set_name("orders");
  topic->mutable_topic_id()->set_high(0x1234);
  topic->mutable_topic_id()->set_low(0x5678);
  auto* change = batch.add_records()->mutable_partition_change();
  change->set_partition_id(0);
  change->mutable_isr();   // present and empty: "the ISR is now empty"
  change->set_leader(-1);  // present: "no leader"

  v1::MetadataRecordBatch out = RoundTrip(batch);
  ASSERT_EQ(out.records_size(), 2);
  EXPECT_EQ(out.records(0).record_case(), v1::MetadataRecord::kTopic);
  EXPECT_EQ(out.records(0).topic().topic_id().low(), 0x5678u);
  const auto& c = out.records(1).partition_change();
  EXPECT_TRUE(c.has_isr());
  EXPECT_EQ(c.isr().broker_ids_size(), 0);
  EXPECT_TRUE(c.has_leader());
  EXPECT_EQ(c.leader(), -1);
  EXPECT_FALSE(c.has_replicas());  // absent: unchanged
}

TEST(ProtoRoundTrip, CreateTopicsRequest) {
  v1::CreateTopicsRequest request;
  auto* topic = request.add_topics();
  topic->set_name("events");
  topic->set_num_partitions(12);
  topic->set_replication_factor(3);
  auto* config = topic->add_configs();
  config->set_name("cleanup.policy");
  config->set_value("compact");
  EXPECT_TRUE(MessageDifferencer::Equals(request, RoundTrip(request)));
}

TEST(ErrorCodes, UseKafkasNumbers) {
  EXPECT_EQ(v1::NONE, 0);
  EXPECT_EQ(v1::UNKNOWN_SERVER_ERROR, -1);
  EXPECT_EQ(v1::OFFSET_OUT_OF_RANGE, 1);
  EXPECT_EQ(v1::CORRUPT_MESSAGE, 2);
  EXPECT_EQ(v1::UNKNOWN_TOPIC_OR_PARTITION, 3);
  EXPECT_EQ(v1::NOT_LEADER_OR_FOLLOWER, 6);
  EXPECT_EQ(v1::REQUEST_TIMED_OUT, 7);
  EXPECT_EQ(v1::MESSAGE_TOO_LARGE, 10);
  EXPECT_EQ(v1::NOT_ENOUGH_REPLICAS, 19);
  EXPECT_EQ(v1::NOT_ENOUGH_REPLICAS_AFTER_APPEND, 20);
  EXPECT_EQ(v1::INVALID_REQUIRED_ACKS, 21);
  EXPECT_EQ(v1::TOPIC_ALREADY_EXISTS, 36);
  EXPECT_EQ(v1::INVALID_PARTITIONS, 37);
  EXPECT_EQ(v1::INVALID_REPLICATION_FACTOR, 38);
  EXPECT_EQ(v1::NOT_CONTROLLER, 41);
  EXPECT_EQ(v1::KAFKA_STORAGE_ERROR, 56);
  EXPECT_EQ(v1::FENCED_LEADER_EPOCH, 74);
  EXPECT_EQ(v1::STALE_BROKER_EPOCH, 77);
  EXPECT_EQ(v1::ErrorCode_Name(v1::NOT_ENOUGH_REPLICAS), "NOT_ENOUGH_REPLICAS");
}

}  // namespace
}  // namespace fjord
