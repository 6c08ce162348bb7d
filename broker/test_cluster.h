// TestCluster: N BrokerServers in one process on free loopback ports, with
// real logs under $TEST_TMPDIR and an in-process stand-in for the controller
// (ImageController) that owns the metadata log: it builds images with the
// controller's MetadataDelta, publishes them to every running broker, and
// answers AlterPartition the way the controller's contract says
// (compare-and-set on leader and partition epochs). For broker tests only;
// multi-process tests use the real controller.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/broker_server.h"
#include "common/clock.h"
#include "controller/metadata_delta.h"
#include "proto/fjord/v1/broker.grpc.pb.h"
#include "storage/posix_file_system.h"

namespace fjord::broker::testing {

class TestCluster;

// Answers AlterPartition from the cluster's metadata, on its own thread.
class ImageController final : public AlterPartitionSender {
 public:
  explicit ImageController(TestCluster& cluster);
  ~ImageController() override;
  void Send(IsrProposal proposal, Done done) override;

 private:
  void Loop();
  TestCluster& cluster_;
  absl::Mutex mu_;
  std::vector<std::pair<IsrProposal, Done>> queue_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

class TestCluster {
 public:
  // Brokers 1..n; `options` is the template for each (id, log_dir, port set
  // here).
  explicit TestCluster(int brokers, BrokerServerOptions options = {});
  ~TestCluster();

  // Creates `topic` with one partition per entry of `assignment` (replicas,
  // first = leader, ISR = all).
  controller::Uuid CreateTopic(const std::string& topic,
                               const std::vector<std::vector<int32_t>>& assignment);
  // Elects `leader` with `isr` (leader epoch + 1).
  void ElectLeader(const std::string& topic, int32_t partition, int32_t leader,
                   std::vector<int32_t> isr);
  // Stops broker `id` (its logs stay) / starts it again on the same port.
  void StopBroker(int32_t id);
  void StartBroker(int32_t id);

  BrokerServer& broker(int32_t id) {
    absl::MutexLock lock(&mu_);
    return *brokers_.at(id);
  }
  std::unique_ptr<v1::BrokerService::Stub> Stub(int32_t id);
  controller::ImagePtr image();
  // A copy: the image it came from may be replaced at any moment.
  controller::PartitionRegistration partition(const std::string& topic, int32_t p);

  // The controller's side of AlterPartition.
  absl::StatusOr<PartitionState> AlterPartition(const IsrProposal& proposal);

 private:
  void CommitLocked(std::vector<v1::MetadataRecord> records) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PublishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  BrokerServerOptions options_;
  std::string root_;
  absl::Mutex mu_;
  controller::MetadataDelta delta_ ABSL_GUARDED_BY(mu_);
  controller::ImagePtr image_ ABSL_GUARDED_BY(mu_);
  int64_t offset_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<int32_t, int> ports_;  // Test thread only.
  std::map<int32_t, std::unique_ptr<BrokerServer>> brokers_ ABSL_GUARDED_BY(mu_);
  // Last: its thread stops first, before the state it reads goes away.
  ImageController controller_;
};

}  // namespace fjord::broker::testing
