// BrokerServiceImpl::ProduceStream: Produce requests of one stream appended
// in arrival order, answered in request order, acks=-1 waits overlapped with
// later appends (the contract is in proto/fjord/v1/broker.proto).
//
// Three parties per stream, one lock between them (`Session::mu`, which only
// hands requests and completions over):
//   reader thread   Read -> `to_append` (at most kStreamReadAhead waiting)
//   handler thread  `to_append` -> append -> `to_answer` (request order);
//                   writes the completed prefix of `to_answer`
//   completions     an acks=-1 request's AsyncRequest marks it complete, on
//                   whichever thread moved the high watermark (or expiry)
// The handler returns only after every request it appended is complete and
// the reader has stopped, so completions never outlive the session.
#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "broker/broker_service.h"
#include "common/kafka_error.h"

namespace fjord::broker {
namespace {

// How often a handler waiting for completions looks at cancellation.
constexpr absl::Duration kCancelCheckInterval = absl::Milliseconds(100);

}  // namespace

grpc::Status BrokerServiceImpl::ProduceStream(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<v1::ProduceResponse, v1::ProduceRequest>* stream) {
  // One request of the stream, from its read to its response.
  struct Entry {
    v1::ProduceRequest request;
    v1::ProduceResponse response;
    std::vector<PendingAck> pending;
    std::shared_ptr<AsyncRequest> op;  // acks=-1 with replicas to wait for
    absl::Time read_at;
    int64_t records_in = 0;
    int64_t bytes_in = 0;
    bool complete = false;  // guarded by Session::mu once in to_answer
  };
  struct Session {
    absl::Mutex mu;
    absl::CondVar changed;
    std::deque<std::unique_ptr<Entry>> to_append ABSL_GUARDED_BY(mu);
    std::deque<std::unique_ptr<Entry>> to_answer ABSL_GUARDED_BY(mu);
    bool reading_done ABSL_GUARDED_BY(mu) = false;
    bool stop_reading ABSL_GUARDED_BY(mu) = false;
  } s;

  std::thread reader([&s, stream] {
    while (true) {
      auto entry = std::make_unique<Entry>();
      if (!stream->Read(&entry->request)) break;
      entry->read_at = absl::Now();
      absl::MutexLock lock(&s.mu);
      auto room = [&s]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
        return s.to_append.size() < kStreamReadAhead || s.stop_reading;
      };
      s.mu.Await(absl::Condition(&room));
      if (s.stop_reading) break;
      s.to_append.push_back(std::move(entry));
      s.changed.Signal();
    }
    absl::MutexLock lock(&s.mu);
    s.reading_done = true;
    s.changed.Signal();
  });

  bool broken = false;
  std::vector<std::unique_ptr<Entry>> ready;
  while (true) {
    std::unique_ptr<Entry> next;
    ready.clear();
    {
      absl::MutexLock lock(&s.mu);
      while (true) {
        while (!s.to_answer.empty() && s.to_answer.front()->complete) {
          ready.push_back(std::move(s.to_answer.front()));
          s.to_answer.pop_front();
        }
        if (!ready.empty()) break;
        if (!s.to_append.empty()) {
          next = std::move(s.to_append.front());
          s.to_append.pop_front();
          s.changed.Signal();  // room for the reader
          break;
        }
        if (s.reading_done && s.to_answer.empty()) break;
        if (ctx->IsCancelled()) break;
        s.changed.WaitWithTimeout(&s.mu, kCancelCheckInterval);
      }
    }
    if (!ready.empty()) {
      for (size_t i = 0; i < ready.size() && !broken; ++i) {
        Entry& e = *ready[i];
        // One flushed write per response. No buffer_hint for all but the
        // last: on gRPC 1.51 a synchronous Write with that hint can block
        // until something else flushes the connection, and this thread is
        // the only writer, so it hung until the client's request.timeout.ms
        // (30 s) broke the stream and the producer retried batches already
        // appended (grpc/grpc#12975).
        if (!stream->Write(e.response)) broken = true;
        if (options_.observer != nullptr) {
          options_.observer->OnRequest(Rpc::kProduce, absl::Now() - e.read_at, e.records_in,
                                       e.bytes_in);
        }
      }
      if (broken) break;
      continue;
    }
    if (next == nullptr) break;  // reading done and all answered, or cancelled

    Entry* e = next.get();
    e->response.set_correlation_id(e->request.correlation_id());
    const absl::Duration timeout = ProduceTimeout(e->request);
    e->pending = AppendProduce(e->request, &e->response, &e->records_in, &e->bytes_in);
    e->request.Clear();  // the records bytes were moved out; drop the rest now
    if (e->pending.empty()) {
      absl::MutexLock lock(&s.mu);
      e->complete = true;
      s.to_answer.push_back(std::move(next));
      continue;
    }
    // Queued before the operation can complete it (Watch tries at once).
    {
      absl::MutexLock lock(&s.mu);
      s.to_answer.push_back(std::move(next));
    }
    e->op = std::make_shared<AsyncRequest>(
        [e](bool expired) { return ResolveAcks(e->pending, expired); },
        [e, &s] {
          absl::MutexLock lock(&s.mu);
          e->complete = true;
          s.changed.Signal();
        });
    std::vector<const Replica*> watched;
    for (const PendingAck& a : e->pending) watched.push_back(a.replica.get());
    if (!purgatory_.Watch(e->op, watched, clock_.Monotonic() + timeout)) e->op->Expire();
  }

  // Nobody will read the answers (broken or cancelled stream), or all are
  // written. Settle what still waits so no completion outlives `s`.
  std::vector<std::shared_ptr<AsyncRequest>> waiting;
  {
    absl::MutexLock lock(&s.mu);
    s.stop_reading = true;
    s.changed.SignalAll();
    for (const auto& e : s.to_answer) {
      if (e->op != nullptr) waiting.push_back(e->op);
    }
  }
  for (const auto& op : waiting) op->Expire();  // returns once completed
  reader.join();
  if (broken || ctx->IsCancelled()) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "produce stream broken");
  }
  return grpc::Status::OK;
}

}  // namespace fjord::broker
