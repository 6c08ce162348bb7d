#include "broker/broker_lifecycle.h"

#include <algorithm>
#include <utility>

#include "common/kafka_error.h"
#include "grpcpp/grpcpp.h"
#include "spdlog/spdlog.h"

namespace fjord::broker {
namespace {

std::chrono::system_clock::time_point Deadline(absl::Duration d) {
  return absl::ToChronoTime(absl::Now() + d);
}

}  // namespace

BrokerLifecycle::BrokerLifecycle(ControllerChannel& channel, LifecycleOptions options,
                                 std::function<int64_t()> applied_offset,
                                 std::function<void(BrokerEpoch)> on_registered)
    : channel_(channel),
      options_(std::move(options)),
      applied_offset_(std::move(applied_offset)),
      on_registered_(std::move(on_registered)) {}

BrokerLifecycle::~BrokerLifecycle() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    if (call_ != nullptr) call_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

void BrokerLifecycle::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void BrokerLifecycle::Loop() {
  while (true) {
    absl::Duration pause;
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
    }
    if (!registered()) {
      Register();
      pause = registered() ? absl::ZeroDuration() : options_.retry_backoff;
    } else {
      Heartbeat();
      absl::MutexLock lock(&mu_);
      // While shutting down, heartbeat faster so the release is seen soon.
      pause = want_shut_down_ ? options_.retry_backoff : options_.heartbeat_interval;
    }
    absl::MutexLock lock(&mu_);
    // A controlled shutdown starting cuts the pause short.
    auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || wake_; };
    mu_.AwaitWithTimeout(absl::Condition(&wake), pause);
    wake_ = false;
  }
}

void BrokerLifecycle::Register() {
  v1::RegisterBrokerRequest req;
  req.set_broker_id(options_.id.value());
  req.set_cluster_id(options_.cluster_id);
  options_.incarnation_id.ToProto(req.mutable_incarnation_id());
  for (const v1::Endpoint& e : options_.listeners) *req.add_listeners() = e;
  req.set_rack(options_.rack);
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(options_.rpc_timeout));
  if (!BeginCall(&ctx)) return;
  v1::RegisterBrokerResponse resp;
  grpc::Status s = channel_.Current()->RegisterBroker(&ctx, req, &resp);
  EndCall();
  if (!s.ok() || resp.error_code() != v1::NONE) {
    spdlog::warn("broker {}: RegisterBroker failed: {}", options_.id.value(),
                 s.ok() ? std::string(ErrorCodeName(resp.error_code())) + " " + resp.error_message()
                        : s.error_message());
    channel_.Failed(s.ok() && resp.has_active_controller() ? &resp.active_controller() : nullptr);
    return;
  }
  const BrokerEpoch epoch(resp.broker_epoch());
  {
    absl::MutexLock lock(&mu_);
    epoch_ = epoch;
    fenced_ = true;
  }
  spdlog::info("broker {}: registered with broker epoch {}", options_.id.value(), epoch.value());
  on_registered_(epoch);
}

void BrokerLifecycle::Heartbeat() {
  v1::BrokerHeartbeatRequest req;
  req.set_broker_id(options_.id.value());
  {
    absl::MutexLock lock(&mu_);
    req.set_broker_epoch(epoch_.value());
    req.set_want_shut_down(want_shut_down_);
  }
  req.set_current_metadata_offset(applied_offset_());
  req.set_want_fence(false);
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(options_.rpc_timeout));
  if (!BeginCall(&ctx)) return;
  v1::BrokerHeartbeatResponse resp;
  grpc::Status s = channel_.Current()->BrokerHeartbeat(&ctx, req, &resp);
  EndCall();
  if (!s.ok()) {
    channel_.Failed(nullptr);
    return;
  }
  absl::MutexLock lock(&mu_);
  switch (resp.error_code()) {
    case v1::NONE:
      ++heartbeats_;
      last_answer_ = absl::Now();
      if (fenced_ != resp.is_fenced()) {
        spdlog::info("broker {} (epoch {}): {}", options_.id.value(), epoch_.value(),
                     resp.is_fenced() ? "fenced" : "unfenced");
      }
      fenced_ = resp.is_fenced();
      if (resp.should_shut_down()) released_ = true;
      return;
    case v1::STALE_BROKER_EPOCH:
    case v1::BROKER_ID_NOT_REGISTERED:
      spdlog::warn("broker {}: heartbeat refused ({}); registering again", options_.id.value(),
                   ErrorCodeName(resp.error_code()));
      epoch_ = BrokerEpoch(-1);
      return;
    default:
      channel_.Failed(resp.has_active_controller() ? &resp.active_controller() : nullptr);
      return;
  }
}

bool BrokerLifecycle::BeginCall(grpc::ClientContext* ctx) {
  absl::MutexLock lock(&mu_);
  if (stop_) return false;
  call_ = ctx;
  return true;
}

void BrokerLifecycle::EndCall() {
  absl::MutexLock lock(&mu_);
  call_ = nullptr;
}

bool BrokerLifecycle::ControlledShutdown(absl::Duration limit) {
  return ControlledShutdown(limit, absl::InfiniteDuration()) == ShutdownOutcome::kReleased;
}

ShutdownOutcome BrokerLifecycle::ControlledShutdown(absl::Duration limit,
                                                    absl::Duration unreachable_max) {
  // Checked this often for an unreachable controller: the lifecycle thread
  // may sit in a call for up to rpc_timeout, so it cannot be the one to tell.
  constexpr absl::Duration kCheckInterval = absl::Milliseconds(100);
  absl::MutexLock lock(&mu_);
  // Never registered: the controller has nothing of ours to move.
  if (epoch_ < BrokerEpoch(0)) return ShutdownOutcome::kReleased;
  want_shut_down_ = true;
  wake_ = true;
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + limit;
  auto released = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return released_; };
  while (true) {
    const absl::Time now = absl::Now();
    if (now >= deadline) return ShutdownOutcome::kTimedOut;
    if (now - std::max(start, last_answer_) >= unreachable_max) {
      return ShutdownOutcome::kControllerUnreachable;
    }
    if (mu_.AwaitWithTimeout(absl::Condition(&released),
                             std::min(kCheckInterval, deadline - now))) {
      return ShutdownOutcome::kReleased;
    }
  }
}

BrokerEpoch BrokerLifecycle::broker_epoch() const {
  absl::MutexLock lock(&mu_);
  return epoch_;
}
bool BrokerLifecycle::registered() const {
  absl::MutexLock lock(&mu_);
  return epoch_ >= BrokerEpoch(0);
}
bool BrokerLifecycle::fenced() const {
  absl::MutexLock lock(&mu_);
  return fenced_;
}
int64_t BrokerLifecycle::heartbeats() const {
  absl::MutexLock lock(&mu_);
  return heartbeats_;
}

}  // namespace fjord::broker
