#include "broker/test_cluster.h"

#include <atomic>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/assert.h"
#include "common/kafka_error.h"
#include "controller/image_test_util.h"
#include "grpcpp/grpcpp.h"

namespace fjord::broker::testing {

using controller::testing::Batch;
using controller::testing::ChangeRec;
using controller::testing::PartitionRec;
using controller::testing::TopicRec;

ImageController::ImageController(TestCluster& cluster)
    : cluster_(cluster), thread_([this] { Loop(); }) {}

ImageController::~ImageController() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void ImageController::Send(IsrProposal proposal, Done done) {
  absl::MutexLock lock(&mu_);
  queue_.emplace_back(std::move(proposal), std::move(done));
}

void ImageController::Loop() {
  while (true) {
    std::vector<std::pair<IsrProposal, Done>> work;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || !queue_.empty(); };
      mu_.Await(absl::Condition(&ready));
      if (stop_) return;
      work.swap(queue_);
    }
    for (auto& [proposal, done] : work) done(cluster_.AlterPartition(proposal));
  }
}

TestCluster::TestCluster(int brokers, BrokerServerOptions options)
    : options_(std::move(options)), delta_(controller::MetadataImage::Empty()), controller_(*this) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  static std::atomic<int> clusters{0};
  root_ = absl::StrCat(tmp ? tmp : "/tmp", "/cluster-", clusters++);
  if (options_.cluster_id.empty()) options_.cluster_id = "test-cluster";
  std::vector<v1::MetadataRecord> records;
  for (int32_t id = 1; id <= brokers; ++id) {
    ports_[id] = 0;
    StartBroker(id);
    v1::MetadataRecord r = controller::testing::RegisterBrokerRec(id, /*epoch=*/id, false);
    r.mutable_register_broker()->mutable_endpoints(0)->set_host("127.0.0.1");
    r.mutable_register_broker()->mutable_endpoints(0)->set_port(ports_[id]);
    records.push_back(std::move(r));
  }
  absl::MutexLock lock(&mu_);
  CommitLocked(std::move(records));
}

TestCluster::~TestCluster() {
  std::map<int32_t, std::unique_ptr<BrokerServer>> brokers;
  {
    absl::MutexLock lock(&mu_);
    brokers.swap(brokers_);
  }
  for (auto& [id, b] : brokers) b->Shutdown();
}

void TestCluster::StartBroker(int32_t id) {
  BrokerServerOptions o = options_;
  o.id = BrokerId(id);
  o.port = ports_.at(id);
  o.log_dir = absl::StrCat(root_, "/broker-", id);
  auto server =
      BrokerServer::Start(o, storage::PosixFileSystem::Get(), SystemClock::Get(), controller_);
  FJORD_CHECK(server.ok()) << server.status();
  ports_[id] = (*server)->port();
  (*server)->SetBrokerEpoch(BrokerEpoch(id));
  absl::MutexLock lock(&mu_);
  if (image_ != nullptr) {
    absl::Status s = (*server)->ApplyImage(image_);
    FJORD_CHECK(s.ok()) << s;
  }
  brokers_[id] = *std::move(server);
}

void TestCluster::StopBroker(int32_t id) {
  std::unique_ptr<BrokerServer> b;
  {
    absl::MutexLock lock(&mu_);
    b = std::move(brokers_.at(id));
    brokers_.erase(id);
  }
  b->Shutdown();
}

std::unique_ptr<v1::BrokerService::Stub> TestCluster::Stub(int32_t id) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  return v1::BrokerService::NewStub(grpc::CreateCustomChannel(
      absl::StrCat("127.0.0.1:", ports_.at(id)), grpc::InsecureChannelCredentials(), args));
}

controller::ImagePtr TestCluster::image() {
  absl::MutexLock lock(&mu_);
  return image_;
}

controller::PartitionRegistration TestCluster::partition(const std::string& topic, int32_t p) {
  controller::ImagePtr img = image();
  const controller::TopicImage* t = img->topic_by_name(topic);
  FJORD_CHECK(t != nullptr) << topic;
  return *t->partitions.at(p);
}

controller::Uuid TestCluster::CreateTopic(const std::string& topic,
                                          const std::vector<std::vector<int32_t>>& assignment) {
  const controller::Uuid id{0x1234, static_cast<uint64_t>(std::hash<std::string>()(topic)) | 2};
  std::vector<v1::MetadataRecord> records{TopicRec(topic, id)};
  for (size_t p = 0; p < assignment.size(); ++p) {
    records.push_back(PartitionRec(id, static_cast<int32_t>(p), assignment[p], assignment[p],
                                   assignment[p].front()));
  }
  absl::MutexLock lock(&mu_);
  CommitLocked(std::move(records));
  return id;
}

void TestCluster::ElectLeader(const std::string& topic, int32_t partition, int32_t leader,
                              std::vector<int32_t> isr) {
  absl::MutexLock lock(&mu_);
  const controller::TopicImage* t = image_->topic_by_name(topic);
  FJORD_CHECK(t != nullptr);
  CommitLocked({ChangeRec(t->id, partition, std::move(isr), leader)});
}

absl::StatusOr<PartitionState> TestCluster::AlterPartition(const IsrProposal& proposal) {
  absl::MutexLock lock(&mu_);
  const controller::PartitionRegistration* reg =
      image_->partition(proposal.topic_id, proposal.partition);
  if (reg == nullptr) return KafkaError(v1::UNKNOWN_TOPIC_OR_PARTITION, "no such partition");
  if (reg->leader_epoch != proposal.leader_epoch) {
    return KafkaError(v1::FENCED_LEADER_EPOCH, "stale leader epoch");
  }
  if (reg->partition_epoch != proposal.partition_epoch) {
    return KafkaError(v1::INVALID_UPDATE_VERSION, "stale partition epoch");
  }
  std::vector<int32_t> isr;
  for (const auto& [b, e] : proposal.isr) isr.push_back(b.value());
  CommitLocked({ChangeRec(proposal.topic_id, proposal.partition.value(), isr, std::nullopt)});
  reg = image_->partition(proposal.topic_id, proposal.partition);
  return PartitionState{.leader_epoch = reg->leader_epoch,
                        .partition_epoch = reg->partition_epoch,
                        .leader = reg->leader,
                        .replicas = reg->replicas,
                        .isr = reg->isr};
}

void TestCluster::CommitLocked(std::vector<v1::MetadataRecord> records) {
  absl::Status s = delta_.ReplayBatch(Batch(records), Offset(++offset_));
  FJORD_CHECK(s.ok()) << s;
  image_ = delta_.Apply();
  PublishLocked();
}

void TestCluster::PublishLocked() {
  for (auto& [id, b] : brokers_) {
    absl::Status s = b->ApplyImage(image_);
    FJORD_CHECK(s.ok()) << s;
  }
}

}  // namespace fjord::broker::testing
