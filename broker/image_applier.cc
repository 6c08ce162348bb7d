#include "broker/image_applier.h"

#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "spdlog/spdlog.h"

namespace fjord::broker {

namespace {

// The topic-level configs a leader checks on Produce. A value the image
// holds but that does not parse (the controller validates configs, so only
// a newer controller could write one) falls back to the broker's default.
Replica::TopicSettings TopicSettingsFrom(const controller::MetadataImage& image,
                                         const std::string& topic) {
  Replica::TopicSettings settings;
  const auto value = [&](const char* key) {
    return image.config({v1::ConfigResource::TOPIC, topic}, key);
  };
  int32_t min_isr = 0;
  if (auto v = value("min.insync.replicas"); v && absl::SimpleAtoi(*v, &min_isr) && min_isr > 0) {
    settings.min_insync_replicas = min_isr;
  }
  int64_t max_bytes = 0;
  if (auto v = value("max.message.bytes"); v && absl::SimpleAtoi(*v, &max_bytes) && max_bytes > 0) {
    settings.max_message_bytes = static_cast<size_t>(max_bytes);
  }
  if (auto v = value("cleanup.policy"); v) {
    for (absl::string_view word : absl::StrSplit(*v, ',')) {
      if (absl::StripAsciiWhitespace(word) == "compact") settings.compacted = true;
    }
  }
  return settings;
}

}  // namespace

bool ImageApplier::CaughtUp(const controller::MetadataImage& image) {
  if (caught_up_ || broker_epoch_ == nullptr) return true;
  const BrokerEpoch epoch = broker_epoch_();
  const controller::BrokerRegistration* self = image.broker(replicas_.options().local);
  caught_up_ = epoch >= BrokerEpoch(0) && self != nullptr && self->epoch == epoch;
  if (caught_up_) {
    spdlog::info("caught up with the metadata at offset {} (broker epoch {})",
                 image.offset().value(), epoch.value());
  }
  return caught_up_;
}

absl::Status ImageApplier::Apply(const controller::MetadataImage& image) {
  if (!CaughtUp(image)) return absl::OkStatus();
  const BrokerId local = replicas_.options().local;
  absl::Status first_error;
  std::set<std::pair<controller::Uuid, int32_t>> assigned;
  std::set<std::string> assigned_dirs;
  for (const std::string& name : image.SortedTopicNames()) {
    const controller::TopicImage* topic = image.topic_by_name(name);
    for (size_t i = 0; i < topic->partitions.size(); ++i) {
      if (!topic->partitions[i]->IsReplica(local)) continue;
      assigned.insert({topic->id, static_cast<int32_t>(i)});
      assigned_dirs.insert(ReplicaManager::DirName(name, PartitionId(static_cast<int32_t>(i))));
    }
  }
  for (const std::shared_ptr<Replica>& r : replicas_.All()) {
    if (assigned.count({r->topic_id(), r->partition().value()})) continue;
    followers_.Unfollow(*r);
    spdlog::info("{}-{}: no longer assigned here; deleting", r->topic(), r->partition().value());
    if (absl::Status s = replicas_.Delete(r->topic_id(), r->partition()); !s.ok()) {
      spdlog::error("{}-{}: cannot delete: {}", r->topic(), r->partition().value(), s.ToString());
      if (first_error.ok()) first_error = s;
    }
  }
  for (const std::string& name : image.SortedTopicNames()) {
    const controller::TopicImage* topic = image.topic_by_name(name);
    for (size_t i = 0; i < topic->partitions.size(); ++i) {
      const controller::PartitionRegistration& reg = *topic->partitions[i];
      if (!reg.IsReplica(local)) continue;
      const PartitionId p(static_cast<int32_t>(i));
      absl::StatusOr<std::shared_ptr<Replica>> replica =
          replicas_.GetOrCreate(topic->id, topic->name, p);
      if (!replica.ok()) {
        spdlog::error("{}-{}: cannot open replica: {}", name, p.value(),
                      replica.status().ToString());
        if (first_error.ok()) first_error = replica.status();
        continue;
      }
      (*replica)->SetTopicSettings(TopicSettingsFrom(image, name));
      const PartitionState state{.leader_epoch = reg.leader_epoch,
                                 .partition_epoch = reg.partition_epoch,
                                 .leader = reg.leader,
                                 .replicas = reg.replicas,
                                 .isr = reg.isr};
      if (reg.leader == local) {
        followers_.Unfollow(**replica);
        (*replica)->BecomeLeader(state);
        continue;
      }
      (*replica)->BecomeFollower(state);
      const controller::BrokerRegistration* leader =
          reg.has_leader() ? image.broker(reg.leader) : nullptr;
      std::string address;
      if (leader != nullptr) {
        for (const controller::BrokerEndpoint& e : leader->endpoints) {
          if (e.name == listener_name_) address = absl::StrCat(e.host, ":", e.port);
        }
      }
      if (address.empty()) {
        followers_.Unfollow(**replica);  // No leader (or no address): wait.
      } else {
        followers_.Follow(*replica, reg.leader, std::move(address));
      }
    }
  }
  if (absl::Status s = MaybeSweep(image, assigned_dirs); !s.ok() && first_error.ok()) {
    first_error = s;
  }
  return first_error;
}

absl::Status ImageApplier::MaybeSweep(const controller::MetadataImage& image,
                                      const std::set<std::string>& assigned_dirs) {
  if (swept_ || broker_epoch_ == nullptr) return absl::OkStatus();
  absl::StatusOr<std::vector<std::string>> deleted =
      replicas_.DeleteStrayDirectories(assigned_dirs);
  if (!deleted.ok()) {
    // Tried again with the next image.
    spdlog::error("startup sweep of stray partition directories: {}", deleted.status().ToString());
    return deleted.status();
  }
  swept_ = true;
  spdlog::info("startup sweep at metadata offset {}: {} stray partition directories deleted",
               image.offset().value(), deleted->size());
  return absl::OkStatus();
}

}  // namespace fjord::broker
