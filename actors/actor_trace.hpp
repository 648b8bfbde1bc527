// Actor-trace recording (DESIGN.md §12). Every thread that records gets its own ring of fixed-size
// events (written only by that thread, lock-free); stop_and_write() turns the rings into Chrome
// Trace Event JSON that Perfetto and `terra trace view` open, one swimlane per actor.
//
// Off by default. With recording off, record() is one relaxed load and one predictable branch;
// the arguments are plain values, so the call site builds nothing (pass string literals or
// strings that outlive the call as detail). When a ring is full the oldest events are overwritten
// and the JSON says how many were dropped; recording never blocks an actor.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace terra::actors {

using ActorId = uint16_t;

enum class TraceKind : uint8_t {
  MessageSent,      // `message` pairs it with its MessageReceived (a flow arrow)
  MessageReceived,
  StateChange,
  WaitBegin,        // WaitBegin/WaitEnd and IterationBegin/IterationEnd become spans
  WaitEnd,
  Fallback,
  IterationBegin,
  IterationEnd,
  Fetch,
  WorkBegin,        // WorkBegin/WorkEnd: an actor busy (running a span), also a span
  WorkEnd,
};
const char* trace_kind_name(TraceKind kind);

struct TraceEvent {
  static constexpr size_t kDetailSize = 35;  // inline text, cut to fit; keeps the event 64 bytes

  int64_t time_ns = 0;     // steady clock
  uint64_t message = 0;    // message id for MessageSent/MessageReceived, else 0
  uint32_t iteration = 0;
  uint32_t step = 0;
  ActorId actor = 0;
  TraceKind kind = TraceKind::StateChange;
  char detail[kDetailSize] = {};
};
static_assert(sizeof(TraceEvent) == 64, "a TraceEvent is one cache line");

// Names a swimlane. Ids are small and dense, in registration order; names may repeat.
ActorId register_actor(const std::string& name);

// A fresh id pairing one MessageSent with its MessageReceived (the sender puts it in the message).
uint64_t new_message_id();

// Starts a recording: forgets events of an earlier one and gives every recording thread a ring of
// `events_per_thread` events (rounded up to a power of two) when it first records.
void start_recording(size_t events_per_thread = size_t{1} << 16);
// Stops recording, waits for records in flight, writes the JSON and returns the number of events
// written. Throws std::runtime_error when the file cannot be written.
size_t stop_and_write(const std::string& path);

namespace detail {
extern std::atomic<bool> recording;
void record_slow(ActorId actor, TraceKind kind, uint32_t iteration, uint32_t step, const char* text,
                 uint64_t message);
}  // namespace detail

inline bool recording() { return detail::recording.load(std::memory_order_relaxed); }

inline void record(ActorId actor, TraceKind kind, uint32_t iteration, uint32_t step,
                   const char* detail = "", uint64_t message = 0) {
  if (__builtin_expect(detail::recording.load(std::memory_order_relaxed), 0))
    detail::record_slow(actor, kind, iteration, step, detail, message);
}

}  // namespace terra::actors
