// The plan executor (executor.hpp). Values live in planned memory where the plan has placed them:
// a functional op whose outputs the dispatcher would allocate runs with dispatch_out into the
// arena or the caller's kept storage (the same kernel as eager, so the same bits). Ops that make
// their own outputs (views, composites) hand back tensors: views and op-allocated results are
// adopted as they are, and a fresh result on a Kept buffer is copied into the kept storage.
#include "engine/graph/executor.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "engine/autograd/grad_mode.hpp"
#include "engine/dispatch/dispatcher.hpp"
#include "engine/graph/analysis.hpp"
#include "engine/graph/tensor_on.hpp"
#include "engine/trace/suspend.hpp"
#include "kernels/cpu/parallel.hpp"
#include "tensor/spin_lock.hpp"
#include "terra_config.hpp"
#if TERRA_WITH_CUDA
#include "engine/graph/cuda_graph.hpp"
#include "kernels/cuda/fused_elementwise.hpp"
#endif

namespace terra::graph {

namespace {

struct Run {
  CompiledPlan& plan;  // run state only (prepared tensors, direct kernels) changes
  std::vector<Tensor> vals;
  std::vector<const Attrs*> runtime;

  const Attrs& attrs_of(const Step& s) const { return s.runtime_attrs >= 0 ? *runtime.at(s.runtime_attrs) : s.attrs; }

  std::vector<Tensor> tensors(const std::vector<int>& ids, size_t begin, size_t end) const {
    std::vector<Tensor> out;
    out.reserve(end - begin);
    for (size_t i = begin; i < end; ++i) out.push_back(ids[i] >= 0 ? vals[ids[i]] : Tensor());
    return out;
  }

  // Note [Direct kernel calls]: a step that writes fresh outputs goes through dispatch_out on its
  // first run, which infers its outputs again, casts inputs, checks shapes and picks the kernel.
  // All of that depends only on the step's metas and buffers, which are the plan's and the same
  // at every run, so when the first run shows there is nothing for the dispatcher to do (it says
  // so through direct_out_kernel, which keeps those rules in one place), later runs call the kernel
  // straight away: the same kernel on the same tensors, so results stay bitwise the dispatcher's.
  // An in-place step of a functional op (an optimizer's add_ and mul_) is dispatch_out into its
  // first input, and takes the same path. The direct calls made on one thread share one
  // KernelCall, whose lists keep their capacity from step to step: a step allocates nothing of its
  // own (one per thread: kernels may run side by side, Note [Steps side by side]).
  static KernelCall& direct_call() {
    thread_local KernelCall call;
    return call;
  }

  void fill(std::vector<Tensor>& out, const std::vector<int>& ids, size_t begin, size_t end) const {
    out.clear();
    for (size_t i = begin; i < end; ++i) out.push_back(ids[i] >= 0 ? vals[ids[i]] : Tensor());
  }

  // Runs the step's op on its inputs into the values out_ids[begin, end). True when the kernel was
  // called directly, which unlike dispatch_out leaves the outputs' versions alone.
  bool run_out(const Step& s, int index, const std::vector<int>& out_ids, size_t begin, size_t end) {
    const Attrs& attrs = attrs_of(s);
    std::optional<KernelFn>& direct = plan.direct[index];
    if (direct && *direct) {
      KernelCall& call = direct_call();
      call.op = s.op->name();
      fill(call.inputs, s.inputs, 0, s.inputs.size());
      fill(call.outputs, out_ids, begin, end);
      call.attrs = attrs;
      try {
        (*direct)(call);
      } catch (const Error& e) {
        throw e.with_context(s.op->name(), describe_inputs(call.inputs));
      }
      call.inputs.clear();  // the run's values hold what later steps need
      call.outputs.clear();
      return true;
    }
    std::vector<Tensor> inputs = tensors(s.inputs, 0, s.inputs.size());
    std::vector<Tensor> outs = tensors(out_ids, begin, end);
    if (!direct) direct = direct_out_kernel(*s.op, inputs, attrs, outs);  // the first run: the dispatcher's
    dispatch_out(*s.op, std::move(inputs), attrs, std::move(outs));
    return false;
  }

