#include "raft/scenario/scenario_env.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/assert.h"
#include "raft/sim/sim_node.h"

namespace fjord::raft::scenario {
namespace {

std::vector<NodeId> ParseIds(absl::string_view text) {
  std::vector<NodeId> ids;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int32_t id;
    FJORD_CHECK(absl::SimpleAtoi(part, &id)) << "bad id " << part;
    ids.push_back(NodeId(id));
  }
  return ids;
}

std::string Line(const std::string& text) { return text + "\n"; }

}  // namespace

ScenarioEnv::Node& ScenarioEnv::Get(const std::string& id) {
  int32_t n;
  FJORD_CHECK(absl::SimpleAtoi(id, &n)) << "bad node id " << id;
  auto it = nodes_.find(NodeId(n));
  FJORD_CHECK(it != nodes_.end()) << "no node " << id;
  return it->second;
}

std::string ScenarioEnv::Cluster(const std::vector<std::string>& args) {
  Membership initial;
  std::vector<NodeId> spares;
  RaftConfig base{.election_ticks = 10, .heartbeat_ticks = 1, .snapshot_chunk_bytes = 16};
  for (size_t i = 1; i < args.size(); ++i) {
    std::vector<std::string> kv = absl::StrSplit(args[i], '=');
    FJORD_CHECK(kv.size() == 2) << "want key=value: " << args[i];
    if (kv[0] == "voters") initial.voters = ParseIds(kv[1]);
    if (kv[0] == "learners") initial.learners = ParseIds(kv[1]);
    if (kv[0] == "spares") spares = ParseIds(kv[1]);
    if (kv[0] == "pre-vote") base.pre_vote = kv[1] == "true";
    if (kv[0] == "check-quorum") base.check_quorum = kv[1] == "true";
    if (kv[0] == "chunk") FJORD_CHECK(absl::SimpleAtoi(kv[1], &base.snapshot_chunk_bytes));
    if (kv[0] == "unsafe" && kv[1] == "commit-prior-term") {
      base.unsafe = UnsafeVariant::kCommitPriorTermByCount;
    }
  }
  auto add = [&](NodeId id, bool member) {
    Node& node = nodes_[id];
    node.id = id;
    node.config = base;
    node.config.id = id;
    if (member) node.disk.snapshot.meta.membership = initial;
    Start(node);
  };
  for (NodeId id : initial.voters) add(id, true);
  for (NodeId id : initial.learners) add(id, true);
  for (NodeId id : spares) add(id, false);
  return Status();
}

void ScenarioEnv::Start(Node& node) {
  node.random = std::make_unique<SeededRandom>(seed_ * 1000 + node.id.value());
  ++seed_;
  node.raft = std::make_unique<Raft>(node.config, node.disk, node.random.get());
  checker_.OnRestart(node.id);
  node.applied = node.disk.snapshot.meta.index;
  node.digest = 0;
  if (node.applied > LogIndex(0)) {
    LogIndex index;
    FJORD_CHECK(sim::DecodeSnapshotData(node.disk.snapshot.data, &index, &node.digest));
  }
}

void ScenarioEnv::Check(std::string* out) {
  std::vector<const Raft*> live;
  for (auto& [id, node] : nodes_) {
    if (node.raft) live.push_back(node.raft.get());
  }
  absl::Status s = checker_.AfterEvent(live);
  if (!s.ok() && !violated_) {
    violated_ = true;  // Report the first violation only.
    absl::StrAppend(out, "VIOLATION ", s.message(), "\n");
  }
}

