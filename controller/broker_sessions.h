// BrokerSessions: when each registered broker was last heard from, for
// fencing brokers whose session (broker.session.timeout.ms) expired.
//
// This is soft state, not metadata: it is not in the log and each
// controller keeps its own. A controller that becomes active starts every
// registered broker's session afresh (ActivateAll), as Kafka's
// BrokerHeartbeatManager does, so a failover never fences a healthy broker.
//
// Owner: the controller's event loop thread. Time comes from the injected
// Clock (monotonic). Iteration is by broker id, so decisions are
// deterministic.
#pragma once

#include <map>
#include <optional>

#include "absl/time/time.h"
#include "common/types.h"

namespace fjord::controller {

class BrokerSessions {
 public:
  explicit BrokerSessions(absl::Duration session_timeout) : session_timeout_(session_timeout) {}

  // Records contact from `broker` (registration or heartbeat) at `now`.
  void Touch(BrokerId broker, absl::Duration now) { last_contact_[broker] = now; }
  void Remove(BrokerId broker) { last_contact_.erase(broker); }
  void Clear() { last_contact_.clear(); }

  // True if `broker` was heard from within the session timeout before `now`.
  bool IsAlive(BrokerId broker, absl::Duration now) const {
    auto it = last_contact_.find(broker);
    return it != last_contact_.end() && now - it->second < session_timeout_;
  }

  std::optional<absl::Duration> last_contact(BrokerId broker) const {
    auto it = last_contact_.find(broker);
    if (it == last_contact_.end()) return std::nullopt;
    return it->second;
  }

  absl::Duration session_timeout() const { return session_timeout_; }

 private:
  const absl::Duration session_timeout_;
  std::map<BrokerId, absl::Duration> last_contact_;
};

}  // namespace fjord::controller
