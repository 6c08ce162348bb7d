#include "broker/group/assignor.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace fjord::group {
namespace {

AssignmentSpec Spec(int members, std::map<std::string, int32_t> topics) {
  AssignmentSpec spec;
  spec.topics = std::move(topics);
  std::vector<std::string> names;
  for (const auto& [t, n] : spec.topics) names.push_back(t);
  for (int i = 0; i < members; ++i) {
    spec.members.push_back({absl::StrCat("m", i), names, {}});
  }
  return spec;
}

// Feeds an assignment back as the members' previous targets.
void Carry(AssignmentSpec* spec, const GroupAssignment& a) {
  for (AssignmentMember& m : spec->members) {
    auto it = a.find(m.member_id);
    m.current_target = it == a.end() ? TopicPartitionSet() : it->second;
  }
}

size_t Moved(const GroupAssignment& before, const GroupAssignment& after) {
  size_t moved = 0;
  for (const auto& [id, parts] : after) {
    auto it = before.find(id);
    moved += it == before.end() ? parts.size() : parts.Minus(it->second).size();
  }
  return moved;
}

void ExpectCompleteAndBalanced(const AssignmentSpec& spec, const GroupAssignment& a) {
  TopicPartitionSet all;
  size_t lo = SIZE_MAX, hi = 0;
  for (const auto& [id, parts] : a) {
    EXPECT_TRUE(all.Disjoint(parts)) << id;
    all = all.Union(parts);
    lo = std::min(lo, parts.size());
    hi = std::max(hi, parts.size());
  }
  size_t total = 0;
  for (const auto& [t, n] : spec.topics) total += n;
  EXPECT_EQ(all.size(), total);
  EXPECT_LE(hi - lo, 1u);
}

TEST(UniformAssignorTest, BalancesEveryPartition) {
  const Assignor* a = FindAssignor("uniform");
  ASSERT_NE(a, nullptr);
  AssignmentSpec spec = Spec(3, {{"a", 7}, {"b", 5}});
  ExpectCompleteAndBalanced(spec, a->Assign(spec));
}

TEST(UniformAssignorTest, AJoinMovesOnlyWhatBalanceNeeds) {
  const Assignor* a = FindAssignor("uniform");
  AssignmentSpec spec = Spec(3, {{"t", 12}});
  GroupAssignment first = a->Assign(spec);
  Carry(&spec, first);
  spec.members.push_back({"m3", {"t"}, {}});
  GroupAssignment second = a->Assign(spec);
  ExpectCompleteAndBalanced(spec, second);
  // 12 over 4: the newcomer takes 3, nobody else gains anything.
  EXPECT_EQ(second["m3"].size(), 3u);
  EXPECT_EQ(Moved(first, second), 3u);
  for (const char* id : {"m0", "m1", "m2"}) {
    EXPECT_TRUE(second[id].Minus(first[id]).empty()) << id;
  }
}

TEST(UniformAssignorTest, ALeaveMovesOnlyTheLeaversPartitions) {
  const Assignor* a = FindAssignor("uniform");
  AssignmentSpec spec = Spec(4, {{"t", 100}});
  GroupAssignment first = a->Assign(spec);
  Carry(&spec, first);
  const TopicPartitionSet gone = first["m2"];
  spec.members.erase(spec.members.begin() + 2);
  GroupAssignment second = a->Assign(spec);
  ExpectCompleteAndBalanced(spec, second);
  EXPECT_EQ(Moved(first, second), gone.size());
  for (const char* id : {"m0", "m1", "m3"}) {
    EXPECT_TRUE(first[id].Minus(second[id]).empty()) << id << " lost a partition";
  }
}

TEST(UniformAssignorTest, TenMembersHundredPartitionsStickyAcrossChurn) {
  const Assignor* a = FindAssignor("uniform");
  AssignmentSpec spec = Spec(10, {{"t", 100}});
  GroupAssignment prev = a->Assign(spec);
  ExpectCompleteAndBalanced(spec, prev);
  Carry(&spec, prev);
  GroupAssignment same = a->Assign(spec);
  EXPECT_EQ(Moved(prev, same), 0u) << "no change, no move";
  spec.members.push_back({"m9b", {"t"}, {}});
  GroupAssignment grown = a->Assign(spec);
  ExpectCompleteAndBalanced(spec, grown);
  EXPECT_EQ(Moved(prev, grown), grown["m9b"].size());
}

TEST(UniformAssignorTest, HeterogeneousSubscriptionsOnlyGetTheirTopics) {
  const Assignor* a = FindAssignor("uniform");
  AssignmentSpec spec;
  spec.topics = {{"a", 4}, {"b", 4}};
  spec.members = {{"x", {"a"}, {}}, {"y", {"a", "b"}, {}}, {"z", {"b"}, {}}};
  GroupAssignment out = a->Assign(spec);
  EXPECT_TRUE(out["x"].map().count("b") == 0);
  EXPECT_TRUE(out["z"].map().count("a") == 0);
  EXPECT_EQ(out["x"].size() + out["y"].size() + out["z"].size(), 8u);
  for (const auto& [id, parts] : out) EXPECT_GE(parts.size(), 2u) << id;
}

TEST(UniformAssignorTest, DropsPartitionsOfTopicsNoLongerSubscribedOrShrunk) {
  const Assignor* a = FindAssignor("uniform");
  AssignmentSpec spec;
  spec.topics = {{"a", 2}};
  TopicPartitionSet prev;
  prev.Add("a", 5);  // no longer exists
  prev.Add("gone", 0);
  spec.members = {{"x", {"a"}, prev}};
  GroupAssignment out = a->Assign(spec);
  EXPECT_EQ(out["x"].ToString(), "a:[0,1]");
}

TEST(RangeAssignorTest, ContiguousRangesPerTopic) {
  const Assignor* a = FindAssignor("range");
  ASSERT_NE(a, nullptr);
  AssignmentSpec spec = Spec(3, {{"a", 7}, {"b", 3}});
  GroupAssignment out = a->Assign(spec);
  EXPECT_EQ(out["m0"].ToString(), "a:[0,1,2] b:[0]");
  EXPECT_EQ(out["m1"].ToString(), "a:[3,4] b:[1]");
  EXPECT_EQ(out["m2"].ToString(), "a:[5,6] b:[2]");
}

// KIP-848's range assignor is sticky: members keep what they had up to
// their quota, and only what is left moves.
TEST(RangeAssignorTest, AJoinMovesOnlyTheNewcomersShare) {
  const Assignor* a = FindAssignor("range");
  AssignmentSpec spec = Spec(3, {{"a", 12}, {"b", 12}});
  GroupAssignment first = a->Assign(spec);
  EXPECT_EQ(first["m1"].ToString(), "a:[4,5,6,7] b:[4,5,6,7]");
  Carry(&spec, first);
  spec.members.push_back({"m3", {"a", "b"}, {}});
  GroupAssignment second = a->Assign(spec);
  // 12 over 4 per topic: everyone keeps three, the newcomer gets the rest.
  EXPECT_EQ(Moved(first, second), 6u);
  EXPECT_EQ(second["m3"].size(), 6u);
  for (const char* id : {"m0", "m1", "m2"}) {
    EXPECT_TRUE(second[id].Minus(first[id]).empty()) << id << " gained a partition";
    EXPECT_EQ(second[id].size(), 6u) << id;
  }
  // Co-partitioned topics stay together: the same numbers of a and b.
  for (const auto& [id, parts] : second) {
    EXPECT_EQ(parts.map().at("a"), parts.map().at("b")) << id;
  }
  Carry(&spec, second);
  EXPECT_EQ(Moved(second, a->Assign(spec)), 0u) << "no change, no move";
}

TEST(RangeAssignorTest, ALeaveMovesOnlyTheLeaversPartitions) {
  const Assignor* a = FindAssignor("range");
  AssignmentSpec spec = Spec(4, {{"t", 10}});
  GroupAssignment first = a->Assign(spec);
  EXPECT_EQ(first["m0"].ToString(), "t:[0,1,2]");
  EXPECT_EQ(first["m3"].ToString(), "t:[8,9]");
  Carry(&spec, first);
  const TopicPartitionSet gone = first["m1"];
  spec.members.erase(spec.members.begin() + 1);
  GroupAssignment second = a->Assign(spec);
  ExpectCompleteAndBalanced(spec, second);
  EXPECT_EQ(Moved(first, second), gone.size());
  for (const char* id : {"m0", "m2", "m3"}) {
    EXPECT_TRUE(first[id].Minus(second[id]).empty()) << id << " lost a partition";
  }
}

TEST(RangeAssignorTest, KeepsNoMoreThanItsQuotaAndDropsWhatIsGone) {
  const Assignor* a = FindAssignor("range");
  AssignmentSpec spec;
  spec.topics = {{"t", 6}};
  TopicPartitionSet greedy;
  for (int32_t p : {0, 1, 2, 3, 4, 9}) greedy.Add("t", p);  // 9: no longer exists
  greedy.Add("gone", 0);
  spec.members = {{"x", {"t"}, greedy}, {"y", {"t"}, {}}, {"z", {"t"}, {}}};
  GroupAssignment out = a->Assign(spec);
  ExpectCompleteAndBalanced(spec, out);
  EXPECT_EQ(out["x"].ToString(), "t:[0,1]");
  EXPECT_EQ(out["y"].ToString(), "t:[2,3]");
  EXPECT_EQ(out["z"].ToString(), "t:[4,5]");
}

TEST(AssignorTest, UnknownNames) {
  EXPECT_EQ(FindAssignor("sticky"), nullptr);
  EXPECT_EQ(FindAssignor(""), nullptr);
}

}  // namespace
}  // namespace fjord::group
