#include "engine/trace/span_job.hpp"

#include "engine/graph/executor.hpp"

namespace terra::trace {

void SpanJob::fail(std::exception_ptr e) noexcept {
  error = std::move(e);
  execution.reset();
  done.store(true, std::memory_order_release);
}

bool SpanJob::start() noexcept {
  if (execution) return true;
  if (done.load(std::memory_order_acquire)) return false;
  // Compiling (constant folding runs ops) and running read what earlier jobs wrote, as it is.
  RunningDeferredWork reads_pending_inputs;
  if (const std::shared_ptr<const SpanJob> before = std::move(previous); before && before->error) {
    fail(before->error);
    return false;
  }
  try {
    for (const Tensor& t : bound)
      TERRA_CHECK(t.storage()->allocated(), Runtime,
                  "a tensor this computation reads was never computed (an earlier error stopped its computation)");
    if (!plan->plan) {
      plan->plan = graph::compile(graph::Program(plan->before), plan->options);
      compile_seconds = plan->plan->stats.compile_seconds;
      fused_groups = plan->plan->stats.fused_groups;
      nvrtc_kernels = plan->plan->stats.nvrtc_kernels;
    }
    std::vector<const Attrs*> attrs;
    attrs.reserve(runtime_attrs.size());
    for (const Attrs& a : runtime_attrs) attrs.push_back(&a);
    std::vector<Storage> outputs;
    outputs.reserve(kept.size());
    for (const Kept& k : kept) {
      Storage st = k.storage.lock();
      if (!st) st = std::make_shared<StorageImpl>(k.nbytes, k.device, StorageImpl::Deferred{});
      outputs.push_back(std::move(st));
    }
    execution = std::make_unique<graph::Execution>(*plan->plan, bound, outputs, attrs, /*settle_kept=*/false);
    return true;
  } catch (...) {
    fail(std::current_exception());
    return false;
  }
}

void SpanJob::run_until(size_t end) noexcept {
  if (!start()) return;
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const graph::PlanStats& st = plan->plan->stats;
    const int captures = st.cuda_graph_captures, replays = st.cuda_graph_replays, side = st.side_by_side_runs;
    {
      FreezeVersions counted_when_issued;
      execution->run_until(end);
    }
    cuda_graph_captures += st.cuda_graph_captures - captures;
    cuda_graph_replays += st.cuda_graph_replays - replays;
    side_by_side_runs += st.side_by_side_runs - side;
    run_seconds += seconds_since(t0);
  } catch (...) {
    return fail(std::current_exception());
  }
  if (!execution->finished()) return;
  execution.reset();  // gives the arena back before anybody sees the job done
  done.store(true, std::memory_order_release);
}

int SpanJob::written_by(const StorageImpl& st) noexcept {
  if (!start()) return -1;
  for (size_t slot = 0; slot < kept.size(); ++slot)
    if (kept[slot].storage.lock().get() == &st) return graph::last_write_of_kept(*plan->plan, static_cast<int>(slot));
  return -1;
}

}  // namespace terra::trace
