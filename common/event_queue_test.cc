#include "common/event_queue.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace fjord {
namespace {

TEST(EventQueueTest, EarliestFirstAndTiesInSchedulingOrder) {
  EventQueue<std::string> q;
  q.Schedule(30, "c");
  q.Schedule(10, "a1");
  q.Schedule(20, "b");
  q.Schedule(10, "a2");
  q.Schedule(10, "a3");
  std::vector<std::string> order;
  std::vector<int64_t> times;
  while (!q.empty()) {
    order.push_back(q.Pop());
    times.push_back(q.now_us());
  }
  EXPECT_EQ(order, (std::vector<std::string>{"a1", "a2", "a3", "b", "c"}));
  EXPECT_EQ(times, (std::vector<int64_t>{10, 10, 10, 20, 30}));
}

TEST(EventQueueTest, DelaysCountFromTheCurrentEvent) {
  EventQueue<int> q;
  q.Schedule(5, 1);
  EXPECT_EQ(q.next_us(), 5);
  EXPECT_EQ(q.Pop(), 1);
  q.Schedule(0, 2);  // Due now: runs next, time does not move.
  q.Schedule(7, 3);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.Pop(), 2);
  EXPECT_EQ(q.now_us(), 5);
  EXPECT_EQ(q.Pop(), 3);
  EXPECT_EQ(q.now_us(), 12);
}

}  // namespace
}  // namespace fjord
