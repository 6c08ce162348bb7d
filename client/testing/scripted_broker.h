// A scripted, in-process BrokerService for the SDK's unit tests: it answers
// Metadata from a table the test controls, validates Produce batches with
// the real storage codec and stores them in memory, and can be told to fail
// the next N produce attempts with a given error code or to hold responses.
// It is a test double for client logic (retries, leader moves, timeouts);
// end-to-end tests run against the real broker.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "proto/fjord/v1/broker.grpc.pb.h"

namespace fjord::client::testing {

class ScriptedBroker final : public v1::BrokerService::Service {
 public:
  struct StoredRecord {
    int64_t offset;
    std::string key;
    std::string value;
  };

  explicit ScriptedBroker(int32_t id);
  ~ScriptedBroker() override;

  // Starts serving on 127.0.0.1 with a free port.
  void Start();
  // Serves `service` too (e.g. a scripted GroupService) on the same port;
  // call before Start. Not owned.
  void AddService(grpc::Service* service) { extra_services_.push_back(service); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int32_t id() const { return id_; }
  int port() const { return port_; }

  // The cluster view every Metadata call returns: brokers and, per topic,
  // partition leaders (broker ids).
  void SetCluster(std::vector<ScriptedBroker*> brokers,
                  std::map<std::string, std::vector<int32_t>> leaders);
  // auto.create.topics.enable: a Metadata request that allows it creates an
  // unknown topic with one partition. Like a real cluster the topic is
  // there before its leader: the creating answer says LEADER_NOT_AVAILABLE,
  // the next one shows the partition without a leader, later ones with
  // `leader`.
  void AutoCreateTopics(int32_t leader);
  // Topics created by AutoCreateTopics so far.
  std::vector<std::string> auto_created();
  // Fail the next `count` produce attempts for every partition with `code`.
  void FailNextProduces(int count, v1::ErrorCode code);
  // Hold (do not answer) produce requests until Release().
  void HoldProduces();
  void Release();

  std::vector<StoredRecord> Records(const std::string& topic, int32_t partition);
  int produce_calls();
  // ProduceStream: the `n`-th stream request from now (1 = the next) is
  // dropped unanswered and its stream ends with UNAVAILABLE, as when a
  // broker dies mid-stream; the requests pipelined behind it are not read.
  void BreakProduceStreamAt(int n);
  // The most requests one stream had read but not yet answered (the
  // pipelining depth the producer reached).
  int max_stream_requests_unanswered();

  grpc::Status Metadata(grpc::ServerContext*, const v1::MetadataRequest*,
                        v1::MetadataResponse*) override;
  grpc::Status Produce(grpc::ServerContext*, const v1::ProduceRequest*,
                       v1::ProduceResponse*) override;
  // Each request handled as Produce, in order, answered in order.
  grpc::Status ProduceStream(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<v1::ProduceResponse, v1::ProduceRequest>*) override;

 private:
  const int32_t id_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::vector<grpc::Service*> extra_services_;

  absl::Mutex mu_;                                                     // guards everything below
  std::vector<std::pair<int32_t, int>> brokers_ ABSL_GUARDED_BY(mu_);  // id, port
  std::map<std::string, std::vector<int32_t>> leaders_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, int32_t>, std::vector<StoredRecord>> logs_ ABSL_GUARDED_BY(mu_);
  int fail_count_ ABSL_GUARDED_BY(mu_) = 0;
  v1::ErrorCode fail_code_ ABSL_GUARDED_BY(mu_) = v1::NONE;
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  int produce_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int break_stream_at_ ABSL_GUARDED_BY(mu_) = 0;  // 0: never
  int max_unanswered_ ABSL_GUARDED_BY(mu_) = 0;
  int32_t auto_create_leader_ ABSL_GUARDED_BY(mu_) = -1;  // -1: no auto-creation
  std::vector<std::string> auto_created_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fjord::client::testing
