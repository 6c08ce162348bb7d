// EventQueue: the one queue of a seeded simulation (raft/sim,
// controller/sim). Events run in order of simulated time, and events due at
// the same time in the order they were scheduled, so the order depends only
// on what was scheduled and never on the heap's layout: a seed replays bit
// for bit.
//
// The queue owns simulated time: Pop() advances now_us() to the popped
// event's time; time never goes backwards (a delay is >= 0).
//
// Bounds: none of its own; a simulation bounds its run by simulated time.
// Threading: none; the simulation's one thread owns it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "common/assert.h"

namespace fjord {

template <typename Event>
class EventQueue {
 public:
  int64_t now_us() const { return now_us_; }
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  // When the next event is due; the queue must not be empty.
  int64_t next_us() const {
    FJORD_CHECK(!heap_.empty());
    return heap_.front().at_us;
  }

  // Runs `event` `delay_us` after now.
  void Schedule(int64_t delay_us, Event event) {
    FJORD_CHECK(delay_us >= 0) << delay_us;
    heap_.push_back(
        Item{now_us_ + delay_us, next_seq_++, std::make_unique<Event>(std::move(event))});
    std::push_heap(heap_.begin(), heap_.end(), Later);
  }

  // Removes the earliest event and moves time to it.
  Event Pop() {
    FJORD_CHECK(!heap_.empty());
    std::pop_heap(heap_.begin(), heap_.end(), Later);
    Item item = std::move(heap_.back());
    heap_.pop_back();
    now_us_ = item.at_us;
    return std::move(*item.event);
  }

 private:
  struct Item {
    int64_t at_us;
    uint64_t seq;                  // Unique: ties in time run first-scheduled first.
    std::unique_ptr<Event> event;  // Boxed: heap moves stay cheap.
  };
  // The heap keeps the greatest on top: "greatest" is the earliest.
  static bool Later(const Item& a, const Item& b) {
    return a.at_us != b.at_us ? a.at_us > b.at_us : a.seq > b.seq;
  }

  std::vector<Item> heap_;
  int64_t now_us_ = 0;
  uint64_t next_seq_ = 0;
};

}  // namespace fjord
