// A validated span of replayed ops, packed to run anywhere: the plan (compiled on its first run),
// the tensors bound to its inputs, the storages it writes for Python, and the floating-point
// attributes of this run. Replay runs a job at once on Python's thread; co-execution queues it on
// the graph actor (actors/graph_actor.hpp) and Python goes on (DESIGN.md §9).
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <vector>

#include "engine/graph/compile.hpp"
#include "engine/graph/executor.hpp"
#include "engine/graph/plan.hpp"
#include "engine/graph/program.hpp"

namespace terra::trace {

// Seconds from `start` to now (the session's and the jobs' timings).
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One shape of span: the Program as built, and its plan once some run has compiled it. Shared by
// the session's plan cache and the jobs queued with it; only the thread that runs jobs compiles.
struct PlanSlot {
  graph::Program before;
  graph::CompileOptions options;
  std::optional<graph::CompiledPlan> plan;
  // The fewest seconds a retired job of this shape took to run (-1: none retired yet); the least
  // is what the span costs, later runs only add interruptions. Python's thread reads and writes it.
  double fastest_run_seconds = -1;
};

struct SpanJob {
  uint64_t seq = 0;  // 1, 2, ... in issue order; jobs run in this order
  uint32_t iteration = 0;
  int num_ops = 0;
  std::shared_ptr<PlanSlot> plan;
  std::vector<Tensor> bound;
  // Held weakly: a reference of the engine's must not change what Python sees (autograd keeps a
  // gradient's buffer as .grad only when nothing else holds it). One nobody holds any more when
  // the job runs is written to a scratch storage instead.
  struct Kept {
    std::weak_ptr<StorageImpl> storage;
    size_t nbytes = 0;
    Device device;
  };
  std::vector<Kept> kept;
  std::vector<Attrs> runtime_attrs;  // copies: the ops they came from may be gone when it runs
  // The job issued just before this one, held until this one runs. When it failed (or was skipped
  // for a failure before it), this one is skipped with the same error: eager execution never got
  // past the failing op, so nothing issued after it may run (its in-place updates would land, and
  // it may read outputs the failed job never wrote).
  std::shared_ptr<const SpanJob> previous;

  // Written by the thread that ran it, read by Python's thread once `done` is seen.
  std::atomic<bool> done{false};
  // Whoever claims a job runs it: the graph actor when it gets there first, or the interpreter
  // when it must wait for a job the actor has not started (it runs it itself, no hand-off).
  std::atomic<bool> claimed{false};
  bool claim() { return !claimed.exchange(true, std::memory_order_acq_rel); }
  std::exception_ptr error;
  double compile_seconds = 0;  // this job compiled the plan: what that took, and what it built
  int fused_groups = 0, nvrtc_kernels = 0;
  int cuda_graph_captures = 0, cuda_graph_replays = 0;  // by this run (Note [CUDA graph replay])
  int side_by_side_runs = 0;  // 1 when this run put kernels side by side (Note [Steps side by side])
  double run_seconds = 0;

  // Compiles the plan if no run did yet, then runs it (what is left of it, when a first piece ran
  // already). Never throws: an error is kept in `error` (raised on Python's thread at the next
  // sync point, DESIGN.md §11). An input whose deferred computation never ran (its job failed
  // before a sync raised the error) is an error too. A job that is done returns at once.
  void run() noexcept { run_until(SIZE_MAX); }
  // Runs the plan's schedule up to position `end` (Note [A fetch runs only what it reads]): the
  // session's first piece, on Python's thread, before anybody else can see the job.
  void run_until(size_t end) noexcept;
  // The schedule position after which the kept storage `st` holds this job's final value, with
  // the plan compiled first when no run did yet; -1 when it is not one of the job's kept storages,
  // no kernel writes it, or the job failed. Only before the job is handed to anybody.
  int written_by(const StorageImpl& st) noexcept;

 private:
  // Compiles the plan if needed and binds the run; false when the job is done (an error).
  bool start() noexcept;
  void fail(std::exception_ptr e) noexcept;
  std::unique_ptr<graph::Execution> execution;  // between the first piece and the end
};

// Where jobs run. Jobs run one at a time in submission order.
class SpanExecutor {
 public:
  virtual ~SpanExecutor() = default;
  virtual void submit(std::shared_ptr<SpanJob> job) = 0;
  // Returns once every job of `jobs` has run: the jobs submitted and not yet retired, oldest
  // first (the session keeps them; an executor needs no list of its own).
  virtual void wait(const std::deque<std::shared_ptr<SpanJob>>& jobs) = 0;
  // Whether jobs run on another thread (co-execution) or at submit (replay).
  virtual bool asynchronous() const = 0;
};

// Runs each job at submit, on the caller's thread.
class InlineExecutor final : public SpanExecutor {
 public:
  void submit(std::shared_ptr<SpanJob> job) override { job->run(); }
  void wait(const std::deque<std::shared_ptr<SpanJob>>&) override {}
  bool asynchronous() const override { return false; }
};

}  // namespace terra::trace
