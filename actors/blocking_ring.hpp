// A Boost.Lockfree single-producer / single-consumer queue with what the bare queue lacks: a
// consumer that blocks when the ring is empty, a producer that blocks when it is full
// (backpressure: nothing is ever dropped), and close() for shutdown. Both sides spin briefly
// before they sleep (ParkingSpot), so a consumer fed back to back never pays for a wake-up.
// Op events (op_ring.hpp) and the graph actor's spans (graph_actor.cpp) travel on one.
#pragma once
#include <atomic>
#include <cstddef>

#include <boost/lockfree/spsc_queue.hpp>

#include "tensor/parking_spot.hpp"

namespace terra::actors {

template <class T>
class BlockingRing {
 public:
  // `consumer_spin`: how long an idle consumer spins before it sleeps (ParkingSpot).
  explicit BlockingRing(size_t capacity, std::chrono::microseconds consumer_spin = ParkingSpot::kDefaultSpin)
      : queue_(capacity), data_(consumer_spin) {}
  BlockingRing(const BlockingRing&) = delete;
  BlockingRing& operator=(const BlockingRing&) = delete;

  // Producer side. Waits while the ring is full. Returns false (the item is not delivered) only
  // when the ring is closed.
  bool push(const T& item) {
    if (closed()) return false;
    while (!queue_.push(item)) {
      if (closed()) return false;
      space_.wait_until([this] { return queue_.write_available() > 0 || closed(); });
    }
    data_.notify();
    return true;
  }

  // Consumer side. Waits while the ring is empty. Returns false once the ring is closed and every
  // item pushed before close() has been popped.
  bool pop(T& item) {
    while (!queue_.pop(item)) {
      if (closed() && queue_.read_available() == 0) return false;
      data_.wait_until([this] { return queue_.read_available() > 0 || closed(); });
    }
    space_.notify();
    return true;
  }

  // Either side, or a third thread: wakes both sides for shutdown.
  void close() {
    closed_.store(true, std::memory_order_release);
    data_.notify();
    space_.notify();
  }
  bool closed() const { return closed_.load(std::memory_order_acquire); }

 private:
  boost::lockfree::spsc_queue<T> queue_;
  std::atomic<bool> closed_{false};
  ParkingSpot data_;   // the consumer waits here for items
  ParkingSpot space_;  // the producer waits here for room
};

}  // namespace terra::actors
