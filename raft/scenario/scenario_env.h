// ScenarioEnv: runs readable scripts against a group of Raft cores with
// messages delivered by hand (etcd-io/raft's interaction tests). Each command
// returns the text it printed; scenario_test.cc compares it with the golden
// output stored next to the command in raft/testdata/*.txt.
//
// Commands (ids are node ids):
//   cluster voters=1,2,3 [learners=4] [spares=5] [pre-vote=false]
//           [check-quorum=false] [unsafe=commit-prior-term] [chunk=N]
//   campaign N           tick N until its election timeout fires
//   tick N [count]       tick one node;  tick-all [count]  every live node
//   stabilize            deliver messages until none are left, printing each
//   deliver N            deliver only the messages queued for node N
//   propose N data       propose on N, print the index or the error
//   add-voter N M | remove-voter N M | add-learner N M   (proposed on N)
//   transfer N M         N transfers leadership to M
//   read-index N id      start a ReadIndex round on N
//   compact N            N's state machine snapshots at its applied index
//   partition 1 2 | 3    cut every link between the groups;  heal
//   crash N | restart N  (a crash keeps what was synced: everything, here)
//   status               one line per node;  log N   N's entries
// After every delivery the simulation's Checker runs; a violation prints a
// line starting with "VIOLATION".
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/random.h"
#include "raft/core/raft.h"
#include "raft/sim/checker.h"

namespace fjord::raft::scenario {

class ScenarioEnv {
 public:
  // Runs one command line; returns its output (possibly empty).
  std::string Run(const std::string& line);

 private:
  struct Node {
    NodeId id;
    RaftConfig config;
    std::unique_ptr<SeededRandom> random;
    std::unique_ptr<Raft> raft;  // Null while crashed.
    PersistedState disk;
    LogIndex applied;
    uint64_t digest = 0;
    std::vector<std::string> applied_data;
  };

  std::string Cluster(const std::vector<std::string>& args);
  void Start(Node& node);
  void ProcessReady(Node& node, std::string* out);
  void Deliver(const Message& m, std::string* out);
  void Check(std::string* out);
  Node& Get(const std::string& id);
  std::string Status() const;

  std::map<NodeId, Node> nodes_;
  std::deque<Message> network_;
  std::set<std::pair<NodeId, NodeId>> blocked_;
  sim::Checker checker_;
  bool violated_ = false;
  uint64_t seed_ = 1;
};

}  // namespace fjord::raft::scenario
