#include "controller/persistent_map.h"

#include <map>
#include <memory>
#include <string>

#include "common/random.h"
#include "gtest/gtest.h"

namespace fjord::controller {
namespace {

using Map = PersistentMap<std::string, int>;

TEST(PersistentMapTest, EditsDoNotChangeCopies) {
  Map base;
  Map::Editor editor(&base);
  editor.Set("a", 1);
  editor.Set("b", 2);
  editor.Share();
  Map snapshot = base;
  editor.Set("a", 10);
  editor.Erase("b");
  editor.Set("c", 3);
  EXPECT_EQ(*snapshot.Find("a"), 1);
  EXPECT_EQ(*snapshot.Find("b"), 2);
  EXPECT_EQ(snapshot.Find("c"), nullptr);
  EXPECT_EQ(snapshot.size(), 2u);
  EXPECT_EQ(*base.Find("a"), 10);
  EXPECT_EQ(base.Find("b"), nullptr);
  EXPECT_EQ(base.size(), 2u);
}

TEST(PersistentMapTest, EraseOfAbsentKeyReportsFalse) {
  Map m;
  Map::Editor editor(&m);
  EXPECT_FALSE(editor.Erase("x"));
  editor.Set("x", 1);
  EXPECT_TRUE(editor.Erase("x"));
  EXPECT_TRUE(m.empty());
}

TEST(PersistentMapTest, MatchesStdMapUnderRandomEdits) {
  SeededRandom random(42);
  Map m;
  Map::Editor editor(&m);
  std::map<std::string, int> model;
  std::vector<std::pair<Map, std::map<std::string, int>>> history;
  for (int i = 0; i < 5000; ++i) {
    std::string key = "k" + std::to_string(random.Uniform(300));
    if (random.OneIn(3)) {
      EXPECT_EQ(editor.Erase(key), model.erase(key) == 1);
    } else {
      int v = static_cast<int>(random.Uniform(1000));
      editor.Set(key, v);
      model[key] = v;
    }
    if (random.OneIn(50)) {
      editor.Share();
      history.emplace_back(m, model);
    }
  }
  history.emplace_back(m, model);
  for (const auto& [map, expected] : history) {
    ASSERT_EQ(map.size(), expected.size());
    std::vector<std::string> keys;
    for (const auto& [k, v] : expected) {
      ASSERT_NE(map.Find(k), nullptr) << k;
      EXPECT_EQ(*map.Find(k), v);
      keys.push_back(k);
    }
    EXPECT_EQ(map.SortedKeys(), keys);
  }
}

TEST(PersistentMapTest, EqualityLooksThroughSharedPointers) {
  using PtrMap = PersistentMap<std::string, std::shared_ptr<const int>>;
  PtrMap a, b;
  PtrMap::Editor ea(&a), eb(&b);
  ea.Set("x", std::make_shared<const int>(5));
  eb.Set("x", std::make_shared<const int>(5));
  EXPECT_TRUE(a == b);
  eb.Set("x", std::make_shared<const int>(6));
  EXPECT_FALSE(a == b);
}

TEST(PersistentMapTest, IterationOrderDependsOnlyOnContents) {
  Map a, b;
  Map::Editor ea(&a), eb(&b);
  for (int i = 0; i < 100; ++i) ea.Set("k" + std::to_string(i), i);
  for (int i = 99; i >= 0; --i) eb.Set("k" + std::to_string(i), i);
  std::vector<std::string> order_a, order_b;
  a.ForEach([&](const std::string& k, int) { order_a.push_back(k); });
  b.ForEach([&](const std::string& k, int) { order_b.push_back(k); });
  EXPECT_EQ(order_a, order_b);
}

}  // namespace
}  // namespace fjord::controller
