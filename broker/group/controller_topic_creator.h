// ControllerTopicCreator: TopicCreator over the broker's ControllerChannel
// (CreateTopics to the active controller, following NOT_CONTROLLER hints).
// Used by fjord-broker; tests use an in-process stand-in.
#pragma once

#include "broker/controller_channel.h"
#include "broker/group/topic_creator.h"

namespace fjord::group {

class ControllerTopicCreator final : public TopicCreator {
 public:
  // `channel` must outlive this object.
  explicit ControllerTopicCreator(broker::ControllerChannel& channel) : channel_(channel) {}
  absl::Status CreateTopic(const std::string& name, int32_t partitions, int16_t replication_factor,
                           const std::map<std::string, std::string>& configs) override;

 private:
  broker::ControllerChannel& channel_;
};

}  // namespace fjord::group
