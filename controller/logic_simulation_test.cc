// Seeded simulation of the controller logic: random broker lifecycles, time,
// topic and config administration and ISR changes, with invariants checked
// after every committed batch, and the image from a snapshot or from a full
// log replay compared with the live image.
//
// A failure names its seed; rerun one seed with
//   bazel test //controller:logic_simulation_test --test_env=FJORD_SEED=<seed>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

#include "common/clock.h"
#include "common/random.h"
#include "controller/controller_logic.h"
#include "controller/image_test_util.h"
#include "controller/snapshot.h"
#include "gtest/gtest.h"

namespace fjord::controller {
namespace {

constexpr int kBrokers = 6;
constexpr int kSteps = 1500;
constexpr int kSeeds = 12;

struct SimBroker {
  bool running = false;  // heartbeating
  uint64_t incarnation = 0;
  int64_t epoch = -1;  // as told by the controller
};

class Simulation {
 public:
  explicit Simulation(uint64_t seed)
      : driver_(seed), logic_random_(seed * 31 + 7), logic_(Config(), clock_, logic_random_) {}

  static ControllerConfig Config() {
    ControllerConfig c;
    c.cluster_id = "sim";
    c.default_num_partitions = 3;
    return c;
  }

  void Run(int steps) {
    for (int i = 0; i < steps && !::testing::Test::HasFailure(); ++i) Step();
    // The image from a full replay of the log equals the live one.
    MetadataDelta delta(MetadataImage::Empty());
    for (const auto& [offset, batch] : log_) {
      ASSERT_TRUE(delta.ReplayBatch(batch, offset).ok());
    }
    EXPECT_TRUE(*delta.Apply() == logic_.image()) << "log replay differs from live image";
  }

  const std::vector<std::pair<Offset, v1::MetadataRecordBatch>>& log() const { return log_; }
  // Records written, by kind.
  const std::map<int, int64_t>& record_kinds() const { return record_kinds_; }
  int64_t unclean_elections() const { return logic_.unclean_election_count(); }

 private:
  template <typename R>
  R Commit(ControllerResult<R> result) {
    if (!result.records.empty()) {
      const Offset offset = logic_.image().offset() + 1;
      v1::MetadataRecordBatch batch = ToBatch(result.records);
      auto before = logic_.image_ptr();
      absl::Status status = logic_.Replay(batch, offset);
      EXPECT_TRUE(status.ok()) << status << "\n" << batch.DebugString();
      for (const auto& r : batch.records()) ++record_kinds_[r.record_case()];
      log_.emplace_back(offset, std::move(batch));
      CheckInvariants(*before, logic_.image());
    }
    return std::move(result.response);
  }

  int32_t AnyBroker() { return static_cast<int32_t>(driver_.Uniform(kBrokers)); }
  std::string AnyTopicName() { return "t" + std::to_string(driver_.Uniform(8)); }

  void Step() {
    switch (driver_.Uniform(12)) {
      case 0:
        Register(AnyBroker());
        break;
      case 1:
      case 2:
        TimePasses();
        break;
      case 3:
        CreateTopic();
        break;
      case 4:
        if (driver_.OneIn(3)) DeleteTopic();
        break;
      case 5:
        CreatePartitions();
        break;
      case 6:
      case 7:
        AlterIsr();
        break;
      case 8:
        Commit(logic_.RebalancePreferredLeaders());
        break;
      case 9:
        CrashOrStop(AnyBroker());
        break;
      case 10:
        AlterConfig();
        break;
      case 11:
        Heartbeat(AnyBroker(), driver_.OneIn(10));
        break;
    }
    if (driver_.OneIn(100)) CheckSnapshot();
  }

  void Register(int32_t id) {
    SimBroker& b = brokers_[id];
    if (!b.running || driver_.OneIn(4)) ++b.incarnation;  // restart, else a retry
    v1::RegisterBrokerRequest req;
    req.set_broker_id(id);
    req.set_cluster_id(driver_.OneIn(20) ? "wrong" : "sim");
    req.mutable_incarnation_id()->set_high(id + 1);
    req.mutable_incarnation_id()->set_low(b.incarnation);
    auto* l = req.add_listeners();
    l->set_name("PLAINTEXT");
    l->set_host("h" + std::to_string(id));
    l->set_port(9092);
    req.set_rack("r" + std::to_string(id % 3));
    auto resp = Commit(logic_.RegisterBroker(req, logic_.image().offset() + 1));
    if (resp.error_code() == v1::NONE) {
      b.running = true;
      b.epoch = resp.broker_epoch();
    }
  }

