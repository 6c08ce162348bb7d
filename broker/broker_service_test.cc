// BrokerService over real gRPC on loopback, against real logs.
#include "broker/broker_service.h"

#include <thread>

#include "broker/test_cluster.h"
#include "broker/test_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "storage/record_batch.h"

namespace fjord::broker {
namespace {

using testing::MakeBatches;
using testing::TestCluster;
using PartitionResult = v1::ProduceResponse::PartitionProduceResponse;

v1::ProduceRequest ProduceReq(const std::string& topic, int32_t p, std::string records,
                              int32_t acks, int32_t timeout_ms = 10000) {
  v1::ProduceRequest req;
  req.set_acks(acks);
  req.set_timeout_ms(timeout_ms);
  auto* t = req.add_topic_data();
  t->set_topic(topic);
  auto* pd = t->add_partition_data();
  pd->set_partition(p);
  pd->set_records(std::move(records));
  return req;
}

PartitionResult Produce(v1::BrokerService::Stub& stub, const v1::ProduceRequest& req) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::ProduceResponse resp;
  grpc::Status s = stub.Produce(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  if (!s.ok() || resp.responses_size() == 0) return {};
  return resp.responses(0).partition_responses(0);
}

v1::FetchRequest FetchReq(const std::string& topic, int32_t p, int64_t offset,
                          int32_t max_wait_ms = 0, int32_t min_bytes = 1, int32_t epoch = -1) {
  v1::FetchRequest req;
  req.set_replica_id(-1);
  req.set_max_wait_ms(max_wait_ms);
  req.set_min_bytes(min_bytes);
  req.set_max_bytes(50 << 20);
  auto* t = req.add_topics();
  t->set_topic(topic);
  auto* fp = t->add_partitions();
  fp->set_partition(p);
  fp->set_fetch_offset(offset);
  fp->set_current_leader_epoch(epoch);
  fp->set_partition_max_bytes(1 << 20);
  fp->set_log_start_offset(-1);
  return req;
}

v1::FetchResponse Fetch(v1::BrokerService::Stub& stub, const v1::FetchRequest& req) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::FetchResponse resp;
  grpc::Status s = stub.Fetch(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp;
}

// Offsets of the batches in `records`.
std::vector<int64_t> BaseOffsets(const std::string& records) {
  std::vector<int64_t> out;
  storage::BatchIterator it(records);
  while (it.Next()) out.push_back(it.header().base_offset.value());
  EXPECT_TRUE(it.status().ok()) << it.status();
  return out;
}

// acks=1 and acks=0 are answered once the leader has written the batch; the
// high watermark follows the group-commit fsync. Fetches until the first
// partition's high watermark reaches `hw`, for up to 20 s.
v1::FetchResponse FetchOnceHighWatermarkReaches(v1::BrokerService::Stub& stub,
                                                const v1::FetchRequest& req, int64_t hw) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (true) {
    v1::FetchResponse f = Fetch(stub, req);
    if (f.responses_size() != 1 || f.responses(0).partitions_size() != 1 ||
        f.responses(0).partitions(0).high_watermark() >= hw || absl::Now() > deadline) {
      return f;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
}

TEST(BrokerServiceTest, ProduceAssignsOffsetsAndFetchReturnsTheStoredBytes) {
  TestCluster cluster(1);
  cluster.CreateTopic("orders", {{1}});
  auto stub = cluster.Stub(1);
  const std::string batches = MakeBatches(3, 2);
  PartitionResult r = Produce(*stub, ProduceReq("orders", 0, batches, -1));
  EXPECT_EQ(r.error_code(), v1::NONE) << r.error_message();
  EXPECT_EQ(r.base_offset(), 0);
  r = Produce(*stub, ProduceReq("orders", 0, MakeBatches(1, 1), 1));
  EXPECT_EQ(r.base_offset(), 6);
  r = Produce(*stub, ProduceReq("orders", 0, MakeBatches(1, 1), 0));
  EXPECT_EQ(r.error_code(), v1::NONE);
  EXPECT_EQ(r.base_offset(), -1) << "acks=0 reports no offset";

  v1::FetchResponse f = FetchOnceHighWatermarkReaches(*stub, FetchReq("orders", 0, 0), 8);
  ASSERT_EQ(f.responses_size(), 1);
  const auto& pd = f.responses(0).partitions(0);
  EXPECT_EQ(pd.error_code(), v1::NONE);
  EXPECT_EQ(pd.high_watermark(), 8) << "the high watermark did not reach 8 within 20 s";
  EXPECT_EQ(BaseOffsets(pd.records()), (std::vector<int64_t>{0, 2, 4, 6, 7}));
  // The stored bytes are the produced bytes with offsets and epoch stamped.
  std::string expected = batches;
  storage::BatchIterator it(batches);
  for (int64_t i = 0; it.Next(); ++i) {
    storage::RewriteBaseOffset(expected.data() + it.position(), Offset(2 * i), LeaderEpoch(0));
  }
  EXPECT_EQ(pd.records().substr(0, expected.size()), expected);
}

TEST(BrokerServiceTest, BadRequestsGetTheirKafkaErrorsAndTheBrokerKeepsServing) {
  BrokerServerOptions options;
  options.replica.batch_limits.max_batch_bytes = 4096;
  TestCluster cluster(2, options);
  cluster.CreateTopic("t", {{1}, {2}});
  auto stub = cluster.Stub(1);
  EXPECT_EQ(Produce(*stub, ProduceReq("t", 0, MakeBatches(1, 1), 2)).error_code(),
            v1::INVALID_REQUIRED_ACKS);
  EXPECT_EQ(Produce(*stub, ProduceReq("nope", 0, MakeBatches(1, 1), 1)).error_code(),
            v1::UNKNOWN_TOPIC_OR_PARTITION);
  PartitionResult r = Produce(*stub, ProduceReq("t", 1, MakeBatches(1, 1), 1));
  EXPECT_EQ(r.error_code(), v1::NOT_LEADER_OR_FOLLOWER);
  EXPECT_EQ(r.current_leader().leader_id(), 2);
  std::string corrupt = MakeBatches(1, 1);
  corrupt.back() ^= 1;
  EXPECT_EQ(Produce(*stub, ProduceReq("t", 0, corrupt, 1)).error_code(), v1::CORRUPT_MESSAGE);
  EXPECT_EQ(Produce(*stub, ProduceReq("t", 0, MakeBatches(1, 100, "v", 100), 1)).error_code(),
            v1::MESSAGE_TOO_LARGE);
  ASSERT_EQ(Produce(*stub, ProduceReq("t", 0, MakeBatches(2, 1), 1)).error_code(), v1::NONE);
  EXPECT_EQ(Fetch(*stub, FetchReq("t", 0, 5)).responses(0).partitions(0).error_code(),
            v1::OFFSET_OUT_OF_RANGE);
  EXPECT_EQ(
      Fetch(*stub, FetchReq("t", 0, 0, 0, 1, /*epoch=*/0)).responses(0).partitions(0).error_code(),
      v1::NONE);
  cluster.ElectLeader("t", 0, 1, {1});  // Leader epoch 1 now.
  v1::FetchResponse f = Fetch(*stub, FetchReq("t", 0, 0, 0, 1, /*epoch=*/0));
  EXPECT_EQ(f.responses(0).partitions(0).error_code(), v1::FENCED_LEADER_EPOCH);
  EXPECT_EQ(f.responses(0).partitions(0).current_leader().leader_epoch(), 1);
  v1::FetchRequest bad = FetchReq("t", 0, 0);
  bad.set_replica_id(3);
  EXPECT_EQ(Fetch(*stub, bad).error_code(), v1::INVALID_REQUEST);
  bad = FetchReq("t", 0, 0);
  bad.set_max_bytes(0);
  EXPECT_EQ(Fetch(*stub, bad).error_code(), v1::INVALID_FETCH_SIZE);
  // Still serving after all of that.
  f = FetchOnceHighWatermarkReaches(*stub, FetchReq("t", 0, 0), 2);
  EXPECT_EQ(BaseOffsets(f.responses(0).partitions(0).records()), (std::vector<int64_t>{0, 1}));
}

TEST(BrokerServiceTest, OversizedRequestIsRefusedByGrpc) {
  BrokerServerOptions options;
  options.max_request_bytes = 64 << 10;
  TestCluster cluster(1, options);
  cluster.CreateTopic("t", {{1}});
  auto stub = cluster.Stub(1);
  grpc::ClientContext ctx;
  v1::ProduceResponse resp;
  grpc::Status s = stub->Produce(&ctx, ProduceReq("t", 0, std::string(128 << 10, 'x'), 1), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_EQ(Produce(*stub, ProduceReq("t", 0, MakeBatches(1, 1), 1)).error_code(), v1::NONE);
}

TEST(BrokerServiceTest, LongPollFetchIsWokenByAnAppend) {
  TestCluster cluster(1);
  cluster.CreateTopic("t", {{1}});
  auto stub = cluster.Stub(1);
  v1::FetchResponse f;
  // A 50 s wait: the test fails (empty records) unless the append wakes it.
  std::thread poller([&] { f = Fetch(*cluster.Stub(1), FetchReq("t", 0, 0, 50000)); });
  // Produce only once the fetch is parked, so only a wakeup can answer it.
  const absl::Time limit = absl::Now() + absl::Seconds(30);
  while (cluster.broker(1).delayed_operations() == 0) {
    ASSERT_LT(absl::Now(), limit) << "the fetch never reached the purgatory";
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_EQ(Produce(*stub, ProduceReq("t", 0, MakeBatches(1, 1), 1)).error_code(), v1::NONE);
  poller.join();
  EXPECT_EQ(BaseOffsets(f.responses(0).partitions(0).records()), (std::vector<int64_t>{0}));
}

TEST(BrokerServiceTest, FetchWaitsForMinBytesThenAnswersAtMaxWait) {
  TestCluster cluster(1);
  cluster.CreateTopic("t", {{1}});
  auto stub = cluster.Stub(1);
  ASSERT_EQ(Produce(*stub, ProduceReq("t", 0, MakeBatches(1, 1), 1)).error_code(), v1::NONE);
  v1::FetchResponse f = Fetch(*stub, FetchReq("t", 0, 0, /*max_wait_ms=*/20, 1 << 20));
  EXPECT_EQ(BaseOffsets(f.responses(0).partitions(0).records()), (std::vector<int64_t>{0}))
      << "what is there after max_wait_ms";
}

TEST(BrokerServiceTest, ListOffsetsEarliestLatestAndByTimestamp) {
  TestCluster cluster(1);
  cluster.CreateTopic("t", {{1}});
  auto stub = cluster.Stub(1);
  // Batches 0..3 with timestamps 1'700'000'000'000 + i, two records each.
  ASSERT_EQ(Produce(*stub, ProduceReq("t", 0, MakeBatches(4, 2), -1)).error_code(), v1::NONE);
  v1::ListOffsetsRequest req;
  auto* t = req.add_topics();
  t->set_topic("t");
  for (int64_t ts : std::initializer_list<int64_t>{-2, -1, 1'700'000'000'002, 1'800'000'000'000}) {
    auto* p = t->add_partitions();
    p->set_partition(0);
    p->set_current_leader_epoch(-1);
    p->set_timestamp(ts);
  }
  grpc::ClientContext ctx;
  v1::ListOffsetsResponse resp;
  ASSERT_TRUE(stub->ListOffsets(&ctx, req, &resp).ok());
  const auto& ps = resp.topics(0).partitions();
  EXPECT_EQ(ps[0].offset(), 0);
  EXPECT_EQ(ps[1].offset(), 8);
  EXPECT_EQ(ps[2].offset(), 4);
  EXPECT_EQ(ps[2].timestamp(), 1'700'000'000'002);
  EXPECT_EQ(ps[3].offset(), -1) << "no record that new";
  for (const auto& p : ps) EXPECT_EQ(p.error_code(), v1::NONE);
}

TEST(BrokerServiceTest, MetadataDescribesBrokersTopicsAndPartitions) {
  TestCluster cluster(3);
  cluster.CreateTopic("t", {{1, 2, 3}, {2, 3, 1}});
  auto stub = cluster.Stub(3);
  v1::MetadataRequest req;
  req.set_all_topics(true);
  grpc::ClientContext ctx;
  v1::MetadataResponse resp;
  ASSERT_TRUE(stub->Metadata(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.cluster_id(), "test-cluster");
  ASSERT_EQ(resp.brokers_size(), 3);
  EXPECT_EQ(resp.brokers(0).host(), "127.0.0.1");
  ASSERT_EQ(resp.topics_size(), 1);
  const auto& p1 = resp.topics(0).partitions(1);
  EXPECT_EQ(p1.leader_id(), 2);
  EXPECT_EQ(p1.replica_nodes_size(), 3);
  EXPECT_EQ(p1.isr_nodes_size(), 3);
  v1::MetadataRequest one;
  one.add_topics()->set_topic("missing");
  grpc::ClientContext ctx2;
  ASSERT_TRUE(stub->Metadata(&ctx2, one, &resp).ok());
  EXPECT_EQ(resp.topics(0).error_code(), v1::UNKNOWN_TOPIC_OR_PARTITION);
}

TEST(BrokerServiceTest, ProduceStreamAppendsInArrivalOrderAndAnswersInRequestOrder) {
  // RF 3: acks=-1 requests wait for two followers while the acks=1 requests
  // behind them are appended and done first; answers still come in order.
  TestCluster cluster(3);
  cluster.CreateTopic("t", {{1, 2, 3}});
  auto stub = cluster.Stub(1);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto stream = stub->ProduceStream(&ctx);
  constexpr int kRequests = 41;  // odd: the last is acks=-1, so the HW covers all
  for (int i = 1; i <= kRequests; ++i) {
    v1::ProduceRequest req =
        ProduceReq("t", 0, MakeBatches(1, 2, "r" + std::to_string(i)), i % 2 == 0 ? 1 : -1);
    req.set_correlation_id(i);
    ASSERT_TRUE(stream->Write(req)) << "request " << i;
  }
  ASSERT_TRUE(stream->WritesDone());
  v1::ProduceResponse resp;
  for (int i = 1; i <= kRequests; ++i) {
    ASSERT_TRUE(stream->Read(&resp)) << "response " << i;
    EXPECT_EQ(resp.correlation_id(), i) << "answers come in request order";
    ASSERT_EQ(resp.responses_size(), 1);
    const PartitionResult& r = resp.responses(0).partition_responses(0);
    EXPECT_EQ(r.error_code(), v1::NONE) << r.error_message();
    EXPECT_EQ(r.base_offset(), 2 * (i - 1)) << "appended in arrival order";
  }
  EXPECT_FALSE(stream->Read(&resp));
  grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(
      BaseOffsets(Fetch(*stub, FetchReq("t", 0, 0)).responses(0).partitions(0).records()).size(),
      static_cast<size_t>(kRequests));
}

TEST(BrokerServiceTest, ProduceStreamReportsErrorsPerRequestAndKeepsGoing) {
  TestCluster cluster(1);
  cluster.CreateTopic("t", {{1}});
  auto stub = cluster.Stub(1);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto stream = stub->ProduceStream(&ctx);
  v1::ProduceRequest bad = ProduceReq("nope", 0, MakeBatches(1, 1), 1);
  bad.set_correlation_id(7);
  v1::ProduceRequest good = ProduceReq("t", 0, MakeBatches(1, 3), 1);
  good.set_correlation_id(8);
  ASSERT_TRUE(stream->Write(bad));
  ASSERT_TRUE(stream->Write(good));
  v1::ProduceResponse resp;
  ASSERT_TRUE(stream->Read(&resp));
  EXPECT_EQ(resp.correlation_id(), 7);
  EXPECT_EQ(resp.responses(0).partition_responses(0).error_code(), v1::UNKNOWN_TOPIC_OR_PARTITION);
  ASSERT_TRUE(stream->Read(&resp));
  EXPECT_EQ(resp.correlation_id(), 8);
  EXPECT_EQ(resp.responses(0).partition_responses(0).base_offset(), 0);
  // A client that goes away mid-stream: the broker ends the call and still
  // serves others.
  ctx.TryCancel();
  stream->Finish();
  EXPECT_EQ(Produce(*stub, ProduceReq("t", 0, MakeBatches(1, 1), 1)).base_offset(), 3);
}

TEST(BrokerServiceTest, ProduceAppendsThePartitionsOfOneRequestConcurrentlyAndAnswersEach) {
  TestCluster cluster(1);
  cluster.CreateTopic("t", {{1}, {1}, {1}});
  auto stub = cluster.Stub(1);
  for (int round = 0; round < 3; ++round) {
    v1::ProduceRequest req;
    req.set_acks(-1);
    req.set_timeout_ms(10000);
    auto* t = req.add_topic_data();
    t->set_topic("t");
    for (int p : {0, 1, 2, 7}) {
      auto* pd = t->add_partition_data();
      pd->set_partition(p);
      pd->set_records(MakeBatches(1, p + 1));
    }
    grpc::ClientContext ctx;
    v1::ProduceResponse resp;
    ASSERT_TRUE(stub->Produce(&ctx, req, &resp).ok());
    const auto& rs = resp.responses(0).partition_responses();
    ASSERT_EQ(rs.size(), 4);
    for (int p = 0; p < 3; ++p) {
      EXPECT_EQ(rs[p].partition(), p);
      EXPECT_EQ(rs[p].error_code(), v1::NONE) << rs[p].error_message();
      EXPECT_EQ(rs[p].base_offset(), round * (p + 1)) << "partition " << p;
    }
    EXPECT_EQ(rs[3].error_code(), v1::UNKNOWN_TOPIC_OR_PARTITION);
  }
}

}  // namespace
}  // namespace fjord::broker
