// The op-event ring of co-execution (DESIGN.md §9): the interpreter pushes one fixed-size OpEvent
// per op call and the walker pops them, in order, through a Boost.Lockfree single-producer /
// single-consumer queue. Events carry ids, never tensor data. OpRing adds what the bare queue
// lacks: a consumer that blocks when the ring is empty, a producer that blocks when it is full
// (backpressure: nothing is ever dropped), and close() for shutdown.
#pragma once
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include <boost/lockfree/spsc_queue.hpp>

#include "actors/parking_spot.hpp"

namespace terra {
struct OpDef;
}

namespace terra::actors {

using HandleId = uint32_t;

// One op call as the walker sees it. 64 bytes, one cache line. Attributes, feeds and wiring that
// do not fit (a cat of many tensors) live in a side table the producer fills and `side` indexes.
struct OpEvent {
  static constexpr int kMaxInputs = 5;
  static constexpr int kMaxOutputs = 3;
  static constexpr uint32_t kNoSide = UINT32_MAX;

  uint64_t seq = 0;          // position in the program's op stream, from 0
  const OpDef* op = nullptr;
  uint64_t location = 0;     // location key (DESIGN.md §7)
  uint32_t side = kNoSide;   // index into the side table, or kNoSide
  uint8_t num_inputs = 0;
  uint8_t num_outputs = 0;
  std::array<HandleId, kMaxInputs> inputs{};
  std::array<HandleId, kMaxOutputs> outputs{};
};
static_assert(sizeof(OpEvent) == 64, "an OpEvent is one cache line");

class OpRing {
 public:
  explicit OpRing(size_t capacity) : queue_(capacity) {}
  OpRing(const OpRing&) = delete;
  OpRing& operator=(const OpRing&) = delete;

  // Producer side. Waits while the ring is full. Returns false (the event is not delivered) only
  // when the ring is closed.
  bool push(const OpEvent& event) {
    if (closed()) return false;
    while (!queue_.push(event)) {
      if (closed()) return false;
      space_.wait_until([this] { return queue_.write_available() > 0 || closed(); });
    }
    data_.notify();
    return true;
  }

  // Consumer side. Waits while the ring is empty. Returns false once the ring is closed and every
  // event pushed before close() has been popped.
  bool pop(OpEvent& event) {
    while (!queue_.pop(event)) {
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
  boost::lockfree::spsc_queue<OpEvent> queue_;
  std::atomic<bool> closed_{false};
  ParkingSpot data_;   // the consumer waits here for events
  ParkingSpot space_;  // the producer waits here for room
};

}  // namespace terra::actors
