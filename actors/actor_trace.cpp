// Recording side of the actor trace: one ring per recording thread, the registry of rings and
// actor names, and the start/stop protocol. See actor_trace.hpp for the contract.
#include "actors/actor_trace.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "actors/actor_trace_json.hpp"
#include "tensor/spin_lock.hpp"  // cpu_relax

namespace terra::actors {

namespace detail {
std::atomic<bool> recording{false};
}

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

size_t round_up_to_power_of_two(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

// Copies `text` into the event, cut to fit at a UTF-8 character boundary (the JSON stays valid).
void copy_detail(char (&detail)[TraceEvent::kDetailSize], const char* text) {
  size_t n = 0;
  while (n < TraceEvent::kDetailSize - 1 && text[n]) ++n;
  if (text[n])  // cut: do not end inside a multi-byte character
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  std::memcpy(detail, text, n);
  detail[n] = '\0';
}

// Written by its owning thread only; read by stop_and_write() once `busy` says no write is in
// flight (Note [Stopping the recording]).
struct ThreadRing {
  explicit ThreadRing(size_t capacity) : slots(capacity), mask(capacity - 1) {}
  std::vector<TraceEvent> slots;
  size_t mask;
  std::atomic<uint64_t> head{0};  // events ever written; slot = index & mask
  std::atomic<bool> busy{false};
};

struct Registry {
  std::mutex mutex;
  std::vector<std::string> actor_names;
  std::vector<std::shared_ptr<ThreadRing>> rings;  // this recording's, in order of first event
  size_t ring_capacity = 0;
  int64_t start_ns = 0;
  // Bumped by every start_recording(): a thread holding a ring of an earlier recording takes a
  // new one.
  std::atomic<uint64_t> generation{0};
};

// Never destroyed: threads may record while static destructors run.
Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

struct CachedRing {
  std::shared_ptr<ThreadRing> ring;
  uint64_t generation = 0;
};

// This thread's ring for the current recording, or null when recording stopped meanwhile.
ThreadRing* this_thread_ring() {
  thread_local CachedRing cached;
  Registry& reg = registry();
  if (cached.ring && cached.generation == reg.generation.load(std::memory_order_acquire))
    return cached.ring.get();
  std::lock_guard<std::mutex> lock(reg.mutex);
  if (!detail::recording.load(std::memory_order_relaxed)) return nullptr;
  cached.ring = std::make_shared<ThreadRing>(reg.ring_capacity);
  cached.generation = reg.generation.load(std::memory_order_relaxed);
  reg.rings.push_back(cached.ring);
  return cached.ring.get();
}

// Note [Stopping the recording]: a writer sets its ring's `busy`, then re-reads `recording`; the
// stopper clears `recording`, then waits for every `busy` to clear. Those two stores and two loads
// are seq_cst (clearing `busy` needs only release), so a
// writer that sets `busy` after the stopper looked sees recording off and writes nothing, and
// the stopper never reads a slot while it is being written.
void wait_for_writers(const std::vector<std::shared_ptr<ThreadRing>>& rings) {
  for (const auto& ring : rings)
    while (ring->busy.load(std::memory_order_seq_cst)) cpu_relax();
}

void stop_recording(Registry& reg) {
  detail::recording.store(false, std::memory_order_seq_cst);
  wait_for_writers(reg.rings);
}

TraceSnapshot take_snapshot(Registry& reg) {
  TraceSnapshot snap;
  snap.actor_names = reg.actor_names;
  snap.start_ns = reg.start_ns;
  snap.stop_ns = now_ns();
  for (const auto& ring : reg.rings) {
    const uint64_t head = ring->head.load(std::memory_order_acquire);
    const uint64_t capacity = ring->slots.size();
    RingSummary summary;
    summary.dropped = head > capacity ? head - capacity : 0;
    summary.kept = head - summary.dropped;
    for (uint64_t i = summary.dropped; i < head; ++i) {
      const TraceEvent& e = ring->slots[i & ring->mask];
      snap.events.push_back(e);
      if (std::find(summary.actors.begin(), summary.actors.end(), e.actor) == summary.actors.end())
        summary.actors.push_back(e.actor);
    }
    snap.rings.push_back(std::move(summary));
  }
  std::stable_sort(snap.events.begin(), snap.events.end(), [](const TraceEvent& a, const TraceEvent& b) {
    return a.actor != b.actor ? a.actor < b.actor : a.time_ns < b.time_ns;
  });
  return snap;
}

}  // namespace

const char* trace_kind_name(TraceKind kind) {
  switch (kind) {
    case TraceKind::MessageSent: return "message_sent";
    case TraceKind::MessageReceived: return "message_received";
    case TraceKind::StateChange: return "state_change";
    case TraceKind::WaitBegin: return "wait_begin";
    case TraceKind::WaitEnd: return "wait_end";
    case TraceKind::Fallback: return "fallback";
    case TraceKind::IterationBegin: return "iteration_begin";
    case TraceKind::IterationEnd: return "iteration_end";
    case TraceKind::Fetch: return "fetch";
    case TraceKind::WorkBegin: return "work_begin";
    case TraceKind::WorkEnd: return "work_end";
  }
  return "unknown";
}

ActorId register_actor(const std::string& name) {
  Registry& reg = registry();
  std::lock_guard<std::mutex> lock(reg.mutex);
  if (reg.actor_names.size() > UINT16_MAX) throw std::runtime_error("actor trace: too many actors");
  reg.actor_names.push_back(name);
  return static_cast<ActorId>(reg.actor_names.size() - 1);
}

uint64_t new_message_id() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

void start_recording(size_t events_per_thread) {
  Registry& reg = registry();
  std::lock_guard<std::mutex> lock(reg.mutex);
  stop_recording(reg);
  reg.rings.clear();
  reg.ring_capacity = round_up_to_power_of_two(std::max<size_t>(events_per_thread, 2));
  reg.generation.fetch_add(1, std::memory_order_release);
  reg.start_ns = now_ns();
  detail::recording.store(true, std::memory_order_seq_cst);
}

size_t stop_and_write(const std::string& path) {
  Registry& reg = registry();
  TraceSnapshot snap;
  {
    std::lock_guard<std::mutex> lock(reg.mutex);
    stop_recording(reg);
    snap = take_snapshot(reg);
  }
  std::ofstream out(path);
  if (!out) throw std::runtime_error("actor trace: cannot write " + path);
  write_chrome_trace(out, snap);
  out.close();
  if (!out) throw std::runtime_error("actor trace: error writing " + path);
  return snap.events.size();
}

namespace detail {

void record_slow(ActorId actor, TraceKind kind, uint32_t iteration, uint32_t step, const char* text,
                 uint64_t message) {
  ThreadRing* ring = this_thread_ring();
  if (!ring) return;
  ring->busy.store(true, std::memory_order_seq_cst);  // Note [Stopping the recording]
  if (recording.load(std::memory_order_seq_cst)) {
    const uint64_t index = ring->head.load(std::memory_order_relaxed);
    TraceEvent& e = ring->slots[index & ring->mask];
    e.time_ns = now_ns();
    e.message = message;
    e.iteration = iteration;
    e.step = step;
    e.actor = actor;
    e.kind = kind;
    copy_detail(e.detail, text);
    ring->head.store(index + 1, std::memory_order_release);
  }
  ring->busy.store(false, std::memory_order_release);
}

}  // namespace detail

}  // namespace terra::actors