void ScenarioEnv::ProcessReady(Node& node, std::string* out) {
  while (node.raft && node.raft->HasReady()) {
    Ready rd = node.raft->GetReady();
    absl::Status s = checker_.OnPersist(*node.raft, rd.entries);
    if (!s.ok() && !violated_) {
      violated_ = true;
      absl::StrAppend(out, "VIOLATION ", s.message(), "\n");
    }
    sim::ApplyWrite({.snapshot = rd.snapshot, .entries = rd.entries, .hard_state = rd.hard_state},
                    node.disk);
    for (Message& m : rd.messages) network_.push_back(std::move(m));
    if (rd.snapshot) {
      FJORD_CHECK(sim::DecodeSnapshotData(rd.snapshot->data, &node.applied, &node.digest));
      absl::StrAppend(out, "  ", node.id.value(), " restored snapshot at ",
                      rd.snapshot->meta.index.value(), "\n");
    }
    for (const Entry& e : rd.committed_entries) {
      node.digest = sim::ChainHash(node.digest, e);
      node.applied = e.index;
      (void)checker_.OnApply(node.id, e.index, node.digest);
      if (e.type == EntryType::kConfig) {
        absl::StrAppend(out, "  ", node.id.value(), " applied ", Describe(e), "\n");
      }
    }
    for (const ReadState& rs : rd.read_states) {
      absl::StrAppend(out, "  ", node.id.value(), " read ", rs.request_id, " ready at index ",
                      rs.index.value(), "\n");
    }
    node.raft->Advance(rd);
  }
  Check(out);
}

void ScenarioEnv::Deliver(const Message& m, std::string* out) {
  auto it = nodes_.find(m.to);
  const bool up = it != nodes_.end() && it->second.raft;
  if (!up || blocked_.count({m.from, m.to})) {
    absl::StrAppend(out, "  dropped ", Describe(m), "\n");
    return;
  }
  absl::StrAppend(out, "  ", Describe(m), "\n");
  it->second.raft->Step(m);
  ProcessReady(it->second, out);
}

std::string ScenarioEnv::Status() const {
  std::string out;
  for (const auto& [id, node] : nodes_) {
    if (!node.raft) {
      absl::StrAppend(&out, id.value(), ": crashed\n");
      continue;
    }
    const Raft& r = *node.raft;
    absl::StrAppend(&out, id.value(), ": ", ToString(r.role()), " term=", r.term().value(),
                    " leader=", r.leader().value(), " last=", r.log().last_term().value(), "/",
                    r.log().last_index().value(), " commit=", r.log().committed().value(),
                    " applied=", node.applied.value(), " ", r.membership().Encode(), "\n");
  }
  return out;
}

