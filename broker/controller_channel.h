// ControllerChannel: how a broker reaches the active controller
// (controller.quorum.voters = "1@host:port,2@host:port,..."). Calls go to the
// controller last known active; on NOT_CONTROLLER with a hint, or on a
// transport failure, the next call goes to the hinted or the next voter.
//
// Threading: thread-safe; `mu_` guards the choice of controller.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/fjord/v1/controller.grpc.pb.h"

namespace fjord::broker {

struct ControllerVoter {
  int32_t id = -1;
  std::string address;  // host:port
};

// Parses "1@host:port,2@host:port".
absl::StatusOr<std::vector<ControllerVoter>> ParseQuorumVoters(const std::string& voters);

class ControllerChannel {
 public:
  explicit ControllerChannel(std::vector<ControllerVoter> voters);

  // The stub of the controller to try now, and its node id.
  std::shared_ptr<v1::ControllerService::Stub> Current(int32_t* id = nullptr);
  // The call failed: NOT_CONTROLLER with `hint` (may be empty), or a
  // transport error. Moves to the hinted controller, else the next voter.
  void Failed(const v1::ActiveController* hint);
  // The active controller's id as last learned, or -1.
  int32_t active_id() const;

 private:
  struct Voter {
    int32_t id;
    std::string address;
    std::shared_ptr<v1::ControllerService::Stub> stub;
  };
  mutable absl::Mutex mu_;
  std::vector<Voter> voters_ ABSL_GUARDED_BY(mu_);
  size_t current_ ABSL_GUARDED_BY(mu_) = 0;
  int32_t active_ ABSL_GUARDED_BY(mu_) = -1;
};

}  // namespace fjord::broker
