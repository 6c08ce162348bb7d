#include "client/producer_stream.h"

#include <utility>
#include <vector>

namespace fjord::client {

std::shared_ptr<ProducerStream> ProducerStream::Open(v1::BrokerService::Stub& stub,
                                                     Handler handler) {
  std::shared_ptr<ProducerStream> stream(new ProducerStream(std::move(handler)));
  {
    absl::MutexLock lock(&stream->mu_);
    stream->self_ = stream;
  }
  stub.async()->ProduceStream(&stream->context_, stream.get());
  stream->StartRead(&stream->response_);
  stream->StartCall();
  return stream;
}

bool ProducerStream::Send(uint64_t tag, v1::ProduceRequest& request) {
  const v1::ProduceRequest* to_write = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (broken_ || closing_) return false;
    const int64_t id = next_correlation_id_++;
    request.set_correlation_id(id);
    pending_.push_back({tag, id, absl::Now(), std::move(request)});
    if (!write_in_progress_) {
      // Only this request waits to be written: references into a deque stay
      // valid across push_back/pop_front of other elements.
      write_in_progress_ = true;
      to_write = &pending_[written_++].request;
    }
  }
  if (to_write != nullptr) StartWrite(to_write);
  return true;
}

void ProducerStream::OnWriteDone(bool ok) {
  const v1::ProduceRequest* to_write = nullptr;
  bool writes_done = false;
  {
    absl::MutexLock lock(&mu_);
    write_in_progress_ = false;
    if (!ok) {
      // The stream is broken; OnDone follows and fails what is pending.
      broken_ = true;
      return;
    }
    if (written_ < pending_.size()) {
      write_in_progress_ = true;
      to_write = &pending_[written_++].request;
    } else if (closing_ && !writes_done_) {
      writes_done_ = true;
      writes_done = true;
    }
  }
  if (to_write != nullptr) {
    StartWrite(to_write);
  } else if (writes_done) {
    StartWritesDone();
  }
}

void ProducerStream::OnReadDone(bool ok) {
  if (!ok) return;  // The stream ended; OnDone follows.
  std::optional<Pending> done;
  {
    absl::MutexLock lock(&mu_);
    if (written_ == 0 || pending_.empty() ||
        pending_.front().correlation_id != response_.correlation_id()) {
      // A broker that breaks the contract: treat it as a broken stream.
      if (!broken_) {
        broken_ = true;
        break_status_ = grpc::Status(grpc::StatusCode::INTERNAL,
                                     "produce stream answered out of order (correlation id " +
                                         std::to_string(response_.correlation_id()) + ")");
      }
    } else {
      done = std::move(pending_.front());
      pending_.pop_front();
      --written_;
    }
  }
  if (!done.has_value()) {
    context_.TryCancel();
    return;
  }
  handler_(done->tag, done->request, &response_, grpc::Status::OK);
  response_.Clear();
  StartRead(&response_);
}

void ProducerStream::OnDone(const grpc::Status& status) {
  std::deque<Pending> failed;
  grpc::Status error;
  std::shared_ptr<ProducerStream> self;
  {
    absl::MutexLock lock(&mu_);
    broken_ = true;
    failed.swap(pending_);
    written_ = 0;
    error = !break_status_.ok() ? break_status_
            : !status.ok()      ? status
                                : grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                               "produce stream ended with requests unanswered");
  }
  for (Pending& p : failed) handler_(p.tag, p.request, nullptr, error);
  {
    absl::MutexLock lock(&mu_);
    finished_ = true;
    self = std::move(self_);
  }
  // `self` may be the last reference: the stream is destroyed on return.
}

void ProducerStream::Cancel(const std::string& reason) {
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    if (break_status_.ok()) {
      break_status_ = grpc::Status(grpc::StatusCode::UNAVAILABLE, reason);
    }
    broken_ = true;
  }
  context_.TryCancel();
}

void ProducerStream::Close() {
  bool writes_done = false;
  {
    absl::MutexLock lock(&mu_);
    closing_ = true;
    if (!write_in_progress_ && !writes_done_ && !broken_) {
      writes_done_ = true;
      writes_done = true;
    }
  }
  if (writes_done) StartWritesDone();
}

bool ProducerStream::WaitFinished(absl::Duration limit) {
  absl::MutexLock lock(&mu_);
  auto finished = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return finished_; };
  return mu_.AwaitWithTimeout(absl::Condition(&finished), limit);
}

bool ProducerStream::broken() {
  absl::MutexLock lock(&mu_);
  return broken_;
}

int ProducerStream::in_flight() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(pending_.size());
}

absl::Time ProducerStream::oldest_sent() {
  absl::MutexLock lock(&mu_);
  return pending_.empty() ? absl::InfiniteFuture() : pending_.front().sent;
}

}  // namespace fjord::client