  void functional(const Step& s, int index) {
    const Program& p = plan.program;
    if (s.op->effect != Effect::InPlace && !s.op->kernel_makes_outputs) {
      run_out(s, index, s.outputs, 0, s.outputs.size());
      return;
    }
    std::vector<Tensor> results = dispatch(*s.op, tensors(s.inputs, 0, s.inputs.size()), attrs_of(s));
    for (size_t o = 0; o < s.outputs.size(); ++o) {
      const int v = s.outputs[o];
      const bool into_kept = plan.placement[p.values[v].buffer].where == Placement::Kept &&
                             fresh_output(p, s, static_cast<int>(o)) && !results[o].shares_storage(vals[v]);
      if (into_kept) {
        static const OpDef& copy = Registry::instance().get("copy_");
        dispatch(copy, {vals[v], results[o]}, make_attrs(copy, {}));
      } else {
        vals[v] = results[o];
      }
    }
  }

  // dispatch_inplace without autograd (plans run without it): an Effect::InPlace op (copy_,
  // fill_) dispatches as it is, any other writes its first input through dispatch_out, whose
  // version bump it keeps.
  Tensor inplace(const Step& s, int index) {
    if (s.op->effect == Effect::InPlace) return dispatch_inplace(*s.op, tensors(s.inputs, 0, s.inputs.size()), attrs_of(s));
    const Tensor self = vals[s.inputs.at(0)];
    if (run_out(s, index, s.inputs, 0, 1)) self.bump_version();
    return self;
  }

  void step(const Step& s, int index) {
    switch (s.form) {
      case trace::CallForm::Functional:
        return functional(s, index);
      case trace::CallForm::InPlace:
        vals[s.outputs.at(0)] = inplace(s, index);
        return;
      case trace::CallForm::Out: {
        const size_t first = first_out_input(s);
        std::vector<Tensor> outs = tensors(s.inputs, first, s.inputs.size());
        dispatch_out(*s.op, tensors(s.inputs, 0, first), attrs_of(s), outs);
        for (size_t o = 0; o < s.outputs.size(); ++o) vals[s.outputs[o]] = outs[o];
        return;
      }
    }
  }

  void group(const FusedGroup& g) {
    std::vector<Tensor> inputs = tensors(g.inputs, 0, g.inputs.size());
    try {
#if TERRA_WITH_CUDA
      // A CUDA group's generated kernel (cuda_fusion.cpp), launched on the current stream.
      if (g.cuda_kernel) return g.cuda_kernel->run(inputs, tensors(g.outputs, 0, g.outputs.size()));
#endif
      g.kernel->run(inputs, tensors(g.outputs, 0, g.outputs.size()));
    } catch (const Error& e) {
      std::string ops;
      for (int s : g.steps) ops += (ops.empty() ? "" : ", ") + plan.program.steps[s].op->name();
      throw e.with_context("fused(" + ops + ")", describe_inputs(inputs));
    }
  }
};

// Note [Arena per run]: a plan's arenas (one per device, memory_plan.cpp) hold only values that
// die within one run (Internal buffers), so each is taken from its device's caching allocator at
// the start of each run and given back at the end. Plans run one at a time, so the plans of a
// replayed program share the same cached blocks, and memory the plans do not use between runs is
// free for eager work, as eager's own intermediates are: a program's peak is then its largest
// plan, not the sum of all plans ever compiled. The allocator hands the same blocks back run after
// run, so the tensors over the arenas (CompiledPlan::prepared) are remade only when a run's arenas
// land at other addresses.
class Arenas {
 public:
  explicit Arenas(CompiledPlan& plan) : storage_(plan.arena_storage) {
    const std::vector<ArenaSize>& sizes = plan.stats.arenas;
    storage_.resize(sizes.size());
    try {
      for (size_t a = 0; a < sizes.size(); ++a) storage_[a] = std::make_shared<StorageImpl>(sizes[a].bytes, sizes[a].device);
    } catch (...) {
      release();  // out of memory for a later arena: give the earlier ones back
      throw;
    }
  }
  ~Arenas() { release(); }
  Arenas(const Arenas&) = delete;
  Arenas& operator=(const Arenas&) = delete;

