// Multi-process tests: three fjord-controller and three fjord-broker
// processes on loopback with free ports, driven over gRPC the way a client
// would. Waits are bounded and say what they waited for; timings are
// printed, never asserted.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/test_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/fjord/v1/broker.grpc.pb.h"
#include "proto/fjord/v1/controller.grpc.pb.h"
#include "storage/partition_log.h"
#include "storage/posix_file_system.h"
#include "storage/record_batch.h"
#include "tests/cluster/test_env.h"

namespace fjord::broker {
namespace {

constexpr absl::Duration kWaitMax = absl::Seconds(60);
constexpr int kNodes = 3;
constexpr int kRecordsPerBatch = 20;

// SIGTERM to exit (controlled shutdown); a hang fails the test, not Bazel.
constexpr absl::Duration kStopMax = absl::Seconds(30);

// Polls `condition` every 20 ms for up to kWaitMax. Use as
// ASSERT_TRUE(WaitFor(...)): the test stops at the first wait that times out.
::testing::AssertionResult WaitFor(const std::function<bool()>& condition,
                                   const std::string& what) {
  const absl::Time limit = absl::Now() + kWaitMax;
  while (!condition()) {
    if (absl::Now() > limit) {
      return ::testing::AssertionFailure()
             << "timed out after " << absl::FormatDuration(kWaitMax) << " waiting for " << what;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return ::testing::AssertionSuccess();
}

// Stops the test's background threads and joins them on every way out of
// the test, an ASSERT's early return included (a joinable std::thread left
// behind would abort the whole binary and hide the failure).
class ThreadJoiner {
 public:
  ThreadJoiner(std::atomic<bool>& stop, std::vector<std::thread*> threads)
      : stop_(stop), threads_(std::move(threads)) {}
  ~ThreadJoiner() { JoinAll(); }
  void JoinAll() {
    stop_ = true;
    for (std::thread* t : threads_) {
      if (t->joinable()) t->join();
    }
  }

 private:
  std::atomic<bool>& stop_;
  std::vector<std::thread*> threads_;
};

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    root_ = std::filesystem::path(tmp ? tmp : "/tmp") / "broker_cluster";
    std::filesystem::remove_all(root_);
    std::vector<std::string> voters;
    for (int i = 1; i <= kNodes; ++i) {
      controller_ports_[i] = ::fjord::testing::FreeLoopbackPort();
      broker_ports_[i] = ::fjord::testing::FreeLoopbackPort();
      voters.push_back(absl::StrCat(i, "@127.0.0.1:", controller_ports_[i]));
    }
    voters_ = absl::StrJoin(voters, ",");
    for (int i = 1; i <= kNodes; ++i) {
      const std::string dir = (root_ / absl::StrCat("c", i)).string();
      ASSERT_EQ(::fjord::testing::RunProcess(
                    {::fjord::testing::Runfile("controller/server/fjord-controller"), "format",
                     "--cluster.id=bc", absl::StrCat("--node.id=", i),
                     "--controller.quorum.voters=" + voters_, "--metadata.log.dir=" + dir}),
                0)
          << "fjord-controller format failed for node " << i;
      controllers_[i] = ::fjord::testing::SpawnProcess(
          {::fjord::testing::Runfile("controller/server/fjord-controller"), "start",
           absl::StrCat("--node.id=", i), "--controller.quorum.voters=" + voters_,
           "--metadata.log.dir=" + dir, "--broker.session.timeout.ms=3000", "--log.level=warn"});
    }
    for (int i = 1; i <= kNodes; ++i) StartBroker(i);
  }

  void TearDown() override {
    for (int i = 1; i <= kNodes; ++i) {
      for (pid_t pid : {brokers_[i].load(), controllers_[i]}) {
        if (pid > 0) {
          kill(pid, SIGKILL);
          waitpid(pid, nullptr, 0);
        }
      }
    }
  }

  void StartBroker(int i) {
    const std::string props = (root_ / absl::StrCat("broker-", i, ".properties")).string();
    std::ofstream(props) << absl::StrCat(
        "node.id=", i, "\ncluster.id=bc\nlisteners=PLAINTEXT://127.0.0.1:", broker_ports_[i],
        "\nlog.dirs=", (root_ / absl::StrCat("b", i)).string(),
        "\ncontroller.quorum.voters=", voters_, "\nmin.insync.replicas=2",
        "\nreplica.lag.time.max.ms=1500\nbroker.heartbeat.interval.ms=300",
        "\nmetrics.listen=127.0.0.1:", ::fjord::testing::FreeLoopbackPort(), "\nlog.level=info\n");
    // Logs go where Bazel keeps them after the test (test.outputs/).
    const char* out = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
    const std::filesystem::path logs = out ? std::filesystem::path(out) : root_;
    brokers_[i] = ::fjord::testing::SpawnProcess(
        {::fjord::testing::Runfile("broker/fjord-broker"), "--config", props, "--log-file",
         (logs / absl::StrCat("broker-", i, ".log")).string()});
  }
  void Kill9Broker(int i) {
    kill(brokers_[i], SIGKILL);
    waitpid(brokers_[i], nullptr, 0);
    brokers_[i] = -1;
  }
  // SIGTERM and wait for the exit; a broker still running after kStopMax is
  // killed and the test fails.
  void StopBroker(int i) {
    const pid_t pid = brokers_[i];
    kill(pid, SIGTERM);
    const absl::Time limit = absl::Now() + kStopMax;
    while (waitpid(pid, nullptr, WNOHANG) == 0) {
      if (absl::Now() > limit) {
        ADD_FAILURE() << "broker " << i << " still running " << absl::FormatDuration(kStopMax)
                      << " after SIGTERM; killed";
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        break;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    brokers_[i] = -1;
  }

  std::unique_ptr<v1::BrokerService::Stub> Broker(int i) {
    return v1::BrokerService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", broker_ports_[i]), grpc::InsecureChannelCredentials()));
  }

  ::testing::AssertionResult CreateTopic(const std::string& name) {
    v1::CreateTopicsRequest req;
    auto* t = req.add_topics();
    t->set_name(name);
    t->set_num_partitions(1);
    t->set_replication_factor(3);
    return WaitFor(
        [&] {
          for (int i = 1; i <= kNodes; ++i) {
            auto stub = v1::ControllerService::NewStub(
                grpc::CreateChannel(absl::StrCat("127.0.0.1:", controller_ports_[i]),
                                    grpc::InsecureChannelCredentials()));
            grpc::ClientContext ctx;
            ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
            v1::CreateTopicsResponse resp;
            if (stub->CreateTopics(&ctx, req, &resp).ok() && resp.topics_size() == 1 &&
                (resp.topics(0).error_code() == v1::NONE ||
                 resp.topics(0).error_code() == v1::TOPIC_ALREADY_EXISTS)) {
              return true;
            }
          }
          return false;
        },
        "a controller to create " + name + " (needs 3 registered brokers)");
  }

  // The partition as broker `from` describes it, if it knows it.
  std::optional<v1::MetadataResponse::MetadataResponsePartition> Describe(int from,
                                                                          const std::string& t) {
    if (brokers_[from] <= 0) return std::nullopt;
    v1::MetadataRequest req;
    req.add_topics()->set_topic(t);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::MetadataResponse resp;
    if (!Broker(from)->Metadata(&ctx, req, &resp).ok() || resp.topics_size() != 1 ||
        resp.topics(0).partitions_size() != 1) {
      return std::nullopt;
    }
    return resp.topics(0).partitions(0);
  }
  // Any live broker's view.
  std::optional<v1::MetadataResponse::MetadataResponsePartition> Describe(const std::string& t) {
    for (int i = 1; i <= kNodes; ++i) {
      if (auto p = Describe(i, t); p && p->leader_id() > 0) return p;
    }
    return std::nullopt;
  }

  // One produce attempt to the current leader; the partition result.
  v1::ProduceResponse::PartitionProduceResponse Produce(const std::string& topic,
                                                        std::string records, int acks) {
    v1::ProduceResponse::PartitionProduceResponse out;
    out.set_error_code(v1::LEADER_NOT_AVAILABLE);
    auto p = Describe(topic);
    if (!p || brokers_[p->leader_id()] <= 0) return out;
    const v1::ProduceRequest req = testing::ProduceRequestFor(topic, std::move(records), acks);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ProduceResponse resp;
    grpc::Status s = Broker(p->leader_id())->Produce(&ctx, req, &resp);
    if (!s.ok()) {
      out.set_error_code(v1::NETWORK_EXCEPTION);
      return out;
    }
    return resp.responses(0).partition_responses(0);
  }

  std::string LogDir(int i, const std::string& topic) {
    return (root_ / absl::StrCat("b", i) / absl::StrCat(topic, "-0")).string();
  }

  std::filesystem::path root_;
  std::string voters_;
  std::map<int, int> controller_ports_, broker_ports_;
  std::map<int, pid_t> controllers_;
  // Read by the producer thread while the test kills and restarts brokers.
  std::atomic<pid_t> brokers_[kNodes + 1] = {-1, -1, -1, -1};
};

TEST_F(ClusterTest, IsrShrinksWithStoppedFollowersAndMinIsrRefusesAcksAll) {
  ASSERT_TRUE(CreateTopic("t"));
  ASSERT_TRUE(WaitFor(
      [&] {
        auto p = Describe("t");
        return p && p->isr_nodes_size() == 3;
      },
      "t-0 with a leader and ISR of 3"));
  ASSERT_TRUE(
      WaitFor([&] { return Produce("t", testing::MakeBatches(1, 1), -1).error_code() == v1::NONE; },
              "a first acks=all write"));
  const auto described = Describe("t");
  ASSERT_TRUE(described.has_value()) << "t-0 lost its leader";
  const int leader = described->leader_id();
  const int f1 = leader % 3 + 1, f2 = f1 % 3 + 1;

  StopBroker(f1);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto p = Describe(leader, "t");
        return p && p->isr_nodes_size() == 2;
      },
      "the ISR to shrink to 2"));
  EXPECT_EQ(Produce("t", testing::MakeBatches(1, 1, "two"), -1).error_code(), v1::NONE)
      << "acks=all with 2 of 3 in sync";

