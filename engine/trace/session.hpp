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
#include <memory>
#include <string>
#include <vector>

#include "engine/registry/op_def.hpp"

namespace terra::trace {

class SpanExecutor;

struct Options {
  int stable_after = 2;      // K: iterations in a row that add nothing before replay starts
  int max_paths = 32;        // past this many paths the region stays eager
  // Note [Backing off] in iteration.cpp: after this many traced iterations in a row that each added
  // to the TraceGraph, iterations run eagerly, untraced, for a while (0: never back off).
  int backoff_after = 4;
  bool fusion = true;        // elementwise fusion (off: results bitwise equal to eager)
  bool memory_planning = true;
  std::string dump_dir;      // when set: TraceGraph and every plan (before/after passes) dumped here
  // Co-execution: a span is handed to the graph once it has this many ops (0: at sync points and
  // the iteration's end only), so the graph starts on long iterations before Python ends them.
  int span_ops = 0;
  // Co-execution: past this many spans handed over and not known to have run, Python waits for
  // the graph. A program that never reads a value would otherwise run arbitrarily far ahead, and
  // every span in flight holds its inputs and outputs.
  int max_spans_ahead = 8;
  // Co-execution: at a fetch, a span whose fastest run of the same shape took less than this runs
  // to its end on Python's thread instead of handing its rest to the graph (Note [A fetch runs
  // only what it reads] in span_runner.cpp says why; 0: always hand the rest over).
  double inline_span_seconds = 100e-6;
  // Note [Replay must pay] (pay_check.hpp): iterations are timed, and a loop whose replayed
  // iterations are slower than eager ones runs eagerly for stretches. Off in a default Options
  // (deterministic counts for the C++ tests); options_from_env, which `terra run`, terra.replay
  // and terra.coexec start from, turns it on unless TERRA_REPLAY_MUST_PAY=0.
  bool replay_must_pay = false;
  // Test switch for it: when both are >= 0, the times PayCheck is given for a replayed and an
  // eager iteration, instead of the clock's (TERRA_PAY_CHECK_FAKE_US=replayed,eager).
  double fake_replayed_seconds = -1, fake_eager_seconds = -1;
  // Test switch: with a seed, one replayed iteration (drawn from the seed) declares a mismatch at
  // one of its ops, as if Python had taken a new path there. Co-execution must not be seen.
  uint64_t force_divergence_seed = 0;
  // CI switch: every plan's fused groups are also compiled for CUDA with NVRTC (CompileOptions).
  bool check_nvrtc = false;
  // Note [Dormant stretches] in iteration.cpp: long eager stretches skip the session (TERRA_DORMANT=0: never).
  bool dormant_stretches = true;
  // Note [Replaying backward] in backward_replay.cpp: a traced backward() call is replayed whole,
  // without running the autograd engine's formulas (TERRA_REPLAY_BACKWARD=0: op by op).
  bool replay_backward = true;
};

// Read once from the environment: TERRA_FUSION=0, TERRA_STABLE_AFTER=k, TERRA_MAX_PATHS=n,
// TERRA_DUMP_GRAPH=dir, TERRA_SPAN_OPS=n, TERRA_MAX_SPANS_AHEAD=n, TERRA_INLINE_SPAN_US=us, TERRA_FORCE_DIVERGENCE=seed,
// TERRA_CHECK_NVRTC=1, TERRA_DORMANT=0, TERRA_REPLAY_BACKWARD=0.
Options options_from_env();

// The embedding layer's view of where an op was called from.
struct Location {
  uint64_t key = 0;
  bool new_iteration = false;  // the hot loop went round since the previous op
  bool left_loop = false;      // the hot loop finished (or its frame returned) since the previous op
};
using LocationProvider = Location (*)();
// nullptr: key 0, no boundaries. `sees_boundaries_when_dormant`: the provider's owner can find the
// loop's boundaries without being asked at every op, and reports them while the session is dormant
// (Note [Dormant stretches] in iteration.cpp) through dormant_iteration_began() and wake_left_loop().
void set_location_provider(LocationProvider provider, bool sees_boundaries_when_dormant = false);
// Whether ops on this thread skip the session now (a dormant eager stretch).
bool dormant();
// While dormant: the loop went round (the bindings see it at a backward() call).
void dormant_iteration_began();
// While dormant: the loop finished, or its frame returned; ops go through the session again.
void wake_left_loop();
// The user's source line right now ("train.py:41"), asked only when Python has to wait.
using SourceLineProvider = std::string (*)();
void set_source_line_provider(SourceLineProvider provider);
// Every blocking wait of the session (on the graph, on another thread's sync) runs through this,
// so the embedding can let its own locks go meanwhile (the bindings release the GIL).
using BlockingCall = void (*)(void (*wait)(void*), void* arg);
void set_blocking_call(BlockingCall call);
// What the session tells an observer (the actor trace's interpreter lane); none by default.
enum class SessionEvent : uint8_t { IterationBegin, IterationEnd, Fallback, Sync, WorkBegin, WorkEnd };
using EventSink = void (*)(SessionEvent event, uint32_t iteration, const char* detail);
void set_event_sink(EventSink sink);

struct Fallback {
  uint32_t iteration = 0;
  std::string reason;    // "new op mul at model.py:12 (expected add)", "shape changed", ...
  uint64_t location = 0;
};

// A place where Python waited for the graph (--explain ranks them by time).
struct SyncPoint {
  std::string where;  // the user's source line
  std::string why;    // "fetch", "divergence", "eager op", ...
  uint32_t count = 0;
  double seconds = 0;
};

struct Stats {
  uint32_t iterations_eager = 0;     // before the hot loop was known, past the path bound, backing off
  uint32_t iterations_dormant = 0;   // of the eager ones: ran without going through the session
  uint32_t iterations_traced = 0;
  uint32_t iterations_replayed = 0;  // ran to their end on compiled plans
  uint32_t divergences = 0;
  uint64_t ops_replayed = 0;
  uint64_t backward_replays = 0;  // backward() calls replayed whole (Note [Replaying backward])
  uint64_t plans_compiled = 0;
  double compile_seconds = 0;
  uint64_t fused_groups = 0;   // in the plans compiled
  uint64_t nvrtc_kernels = 0;  // fused groups compiled with NVRTC (CUDA's; all with check_nvrtc)
  uint64_t cuda_graph_captures = 0;  // span runs captured as CUDA graphs, and replayed ones
  uint64_t cuda_graph_replays = 0;
  uint64_t side_by_side_runs = 0;  // span runs that put kernels side by side on the pool
  uint64_t spans_run = 0;
  double graph_seconds = 0;    // running spans (on the graph actor in co-execution)
  double wait_seconds = 0;     // Python waiting for spans
  double session_seconds = 0;  // from start() to now (or stop())
  bool coexecuted = false;     // spans ran on another thread
  std::vector<Fallback> fallbacks;
  std::vector<SyncPoint> sync_points;  // most waited first
  // Where a traced or replayed backward() call ran through the autograd engine instead of being
  // replayed whole, and why (Note [Replaying backward]): (the user's source line, the reason).
  std::vector<std::pair<std::string, std::string>> backward_refusals;
};

// Starts a session (one per process); ops called on this thread go through it until stop().
// `executor`: where spans run; none: at once on this thread (synchronous replay).
void start(const Options& options, std::shared_ptr<SpanExecutor> executor = nullptr);
// Ends the open iteration, runs deferred work, leaves every tensor materialized.
void stop();
bool active();

// Explicit iteration marks (terra.step); with these, boundaries from the provider are ignored.
// They count while dormant too.
void begin_iteration();
void end_iteration();
// Runs deferred work now (before Python touches a generator's state, saves a checkpoint, rebinds
// a tensor with `.data =`, ...).
void sync();
// Python read this tensor's data (item, numpy, bool, printing): a sync point the trace records.
void note_read(const Tensor& t);

Stats stats();
std::string report();  // a short human-readable summary of stats()
// Writes the TraceGraph (trace_graph.json, trace_graph.dot) and the plans compiled so far.
void dump(const std::string& dir);

}  // namespace terra::trace
