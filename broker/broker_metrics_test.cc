#include "broker/broker_metrics.h"

#include "broker/test_cluster.h"
#include "broker/test_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace fjord::broker {
namespace {

TEST(BrokerMetricsTest, CountsProduceAndFetchAndPartitionState) {
  BrokerMetrics metrics;
  BrokerServerOptions options;
  options.observer = &metrics;
  options.log.flush_observer = &metrics;
  options.replica.min_insync_replicas = 2;
  testing::TestCluster cluster(1, options);
  cluster.CreateTopic("t", {{1}});
  auto stub = cluster.Stub(1);
  v1::ProduceRequest req;
  req.set_acks(1);
  auto* pd = req.add_topic_data();
  pd->set_topic("t");
  auto* p = pd->add_partition_data();
  p->set_partition(0);
  p->set_records(testing::MakeBatches(2, 3));
  grpc::ClientContext ctx;
  v1::ProduceResponse resp;
  ASSERT_TRUE(stub->Produce(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.responses(0).partition_responses(0).error_code(), v1::NONE);
  // acks=1 is answered once written; the flush round runs on the broker's
  // LogFlusher and moves the high watermark (the flushed offset) after it.
  std::shared_ptr<Replica> replica = cluster.broker(1).replicas().Get("t", PartitionId(0));
  ASSERT_NE(replica, nullptr);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (replica->high_watermark() < Offset(6)) {
    ASSERT_LT(absl::Now(), deadline) << "no flush round within 10 s";
    absl::SleepFor(absl::Milliseconds(1));
  }

  metrics.Collect(cluster.broker(1).replicas());
  const std::string text = metrics.Render();
  EXPECT_NE(text.find("fjord_broker_records_in_total 6"), std::string::npos) << text;
  EXPECT_NE(text.find("fjord_broker_bytes_in_total " + std::to_string(p->records().size())),
            std::string::npos);
  EXPECT_NE(text.find("fjord_broker_request_latency_seconds_count{rpc=\"produce\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("fjord_broker_leader_partitions 1"), std::string::npos);
  EXPECT_NE(text.find("fjord_broker_under_min_isr_partitions 1"), std::string::npos)
      << "ISR of 1 < min.insync.replicas 2";
  EXPECT_NE(text.find("fjord_broker_under_replicated_partitions 0"), std::string::npos);
  // The flush round above was observed.
  EXPECT_NE(text.find("fjord_broker_log_flush_latency_seconds_count"), std::string::npos) << text;
  EXPECT_EQ(text.find("fjord_broker_log_flush_latency_seconds_count 0"), std::string::npos)
      << "no flush round observed";
}

}  // namespace
}  // namespace fjord::broker
