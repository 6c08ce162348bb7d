// Requests that broker/group's tests send again and again, built in one
// place (state machine harness, coordinator tests).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proto/fjord/v1/group.pb.h"

namespace fjord::group::testing {

// A join (member epoch 0) of a new member subscribing to `topics`, owning
// nothing yet, with a 30 s rebalance timeout and client id "client".
inline v1::ConsumerGroupHeartbeatRequest JoinRequest(const std::string& group,
                                                     const std::vector<std::string>& topics) {
  v1::ConsumerGroupHeartbeatRequest req;
  req.set_group_id(group);
  req.set_member_epoch(0);
  req.set_has_subscription(true);
  for (const std::string& t : topics) req.add_subscribed_topic_names(t);
  req.set_rebalance_timeout_ms(30000);
  req.set_has_owned(true);
  req.set_client_id("client");
  return req;
}

// An OffsetCommit of one partition's offset (no leader epoch).
inline v1::OffsetCommitRequest CommitRequest(const std::string& group, const std::string& member,
                                             int32_t epoch, const std::string& topic,
                                             int32_t partition, int64_t offset,
                                             std::string metadata = "") {
  v1::OffsetCommitRequest req;
  req.set_group_id(group);
  req.set_member_id(member);
  req.set_member_epoch(epoch);
  auto* t = req.add_topics();
  t->set_name(topic);
  auto* p = t->add_partitions();
  p->set_partition(partition);
  p->set_committed_offset(offset);
  p->set_committed_leader_epoch(-1);
  p->set_metadata(std::move(metadata));
  return req;
}

}  // namespace fjord::group::testing
