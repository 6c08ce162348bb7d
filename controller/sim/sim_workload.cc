// ControllerSim's clients, brokers and checks: what is sent to the
// controllers, how answers are classified, and the invariants, liveness
// condition and final checks described in controller_sim.h.
#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/assert.h"
#include "controller/sim/controller_sim.h"
#include "controller/sim/sim_internal.h"
#include "controller/snapshot.h"

namespace fjord::controller::sim {

namespace {

constexpr char kRetention[] = "retention.ms";

bool IsFailure(v1::ErrorCode code) {
  return code == v1::NOT_CONTROLLER || code == v1::REQUEST_TIMED_OUT;
}

const char* ToString(OpKind kind) {
  switch (kind) {
    case OpKind::kRegisterBroker:
      return "RegisterBroker";
    case OpKind::kHeartbeat:
      return "BrokerHeartbeat";
    case OpKind::kCreateTopic:
      return "CreateTopics";
    case OpKind::kDeleteTopic:
      return "DeleteTopics";
    case OpKind::kAlterConfig:
      return "IncrementalAlterConfigs";
    case OpKind::kAlterPartition:
      return "AlterPartition";
    case OpKind::kCreatePartitions:
      return "CreatePartitions";
  }
  return "?";
}

}  // namespace

NodeId ControllerSim::PickController(NodeId hint) {
  if (hint.value() >= 1 && hint.value() <= options_.voters && !random_.OneIn(5)) return hint;
  return NodeId(1 + static_cast<int32_t>(random_.Uniform(options_.voters)));
}

void ControllerSim::SendOp(uint64_t id, NodeId to) {
  Op& op = ops_.at(id);
  op.sent_us = queue_.now_us();
  Trace(absl::StrCat("op ", id, " ", ToString(op.kind), op.broker >= 0 ? " broker " : "",
                     op.broker >= 0 ? absl::StrCat(op.broker) : "", " to controller ", to.value()));
  queue_.Schedule(1 + static_cast<int64_t>(random_.Uniform(options_.delay_us_max)),
                  Event{.kind = Event::Kind::kClientOp, .node = to, .op = id});
}

void ControllerSim::BrokerTick(int32_t id) {
  BrokerState& b = brokers_.at(id);
  if (!b.alive) return;
  if (b.outstanding_op != 0 && ops_.at(b.outstanding_op).outcome == Outcome::kPending &&
      queue_.now_us() - ops_.at(b.outstanding_op).sent_us < 3 * options_.heartbeat_interval_us) {
    return;  // Still waiting for an answer.
  }
  Op op;
  op.broker = id;
  op.broker_incarnation = b.incarnation;
  if (!b.registered) {
    op.kind = OpKind::kRegisterBroker;
    op.register_req.set_broker_id(id);
    op.register_req.set_cluster_id(kClusterId);
    op.register_req.mutable_incarnation_id()->set_high(static_cast<uint64_t>(id) + 1);
    op.register_req.mutable_incarnation_id()->set_low(b.incarnation);
    auto* l = op.register_req.add_listeners();
    l->set_name("PLAINTEXT");
    l->set_host(absl::StrCat("broker-", id));
    l->set_port(9092);
    op.register_req.set_rack(absl::StrCat("rack-", id % 2));
  } else {
    op.kind = OpKind::kHeartbeat;
    op.heartbeat_req.set_broker_id(id);
    op.heartbeat_req.set_broker_epoch(b.epoch);
    op.heartbeat_req.set_current_metadata_offset(int64_t{1} << 40);  // always caught up
    op.heartbeat_req.set_want_shut_down(b.shutting_down);
  }
  const uint64_t op_id = next_op_id_++;
  ops_.emplace(op_id, std::move(op));
  b.outstanding_op = op_id;
  SendOp(op_id, PickController(b.hint));
}

void ControllerSim::ClientAction() {
  const NodeId to = PickController(client_hint_);
  const std::string& name = topic_names_[random_.Uniform(topic_names_.size())];
  Op op;
  const uint64_t roll = random_.Uniform(100);
  if (roll < 30) {
    op.kind = OpKind::kCreateTopic;
    auto* t = op.create_req.add_topics();
    t->set_name(name);
    t->set_num_partitions(1 + static_cast<int32_t>(random_.Uniform(3)));
    t->set_replication_factor(1 + static_cast<int32_t>(random_.Uniform(3)));
    if (random_.OneIn(2)) {
      auto* c = t->add_configs();
      c->set_name(kRetention);
      c->set_value(absl::StrCat(1000 * (1 + random_.Uniform(100))));
    }
  } else if (roll < 45) {
    op.kind = OpKind::kDeleteTopic;
    op.delete_req.add_topics()->set_name(name);
  } else if (roll < 52) {
    op.kind = OpKind::kCreatePartitions;
    auto* t = op.create_partitions_req.add_topics();
    t->set_name(name);
    t->set_count(1 + static_cast<int32_t>(random_.Uniform(5)));
  } else if (roll < 65) {
    op.kind = OpKind::kAlterConfig;
    auto* r = op.config_req.add_resources();
    r->mutable_resource()->set_type(v1::ConfigResource::TOPIC);
    r->mutable_resource()->set_name(name);
    auto* c = r->add_configs();
    c->set_name(kRetention);
    c->set_config_operation(v1::AlterableConfig::SET);
    c->set_value(absl::StrCat(1000 * (1 + random_.Uniform(100))));
  } else {
    // AlterPartition from a partition's leader, built from what the target
    // controller's image says (possibly stale: then the partition epoch
    // compare-and-set refuses it).
    op.kind = OpKind::kAlterPartition;
    Replica& target = *replicas_.at(to);
    if (!target.up()) return;
    std::shared_ptr<const MetadataImage> image = target.state_machine->image();
    std::vector<std::string> names = image->SortedTopicNames();
    if (names.empty()) return;
    const TopicImage* topic = image->topic_by_name(names[random_.Uniform(names.size())]);
    const PartitionId pid(static_cast<int32_t>(random_.Uniform(topic->partitions.size())));
    const PartitionRegistration& p = *topic->partition(pid);
    if (!p.has_leader()) return;
    const BrokerState& leader = brokers_.at(p.leader.value());
    if (!leader.alive || !leader.registered) return;
    std::vector<BrokerId> isr = p.isr;
    if (isr.size() > 1 && random_.OneIn(2)) {
      std::vector<BrokerId> others;
      for (BrokerId b : isr) {
        if (b != p.leader) others.push_back(b);
      }
      const BrokerId drop = others[random_.Uniform(others.size())];
      isr.erase(std::find(isr.begin(), isr.end(), drop));
    } else {
      for (BrokerId b : p.replicas) {
        const BrokerState& st = brokers_.at(b.value());
        if (st.alive && st.registered && !p.InIsr(b)) isr.push_back(b);
      }
      if (isr.size() == p.isr.size()) return;
    }
    op.broker = p.leader.value();
    op.partition_req.set_broker_id(p.leader.value());
    op.partition_req.set_broker_epoch(leader.epoch);
    auto* td = op.partition_req.add_topics();
    topic->id.ToProto(td->mutable_topic_id());
    auto* pd = td->add_partitions();
    pd->set_partition(pid.value());
    pd->set_leader_epoch(p.leader_epoch.value());
    pd->set_partition_epoch(p.partition_epoch.value());
    pd->set_leader_recovery_state(p.leader_recovery_state);
    for (BrokerId b : isr) {
      auto* m = pd->add_new_isr_with_epochs();
      m->set_broker_id(b.value());
      const BrokerState& st = brokers_.at(b.value());
      m->set_broker_epoch(st.registered ? st.epoch : -1);
    }
  }
  const uint64_t id = next_op_id_++;
  ops_.emplace(id, std::move(op));
  SendOp(id, to);
}

void ControllerSim::Submit(Replica& r, uint64_t id) {
  ControllerCore& core = *r.core;
  const NodeId node = r.id;
  // Records what the handler decided, and which batch the core proposes next.
  auto decided = [this, id, node](const ControllerLogic& logic,
                                  const std::vector<v1::MetadataRecord>& records) {
    Op& op = ops_.at(id);
    op.decided = true;
    op.decided_on = node;
    op.decided_offset = logic.image().offset();
    if (!records.empty()) {
      op.batch = ToBatch(records).SerializeAsString();
      last_decided_op_ = id;
      last_decided_batch_ = op.batch;
    }
  };
  // Classifies an answer; returns the op.
  auto answered = [this, id](v1::ErrorCode code, const v1::ActiveController& active) -> Op& {
    Op& op = ops_.at(id);
    FJORD_CHECK(op.outcome == Outcome::kPending) << "op " << id << " answered twice";
    Trace(absl::StrCat("op ", id, " answered ", v1::ErrorCode_Name(code),
                       op.batch.empty() ? "" : " (wrote records)"));
    if (IsFailure(code)) {
      op.outcome = Outcome::kFailed;
      ++stats_.writes_failed;
    } else if (!op.batch.empty()) {
      op.outcome = Outcome::kAcked;
      ++stats_.writes_acked;
    } else {
      op.outcome = Outcome::kNoWrite;
    }
    const NodeId hint(active.controller_id());
    if (op.broker >= 0 && (op.kind == OpKind::kRegisterBroker || op.kind == OpKind::kHeartbeat)) {
      BrokerState& b = brokers_.at(op.broker);
      if (b.incarnation == op.broker_incarnation) b.hint = hint;
    } else {
      client_hint_ = hint;
    }
    return op;
  };
  auto same_broker = [this](const Op& op) -> BrokerState* {
    BrokerState& b = brokers_.at(op.broker);
    return b.incarnation == op.broker_incarnation && b.alive ? &b : nullptr;
  };

  switch (ops_.at(id).kind) {
    case OpKind::kRegisterBroker:
      core.SubmitWrite<v1::RegisterBrokerResponse>(
          [this, id, decided, &core](ControllerLogic& logic) {
            auto result = core.DecideRegisterBroker(logic, ops_.at(id).register_req);
            decided(logic, result.records);
            ops_.at(id).register_resp = result.response;
            return result;
          },
          [answered, same_broker](v1::RegisterBrokerResponse resp) {
            Op& op = answered(resp.error_code(), resp.active_controller());
            if (BrokerState* b = same_broker(op); b != nullptr && resp.error_code() == v1::NONE) {
              b->registered = true;
              b->epoch = resp.broker_epoch();
            }
          });
      return;
    case OpKind::kHeartbeat:
      core.SubmitWrite<v1::BrokerHeartbeatResponse>(
          [this, id, decided](ControllerLogic& logic) {
            auto result = logic.BrokerHeartbeat(ops_.at(id).heartbeat_req);
            decided(logic, result.records);
            return result;
          },
          [this, answered, same_broker](v1::BrokerHeartbeatResponse resp) {
            Op& op = answered(resp.error_code(), resp.active_controller());
            BrokerState* b = same_broker(op);
            if (b != nullptr && (resp.error_code() == v1::STALE_BROKER_EPOCH ||
                                 resp.error_code() == v1::BROKER_ID_NOT_REGISTERED)) {
              b->registered = false;  // register again, same incarnation
            }
            if (b != nullptr && b->shutting_down && resp.should_shut_down()) {
              b->alive = false;  // leaderships moved away: stop
              ++stats_.controlled_shutdowns;
            }
          });
      return;
    case OpKind::kCreateTopic:
      core.SubmitWrite<v1::CreateTopicsResponse>(
          [this, id, decided](ControllerLogic& logic) {
            auto result = logic.CreateTopics(ops_.at(id).create_req);
            decided(logic, result.records);
            ops_.at(id).create_resp = result.response;
            return result;
          },
          [answered](v1::CreateTopicsResponse resp) {
            answered(resp.error_code(), resp.active_controller());
          });
      return;
    case OpKind::kDeleteTopic:
      core.SubmitWrite<v1::DeleteTopicsResponse>(
          [this, id, decided](ControllerLogic& logic) {
            auto result = logic.DeleteTopics(ops_.at(id).delete_req);
            decided(logic, result.records);
            ops_.at(id).delete_resp = result.response;
            return result;
          },
          [answered](v1::DeleteTopicsResponse resp) {
            answered(resp.error_code(), resp.active_controller());
          });
      return;
    case OpKind::kAlterConfig:
      core.SubmitWrite<v1::IncrementalAlterConfigsResponse>(
          [this, id, decided](ControllerLogic& logic) {
            auto result = logic.IncrementalAlterConfigs(ops_.at(id).config_req);
            decided(logic, result.records);
            ops_.at(id).config_resp = result.response;
            return result;
          },
          [answered](v1::IncrementalAlterConfigsResponse resp) {
            answered(resp.error_code(), resp.active_controller());
          });
      return;
    case OpKind::kCreatePartitions:
      core.SubmitWrite<v1::CreatePartitionsResponse>(
          [this, id, decided](ControllerLogic& logic) {
            auto result = logic.CreatePartitions(ops_.at(id).create_partitions_req);
            decided(logic, result.records);
            ops_.at(id).create_partitions_resp = result.response;
            return result;
          },
          [answered](v1::CreatePartitionsResponse resp) {
            answered(resp.error_code(), resp.active_controller());
          });
      return;
    case OpKind::kAlterPartition:
      core.SubmitWrite<v1::AlterPartitionResponse>(
          [this, id, decided](ControllerLogic& logic) {
            auto result = logic.AlterPartition(ops_.at(id).partition_req);
            decided(logic, result.records);
            return result;
          },
          [answered](v1::AlterPartitionResponse resp) {
            answered(resp.error_code(), resp.active_controller());
          });
      return;
  }
}

absl::Status ControllerSim::CheckImage(const MetadataImage& image, NodeId node) const {
  absl::Status status;
  auto fail = [&](const std::string& what) {
    if (status.ok()) {
      status = absl::InternalError(absl::StrCat("controller ", node.value(), " image at offset ",
                                                image.offset().value(), ": ", what));
    }
  };
  size_t topics = 0;
  image.topics().ForEach([&](const Uuid& id, const std::shared_ptr<const TopicImage>& t) {
    ++topics;
    const TopicImage* by_name = image.topic_by_name(t->name);
    if (by_name == nullptr || by_name->id != id) fail(absl::StrCat(t->name, " not found by name"));
    if (t->partitions.empty()) fail(absl::StrCat(t->name, " has no partitions"));
    for (size_t i = 0; i < t->partitions.size(); ++i) {
      const PartitionRegistration& p = *t->partitions[i];
      const std::string where = absl::StrCat(t->name, "-", i);
      if (absl::Status s = p.Validate(); !s.ok()) fail(absl::StrCat(where, ": ", s.message()));
      if (p.replicas.empty()) fail(absl::StrCat(where, " has no replicas"));
      for (BrokerId b : p.replicas) {
        if (image.broker(b) == nullptr) fail(absl::StrCat(where, " on unknown broker ", b.value()));
      }
      if (!p.has_leader()) continue;
      if (!p.InIsr(p.leader)) fail(absl::StrCat(where, " leader outside the ISR"));
      const BrokerRegistration* leader = image.broker(p.leader);
      if (leader == nullptr || leader->fenced) {
        fail(absl::StrCat(where, " led by fenced broker ", p.leader.value()));
      }
    }
  });
  if (topics != image.SortedTopicNames().size()) fail("topic names and ids disagree");
  return status;
}

absl::Status ControllerSim::CheckLiveness(bool* done) {
  *done = false;
  Replica* active = ActiveController();
  if (active == nullptr) return absl::FailedPreconditionError("no active controller");
  const LogIndex commit = active->raft->log().committed();
  for (auto& [id, r] : replicas_) {
    if (r->raft->log().committed() != commit || r->applied != commit) {
      return absl::FailedPreconditionError(
          absl::StrCat("controller ", id.value(), " has not applied ", commit.value()));
    }
  }
  std::shared_ptr<const MetadataImage> image = active->state_machine->image();
  for (const auto& [id, b] : brokers_) {
    const BrokerRegistration* reg = image->broker(BrokerId(id));
    if (b.alive && (reg == nullptr || reg->fenced || reg->incarnation_id.low != b.incarnation)) {
      return absl::FailedPreconditionError(
          absl::StrCat("live broker ", id, " not registered and unfenced"));
    }
    if (!b.alive && reg != nullptr && !reg->fenced) {
      return absl::FailedPreconditionError(absl::StrCat("dead broker ", id, " not fenced"));
    }
  }
  absl::Status leaderless;
  image->topics().ForEach([&](const Uuid&, const std::shared_ptr<const TopicImage>& t) {
    for (size_t i = 0; i < t->partitions.size(); ++i) {
      const PartitionRegistration& p = *t->partitions[i];
      if (p.has_leader()) continue;
      for (BrokerId b : p.isr) {
        const BrokerRegistration* reg = image->broker(b);
        if (reg != nullptr && !reg->fenced && leaderless.ok()) {
          leaderless = absl::FailedPreconditionError(
              absl::StrCat(t->name, "-", i, " has no leader but live ISR member ", b.value()));
        }
      }
    }
  });
  if (!leaderless.ok()) return leaderless;
  *done = true;
  return absl::OkStatus();
}

absl::Status ControllerSim::FinalChecks() {
  // 1. Every controller holds the same image.
  std::shared_ptr<const MetadataImage> reference =
      replicas_.begin()->second->state_machine->image();
  const std::string reference_bytes =
      WriteSnapshot(*reference, {.last_included_term = 0, .cluster_id = kClusterId});
  for (auto& [id, r] : replicas_) {
    std::shared_ptr<const MetadataImage> image = r->state_machine->image();
    if (WriteSnapshot(*image, {.last_included_term = 0, .cluster_id = kClusterId}) !=
        reference_bytes) {
      return absl::InternalError(absl::StrCat("controllers ", replicas_.begin()->first.value(),
                                              " and ", id.value(), " disagree: images at offsets ",
                                              reference->offset().value(), " and ",
                                              image->offset().value(), " serialize differently"));
    }
  }

  // 2. Acknowledged writes are committed where they were proposed; committed
  //    client writes were decided on an image holding every earlier entry.
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> by_entry;  // (term, index) -> op
  for (const auto& [id, op] : ops_) {
    if (op.proposed) by_entry[{op.term.value(), op.index.value()}] = id;
    if (op.outcome != Outcome::kAcked) continue;
    auto it = op.proposed ? committed_.find(op.index.value()) : committed_.end();
    if (it == committed_.end() || it->second.first != op.term || it->second.second != op.batch) {
      return absl::InternalError(absl::StrCat("acknowledged ", ToString(op.kind), " (op ", id,
                                              ", proposed at index ", op.index.value(), " term ",
                                              op.term.value(), ") is not in the committed log"));
    }
  }
  // NoOpRecords change nothing but the offset (and one may be proposed
  // behind a stalled write), so "every earlier entry" means every earlier
  // entry with other records.
  int64_t previous = -1;
  std::vector<uint64_t> committed_ops;
  for (const auto& [index, entry] : committed_) {
    auto it = by_entry.find({entry.first.value(), index});
    if (it != by_entry.end()) {
      const Op& op = ops_.at(it->second);
      if (op.decided_offset.value() < previous) {
        return absl::InternalError(absl::StrCat(
            ToString(op.kind), " (op ", it->second, ") committed at ", index,
            " was decided by controller ", op.decided_on.value(), " on the image at offset ",
            op.decided_offset.value(), ", without the entry committed at ", previous));
      }
      committed_ops.push_back(it->second);
    }
    v1::MetadataRecordBatch batch;
    FJORD_CHECK(batch.ParseFromString(entry.second));
    const bool noop_only = std::all_of(batch.records().begin(), batch.records().end(),
                                       [](const v1::MetadataRecord& r) { return r.has_no_op(); });
    if (!noop_only) previous = static_cast<int64_t>(index);
  }

  // 3. A model built from the decided responses alone, in commit order,
  //    equals the final image.
  struct TopicModel {
    Uuid id;
    int32_t partitions = 0;
    int32_t replication_factor = 0;
  };
  std::map<std::string, TopicModel> topics;
  std::map<std::string, ConfigValues> configs;
  std::map<int32_t, std::pair<int64_t, uint64_t>> brokers;  // epoch, incarnation
  for (uint64_t id : committed_ops) {
    const Op& op = ops_.at(id);
    switch (op.kind) {
      case OpKind::kCreateTopic: {
        const auto& t = op.create_resp.topics(0);
        if (t.error_code() != v1::NONE) break;
        topics[t.name()] = {Uuid::FromProto(t.topic_id()), t.num_partitions(),
                            t.replication_factor()};
        configs.erase(t.name());
        for (const auto& c : op.create_req.topics(0).configs())
          configs[t.name()][c.name()] = c.value();
        break;
      }
      case OpKind::kDeleteTopic: {
        const auto& t = op.delete_resp.responses(0);
        if (t.error_code() != v1::NONE) break;
        topics.erase(t.name());
        configs.erase(t.name());
        break;
      }
      case OpKind::kCreatePartitions: {
        const auto& r = op.create_partitions_resp;
        if (r.error_code() != v1::NONE || r.results(0).error_code() != v1::NONE) break;
        const auto& t = op.create_partitions_req.topics(0);
        auto it = topics.find(t.name());
        if (it == topics.end()) {
          return absl::InternalError(absl::StrCat("CreatePartitions (op ", id, ") grew ", t.name(),
                                                  ", which the history does not have"));
        }
        it->second.partitions = t.count();
        break;
      }
      case OpKind::kAlterConfig: {
        const auto& r = op.config_resp.responses(0);
        if (op.config_resp.error_code() != v1::NONE || r.error_code() != v1::NONE) break;
        const auto& c = op.config_req.resources(0).configs(0);
        configs[op.config_req.resources(0).resource().name()][c.name()] = c.value();
        break;
      }
      case OpKind::kRegisterBroker:
        if (op.register_resp.error_code() != v1::NONE) break;
        brokers[op.broker] = {op.register_resp.broker_epoch(),
                              op.register_req.incarnation_id().low()};
        break;
      case OpKind::kHeartbeat:
      case OpKind::kAlterPartition:
        break;  // Fencing and ISRs: the invariants and the liveness check.
    }
  }
  const MetadataImage& image = *reference;
  std::vector<std::string> names = image.SortedTopicNames();
  if (names.size() != topics.size()) {
    return absl::InternalError(absl::StrCat("the image has ", names.size(),
                                            " topics, the acknowledged history ", topics.size()));
  }
  for (const auto& [name, model] : topics) {
    const TopicImage* t = image.topic_by_name(name);
    if (t == nullptr || t->id != model.id) {
      return absl::InternalError(absl::StrCat("topic ", name, " (", model.id.ToString(),
                                              ") missing from the final image"));
    }
    if (static_cast<int32_t>(t->partitions.size()) != model.partitions ||
        static_cast<int32_t>(t->partitions[0]->replicas.size()) != model.replication_factor) {
      return absl::InternalError(absl::StrCat("topic ", name, " has ", t->partitions.size(),
                                              " partitions, created with ", model.partitions));
    }
    const ConfigValues* values = image.configs({v1::ConfigResource::TOPIC, name});
    const ConfigValues empty;
    const ConfigValues& expected = configs.count(name) ? configs.at(name) : empty;
    if ((values == nullptr ? empty : *values) != expected) {
      return absl::InternalError(absl::StrCat("topic ", name, " configs differ from history"));
    }
  }
  for (const auto& [id, reg] : image.brokers()) {
    auto it = brokers.find(id.value());
    if (it == brokers.end() || reg->epoch.value() != it->second.first ||
        reg->incarnation_id.low != it->second.second) {
      return absl::InternalError(
          absl::StrCat("broker ", id.value(), " registration differs from history"));
    }
    stats_.fenced += reg->fenced ? 1 : 0;
  }
  if (image.brokers().size() != brokers.size()) {
    return absl::InternalError("a registered broker is missing from the final image");
  }
  return absl::OkStatus();
}

}  // namespace fjord::controller::sim
