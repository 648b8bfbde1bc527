// The tracing session (DESIGN.md §6-§8, synchronous replay): while a session is active, every
// top-level op call goes through it. The first iterations run eagerly and are traced; their traces
// are merged into the TraceGraph; once K iterations in a row add nothing, later iterations are
// replayed: each op Python issues is checked against the TraceGraph and handed out as a deferred
// tensor, and the compiled plan of the validated span runs at the next sync point (a fetch, the
// iteration's end, a data-dependent op). An op that matches nothing is a divergence: the validated
// span runs, every deferred tensor is materialized and the iteration finishes eagerly, traced.
//
// The engine knows nothing of Python: the embedding layer (bindings/) supplies location keys and
// iteration boundaries through the provider below, and marks the reads Python makes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/registry/op_def.hpp"

namespace terra::trace {

struct Options {
  int stable_after = 2;      // K: iterations in a row that add nothing before replay starts
  int max_paths = 32;        // past this many paths the region stays eager
  bool fusion = true;        // elementwise fusion (off: results bitwise equal to eager)
  bool memory_planning = true;
  std::string dump_dir;      // when set: TraceGraph and every plan (before/after passes) dumped here
};

// Read once from the environment: TERRA_FUSION=0, TERRA_STABLE_AFTER=k, TERRA_MAX_PATHS=n,
// TERRA_DUMP_GRAPH=dir.
Options options_from_env();

// The embedding layer's view of where an op was called from.
struct Location {
  uint64_t key = 0;
  bool new_iteration = false;  // the hot loop went round since the previous op
};
using LocationProvider = Location (*)();
void set_location_provider(LocationProvider provider);  // nullptr: key 0, no boundaries

struct Fallback {
  uint32_t iteration = 0;
  std::string reason;    // "new op mul at model.py:12 (expected add)", "shape changed", ...
  uint64_t location = 0;
};

struct Stats {
  uint32_t iterations_eager = 0;     // before the hot loop was known, or past the path bound
  uint32_t iterations_traced = 0;
  uint32_t iterations_replayed = 0;  // ran to their end on compiled plans
  uint32_t divergences = 0;
  uint64_t ops_replayed = 0;
  uint64_t plans_compiled = 0;
  double compile_seconds = 0;
  std::vector<Fallback> fallbacks;
};

// Starts a session (one per process); ops called on this thread go through it until stop().
void start(const Options& options);
// Ends the open iteration, runs deferred work, leaves every tensor materialized.
void stop();
bool active();

// Explicit iteration marks (terra.step); with these, boundaries from the provider are ignored.
void begin_iteration();
void end_iteration();
// Runs deferred work now (before Python touches a generator's state, saves a checkpoint, ...).
void sync();
// Python read this tensor's data (item, numpy, bool, printing): a sync point the trace records.
void note_read(const Tensor& t);

Stats stats();
// A location key as a person reads it ("train.py:41 in step", "backward of ... (from ...)").
std::string describe(uint64_t key);
std::string report();  // a short human-readable summary of stats()
// Writes the TraceGraph (trace_graph.json, trace_graph.dot) and the plans compiled so far.
void dump(const std::string& dir);

}  // namespace terra::trace
