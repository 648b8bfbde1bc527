// Per-event cost of actor-trace recording (actors/actor_trace.hpp), with recording off (the cost
// every actor pays always: one load and one branch) and on (a clock read and a 64-byte write into
// the thread's ring, which wraps around). Prints nanoseconds per event.
//   build/tools/bench/actor_trace_cost [events]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "actors/actor_trace.hpp"

namespace ta = terra::actors;

namespace {

double ns_per_event(ta::ActorId actor, long events) {
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < events; ++i) ta::record(actor, ta::TraceKind::StateChange, 0, static_cast<uint32_t>(i), "step");
  const auto stop = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::nano>(stop - start).count() / static_cast<double>(events);
}

// The steady-clock read every recorded event pays, for reference (a VM's clock source decides it).
double ns_per_clock_read(long reads) {
  int64_t sink = 0;
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < reads; ++i) sink += std::chrono::steady_clock::now().time_since_epoch().count();
  const auto stop = std::chrono::steady_clock::now();
  if (sink == 42) std::puts("");  // keeps the reads
  return std::chrono::duration<double, std::nano>(stop - start).count() / static_cast<double>(reads);
}

}  // namespace

int main(int argc, char** argv) {
  const long events = argc > 1 ? std::atol(argv[1]) : 20000000;
  const ta::ActorId actor = ta::register_actor("bench");
  ns_per_event(actor, events / 10);  // warm up
  const double off = ns_per_event(actor, events);
  ta::start_recording(size_t{1} << 16);
  ns_per_event(actor, events / 10);  // the ring is allocated and touched
  const double on = ns_per_event(actor, events);
  const std::string path = "/dev/null";
  ta::stop_and_write(path);
  std::printf("actor trace, %ld events per run\n", events);
  std::printf("  recording off: %6.2f ns/event\n", off);
  std::printf("  recording on:  %6.2f ns/event\n", on);
  std::printf("  (of which a steady_clock read: %6.2f ns)\n", ns_per_clock_read(events / 4));
  return 0;
}
