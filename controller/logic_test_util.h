// A test harness around ControllerLogic: a manual clock, a seeded Random, and
// helpers that commit handler results (replay their records as the next
// metadata offset) the way the QuorumController does.
#pragma once

#include <map>
#include <string>

#include "common/clock.h"
#include "common/random.h"
#include "controller/controller_logic.h"
#include "gtest/gtest.h"

namespace fjord::controller::testing {

ControllerConfig TestConfig();

class Harness {
 public:
  explicit Harness(ControllerConfig config = TestConfig(), uint64_t seed = 1)
      : random_(seed), logic_(std::move(config), clock_, random_) {}

  ControllerLogic& logic() { return logic_; }
  ManualClock& clock() { return clock_; }
  const MetadataImage& image() const { return logic_.image(); }
  Offset next_offset() const { return logic_.image().offset() + 1; }

  // Replays the result's records (if any) as one batch at next_offset();
  // fails the test if replay fails. Returns the response.
  template <typename R>
  R Commit(ControllerResult<R> result) {
    if (!result.records.empty()) {
      absl::Status status = logic_.Replay(ToBatch(result.records), next_offset());
      EXPECT_TRUE(status.ok()) << status;
    }
    return std::move(result.response);
  }

  v1::RegisterBrokerRequest RegisterRequest(int32_t id, const std::string& rack = "",
                                            uint64_t incarnation = 1) const;
  // Registers and unfences broker `id`; returns its epoch.
  int64_t AddBroker(int32_t id, const std::string& rack = "");
  v1::BrokerHeartbeatResponse Heartbeat(int32_t id, bool want_shut_down = false,
                                        bool want_fence = false);
  // Creates a topic (must succeed); returns its id.
  Uuid CreateTopic(const std::string& name, int32_t partitions, int32_t rf,
                   const std::map<std::string, std::string>& configs = {});
  const PartitionRegistration& Partition(const std::string& topic, int32_t p) const;

 private:
  ManualClock clock_;
  SeededRandom random_;
  ControllerLogic logic_;
};

// Broker ids as a vector<BrokerId>, for comparisons.
std::vector<BrokerId> Ids(std::initializer_list<int32_t> ids);

}  // namespace fjord::controller::testing
