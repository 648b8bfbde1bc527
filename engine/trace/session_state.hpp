// The tracing session's state and the pieces its files share (engine/trace/session.cpp runs the
// iteration life cycle and the dispatcher's interception; span_runner.cpp turns a span of replayed
// ops into a graph::Program and runs its compiled plan). Internal to engine/trace.
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "engine/graph/compile.hpp"
#include "engine/graph/executor.hpp"
#include "engine/graph/plan.hpp"
#include "engine/trace/record.hpp"
#include "engine/trace/session.hpp"
#include "engine/trace/trace_graph.hpp"

namespace terra::trace::detail {

enum class IterationMode {
  Outside,    // between iterations, or before the hot loop is known: plain eager
  Eager,      // past the path bound: plain eager for good
  Tracing,    // eager, and every op appended to the trace
  Replaying,  // ops matched against the TraceGraph and deferred
};

// An op of the iteration being replayed.
struct ReplayOp {
  int node = -1;  // the TraceGraph node it matched
  Attrs attrs;    // as called: floating-point values may differ from the node's
  // Per input, the tensor itself when the plan must take it as given: externals and outputs of
  // ops that ran in an earlier span (held, so they outlive Python's references).
  std::vector<Tensor> bound;
  // The storages of the outputs handed out; weak, so a flush can tell which ones anybody (Python,
  // autograd, a view) still holds.
  std::vector<std::weak_ptr<StorageImpl>> output_storages;
  bool ran_eagerly = false;  // a data-dependent op, run at call time
};

struct State {
  // Ops run by other threads are eager, but may read tensors this session deferred: their reads
  // flush under this lock (recursive: a flush inside an intercepted call reads again).
  std::recursive_mutex mutex;
  Options options;
  TraceGraph graph;
  Stats stats;
  IterationMode mode = IterationMode::Outside;
  uint32_t epoch = 0;
  uint32_t first_epoch = 1;  // tensors born before it were made before the session: parameters
  // Externals of the current iteration, by storage, in order of first use (InputSource::alias).
  std::unordered_map<const StorageImpl*, std::pair<std::weak_ptr<StorageImpl>, int>> external_class;

  Trace trace;  // Tracing: the records so far

  int cursor = 0;                      // Replaying: the last matched node
  std::vector<ReplayOp> ops;           // Replaying: this iteration's ops so far
  size_t span_begin = 0;               // first op whose work has not run
  std::vector<Storage> pending_bound;  // real storages that deferred writes made pending
  bool flushing = false;

  // Compiled plans by the span's shape, with the program as built (for dumps before the passes).
  struct CachedPlan {
    graph::Program before;
    graph::CompiledPlan plan;
    uint64_t last_use = 0;
  };
  // Bounded (a program whose spans keep changing shape would otherwise grow it without end); the
  // least recently used goes first.
  static constexpr size_t kMaxPlans = 64;
  std::map<std::vector<int64_t>, CachedPlan> plans;
  uint64_t flushes = 0;
  // Keys of gradient ops: (the Python location of backward(), the forward op's key).
  std::unordered_map<uint64_t, std::pair<uint64_t, uint64_t>> derived;

  explicit State(const Options& o) : options(o), graph(o.max_paths) {}
};

State& state();

// Runs the work of ops[span_begin..] (the validated span): builds the span's Program, compiles it
// (cached), runs it and leaves every tensor Python can reach materialized.
void run_span(State& s);

}  // namespace terra::trace::detail
