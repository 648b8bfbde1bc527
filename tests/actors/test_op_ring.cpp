// OpRing: the interpreter → walker op-event ring (actors/op_ring.hpp), across real threads.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "actors/op_ring.hpp"

using terra::actors::OpEvent;
using terra::actors::OpRing;

namespace {

// An event whose every field derives from its sequence number, so the consumer can check that
// nothing was torn, lost, repeated or reordered.
OpEvent event_for(uint64_t seq) {
  OpEvent e;
  e.seq = seq;
  e.location = seq * 0x9E3779B97F4A7C15ull;
  e.side = static_cast<uint32_t>(seq % 7 == 0 ? seq : OpEvent::kNoSide);
  e.num_inputs = static_cast<uint8_t>(seq % (OpEvent::kMaxInputs + 1));
  e.num_outputs = static_cast<uint8_t>(1 + seq % OpEvent::kMaxOutputs);
  for (int i = 0; i < e.num_inputs; ++i) e.inputs[i] = static_cast<uint32_t>(seq + i);
  for (int i = 0; i < e.num_outputs; ++i) e.outputs[i] = static_cast<uint32_t>(seq * 3 + i);
  return e;
}

bool same_event(const OpEvent& a, const OpEvent& b) {
  return a.seq == b.seq && a.op == b.op && a.location == b.location && a.side == b.side &&
         a.num_inputs == b.num_inputs && a.num_outputs == b.num_outputs && a.inputs == b.inputs &&
         a.outputs == b.outputs;
}

// Pops until the ring closes; returns how many events arrived, in order and intact, before the
// first one that did not.
uint64_t consume_in_order(OpRing& ring) {
  uint64_t next = 0;
  OpEvent e;
  while (ring.pop(e)) {
    if (!same_event(e, event_for(next))) break;
    ++next;
  }
  return next;
}

}  // namespace

TEST_CASE("op ring: a million events cross two threads in order, none lost", "[op_ring]") {
  constexpr uint64_t kEvents = 1000000;
  OpRing ring(1024);
  uint64_t received = 0;
  std::thread consumer([&] { received = consume_in_order(ring); });
  for (uint64_t i = 0; i < kEvents; ++i) REQUIRE(ring.push(event_for(i)));
  ring.close();
  consumer.join();
  CHECK(received == kEvents);
}

TEST_CASE("op ring: close wakes a consumer blocked on an empty ring", "[op_ring]") {
  OpRing ring(16);
  std::atomic<bool> returned{false};
  bool got_event = true;
  std::thread consumer([&] {
    OpEvent e;
    got_event = ring.pop(e);
    returned = true;
  });
  // Long past the spin phase, so the consumer is asleep on the condition variable.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK_FALSE(returned);
  ring.close();
  consumer.join();
  CHECK(returned);
  CHECK_FALSE(got_event);
}

TEST_CASE("op ring: events pushed before close are still delivered", "[op_ring]") {
  OpRing ring(16);
  for (uint64_t i = 0; i < 10; ++i) REQUIRE(ring.push(event_for(i)));
  ring.close();
  CHECK(consume_in_order(ring) == 10);
  CHECK_FALSE(ring.push(event_for(10)));
}

TEST_CASE("op ring: a full ring makes the producer wait, and nothing is lost", "[op_ring]") {
  constexpr uint64_t kCapacity = 8;
  constexpr uint64_t kEvents = 10000;
  OpRing ring(kCapacity);
  std::atomic<uint64_t> pushed{0};
  std::thread producer([&] {
    for (uint64_t i = 0; i < kEvents; ++i) {
      if (!ring.push(event_for(i))) return;
      pushed = i + 1;
    }
    ring.close();
  });
  // Nobody pops yet: the producer fills the ring and then blocks rather than dropping.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(pushed == kCapacity);
  // A slow consumer: every pop frees one slot for the waiting producer.
  uint64_t next = 0;
  OpEvent e;
  while (ring.pop(e)) {
    REQUIRE(same_event(e, event_for(next)));
    ++next;
    if (next % 1000 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  producer.join();
  CHECK(next == kEvents);
  CHECK(pushed == kEvents);
}

TEST_CASE("op ring: close wakes a producer blocked on a full ring", "[op_ring]") {
  OpRing ring(4);
  for (uint64_t i = 0; i < 4; ++i) REQUIRE(ring.push(event_for(i)));
  bool delivered = true;
  std::thread producer([&] { delivered = ring.push(event_for(4)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ring.close();
  producer.join();
  CHECK_FALSE(delivered);
  CHECK(consume_in_order(ring) == 4);
}
