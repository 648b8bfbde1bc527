// The Chrome Trace Event JSON of a finished actor-trace recording (actor_trace.cpp collects the
// snapshot; this file only formats it).
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "actors/actor_trace.hpp"

namespace terra::actors {

struct RingSummary {
  uint64_t kept = 0;
  uint64_t dropped = 0;            // oldest events overwritten because the ring was full
  std::vector<ActorId> actors;     // actors among the kept events
};

struct TraceSnapshot {
  std::vector<TraceEvent> events;  // sorted by actor, then time
  std::vector<std::string> actor_names;
  std::vector<RingSummary> rings;
  int64_t start_ns = 0;
  int64_t stop_ns = 0;
};

// Waits and iterations become complete ('X') spans, messages short slices joined by flow
// ('s'/'f') arrows, everything else instant ('i') events; thread_name metadata names each actor's
// swimlane and otherData reports dropped events. Events are written in time order per actor.
void write_chrome_trace(std::ostream& os, const TraceSnapshot& snapshot);

}  // namespace terra::actors