std::string ScenarioEnv::Run(const std::string& line) {
  std::vector<std::string> args = absl::StrSplit(line, ' ', absl::SkipEmpty());
  FJORD_CHECK(!args.empty());
  const std::string& cmd = args[0];
  std::string out;
  auto node_arg = [&](size_t i) -> Node& {
    FJORD_CHECK(args.size() > i) << "missing argument in: " << line;
    return Get(args[i]);
  };
  auto status_line = [](const absl::Status& s) { return Line(std::string(s.message())); };
  if (cmd == "cluster") return Cluster(args);
  if (cmd == "status") return Status();
  if (cmd == "campaign") {
    Node& n = node_arg(1);
    int ticks = 0;
    const Role start_role = n.raft->role();
    const Term start_term = n.raft->term();
    while (n.raft->role() == start_role && n.raft->term() == start_term && ticks < 100) {
      n.raft->Tick();
      ++ticks;
    }
    absl::StrAppend(&out, n.id.value(), " became ", ToString(n.raft->role()), " at term ",
                    n.raft->term().value(), "\n");
    ProcessReady(n, &out);
    return out;
  }
  if (cmd == "tick" || cmd == "tick-all") {
    const size_t count_arg = cmd == "tick" ? 2 : 1;
    int count = 1;
    if (args.size() > count_arg) FJORD_CHECK(absl::SimpleAtoi(args[count_arg], &count));
    for (int i = 0; i < count; ++i) {
      for (auto& [id, node] : nodes_) {
        if (!node.raft || (cmd == "tick" && id != node_arg(1).id)) continue;
        node.raft->Tick();
        ProcessReady(node, &out);
      }
    }
    return out;
  }
  if (cmd == "stabilize" || cmd == "deliver") {
    for (int round = 0; round < 1000 && !network_.empty(); ++round) {
      std::deque<Message> batch;
      batch.swap(network_);
      for (Message& m : batch) {
        if (cmd == "deliver" && m.to != node_arg(1).id) {
          network_.push_back(std::move(m));
          continue;
        }
        Deliver(m, &out);
      }
      if (cmd == "deliver") break;
    }
    return out;
  }
  if (cmd == "propose") {
    FJORD_CHECK(args.size() == 3) << line;
    Node& n = node_arg(1);
    absl::StatusOr<LogIndex> index = n.raft->Propose(args[2]);
    out = index.ok() ? Line(absl::StrCat("index ", index->value())) : status_line(index.status());
    ProcessReady(n, &out);
    return out;
  }
  if (cmd == "add-voter" || cmd == "remove-voter" || cmd == "add-learner") {
    Node& n = node_arg(1);
    ConfigChange change{.node = node_arg(2).id};
    if (cmd == "add-voter") change.kind = ConfigChange::Kind::kAddVoter;
    if (cmd == "remove-voter") change.kind = ConfigChange::Kind::kRemoveVoter;
    if (cmd == "add-learner") change.kind = ConfigChange::Kind::kAddLearner;
    absl::StatusOr<LogIndex> index = n.raft->ProposeConfigChange(change);
    out = index.ok() ? Line(absl::StrCat("index ", index->value())) : status_line(index.status());
    ProcessReady(n, &out);
    return out;
  }
  if (cmd == "transfer") {
    Node& n = node_arg(1);
    absl::Status s = n.raft->TransferLeadership(node_arg(2).id);
    if (!s.ok()) out = status_line(s);
    ProcessReady(n, &out);
    return out;
  }
  if (cmd == "read-index") {
    Node& n = node_arg(1);
    uint64_t id;
    FJORD_CHECK(args.size() == 3 && absl::SimpleAtoi(args[2], &id)) << line;
    checker_.OnReadRequested(id);
    absl::Status s = n.raft->ReadIndex(id);
    if (!s.ok()) out = status_line(s);
    ProcessReady(n, &out);
    return out;
  }
  if (cmd == "compact") {
    Node& n = node_arg(1);
    std::string data = sim::EncodeSnapshotData(n.applied, n.digest, 40);
    absl::StatusOr<SnapshotMeta> meta = n.raft->CompactLog(n.applied, data);
    if (!meta.ok()) return status_line(meta.status());
    sim::ApplyWrite({.snapshot = Snapshot{*meta, data}, .compact = true}, n.disk);
    return Line(absl::StrCat("snapshot at ", meta->index.value(), " term ", meta->term.value(), " ",
                             meta->membership.Encode(), " (", data.size(), " bytes)"));
  }
  if (cmd == "partition") {
    blocked_.clear();
    std::vector<std::vector<NodeId>> groups(1);
    for (size_t i = 1; i < args.size(); ++i) {
      if (args[i] == "|") {
        groups.emplace_back();
      } else {
        groups.back().push_back(Get(args[i]).id);
      }
    }
    for (size_t g = 0; g < groups.size(); ++g) {
      for (size_t h = 0; h < groups.size(); ++h) {
        if (g == h) continue;
        for (NodeId a : groups[g]) {
          for (NodeId b : groups[h]) blocked_.insert({a, b});
        }
      }
    }
    return "";
  }
  if (cmd == "heal") {
    blocked_.clear();
    return "";
  }
  if (cmd == "crash") {
    Node& n = node_arg(1);
    n.raft.reset();
    checker_.OnRestart(n.id);
    return "";
  }
  if (cmd == "restart") {
    Start(node_arg(1));
    return "";
  }
  if (cmd == "log") {
    const Raft& r = *node_arg(1).raft;
    absl::StrAppend(&out, "snapshot ", r.log().snapshot().term.value(), "/",
                    r.log().snapshot().index.value(), "\n");
    for (LogIndex i = r.log().first_index(); i <= r.log().last_index(); ++i) {
      absl::StrAppend(&out, Describe(r.log().At(i)), "\n");
    }
    return out;
  }
  FJORD_CHECK(false) << "unknown command: " << line;
  return "";
}

}  // namespace fjord::raft::scenario
