#include "broker/metadata_follower.h"

#include <utility>

#include "common/kafka_error.h"
#include "grpcpp/grpcpp.h"
#include "spdlog/spdlog.h"

namespace fjord::broker {

MetadataFollower::MetadataFollower(ControllerChannel& channel, MetadataFollowerOptions options,
                                   std::function<BrokerEpoch()> broker_epoch,
                                   std::function<void(controller::ImagePtr)> publish)
    : channel_(channel),
      options_(std::move(options)),
      broker_epoch_(std::move(broker_epoch)),
      publish_(std::move(publish)) {}

MetadataFollower::~MetadataFollower() { Stop(); }

void MetadataFollower::Start() {
  delta_ = std::make_unique<controller::MetadataDelta>(image_);
  thread_ = std::thread([this] { Loop(); });
}

void MetadataFollower::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

int64_t MetadataFollower::applied_offset() const {
  absl::MutexLock lock(&mu_);
  return applied_;
}

bool MetadataFollower::failed() const {
  absl::MutexLock lock(&mu_);
  return failed_;
}

void MetadataFollower::Loop() {
  while (true) {
    if (!RunStream()) {
      absl::MutexLock lock(&mu_);
      failed_ = true;
      return;
    }
    absl::MutexLock lock(&mu_);
    auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stop), options_.retry_backoff)) return;
  }
}

bool MetadataFollower::RunStream() {
  grpc::ClientContext ctx;
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return true;
    context_ = &ctx;
  }
  v1::FetchMetadataRequest req;
  req.set_cluster_id(options_.cluster_id);
  req.set_broker_id(options_.id.value());
  req.set_broker_epoch(broker_epoch_().value());
  req.set_fetch_offset(image_->offset().value() + 1);
  std::unique_ptr<grpc::ClientReader<v1::MetadataBatch>> reader =
      channel_.Current()->FetchMetadata(&ctx, req);
  v1::MetadataBatch batch;
  bool ok = true;
  while (ok && reader->Read(&batch)) {
    if (batch.error_code() != v1::NONE) {
      spdlog::info("metadata stream ended: {} {}", ErrorCodeName(batch.error_code()),
                   batch.error_message());
      channel_.Failed(batch.has_active_controller() ? &batch.active_controller() : nullptr);
      break;
    }
    absl::Status s;
    if (batch.is_snapshot()) {
      if (batch.has_snapshot_header()) {
        snapshot_ = std::make_unique<controller::MetadataDelta>(controller::MetadataImage::Empty());
      }
      if (snapshot_ == nullptr) {
        s = absl::DataLossError("snapshot records without a header");
      }
      for (const auto& rec : batch.snapshot_records()) {
        if (!s.ok()) break;
        s = snapshot_->Replay(rec);
      }
      if (s.ok() && batch.snapshot_done()) {
        snapshot_->SetOffset(Offset(batch.snapshot_header().last_included_offset()));
        image_ = snapshot_->Apply();
        snapshot_.reset();
        delta_ = std::make_unique<controller::MetadataDelta>(image_);
        publish_(image_);
      }
    } else if (batch.entries_size() > 0) {
      for (const auto& entry : batch.entries()) {
        if (Offset(entry.offset()) <= delta_->image().offset()) continue;  // Seen already.
        s = delta_->ReplayBatch(entry.batch(), Offset(entry.offset()));
        if (!s.ok()) break;
      }
      if (s.ok()) {
        image_ = delta_->Apply();
        publish_(image_);
      }
    }
    if (!s.ok()) {
      spdlog::critical("metadata replay failed at offset {}: {}; no longer following",
                       image_->offset().value(), s.ToString());
      ok = false;
      break;
    }
    absl::MutexLock lock(&mu_);
    applied_ = image_->offset().value();
  }
  ctx.TryCancel();
  reader->Finish();
  absl::MutexLock lock(&mu_);
  context_ = nullptr;
  return ok;
}

}  // namespace fjord::broker