  void Heartbeat(int32_t id, bool want_shut_down) {
    SimBroker& b = brokers_[id];
    if (!b.running) return;
    v1::BrokerHeartbeatRequest req;
    req.set_broker_id(id);
    req.set_broker_epoch(b.epoch);
    const int64_t lag = static_cast<int64_t>(driver_.Uniform(3));
    req.set_current_metadata_offset(logic_.image().offset().value() - lag);
    req.set_want_shut_down(want_shut_down);
    auto resp = Commit(logic_.BrokerHeartbeat(req));
    if (resp.error_code() == v1::STALE_BROKER_EPOCH ||
        resp.error_code() == v1::BROKER_ID_NOT_REGISTERED || resp.should_shut_down()) {
      b.running = false;
    }
  }

  void TimePasses() {
    clock_.Advance(absl::Milliseconds(driver_.Uniform(4000)));
    for (int id = 0; id < kBrokers; ++id) {
      if (!driver_.OneIn(5)) Heartbeat(id, false);
    }
    for (int i = 0; i < kBrokers; ++i) {
      if (Commit(logic_.FenceStaleBrokers()) == kNoBroker) break;
    }
  }

  void CrashOrStop(int32_t id) {
    if (driver_.OneIn(8)) {
      v1::UnregisterBrokerRequest req;
      req.set_broker_id(id);
      Commit(logic_.UnregisterBroker(req));
    }
    brokers_[id].running = false;  // stops heartbeating; its session will expire
  }

  void CreateTopic() {
    v1::CreateTopicsRequest req;
    auto* t = req.add_topics();
    t->set_name(AnyTopicName());
    t->set_num_partitions(driver_.OneIn(5) ? -1 : static_cast<int32_t>(driver_.Uniform(5)));
    t->set_replication_factor(static_cast<int32_t>(driver_.UniformRange(1, 3)));
    if (driver_.OneIn(3)) {
      auto* c = t->add_configs();
      c->set_name("unclean.leader.election.enable");
      c->set_value("true");
    }
    req.set_validate_only(driver_.OneIn(10));
    Commit(logic_.CreateTopics(req));
  }

  void DeleteTopic() {
    v1::DeleteTopicsRequest req;
    req.add_topics()->set_name(AnyTopicName());
    Commit(logic_.DeleteTopics(req));
  }

  void CreatePartitions() {
    v1::CreatePartitionsRequest req;
    auto* t = req.add_topics();
    t->set_name(AnyTopicName());
    const TopicImage* topic = logic_.image().topic_by_name(t->name());
    t->set_count((topic == nullptr ? 0 : static_cast<int32_t>(topic->partitions.size())) +
                 static_cast<int32_t>(driver_.UniformRange(-1, 2)));
    Commit(logic_.CreatePartitions(req));
  }

  void AlterConfig() {
    v1::IncrementalAlterConfigsRequest req;
    auto* r = req.add_resources();
    r->mutable_resource()->set_type(v1::ConfigResource::TOPIC);
    r->mutable_resource()->set_name(AnyTopicName());
    auto* c = r->add_configs();
    c->set_name(driver_.OneIn(2) ? "unclean.leader.election.enable" : "retention.ms");
    c->set_config_operation(driver_.OneIn(3) ? v1::AlterableConfig::DELETE
                                             : v1::AlterableConfig::SET);
    c->set_value(c->name() == "retention.ms" ? std::to_string(driver_.Uniform(1000)) : "true");
    Commit(logic_.IncrementalAlterConfigs(req));
  }

  // A leader proposes a random ISR (itself plus some replicas), sometimes
  // with stale epochs.
  void AlterIsr() {
    const auto names = logic_.image().SortedTopicNames();
    if (names.empty()) return;
    const TopicImage* topic = logic_.image().topic_by_name(names[driver_.Uniform(names.size())]);
    if (topic->partitions.empty()) return;
    const int32_t pid = static_cast<int32_t>(driver_.Uniform(topic->partitions.size()));
    const PartitionRegistration& p = *topic->partitions[pid];
    if (!p.has_leader()) return;
    const BrokerRegistration* leader = logic_.image().broker(p.leader);
    v1::AlterPartitionRequest req;
    req.set_broker_id(p.leader.value());
    req.set_broker_epoch(leader->epoch.value());
    auto* t = req.add_topics();
    topic->id.ToProto(t->mutable_topic_id());
    auto* d = t->add_partitions();
    d->set_partition(pid);
    d->set_leader_epoch(p.leader_epoch.value() - (driver_.OneIn(10) ? 1 : 0));
    d->set_partition_epoch(p.partition_epoch.value() - (driver_.OneIn(10) ? 1 : 0));
    d->set_leader_recovery_state(v1::RECOVERED);
    for (BrokerId r : p.replicas) {
      if (r == p.leader || driver_.OneIn(2)) {
        auto* m = d->add_new_isr_with_epochs();
        m->set_broker_id(r.value());
        m->set_broker_epoch(-1);
      }
    }
    Commit(logic_.AlterPartition(req));
  }

