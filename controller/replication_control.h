// Replication control: the handlers and helpers that change partition
// leadership and ISRs (after Kafka's ReplicationControlManager).
//
// All functions are pure: they read an image and append records; the caller
// proposes the records and replays them once committed (or speculatively).
// Records are emitted in a deterministic order (topic map order, then
// partition id).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/types.h"
#include "controller/controller_result.h"
#include "controller/metadata_image.h"
#include "proto/fjord/v1/controller.pb.h"

namespace fjord::controller {

// A broker may lead and join ISRs: registered, unfenced, not shutting down.
bool BrokerIsActive(const MetadataImage& image, BrokerId broker);

// The topic enables unclean.leader.election.enable.
bool UncleanElectionEnabled(const MetadataImage& image, const std::string& topic_name);

// Appends the changes that take `broker` out of every ISR and leadership:
// used when it is fenced, enters controlled shutdown, unregisters or
// re-registers as a new incarnation. `broker` counts as ineligible whatever
// the image says (its own record is in the same batch). Where it is the last
// ISR member the ISR is kept and the partition goes leaderless (or elects
// uncleanly if the topic allows).
void RemoveBrokerFromPartitions(const MetadataImage& image, BrokerId broker,
                                std::vector<v1::MetadataRecord>* out);

// Appends leader elections for leaderless partitions now that `unfenced`
// may lead (its UnfenceBrokerRecord is in the same batch).
void ElectLeadersForUnfencedBroker(const MetadataImage& image, BrokerId unfenced,
                                   std::vector<v1::MetadataRecord>* out);

// AlterPartition from a partition leader: a compare-and-set on the partition
// epoch. Errors per partition: UNKNOWN_TOPIC_ID, UNKNOWN_TOPIC_OR_PARTITION,
// FENCED_LEADER_EPOCH (leader epoch differs), NOT_LEADER_OR_FOLLOWER
// (requester does not lead), INVALID_UPDATE_VERSION (stale partition epoch),
// INVALID_REQUEST (empty ISR, ISR outside the replicas or without the
// leader, bad recovery-state transition), INELIGIBLE_REPLICA (an ISR member
// is unregistered, fenced, shutting down or has another broker epoch),
// NEW_LEADER_ELECTED (the requester can no longer lead; leadership moved).
// Request level: BROKER_ID_NOT_REGISTERED, STALE_BROKER_EPOCH.
// An ISR below min.insync.replicas is accepted, as in Kafka: producers with
// acks=all then get NOT_ENOUGH_REPLICAS from the leader.
ControllerResult<v1::AlterPartitionResponse> AlterPartition(const MetadataImage& image,
                                                            const v1::AlterPartitionRequest& req);

// Moves leadership back to preferred replicas that are eligible and in the
// ISR, at most `max_moves` partitions per call. The response is the number
// of partitions moved.
ControllerResult<int32_t> RebalancePreferredLeaders(const MetadataImage& image, int32_t max_moves);

// Partitions without a leader.
int64_t OfflinePartitionCount(const MetadataImage& image);

}  // namespace fjord::controller
