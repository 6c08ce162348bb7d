#include "broker/log_cleaner.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace fjord::broker {
namespace {

absl::Status ParseLong(const controller::MetadataImage& image, const std::string& topic,
                       const char* key, int64_t* out) {
  std::optional<std::string> v = image.config({v1::ConfigResource::TOPIC, topic}, std::string(key));
  if (!v.has_value()) return absl::OkStatus();
  if (!absl::SimpleAtoi(*v, out)) {
    return absl::InvalidArgumentError(absl::StrCat(topic, ": ", key, "=", *v, " is not a long"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TopicCleanupPolicy> ResolveCleanupPolicy(const controller::MetadataImage& image,
                                                        const std::string& topic,
                                                        int64_t default_segment_bytes) {
  TopicCleanupPolicy p;
  p.compaction.segment_bytes = default_segment_bytes;
  if (std::optional<std::string> v =
          image.config({v1::ConfigResource::TOPIC, topic}, "cleanup.policy")) {
    p.compact = false;
    p.delete_old = false;
    for (absl::string_view part : absl::StrSplit(*v, ',')) {
      const std::string word = absl::AsciiStrToLower(absl::StripAsciiWhitespace(part));
      if (word == "compact") {
        p.compact = true;
      } else if (word == "delete") {
        p.delete_old = true;
      } else {
        return absl::InvalidArgumentError(absl::StrCat(topic, ": cleanup.policy=", *v));
      }
    }
  }
  RETURN_IF_ERROR(
      ParseLong(image, topic, "delete.retention.ms", &p.compaction.delete_retention_ms));
  RETURN_IF_ERROR(
      ParseLong(image, topic, "min.compaction.lag.ms", &p.compaction.min_compaction_lag_ms));
  RETURN_IF_ERROR(ParseLong(image, topic, "segment.bytes", &p.compaction.segment_bytes));
  RETURN_IF_ERROR(ParseLong(image, topic, "retention.ms", &p.retention.retention_ms));
  RETURN_IF_ERROR(ParseLong(image, topic, "retention.bytes", &p.retention.retention_bytes));
  if (std::optional<std::string> v =
          image.config({v1::ConfigResource::TOPIC, topic}, "min.cleanable.dirty.ratio")) {
    if (!absl::SimpleAtod(*v, &p.compaction.min_cleanable_dirty_ratio)) {
      return absl::InvalidArgumentError(
          absl::StrCat(topic, ": min.cleanable.dirty.ratio=", *v, " is not a number"));
    }
  }
  RETURN_IF_ERROR(p.compaction.Validate());
  return p;
}

LogCleaner::LogCleaner(ReplicaManager& replicas, MetadataCache& metadata, const Clock& clock,
                       LogCleanerOptions options, RequestObserver* observer)
    : replicas_(replicas),
      metadata_(metadata),
      clock_(clock),
      options_(options),
      observer_(observer) {}

LogCleaner::~LogCleaner() { Stop(); }

void LogCleaner::Start() {
  if (!options_.enable || thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void LogCleaner::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void LogCleaner::Loop() {
  absl::Duration last_retention = clock_.Monotonic();
  auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.backoff)) return;
    }
    absl::StatusOr<std::optional<CleanedPartition>> cleaned = CleanOnce();
    if (!cleaned.ok()) spdlog::warn("log cleaner: {}", cleaned.status().ToString());
    if (clock_.Monotonic() - last_retention >= options_.retention_check_interval) {
      last_retention = clock_.Monotonic();
      RetentionOnce();
    }
  }
}

absl::StatusOr<std::optional<CleanedPartition>> LogCleaner::CleanOnce() {
  const controller::ImagePtr image = metadata_.image();
  const int64_t default_segment_bytes = replicas_.options().log.segment_bytes;
  std::shared_ptr<Replica> dirtiest;
  TopicCleanupPolicy dirtiest_policy;
  double dirtiest_ratio = -1;
  for (const std::shared_ptr<Replica>& r : replicas_.All()) {
    absl::StatusOr<TopicCleanupPolicy> policy =
        ResolveCleanupPolicy(*image, r->topic(), default_segment_bytes);
    if (!policy.ok() || !policy->compact) continue;
    policy->compaction.offset_map_max_bytes = options_.dedupe_buffer_bytes;
    absl::StatusOr<storage::CleanableState> state = r->log().GetCleanableState(policy->compaction);
    if (!state.ok()) continue;  // An offline log: the broker reports it elsewhere.
    const double ratio = state->dirty_ratio();
    if (observer_ != nullptr) observer_->OnDirtyRatio(r->topic(), r->partition().value(), ratio);
    const bool eligible =
        (state->dirty_bytes > 0 && ratio >= policy->compaction.min_cleanable_dirty_ratio) ||
        state->tombstones_due;
    if (eligible && ratio > dirtiest_ratio) {
      dirtiest = r;
      dirtiest_policy = *policy;
      dirtiest_ratio = ratio;
    }
  }
  if (dirtiest == nullptr) return std::optional<CleanedPartition>();
  const absl::Duration start = clock_.Monotonic();
  ASSIGN_OR_RETURN(storage::CompactionStats stats,
                   dirtiest->log().Compact(dirtiest_policy.compaction));
  CleanedPartition done{.topic = dirtiest->topic(),
                        .partition = dirtiest->partition(),
                        .dirty_ratio = dirtiest_ratio,
                        .stats = stats};
  if (observer_ != nullptr) {
    observer_->OnLogCleaned(done.topic, done.partition.value(), stats.bytes_read,
                            stats.bytes_written);
    observer_->OnDirtyRatio(done.topic, done.partition.value(), 0);
  }
  spdlog::info(
      "log cleaner: {}-{} dirty ratio {:.2f}: {} segments into {}, {} -> {} bytes, {} records "
      "kept, {} dropped ({} tombstones), in {} ms",
      done.topic, done.partition.value(), dirtiest_ratio, stats.segments_before,
      stats.segments_after, stats.bytes_read, stats.bytes_written, stats.records_kept,
      stats.records_dropped, stats.tombstones_dropped,
      absl::ToInt64Milliseconds(clock_.Monotonic() - start));
  return std::optional<CleanedPartition>(std::move(done));
}

int LogCleaner::RetentionOnce() {
  const controller::ImagePtr image = metadata_.image();
  const int64_t default_segment_bytes = replicas_.options().log.segment_bytes;
  int deleted = 0;
  for (const std::shared_ptr<Replica>& r : replicas_.All()) {
    absl::StatusOr<TopicCleanupPolicy> policy =
        ResolveCleanupPolicy(*image, r->topic(), default_segment_bytes);
    if (!policy.ok() || !policy->delete_old) continue;
    absl::StatusOr<int> n = r->log().ApplyRetention(policy->retention);
    if (n.ok()) deleted += *n;
  }
  if (deleted > 0) spdlog::info("log retention: deleted {} segments", deleted);
  return deleted;
}

}  // namespace fjord::broker
