// The CPU plan executor (DESIGN.md §8). Every step that is not fused runs through the eager
// dispatcher (dispatch, dispatch_inplace, dispatch_out) on real tensors, with tracing suspended and
// autograd off, so with fusion off every result is bitwise equal to eager execution of the same
// ops in the same order. Fused groups run their fused kernel.
#pragma once
#include <memory>
#include <vector>

#include "engine/graph/plan.hpp"

namespace terra::graph {

// A kernel's error inside a run, with the location key of the op call whose step failed (the
// session turns it into the user's source line).
struct StepError : Error {
  StepError(const Error& e, uint64_t call_location) : Error(e), location(call_location) {}
  uint64_t location;
};

// `bound`: the tensors bound to the program's inputs, in binding order; `kept`: the pending
// storages of the Kept buffers, by slot. Each kept storage is allocated when the run first touches
// it, then written; with `settle_kept` it is marked not pending before the run (a caller whose
// work is queued behind other work, co-execution, settles them itself once the queue drained).
// Pending inputs are read as they are: the caller ran (or queued) their producers first. A kernel's error comes back as terra::Error naming the op.
// `runtime_attrs`: the attributes of steps with a runtime_attrs slot, by slot.
void run(CompiledPlan& plan, const std::vector<Tensor>& bound, const std::vector<Storage>& kept,
         const std::vector<const Attrs*>& runtime_attrs = {}, bool settle_kept = true);

// A run taken in pieces, as `run` with the same arguments: the session runs a span's first
// kernels on Python's thread, up to what a fetch reads, and the graph actor runs the rest (Note
// [A fetch runs only what it reads] in engine/trace/span_runner.cpp). Pieces may run on different
// threads, one at a time; the plan and the arena are the run's until it is destroyed.
class Execution {
 public:
  Execution(CompiledPlan& plan, const std::vector<Tensor>& bound, const std::vector<Storage>& kept,
            std::vector<const Attrs*> runtime_attrs, bool settle_kept);
  ~Execution();
  Execution(const Execution&) = delete;
  Execution& operator=(const Execution&) = delete;
  // Runs the schedule from where the last piece stopped up to position `end` (at most its size).
  void run_until(size_t end);
  bool finished() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The last schedule position whose outputs lie on the buffer of kept slot `kept_slot` (a view of
// it counts, to be safe; -1 when none): once the run got past it, the storage holds its final
// value for this run.
int last_write_of_kept(const CompiledPlan& plan, int kept_slot);

}  // namespace terra::graph
