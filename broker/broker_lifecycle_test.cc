// BrokerLifecycle's controlled shutdown never hangs: against an in-process
// ControllerService double that registers the broker and then stops
// answering (stopped with the broker, or without a quorum), it gives up after
// `unreachable_max`; a controller that answers but never releases runs into
// `limit`; one that releases ends it at once.
#include "broker/broker_lifecycle.h"

#include <atomic>
#include <memory>

#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace fjord::broker {
namespace {

// Polls `condition` for up to 30 s: ASSERT_TRUE(WaitFor(...)).
::testing::AssertionResult WaitFor(const std::function<bool()>& condition,
                                   const std::string& what) {
  const absl::Time limit = absl::Now() + absl::Seconds(30);
  while (!condition()) {
    if (absl::Now() > limit) {
      return ::testing::AssertionFailure() << "timed out after 30 s waiting for " << what;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  return ::testing::AssertionSuccess();
}

class FakeController final : public v1::ControllerService::Service {
 public:
  enum class Mode { kRelease, kNeverRelease, kNotController };
  std::atomic<Mode> mode{Mode::kRelease};

  grpc::Status RegisterBroker(grpc::ServerContext*, const v1::RegisterBrokerRequest*,
                              v1::RegisterBrokerResponse* resp) override {
    resp->set_broker_epoch(7);
    return grpc::Status::OK;
  }
  grpc::Status BrokerHeartbeat(grpc::ServerContext*, const v1::BrokerHeartbeatRequest* req,
                               v1::BrokerHeartbeatResponse* resp) override {
    if (mode == Mode::kNotController) {
      resp->set_error_code(v1::NOT_CONTROLLER);
      return grpc::Status::OK;
    }
    resp->set_is_fenced(false);
    resp->set_should_shut_down(mode == Mode::kRelease && req->want_shut_down());
    return grpc::Status::OK;
  }
};

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(port_, 0);
    channel_ = std::make_unique<ControllerChannel>(
        std::vector<ControllerVoter>{{.id = 1, .address = absl::StrCat("127.0.0.1:", port_)}});
    lifecycle_ = std::make_unique<BrokerLifecycle>(
        *channel_,
        LifecycleOptions{.id = BrokerId(1),
                         .cluster_id = "c",
                         .heartbeat_interval = absl::Milliseconds(50),
                         .retry_backoff = absl::Milliseconds(50),
                         .rpc_timeout = absl::Seconds(5)},
        [] { return int64_t{0}; }, [](BrokerEpoch) {});
    lifecycle_->Start();
    ASSERT_TRUE(
        WaitFor([&] { return lifecycle_->heartbeats() > 0; }, "registration and a heartbeat"));
  }
  void TearDown() override {
    lifecycle_.reset();
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  FakeController fake_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ControllerChannel> channel_;
  std::unique_ptr<BrokerLifecycle> lifecycle_;
};

TEST_F(LifecycleTest, ReleasedPromptlyWhenTheControllerSaysShutDown) {
  const absl::Time start = absl::Now();
  EXPECT_EQ(lifecycle_->ControlledShutdown(absl::Seconds(30), absl::Seconds(3)),
            ShutdownOutcome::kReleased);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST_F(LifecycleTest, GivesUpWhenTheControllerStoppedWithTheBroker) {
  server_->Shutdown(std::chrono::system_clock::now());
  server_.reset();
  const absl::Time start = absl::Now();
  EXPECT_EQ(lifecycle_->ControlledShutdown(absl::Seconds(30), absl::Seconds(1)),
            ShutdownOutcome::kControllerUnreachable);
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Seconds(1));
  EXPECT_LT(took, absl::Seconds(5)) << "the old code waited the full 30 s";
  // Destroying the lifecycle does not wait out a call in flight.
  const absl::Time destroy = absl::Now();
  lifecycle_.reset();
  EXPECT_LT(absl::Now() - destroy, absl::Seconds(2));
}

TEST_F(LifecycleTest, GivesUpWhenNoControllerIsActive) {
  fake_.mode = FakeController::Mode::kNotController;
  EXPECT_EQ(lifecycle_->ControlledShutdown(absl::Seconds(30), absl::Seconds(1)),
            ShutdownOutcome::kControllerUnreachable);
}

TEST_F(LifecycleTest, TimesOutWhenTheControllerAnswersButNeverReleases) {
  fake_.mode = FakeController::Mode::kNeverRelease;
  const absl::Time start = absl::Now();
  EXPECT_EQ(lifecycle_->ControlledShutdown(absl::Milliseconds(1500), absl::Seconds(1)),
            ShutdownOutcome::kTimedOut)
      << "answering heartbeats keep the wait alive until the limit";
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(1500));
}

}  // namespace
}  // namespace fjord::broker
