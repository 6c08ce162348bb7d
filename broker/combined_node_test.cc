// Combined nodes as real processes: fjord-broker with
// process.roles=broker,controller, formatted with `fjord-broker format`,
// driven over gRPC the way a client would. One node: produce with acks=all,
// consume, restart, read back, and SIGTERM exits within a bound. Three
// nodes (a quorum of three controllers inside the brokers): kill -9 the node
// hosting the active controller; the cluster keeps serving and loses no
// acknowledged record. Waits are bounded and say what they waited for.
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "broker/test_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/fjord/v1/broker.grpc.pb.h"
#include "proto/fjord/v1/controller.grpc.pb.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"
#include "tests/cluster/test_env.h"

namespace fjord::broker {
namespace {

using ::fjord::testing::FreeLoopbackPort;
using ::fjord::testing::Runfile;
using testing::ProduceRequestFor;

constexpr absl::Duration kWaitMax = absl::Seconds(60);
// SIGTERM to exit: controlled shutdown, then the controller. Generous for a
// loaded 2-core box; a hang (the old >15 s) still fails.
constexpr absl::Duration kStopMax = absl::Seconds(10);
constexpr int kRecordsPerBatch = 10;

// Polls `condition` every 50 ms for up to kWaitMax. Use as
// ASSERT_TRUE(WaitFor(...)): the test stops at the first wait that times out.
::testing::AssertionResult WaitFor(const std::function<bool()>& condition,
                                   const std::string& what) {
  const absl::Time limit = absl::Now() + kWaitMax;
  while (!condition()) {
    if (absl::Now() > limit) {
      return ::testing::AssertionFailure()
             << "timed out after " << absl::FormatDuration(kWaitMax) << " waiting for " << what;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return ::testing::AssertionSuccess();
}

std::chrono::system_clock::time_point In(absl::Duration d) {
  return absl::ToChronoTime(absl::Now() + d);
}

// A consumer's Fetch of partition 0 of `topic` from `offset`, without waiting.
v1::FetchRequest FetchRequestFor(const std::string& topic, int64_t offset, int32_t leader_epoch) {
  v1::FetchRequest req;
  req.set_replica_id(-1);
  req.set_max_wait_ms(0);
  req.set_max_bytes(1 << 20);
  auto* ft = req.add_topics();
  ft->set_topic(topic);
  auto* fp = ft->add_partitions();
  fp->set_partition(0);
  fp->set_fetch_offset(offset);
  fp->set_current_leader_epoch(leader_epoch);
  fp->set_partition_max_bytes(1 << 20);
  return req;
}

// N combined nodes with ids 1..N on free loopback ports under TEST_TMPDIR.
class CombinedCluster {
 public:
  CombinedCluster(int nodes, std::map<std::string, std::string> extra) {
    const char* tmp = std::getenv("TEST_TMPDIR");
    root_ = std::filesystem::path(tmp ? tmp : "/tmp") /
            absl::StrCat("combined-", getpid(), "-", FreeLoopbackPort());
    const char* out = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
    logs_ = out ? std::filesystem::path(out) : root_;
    std::filesystem::create_directories(root_);
    std::vector<std::string> voters;
    for (int i = 1; i <= nodes; ++i) {
      client_ports_[i] = FreeLoopbackPort();
      controller_ports_[i] = FreeLoopbackPort();
      voters.push_back(absl::StrCat(i, "@127.0.0.1:", controller_ports_[i]));
      pids_[i] = -1;
    }
    for (int i = 1; i <= nodes; ++i) {
      const std::string props = Props(i);
      std::ofstream(props) << absl::StrCat(
          "process.roles=broker,controller\nnode.id=", i,
          "\nlisteners=PLAINTEXT://127.0.0.1:", client_ports_[i],
          ",CONTROLLER://127.0.0.1:", controller_ports_[i],
          "\ncontroller.listener.names=CONTROLLER\ncontroller.quorum.voters=",
          absl::StrJoin(voters, ","), "\nlog.dirs=", (root_ / absl::StrCat("node-", i)).string(),
          "\nmetrics.listen=127.0.0.1:", FreeLoopbackPort(),
          "\nbroker.heartbeat.interval.ms=300\nlog.level=info\n");
      for (const auto& [k, v] : extra) std::ofstream(props, std::ios::app) << k << "=" << v << "\n";
    }
  }
  ~CombinedCluster() {
    for (auto& [id, pid] : pids_) {
      if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  }

  int Format(int i) {
    return ::fjord::testing::RunProcess(
        {Runfile("broker/fjord-broker"), "format", "--config", Props(i), "--cluster-id", "cc"},
        (logs_ / absl::StrCat("node-", i, "-format.log")).string());
  }
  void Start(int i) {
    pids_[i] = ::fjord::testing::SpawnProcess(
        {Runfile("broker/fjord-broker"), "--config", Props(i), "--log-file",
         (logs_ / absl::StrCat("node-", i, ".log")).string()});
  }
  void Kill9(int i) {
    kill(pids_[i], SIGKILL);
    waitpid(pids_[i], nullptr, 0);
    pids_[i] = -1;
  }
  // SIGTERM; how long the process took to exit (InfiniteDuration if it had
  // to be killed after kStopMax) and its exit code.
  absl::Duration Stop(int i, int* exit_code) {
    const absl::Time start = absl::Now();
    kill(pids_[i], SIGTERM);
    int status = 0;
    while (waitpid(pids_[i], &status, WNOHANG) == 0) {
      if (absl::Now() - start > kStopMax) {
        Kill9(i);
        return absl::InfiniteDuration();
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    pids_[i] = -1;
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return absl::Now() - start;
  }
  bool running(int i) const { return pids_.at(i) > 0; }

  std::unique_ptr<v1::BrokerService::Stub> Broker(int i) const {
    return v1::BrokerService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", client_ports_.at(i)), grpc::InsecureChannelCredentials()));
  }
  std::unique_ptr<v1::ControllerService::Stub> Controller(int i) const {
    return v1::ControllerService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", controller_ports_.at(i)), grpc::InsecureChannelCredentials()));
  }

  // The active controller's node id as a running node's controller sees it.
  std::optional<int> ActiveController() const {
    for (const auto& [i, pid] : pids_) {
      if (pid <= 0) continue;
      grpc::ClientContext ctx;
      ctx.set_deadline(In(absl::Seconds(2)));
      v1::DescribeClusterResponse resp;
      if (!Controller(i)->DescribeCluster(&ctx, {}, &resp).ok() || resp.error_code() != v1::NONE) {
        continue;
      }
      for (const auto& c : resp.controllers()) {
        if (c.is_active()) return c.node_id();
      }
    }
    return std::nullopt;
  }

  bool CreateTopic(const std::string& name, int rf,
                   const std::map<std::string, std::string>& configs = {}) const {
    v1::CreateTopicsRequest req;
    auto* t = req.add_topics();
    t->set_name(name);
    t->set_num_partitions(1);
    t->set_replication_factor(rf);
    for (const auto& [k, v] : configs) {
      auto* c = t->add_configs();
      c->set_name(k);
      c->set_value(v);
    }
    for (const auto& [i, pid] : pids_) {
      if (pid <= 0) continue;
      grpc::ClientContext ctx;
      ctx.set_deadline(In(absl::Seconds(5)));
      v1::CreateTopicsResponse resp;
      if (Controller(i)->CreateTopics(&ctx, req, &resp).ok() && resp.topics_size() == 1 &&
          (resp.topics(0).error_code() == v1::NONE ||
           resp.topics(0).error_code() == v1::TOPIC_ALREADY_EXISTS)) {
        return true;
      }
    }
    return false;
  }

  // Partition 0 of `topic` as a running node with a leader describes it.
  std::optional<v1::MetadataResponse::MetadataResponsePartition> Describe(
      const std::string& topic) const {
    for (const auto& [i, pid] : pids_) {
      if (pid <= 0) continue;
      v1::MetadataRequest req;
      req.add_topics()->set_topic(topic);
      grpc::ClientContext ctx;
      ctx.set_deadline(In(absl::Seconds(2)));
      v1::MetadataResponse resp;
      if (!Broker(i)->Metadata(&ctx, req, &resp).ok() || resp.topics_size() != 1 ||
          resp.topics(0).partitions_size() != 1) {
        continue;
      }
      const auto& p = resp.topics(0).partitions(0);
      if (p.leader_id() > 0 && running(p.leader_id())) return p;
    }
    return std::nullopt;
  }

  // One acks=all produce to the current leader; the partition's result.
  v1::ProduceResponse::PartitionProduceResponse Produce(const std::string& topic,
                                                        std::string records) const {
    v1::ProduceResponse::PartitionProduceResponse out;
    out.set_error_code(v1::LEADER_NOT_AVAILABLE);
    auto p = Describe(topic);
    if (!p) return out;
    const v1::ProduceRequest req = ProduceRequestFor(topic, std::move(records), -1);
    grpc::ClientContext ctx;
    ctx.set_deadline(In(absl::Seconds(10)));
    v1::ProduceResponse resp;
    if (!Broker(p->leader_id())->Produce(&ctx, req, &resp).ok()) {
      out.set_error_code(v1::NETWORK_EXCEPTION);
      return out;
    }
    return resp.responses(0).partition_responses(0);
  }

  // Every batch below the high watermark, from the current leader: base
  // offset -> its first record's value. nullopt if the read failed.
  std::optional<std::map<int64_t, std::string>> ReadAll(const std::string& topic) const {
    auto p = Describe(topic);
    if (!p) return std::nullopt;
    std::map<int64_t, std::string> out;
    int64_t next = 0;
    while (true) {
      const v1::FetchRequest req = FetchRequestFor(topic, next, -1);
      grpc::ClientContext ctx;
      ctx.set_deadline(In(absl::Seconds(5)));
      v1::FetchResponse resp;
      if (!Broker(p->leader_id())->Fetch(&ctx, req, &resp).ok() || resp.responses_size() != 1) {
        return std::nullopt;
      }
      const auto& pd = resp.responses(0).partitions(0);
      if (pd.error_code() != v1::NONE) return std::nullopt;
      storage::BatchIterator it(pd.records());
      bool any = false;
      while (it.Next()) {
        auto batch = storage::DecodedBatch::Decode(it.batch(), {});
        if (!batch.ok()) return std::nullopt;
        out[it.header().base_offset.value()] = std::string(*batch->records()[0].value);
        next = it.header().next_offset().value();
        any = true;
      }
      if (!any || next >= pd.high_watermark()) return out;
    }
  }

  std::string logs() const { return logs_.string(); }

 private:
  std::string Props(int i) const {
    return (root_ / absl::StrCat("node-", i, ".properties")).string();
  }

  std::filesystem::path root_, logs_;
  std::map<int, int> client_ports_, controller_ports_;
  std::map<int, pid_t> pids_;
};

// Produces `n` acks=all batches with fresh values; returns offset -> value.
std::map<int64_t, std::string> ProduceAcked(const CombinedCluster& c, const std::string& topic,
                                            int n, const std::string& tag) {
  std::map<int64_t, std::string> acked;
  for (int i = 0; i < n; ++i) {
    const std::string value = absl::StrCat(tag, i, "/");
    auto r = c.Produce(topic, testing::MakeBatch(kRecordsPerBatch, 1'700'000'000'000, value));
    EXPECT_EQ(r.error_code(), v1::NONE) << r.error_message();
    if (r.error_code() == v1::NONE) acked[r.base_offset()] = value;
  }
  return acked;
}

// The first record's value in a MakeBatch batch starts with its tag.
int Missing(const std::map<int64_t, std::string>& acked,
            const std::map<int64_t, std::string>& found) {
  int missing = 0;
  for (const auto& [offset, value] : acked) {
    auto it = found.find(offset);
    if (it == found.end() || it->second.rfind(value, 0) != 0) ++missing;
  }
  return missing;
}

TEST(CombinedNodeTest, OneNodeServesRestartsWithItsDataAndStopsPromptly) {
  CombinedCluster c(1, {});
  ASSERT_EQ(c.Format(1), 0) << "fjord-broker format; logs in " << c.logs();
  EXPECT_NE(c.Format(1), 0) << "a second format must refuse the formatted directory";
  c.Start(1);
  ASSERT_TRUE(
      WaitFor([&] { return c.ActiveController() == 1; }, "node 1 to become the active controller"));
  ASSERT_TRUE(WaitFor([&] { return c.CreateTopic("one", 1); }, "the topic to be created"));
  ASSERT_TRUE(WaitFor([&] { return c.Describe("one").has_value(); }, "a leader for one-0"));
  ASSERT_TRUE(
      WaitFor([&] { return c.Produce("one", testing::MakeBatch(1, 1, "warm")).error_code() == 0; },
              "a first acks=all write"));
  std::map<int64_t, std::string> acked = ProduceAcked(c, "one", 20, "before-");
  ASSERT_EQ(acked.size(), 20u);
  auto read = c.ReadAll("one");
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(Missing(acked, *read), 0) << "consumed data differs from what was acknowledged";

  int code = -1;
  const absl::Duration first_stop = c.Stop(1, &code);
  std::cout << "SIGTERM to exit: " << absl::FormatDuration(first_stop) << std::endl;
  ASSERT_LT(first_stop, kStopMax) << "the combined node did not exit after SIGTERM";
  EXPECT_EQ(code, 0);

  c.Start(1);
  ASSERT_TRUE(WaitFor([&] { return c.Describe("one").has_value(); },
                      "one-0 to have a leader after restart"));
  std::optional<std::map<int64_t, std::string>> after;
  ASSERT_TRUE(WaitFor(
      [&] {
        after = c.ReadAll("one");
        return after.has_value() && !after->empty() &&
               after->rbegin()->first >= acked.rbegin()->first;
      },
      "the data back after restart"));
  EXPECT_EQ(Missing(acked, *after), 0) << "acknowledged batches lost across the restart";
  auto more = ProduceAcked(c, "one", 5, "after-");
  ASSERT_EQ(more.size(), 5u);
  EXPECT_GT(more.begin()->first, acked.rbegin()->first) << "new offsets continue the log";

  // auto.create.topics.enable (Kafka's default true): Metadata allowing it
  // creates the topic through the controller, with num.partitions.
  ASSERT_TRUE(WaitFor(
      [&] {
        v1::MetadataRequest req;
        req.add_topics()->set_topic("auto");
        req.set_allow_auto_topic_creation(true);
        grpc::ClientContext ctx;
        ctx.set_deadline(In(absl::Seconds(5)));
        v1::MetadataResponse resp;
        return c.Broker(1)->Metadata(&ctx, req, &resp).ok() && resp.topics_size() == 1 &&
               resp.topics(0).error_code() == v1::NONE && resp.topics(0).partitions_size() == 1 &&
               resp.topics(0).partitions(0).leader_id() == 1;
      },
      "Metadata to auto-create topic 'auto' with a leader"));

  const absl::Duration second_stop = c.Stop(1, &code);
  std::cout << "SIGTERM to exit after restart: " << absl::FormatDuration(second_stop) << std::endl;
  EXPECT_LT(second_stop, kStopMax);
  EXPECT_EQ(code, 0);
}

TEST(CombinedNodeTest, ThreeNodesKeepServingWhenTheActiveControllersNodeIsKilled) {
  CombinedCluster c(3, {{"min.insync.replicas", "2"},
                        {"replica.lag.time.max.ms", "1500"},
                        {"broker.session.timeout.ms", "3000"}});
  for (int i = 1; i <= 3; ++i) ASSERT_EQ(c.Format(i), 0) << "format node " << i;
  for (int i = 1; i <= 3; ++i) c.Start(i);
  ASSERT_TRUE(WaitFor([&] { return c.ActiveController().has_value(); }, "an active controller"));
  ASSERT_TRUE(WaitFor([&] { return c.CreateTopic("k", 3); }, "k to be created with RF 3"));
  ASSERT_TRUE(WaitFor(
      [&] {
        auto p = c.Describe("k");
        return p && p->isr_nodes_size() == 3;
      },
      "k-0 with a leader and ISR of 3"));

  absl::Mutex mu;
  std::map<int64_t, std::string> acked;  // guarded by mu
  std::atomic<int64_t> acked_after_kill{0};
  std::atomic<bool> killed{false}, stop{false};
  std::thread producer;
  // Joined on every way out of the test, an ASSERT's early return included.
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~Joiner() {
      stop = true;
      if (thread.joinable()) thread.join();
    }
  } joiner{stop, producer};
  producer = std::thread([&] {
    for (int64_t n = 0; !stop; ++n) {
      // Fresh values on every attempt: a failed attempt is never retried.
      const std::string value = absl::StrCat("v", n, "-");
      auto r = c.Produce("k", testing::MakeBatch(kRecordsPerBatch, 1'700'000'000'000, value));
      if (r.error_code() != v1::NONE) {
        absl::SleepFor(absl::Milliseconds(20));
        continue;
      }
      absl::MutexLock lock(&mu);
      acked[r.base_offset()] = value;
      if (killed) ++acked_after_kill;
    }
  });
  absl::SleepFor(absl::Seconds(2));
  std::optional<int> active;
  ASSERT_TRUE(WaitFor(
      [&] {
        active = c.ActiveController();
        return active.has_value();
      },
      "the active controller to kill"));
  const auto before = c.Describe("k");
  std::cout << "kill -9 node " << *active << " (active controller; partition leader "
            << (before ? before->leader_id() : -1) << ")" << std::endl;
  c.Kill9(*active);
  killed = true;
  const absl::Time killed_at = absl::Now();
  ASSERT_TRUE(WaitFor(
      [&] {
        auto now = c.ActiveController();
        return now.has_value() && *now != *active;
      },
      "another node's controller to become active"));
  std::cout << "new active controller after " << absl::FormatDuration(absl::Now() - killed_at)
            << std::endl;
  ASSERT_TRUE(
      WaitFor([&] { return acked_after_kill >= 20; }, "20 acknowledged writes after the kill"));
  std::cout << "writes acknowledged again " << absl::FormatDuration(absl::Now() - killed_at)
            << " after the kill" << std::endl;
  stop = true;
  producer.join();
  ASSERT_FALSE(acked.empty()) << "nothing acknowledged";

  std::map<int64_t, std::string> snapshot;
  {
    absl::MutexLock lock(&mu);
    snapshot = acked;
  }
  std::optional<std::map<int64_t, std::string>> found;
  ASSERT_TRUE(WaitFor(
      [&] {
        found = c.ReadAll("k");
        return found.has_value() && !found->empty() &&
               found->rbegin()->first >= snapshot.rbegin()->first;
      },
      "a consumer to read up to the last acknowledged batch"));
  std::cout << snapshot.size() << " batches acknowledged" << std::endl;
  EXPECT_EQ(Missing(snapshot, *found), 0) << "acknowledged batches lost or moved";

  // The killed node comes back into the quorum and the ISR.
  c.Start(*active);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto p = c.Describe("k");
        return p && p->isr_nodes_size() == 3;
      },
      "the restarted node to rejoin the ISR"));
}

}  // namespace
}  // namespace fjord::broker

namespace fjord::broker {
namespace {

// A Produce of `records` to partition 0 of `topic` on node 1 (gRPC status and
// the partition's result).
grpc::Status ProduceTo(const CombinedCluster& c, const std::string& topic, std::string records,
                       int acks, v1::ProduceResponse::PartitionProduceResponse* out) {
  const v1::ProduceRequest req = ProduceRequestFor(topic, std::move(records), acks);
  grpc::ClientContext ctx;
  ctx.set_deadline(In(absl::Seconds(10)));
  v1::ProduceResponse resp;
  grpc::Status status = c.Broker(1)->Produce(&ctx, req, &resp);
  if (status.ok() && resp.responses_size() == 1 &&
      resp.responses(0).partition_responses_size() == 1) {
    *out = resp.responses(0).partition_responses(0);
  }
  return status;
}

// A Fetch of partition 0 of `topic` on node 1 at `offset` with a leader
// epoch; the partition's error code.
v1::ErrorCode FetchError(const CombinedCluster& c, const std::string& topic, int64_t offset,
                         int32_t leader_epoch) {
  const v1::FetchRequest req = FetchRequestFor(topic, offset, leader_epoch);
  grpc::ClientContext ctx;
  ctx.set_deadline(In(absl::Seconds(5)));
  v1::FetchResponse resp;
  if (!c.Broker(1)->Fetch(&ctx, req, &resp).ok() || resp.responses_size() != 1 ||
      resp.responses(0).partitions_size() != 1) {
    return v1::NETWORK_EXCEPTION;
  }
  return resp.responses(0).partitions(0).error_code();
}

// The broker issue's point 7(d) against a real process: every bad input of
// point 5 gets its Kafka error, nothing bad is stored, and the node keeps
// serving (each bad request is followed by a good produce, and at the end
// every acknowledged batch reads back at its offset).
TEST(CombinedNodeTest, BadInputsGetTheirErrorsAndTheNodeKeepsServing) {
  CombinedCluster c(1, {{"socket.request.max.bytes", "2097152"}});
  ASSERT_EQ(c.Format(1), 0) << "fjord-broker format; logs in " << c.logs();
  c.Start(1);
  ASSERT_TRUE(
      WaitFor([&] { return c.ActiveController() == 1; }, "node 1 to become the active controller"));
  ASSERT_TRUE(WaitFor(
      [&] {
        return c.CreateTopic("good", 1, {{"max.message.bytes", "4096"}});
      },
      "topic good"));
  ASSERT_TRUE(WaitFor(
      [&] {
        return c.CreateTopic("strict", 1, {{"min.insync.replicas", "2"}});
      },
      "topic strict (min.insync.replicas=2 on one node)"));
  ASSERT_TRUE(WaitFor(
      [&] {
        return c.CreateTopic("compacted", 1, {{"cleanup.policy", "compact"}});
      },
      "topic compacted"));
  for (const char* t : {"good", "strict", "compacted"}) {
    ASSERT_TRUE(
        WaitFor([&] { return c.Describe(t).has_value(); }, absl::StrCat("a leader for ", t)));
  }

  std::map<int64_t, std::string> acked;
  int round = 0;
  auto expect_still_serving = [&](const std::string& after) {
    const std::string value = absl::StrCat("ok", round++, "/");
    v1::ProduceResponse::PartitionProduceResponse r;
    ASSERT_TRUE(ProduceTo(c, "good", testing::MakeBatch(3, 1'700'000'000'000, value), -1, &r).ok())
        << "node stopped answering after " << after;
    ASSERT_EQ(r.error_code(), v1::NONE) << "after " << after << ": " << r.error_message();
    acked[r.base_offset()] = value;
  };
  expect_still_serving("start");

  auto expect_error = [&](const std::string& topic, std::string records, int acks,
                          v1::ErrorCode want, const std::string& what) {
    v1::ProduceResponse::PartitionProduceResponse r;
    grpc::Status s = ProduceTo(c, topic, std::move(records), acks, &r);
    ASSERT_TRUE(s.ok()) << what << ": " << s.error_message();
    EXPECT_EQ(r.error_code(), want) << what << ": " << r.error_message();
    EXPECT_FALSE(r.error_message().empty()) << what << ": the error says why";
    expect_still_serving(what);
  };

  std::string corrupt = testing::MakeBatch(3, 1'700'000'000'000, "c");
  corrupt[corrupt.size() - 2] ^= 0x5a;  // a record byte: the CRC no longer matches
  expect_error("good", corrupt, -1, v1::CORRUPT_MESSAGE, "a batch with a bad CRC");
  expect_error("good", "not a record batch at all", -1, v1::CORRUPT_MESSAGE, "garbage bytes");
  expect_error("good", testing::MakeBatch(1, 1, "a"), 2, v1::INVALID_REQUIRED_ACKS, "acks=2");
  expect_error("no-such-topic", testing::MakeBatch(1, 1, "u"), -1, v1::UNKNOWN_TOPIC_OR_PARTITION,
               "an unknown topic");
  expect_error("good", testing::MakeBatch(10, 1, "big", 1024), -1, v1::MESSAGE_TOO_LARGE,
               "a 10 KiB batch over the topic's max.message.bytes=4096");
  expect_error("strict", testing::MakeBatch(1, 1, "s"), -1, v1::NOT_ENOUGH_REPLICAS,
               "acks=all below the topic's min.insync.replicas");
  {
    storage::RecordBatchBuilder b;
    b.Append(1'700'000'000'000, std::nullopt, "keyless");
    absl::StatusOr<std::string> keyless = b.Build();
    ASSERT_TRUE(keyless.ok());
    expect_error("compacted", *keyless, -1, v1::INVALID_RECORD,
                 "a keyless record on a compacted topic");
  }
  {
    // Over socket.request.max.bytes: refused by gRPC before the handler.
    v1::ProduceResponse::PartitionProduceResponse r;
    grpc::Status s = ProduceTo(c, "good", std::string(3 << 20, 'x'), -1, &r);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
    expect_still_serving("an oversized request");
  }
  const int32_t epoch = c.Describe("good")->leader_epoch();
  EXPECT_EQ(FetchError(c, "good", 1'000'000, epoch), v1::OFFSET_OUT_OF_RANGE);
  EXPECT_EQ(FetchError(c, "good", 0, epoch + 5), v1::UNKNOWN_LEADER_EPOCH);
  if (epoch > 0) {
    EXPECT_EQ(FetchError(c, "good", 0, epoch - 1), v1::FENCED_LEADER_EPOCH);
  }
  EXPECT_EQ(FetchError(c, "good", 0, epoch), v1::NONE);
  expect_still_serving("bad fetches");

  // Everything acknowledged is there, at its offset, and nothing else is:
  // the refused batches left no trace in the log.
  std::optional<std::map<int64_t, std::string>> found = c.ReadAll("good");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->size(), acked.size());
  EXPECT_EQ(Missing(acked, *found), 0);
}

}  // namespace
}  // namespace fjord::broker
