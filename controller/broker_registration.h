// BrokerRegistration: one registered broker as the metadata image holds it
// (after Kafka's BrokerRegistration). Immutable once in an image; built from a
// RegisterBrokerRecord and changed only by replaying later records.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/types.h"
#include "controller/uuid.h"
#include "proto/fjord/v1/records.pb.h"

namespace fjord::controller {

// One advertised listener.
struct BrokerEndpoint {
  std::string name;
  std::string host;
  int32_t port = 0;

  static BrokerEndpoint FromProto(const v1::Endpoint& e) { return {e.name(), e.host(), e.port()}; }
  void ToProto(v1::Endpoint* out) const {
    out->set_name(name);
    out->set_host(host);
    out->set_port(port);
  }
  friend bool operator==(const BrokerEndpoint&, const BrokerEndpoint&) = default;
};

struct BrokerRegistration {
  BrokerId id{-1};
  // The metadata offset of the RegisterBrokerRecord that created it.
  BrokerEpoch epoch{-1};
  Uuid incarnation_id;
  std::vector<BrokerEndpoint> endpoints;
  std::string rack;  // "" = none
  // Fenced brokers may neither lead nor be in an ISR.
  bool fenced = true;
  bool in_controlled_shutdown = false;

  static BrokerRegistration FromRecord(const v1::RegisterBrokerRecord& record) {
    BrokerRegistration b;
    b.id = BrokerId(record.broker_id());
    b.epoch = BrokerEpoch(record.broker_epoch());
    b.incarnation_id = Uuid::FromProto(record.incarnation_id());
    for (const auto& e : record.endpoints()) b.endpoints.push_back(BrokerEndpoint::FromProto(e));
    b.rack = record.rack();
    b.fenced = record.fenced();
    b.in_controlled_shutdown = record.in_controlled_shutdown();
    return b;
  }

  v1::RegisterBrokerRecord ToRecord() const {
    v1::RegisterBrokerRecord r;
    r.set_broker_id(id.value());
    incarnation_id.ToProto(r.mutable_incarnation_id());
    r.set_broker_epoch(epoch.value());
    for (const auto& e : endpoints) e.ToProto(r.add_endpoints());
    r.set_rack(rack);
    r.set_fenced(fenced);
    r.set_in_controlled_shutdown(in_controlled_shutdown);
    return r;
  }

  // May lead partitions and join ISRs.
  bool active() const { return !fenced && !in_controlled_shutdown; }

  friend bool operator==(const BrokerRegistration&, const BrokerRegistration&) = default;
};

}  // namespace fjord::controller
