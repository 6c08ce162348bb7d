// ProducerStream: the producer's one ProduceStream to one broker (the
// ordered, pipelined Produce of proto/fjord/v1/broker.proto). Requests are
// written in the order Send is called and answered in that order, so several
// requests (and several batches of one partition) can be in flight while a
// partition's batches are still appended in send order.
//
// Each request completes exactly once, through the stream's handler:
// with its response, or with the stream's error when the stream breaks (the
// broker went away, request.timeout.ms passed for the oldest request, or the
// producer closed it); then every request still in flight fails with that
// error, oldest first, and the stream is finished: the producer opens a new
// one for later requests.
//
// Threads: Send, Cancel and Close may be called from any thread; the handler
// runs on gRPC's callback threads, one call at a time per stream, never with
// the stream's lock held. The stream deletes itself after OnDone; the
// owner holds a shared_ptr (`Open`) and must wait for `finished()` (or
// WaitFinished) before it goes away.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "proto/fjord/v1/broker.grpc.pb.h"

namespace fjord::client {

class ProducerStream final
    : public grpc::ClientBidiReactor<v1::ProduceRequest, v1::ProduceResponse> {
 public:
  // `request` is the request as sent (its records may be moved back out by
  // the handler); `response` is null when `status` is not OK.
  using Handler =
      std::function<void(uint64_t tag, v1::ProduceRequest& request,
                         const v1::ProduceResponse* response, const grpc::Status& status)>;

  // Starts the stream. `handler` must outlive it.
  static std::shared_ptr<ProducerStream> Open(v1::BrokerService::Stub& stub, Handler handler);

  // Queues `request`, moving it out (its correlation_id is set here); `tag`
  // comes back to the handler. False if the stream is already broken: then
  // `request` is left as it was and the caller still owns it and its tag.
  bool Send(uint64_t tag, v1::ProduceRequest& request);
  // Breaks the stream (every request in flight fails with `reason`).
  void Cancel(const std::string& reason);
  // No more requests: the stream ends once every request is answered.
  void Close();
  // Blocks until OnDone ran (bounded by the caller's patience).
  bool WaitFinished(absl::Duration limit);

  bool broken();
  int in_flight();
  // When the oldest unanswered request was sent, or InfiniteFuture.
  absl::Time oldest_sent();

  void OnWriteDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  struct Pending {
    uint64_t tag;
    int64_t correlation_id;
    absl::Time sent;
    v1::ProduceRequest request;
  };

  explicit ProducerStream(Handler handler) : handler_(std::move(handler)) {}

  const Handler handler_;
  grpc::ClientContext context_;
  v1::ProduceResponse response_;  // the read in progress (gRPC threads only)

  absl::Mutex mu_;  // guards the queues and flags below
  // Requests in send order: the first `written_` have been written (or are
  // being written) and wait for their response; the rest wait to be written.
  std::deque<Pending> pending_ ABSL_GUARDED_BY(mu_);
  size_t written_ ABSL_GUARDED_BY(mu_) = 0;
  bool write_in_progress_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool writes_done_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  int64_t next_correlation_id_ ABSL_GUARDED_BY(mu_) = 1;
  grpc::Status break_status_ ABSL_GUARDED_BY(mu_);
  // Keeps the stream alive until OnDone has run.
  std::shared_ptr<ProducerStream> self_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fjord::client