  StopBroker(f2);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto p = Describe(leader, "t");
        return p && p->isr_nodes_size() == 1;
      },
      "the ISR to shrink to 1"));
  auto refused = Produce("t", testing::MakeBatches(1, 1, "refused"), -1);
  EXPECT_EQ(refused.error_code(), v1::NOT_ENOUGH_REPLICAS) << refused.error_message();
  EXPECT_EQ(refused.base_offset(), -1) << "nothing acknowledged";

  StartBroker(f1);
  StartBroker(f2);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto p = Describe(leader, "t");
        return p && p->isr_nodes_size() == 3;
      },
      "the ISR to expand back to 3"));
  EXPECT_EQ(Produce("t", testing::MakeBatches(1, 1, "back"), -1).error_code(), v1::NONE);
}

TEST_F(ClusterTest, AckedRecordsSurviveRepeatedKill9OfTheLeader) {
  ASSERT_TRUE(CreateTopic("k"));
  ASSERT_TRUE(WaitFor(
      [&] {
        auto p = Describe("k");
        return p && p->isr_nodes_size() == 3;
      },
      "k-0 with a leader and ISR of 3"));
  std::map<int64_t, std::string> acked;  // offset -> value of the batch's first record
  std::atomic<bool> stop{false};
  std::atomic<int64_t> attempts{0};
  std::thread producer, consumer;
  ThreadJoiner joiner(stop, {&producer, &consumer});
  producer = std::thread([&] {
    int64_t next = 0;
    while (!stop) {
      // Fresh values on every attempt: a failed attempt is never retried, so
      // an acknowledged value can only be in the log once.
      const std::string tag = absl::StrCat("v", next++);
      auto r = Produce("k", testing::MakeBatches(1, kRecordsPerBatch, tag), -1);
      ++attempts;
      if (r.error_code() == v1::NONE) acked[r.base_offset()] = tag + "0-0-";
      if (r.error_code() != v1::NONE) absl::SleepFor(absl::Milliseconds(20));
    }
  });
  // A consumer reading from whoever leads: every batch it is shown must be
  // below the high watermark it is told, and must still be there, the same,
  // at the end (no leader change may take back what a consumer saw).
  std::map<int64_t, std::string> consumed;
  std::atomic<int64_t> above_hw{0};
  consumer = std::thread([&] {
    int64_t next = 0;
    while (!stop) {
      auto p = Describe("k");
      if (!p || brokers_[p->leader_id()] <= 0) {
        absl::SleepFor(absl::Milliseconds(20));  // no leader yet: don't spin
        continue;
      }
      v1::FetchRequest req;
      req.set_replica_id(-1);
      req.set_max_wait_ms(100);
      req.set_min_bytes(1);
      req.set_max_bytes(1 << 20);
      auto* ft = req.add_topics();
      ft->set_topic("k");
      auto* fp = ft->add_partitions();
      fp->set_partition(0);
      fp->set_fetch_offset(next);
      fp->set_current_leader_epoch(-1);
      fp->set_partition_max_bytes(1 << 20);
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      v1::FetchResponse resp;
      if (!Broker(p->leader_id())->Fetch(&ctx, req, &resp).ok() || resp.responses_size() != 1 ||
          resp.responses(0).partitions_size() != 1) {
        absl::SleepFor(absl::Milliseconds(20));
        continue;
      }
      const auto& pd = resp.responses(0).partitions(0);
      if (pd.error_code() != v1::NONE) {
        absl::SleepFor(absl::Milliseconds(20));
        continue;
      }
      storage::BatchIterator it(pd.records());
      while (it.Next()) {
        if (it.header().last_offset().value() >= pd.high_watermark()) ++above_hw;
        auto batch = storage::DecodedBatch::Decode(it.batch(), {});
        if (!batch.ok()) break;
        const std::string_view v = *batch->records()[0].value;
        consumed[it.header().base_offset.value()] = std::string(v.substr(0, v.find('-') + 3));
        next = it.header().next_offset().value();
      }
    }
  });
  const absl::Time start = absl::Now();
  for (int round = 0; round < 4; ++round) {
    absl::SleepFor(absl::Seconds(3));
    std::optional<v1::MetadataResponse::MetadataResponsePartition> p;
    ASSERT_TRUE(WaitFor(
        [&] {
          p = Describe("k");
          return p.has_value();
        },
        "a leader of k-0 to kill"));
    const int leader = p->leader_id();
    std::cout << "round " << round << ": kill -9 leader " << leader << " after "
              << absl::FormatDuration(absl::Now() - start) << std::endl;
    Kill9Broker(leader);
    absl::SleepFor(absl::Seconds(1));
    StartBroker(leader);
    ASSERT_TRUE(WaitFor(
        [&] {
          auto q = Describe("k");
          return q && q->isr_nodes_size() == 3;
        },
        "the ISR to be whole again"));
  }
  absl::SleepFor(absl::Seconds(2));
  joiner.JoinAll();
  std::cout << attempts << " produce attempts, " << acked.size() << " acknowledged ("
            << acked.size() * kRecordsPerBatch << " records)" << std::endl;
  ASSERT_GT(acked.size(), 100u);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto q = Describe("k");
        return q && q->isr_nodes_size() == 3;
      },
      "full ISR"));
  absl::SleepFor(absl::Seconds(1));  // Let followers hear the last high watermark.
  for (int i = 1; i <= kNodes; ++i) StopBroker(i);

  // Read every replica's log directly and compare.
  ManualClock clock;
  std::map<int, std::string> bytes;
  Offset hw_min(std::numeric_limits<int64_t>::max());
  std::map<int, std::unique_ptr<storage::PartitionLog>> logs;
  for (int i = 1; i <= kNodes; ++i) {
    auto log =
        storage::PartitionLog::Open(storage::PosixFileSystem::Get(), clock, LogDir(i, "k"), {});
    ASSERT_TRUE(log.ok()) << log.status();
    hw_min = std::min(hw_min, (*log)->high_watermark());
    logs[i] = *std::move(log);
  }
  ASSERT_FALSE(acked.empty());
  EXPECT_GT(hw_min, Offset(acked.rbegin()->first)) << "every ack is below every replica's HW";
  std::map<int64_t, std::string> found;  // offset -> value
  std::map<std::string, int> copies;
  for (int i = 1; i <= kNodes; ++i) {
    Offset next(0);
    while (next < hw_min) {
      auto chunk = logs[i]->Read(next, 1 << 20, hw_min);
      ASSERT_TRUE(chunk.ok()) << chunk.status();
      ASSERT_FALSE(chunk->empty());
      storage::BatchIterator it(*chunk);
      while (it.Next()) {
        next = it.header().next_offset();
        if (i != 1) continue;
        auto batch = storage::DecodedBatch::Decode(it.batch(), {});
        ASSERT_TRUE(batch.ok());
        const std::string v(
            batch->records()[0].value->substr(0, batch->records()[0].value->find('-') + 3));
        found[it.header().base_offset.value()] = v;
        ++copies[v];
      }
      bytes[i] += *chunk;
    }
  }
  EXPECT_EQ(bytes[1], bytes[2]) << "replicas 1 and 2 differ below the high watermark";
  EXPECT_EQ(bytes[1], bytes[3]) << "replicas 1 and 3 differ below the high watermark";
  int missing = 0;
  for (const auto& [offset, value] : acked) {
    auto it = found.find(offset);
    if (it == found.end() || it->second != value || copies[value] != 1) ++missing;
  }
  EXPECT_EQ(missing, 0) << "acknowledged batches lost, moved or duplicated";
  EXPECT_EQ(above_hw, 0) << "a fetch returned records at or above its high watermark";
  int taken_back = 0;
  for (const auto& [offset, value] : consumed) {
    auto it = found.find(offset);
    if (it == found.end() || it->second != value) ++taken_back;
  }
  std::cout << consumed.size() << " batches consumed during the kills" << std::endl;
  EXPECT_GT(consumed.size(), 0u);
  EXPECT_EQ(taken_back, 0) << "batches a consumer saw are not in the final log";
}

}  // namespace
}  // namespace fjord::broker