 private:
  void release() {
    for (Storage& s : storage_) s.reset();
  }
  std::vector<Storage>& storage_;
};

void prepare(CompiledPlan& plan) {
  const std::vector<Storage>& arenas = plan.arena_storage;
  bool same = plan.prepared_once;
  for (size_t a = 0; same && a < arenas.size(); ++a) same = arenas[a]->data_unsynced() == plan.prepared_bases[a];
  if (same) return;
  const Program& p = plan.program;
  std::vector<Storage> buffer_storage(p.buffers.size());
  for (size_t b = 0; b < p.buffers.size(); ++b) {
    const BufferPlacement& bp = plan.placement[b];
    if (bp.where != Placement::Arena) continue;
    // One storage per buffer (views and version counters work per buffer); the arena owns the bytes.
    char* at = static_cast<char*>(arenas[bp.arena]->data_unsynced()) + bp.offset;
    buffer_storage[b] = std::make_shared<StorageImpl>(at, p.buffers[b].nbytes, p.buffers[b].device, [] {});
  }
  plan.prepared.assign(p.values.size(), Tensor());
  for (size_t v = 0; v < p.values.size(); ++v) {
    const Value& val = p.values[v];
    if (val.constant >= 0) plan.prepared[v] = p.constants[val.constant];
    else if (buffer_storage[val.buffer]) plan.prepared[v] = tensor_on(buffer_storage[val.buffer], val.meta);
  }
  plan.prepared_bases.clear();
  for (const Storage& a : arenas) plan.prepared_bases.push_back(a->data_unsynced());
  plan.prepared_once = true;
}

// Checks what the caller hands in and settles the kept storages (settle_kept).
void check_inputs(const CompiledPlan& plan, const std::vector<Tensor>& bound, const std::vector<Storage>& kept,
                  bool settle_kept) {
  const Program& p = plan.program;
  TERRA_CHECK(static_cast<int>(bound.size()) == p.num_bound, Runtime, "graph plan: expected ", p.num_bound,
              " bound tensors, got ", bound.size());
  TERRA_CHECK(static_cast<int>(kept.size()) == p.num_kept, Runtime, "graph plan: expected ", p.num_kept,
              " kept storages, got ", kept.size());
  for (int v = 0; v < p.num_bound; ++v) {
    const trace::ValueMeta& m = p.values[v].meta;
    TERRA_CHECK(bound[v].defined() && bound[v].shape() == m.shape && bound[v].dtype() == m.dtype, Runtime,
                "graph plan: bound input ", v, " should be ", dtype_name(m.dtype), shape_str(m.shape), ", got ",
                bound[v].defined() ? bound[v].describe() : std::string("nothing"));
  }
  for (const Buffer& b : p.buffers)
    if (b.kind == BufferKind::Kept)
      TERRA_CHECK(kept[b.index]->nbytes() >= b.nbytes, Runtime, "graph plan: kept storage ", b.index, " has ",
                  kept[b.index]->nbytes(), " bytes, the plan needs ", b.nbytes);
  if (settle_kept)
    for (const Storage& s : kept) s->set_pending(false);  // allocated by the run (kept_by_first_use)
}

void bind_inputs(const CompiledPlan& plan, const std::vector<Tensor>& bound, const std::vector<Storage>& kept, Run& run) {
  const Program& p = plan.program;
  for (int v = 0; v < p.num_bound; ++v) run.vals[v] = bound[v];
  for (size_t v = 0; v < p.values.size(); ++v) {
    const Buffer& b = p.buffers[p.values[v].buffer];
    if (b.kind == BufferKind::Kept) run.vals[v] = tensor_on(kept[b.index], p.values[v].meta);
  }
}

// Note [Kept memory when first written]: a kept storage gets its memory when the run reaches the
// first kernel that touches its buffer, as an eager op's output would, not all at the start of
// the run: gradients and updated state would otherwise sit beside every forward intermediate.
// (Runs that may be CUDA graphs allocate them all first: a replay writes them all at its end.)
std::vector<std::pair<int, StorageImpl*>> kept_by_first_use(const CompiledPlan& plan, const std::vector<Storage>& kept) {
  std::vector<std::pair<int, StorageImpl*>> order;
  for (size_t b = 0; b < plan.program.buffers.size(); ++b) {
    const Buffer& buffer = plan.program.buffers[b];
    if (buffer.kind == BufferKind::Kept) order.push_back({plan.placement[b].first, kept[buffer.index].get()});
  }
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return order;
}

// How far a run got: the kept storages in order of first use, how many have memory, and the
// schedule position the next piece starts at.
struct Progress {
  std::vector<std::pair<int, StorageImpl*>> to_allocate;
  size_t allocated = 0;
  size_t next = 0;
  double seconds = 0;         // spent in its pieces so far
  bool in_order = false;      // a kernel that could have gone side by side ran in order
  bool side_by_side = false;  // some piece ran kernels side by side
};

// Runs schedule position i.
void run_position(const CompiledPlan& plan, Run& run, size_t i) {
  const Kernel& k = plan.schedule[i];
  try {
    if (k.group >= 0) run.group(plan.groups[k.group]);
    else run.step(plan.program.steps[k.step], k.step);
  } catch (const Error& e) {
    const Step& failed = plan.program.steps[k.group >= 0 ? plan.groups[k.group].steps.front() : k.step];
    throw StepError(e, failed.location);
  }
}

// Gives memory to the kept storages first used at or before schedule position `last`.
void allocate_kept_through(Progress& st, size_t last) {
  for (; st.allocated < st.to_allocate.size() && st.to_allocate[st.allocated].first <= static_cast<int>(last);
       ++st.allocated)
    st.to_allocate[st.allocated].second->allocate();
}

// Note [Steps side by side] (side_by_side.cpp): positions [begin, end) of one stretch run on the
// pool's threads, each once the positions it waits for have run. A failed kernel stops the others
// from starting more; the error of the earliest failed position is raised, as running in order
// would have raised it.
void run_side_by_side(const CompiledPlan& plan, Run& run, size_t begin, size_t end) {
  const SideBySide& order = plan.side_by_side;
  const size_t n = end - begin;
  std::unique_ptr<std::atomic<int>[]> waiting(new std::atomic<int>[n]);
  std::vector<int> queue(n);  // positions whose waits are over, in the order they became ready
  size_t head = 0, tail = 0;
  SpinLock queue_lock;
  for (size_t i = begin; i < end; ++i) {
    int w = 0;
    for (int j : order.waits_for[i]) w += j >= static_cast<int>(begin);
    waiting[i - begin].store(w, std::memory_order_relaxed);
    if (w == 0) queue[tail++] = static_cast<int>(i);
  }
  std::atomic<size_t> finished{0};
  std::atomic<bool> failed{false};
  std::mutex error_lock;
  std::exception_ptr error;
  size_t error_at = end;
  cpu::parallel_for(0, cpu::num_threads(), 1, [&](int64_t, int64_t) {
    // The caller's thread runs under these already (Execution::run_until); the pool's do not.
    GradModeGuard no_grad(false);
    trace::SuspendTracing no_trace;
    RunningDeferredWork reads_its_own_pending_inputs;
    FreezeVersions counted_when_issued;
    for (unsigned idle = 0;;) {
      int i = -1;
      {
        std::lock_guard<SpinLock> hold(queue_lock);
        if (head < tail) i = queue[head++];
      }
      if (i < 0) {
        if (failed.load(std::memory_order_relaxed) || finished.load(std::memory_order_acquire) == n) return;
        if (++idle < 64) cpu_relax();
        else std::this_thread::yield();
        continue;
      }
      idle = 0;
      try {
        run_position(plan, run, i);
      } catch (...) {
        std::lock_guard<std::mutex> hold(error_lock);
        if (static_cast<size_t>(i) < error_at) {
          error = std::current_exception();
          error_at = i;
        }
        failed.store(true, std::memory_order_relaxed);
      }
      for (int j : order.unblocks[i])
        if (static_cast<size_t>(j) < end && waiting[j - begin].fetch_sub(1, std::memory_order_acq_rel) == 1) {
          std::lock_guard<SpinLock> hold(queue_lock);
          queue[tail++] = j;
        }
      finished.fetch_add(1, std::memory_order_acq_rel);
    }
  });
  if (error) std::rethrow_exception(error);
}

// Whether a run may put kernels side by side (Note [Steps side by side]): a CPU plan that ran in
// order before (its direct kernels are known); told to, or wide enough, slow enough in order for
// hand-offs to pay (the second run on: the first also finds the direct kernels), and not slower
// side by side than in order so far (the fastest whole runs of each way compared: timings on a
// busy host only ever come out too slow).
bool may_run_side_by_side(const CompiledPlan& plan) {
  const int setting = plan.options.side_by_side;
  const SideBySideTimes& runs = plan.side_by_side_times;
  if (setting == 0 || plan.side_by_side.alone.empty() || runs.in_order == 0) return false;
  if (setting == 1) return true;
  if (plan.side_by_side.width < kMinWidth || runs.in_order < 2 || runs.fastest_in_order < kMinSideBySideSeconds)
    return false;
  return runs.side_by_side == 0 || runs.fastest_side_by_side <= runs.fastest_in_order;
}

// Runs the schedule from `st.next` up to `end`; kept storages get their memory when the run
// reaches their first kernel (or the stretch of side-by-side kernels it is in). Kernels go side by
// side whenever the thread may use two (cpu::usable_threads): the graph actor leaves the
// interpreter's core alone while Python runs beside it, and takes it as soon as Python waits,
// also in the middle of a stretch (what ran of it in order is done; the rest goes side by side).
void run_kernels(CompiledPlan& plan, Run& run, Progress& st, size_t end) {
  const bool may = may_run_side_by_side(plan);
  const auto start = std::chrono::steady_clock::now();
  while (st.next < end) {
    const size_t i = st.next;
    if (may && !plan.side_by_side.alone[i] && cpu::usable_threads() >= 2) {
      size_t stop = i + 1;
      while (stop < end && !plan.side_by_side.alone[stop]) ++stop;
      if (stop - i >= 2) {
        allocate_kept_through(st, stop - 1);
        run_side_by_side(plan, run, i, stop);
        st.next = stop;
        st.side_by_side = true;
        continue;
      }
    }
    allocate_kept_through(st, i);
    run_position(plan, run, i);
    ++st.next;
    if (!plan.side_by_side.alone.empty() && !plan.side_by_side.alone[i]) st.in_order = true;  // lone ones always are
  }
  st.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (st.next == plan.schedule.size()) {
    for (; st.allocated < st.to_allocate.size(); ++st.allocated) st.to_allocate[st.allocated].second->allocate();
    SideBySideTimes& runs = plan.side_by_side_times;
    if (!st.side_by_side) {
      // The first run in order finds the direct kernels: its time is not the plan's.
      if (runs.in_order++ > 0 && (runs.in_order == 2 || st.seconds < runs.fastest_in_order))
        runs.fastest_in_order = st.seconds;
    } else if (!st.in_order) {
      if (runs.side_by_side++ == 0 || st.seconds < runs.fastest_side_by_side) runs.fastest_side_by_side = st.seconds;
    }
    if (st.side_by_side) plan.stats.side_by_side_runs++;
  }
}

}  // namespace

// The state a run keeps between pieces: the arenas, the values, and how far the schedule got.
struct Execution::State {
  State(CompiledPlan& plan, std::vector<const Attrs*> runtime_attrs)
      : arenas(plan), run{plan, {}, std::move(runtime_attrs)} {}
  Arenas arenas;
  Run run;
  std::vector<Tensor> bound;  // kept for a run as a CUDA graph, which binds them itself
  std::vector<Storage> kept;
  Progress progress;
};

Execution::Execution(CompiledPlan& plan, const std::vector<Tensor>& bound, const std::vector<Storage>& kept,
                     std::vector<const Attrs*> runtime_attrs, bool settle_kept) {
  RunningDeferredWork reads_its_own_pending_inputs;
  check_inputs(plan, bound, kept, settle_kept);
  state_ = std::make_unique<State>(plan, std::move(runtime_attrs));
  prepare(plan);
  if (plan.direct.size() != plan.program.steps.size()) {  // the first run
    plan.direct.assign(plan.program.steps.size(), std::nullopt);
#if TERRA_WITH_CUDA
    if (plan.options.cuda_graphs && plan.cuda_graph_blocker.empty()) plan.cuda_graphs = make_cuda_graphs(plan);
#endif
  }
  state_->run.vals = plan.prepared;
  bind_inputs(plan, bound, kept, state_->run);
  state_->progress.to_allocate = kept_by_first_use(plan, kept);
#if TERRA_WITH_CUDA
  if (plan.cuda_graphs) {
    state_->bound = bound;
    state_->kept = kept;
  }
#endif
}

Execution::~Execution() = default;

void Execution::run_until(size_t end) {
  RunningDeferredWork reads_its_own_pending_inputs;
  trace::SuspendTracing no_trace;
  GradModeGuard no_grad(false);
  State& st = *state_;
  CompiledPlan& plan = st.run.plan;
  end = std::min(end, plan.schedule.size());
#if TERRA_WITH_CUDA
  // A run that may be a CUDA graph is one piece: the whole schedule is captured or replayed.
  if (plan.cuda_graphs && st.progress.next == 0 && end > 0) {
    // A replay copies every kept value out at its end, so they all get their memory first.
    for (const auto& [first, storage] : st.progress.to_allocate) storage->allocate();
    st.progress.allocated = st.progress.to_allocate.size();
    run_with_cuda_graphs(plan, st.bound, st.kept, [&](const std::vector<Tensor>& b, const std::vector<Storage>& k) {
      Run run{plan, plan.prepared, st.run.runtime};
      bind_inputs(plan, b, k, run);
      Progress all;
      run_kernels(plan, run, all, plan.schedule.size());
    });
    st.progress.next = plan.schedule.size();
    return;
  }
#endif
  run_kernels(plan, st.run, st.progress, end);
}

bool Execution::finished() const { return state_->progress.next >= state_->run.plan.schedule.size(); }

int last_write_of_kept(const CompiledPlan& plan, int kept_slot) {
  const Program& p = plan.program;
  const auto on_it = [&](const std::vector<int>& values) {
    return std::any_of(values.begin(), values.end(), [&](int v) {
      const Buffer& b = p.buffers[p.values[v].buffer];
      return b.kind == BufferKind::Kept && b.index == kept_slot;
    });
  };
  for (int i = static_cast<int>(plan.schedule.size()) - 1; i >= 0; --i) {
    const Kernel& k = plan.schedule[i];
    if (on_it(k.group >= 0 ? plan.groups[k.group].outputs : p.steps[k.step].outputs)) return i;
  }
  return -1;
}

void run(CompiledPlan& plan, const std::vector<Tensor>& bound, const std::vector<Storage>& kept,
         const std::vector<const Attrs*>& runtime_attrs, bool settle_kept) {
  Execution(plan, bound, kept, runtime_attrs, settle_kept).run_until(plan.schedule.size());
}

}  // namespace terra::graph