  void CheckSnapshot() {
    std::string bytes = WriteSnapshot(logic_.image(), {.cluster_id = "sim"});
    auto loaded = LoadSnapshot(bytes, "sim");
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_TRUE(*loaded->image == logic_.image()) << "snapshot image differs";
  }

  void CheckInvariants(const MetadataImage& before, const MetadataImage& after) {
    for (const auto& [id, b] : after.brokers()) {
      const BrokerRegistration* old = before.broker(id);
      if (old != nullptr) {
        EXPECT_GE(b->epoch, old->epoch) << "broker epoch went back";
      }
    }
    after.topics().ForEach([&](const Uuid& id, const std::shared_ptr<const TopicImage>& topic) {
      const TopicImage* old_topic = before.topic(id);
      for (size_t i = 0; i < topic->partitions.size(); ++i) {
        const PartitionRegistration& p = *topic->partitions[i];
        const std::string where = topic->name + "-" + std::to_string(i);
        EXPECT_TRUE(p.Validate().ok()) << where;
        EXPECT_FALSE(p.isr.empty()) << where << ": empty ISR";
        if (p.has_leader()) {
          EXPECT_TRUE(p.InIsr(p.leader)) << where << ": leader outside the ISR";
          const BrokerRegistration* b = after.broker(p.leader);
          EXPECT_TRUE(b != nullptr && b->active()) << where << ": inactive broker leads";
        } else {
          for (BrokerId m : p.isr) {
            const BrokerRegistration* b = after.broker(m);
            EXPECT_FALSE(b != nullptr && b->active()) << where << ": leaderless with live ISR";
          }
          EXPECT_EQ(p.isr.size(), 1u) << where << ": leaderless ISR keeps its last member";
        }
        if (p.leader_recovery_state == v1::RECOVERING) {
          EXPECT_EQ(p.isr.size(), 1u) << where;
        }
        const PartitionRegistration* old =
            old_topic == nullptr ? nullptr : old_topic->partition(PartitionId(i));
        if (old != nullptr) {
          EXPECT_GE(p.leader_epoch, old->leader_epoch) << where;
          EXPECT_GE(p.partition_epoch, old->partition_epoch) << where;
          if (!(p == *old)) {
            EXPECT_GT(p.partition_epoch, old->partition_epoch) << where;
          }
          if (p.leader != old->leader) {
            EXPECT_GT(p.leader_epoch, old->leader_epoch) << where;
          }
        }
      }
    });
  }

  SeededRandom driver_;
  ManualClock clock_;
  SeededRandom logic_random_;
  ControllerLogic logic_;
  std::map<int32_t, SimBroker> brokers_;
  std::vector<std::pair<Offset, v1::MetadataRecordBatch>> log_;
  std::map<int, int64_t> record_kinds_;
};

std::vector<uint64_t> Seeds() {
  if (const char* s = std::getenv("FJORD_SEED")) return {std::strtoull(s, nullptr, 10)};
  std::vector<uint64_t> seeds;
  for (uint64_t s = 1; s <= kSeeds; ++s) seeds.push_back(s);
  return seeds;
}

TEST(LogicSimulationTest, InvariantsHoldAfterEveryBatch) {
  std::map<int, int64_t> kinds;
  int64_t unclean = 0;
  for (uint64_t seed : Seeds()) {
    SCOPED_TRACE("reproduce with --test_env=FJORD_SEED=" + std::to_string(seed));
    Simulation sim(seed);
    sim.Run(kSteps);
    for (const auto& [kind, n] : sim.record_kinds()) kinds[kind] += n;
    unclean += sim.unclean_elections();
    if (::testing::Test::HasFailure()) return;
  }
  for (const auto& [kind, n] : kinds) std::cout << "record kind " << kind << ": " << n << "\n";
  std::cout << "unclean elections: " << unclean << "\n";
  if (std::getenv("FJORD_SEED") != nullptr) return;
  // The runs reached the interesting paths, so the invariants were tested
  // against them.
  using R = v1::MetadataRecord;
  for (int kind : {R::kRegisterBroker, R::kFenceBroker, R::kUnfenceBroker, R::kUnregisterBroker,
                   R::kTopic, R::kPartition, R::kPartitionChange, R::kRemoveTopic, R::kConfig,
                   R::kBrokerRegistrationChange}) {
    EXPECT_GT(kinds[kind], 0) << "no record of kind " << kind;
  }
  EXPECT_GT(unclean, 0);
}

TEST(LogicSimulationTest, SameSeedSameLog) {
  Simulation a(99), b(99);
  a.Run(500);
  b.Run(500);
  ASSERT_EQ(a.log().size(), b.log().size());
  for (size_t i = 0; i < a.log().size(); ++i) {
    ASSERT_EQ(a.log()[i].second.SerializeAsString(), b.log()[i].second.SerializeAsString()) << i;
  }
}

}  // namespace
}  // namespace fjord::controller
