#include "engine/trace/span_job.hpp"

#include "engine/graph/executor.hpp"

namespace terra::trace {

void SpanJob::run() noexcept {
  // Compiling (constant folding runs ops) and running read what earlier jobs wrote, as it is.
  RunningDeferredWork reads_pending_inputs;
  if (const std::shared_ptr<const SpanJob> before = std::move(previous); before && before->error) {
    error = before->error;
    done.store(true, std::memory_order_release);
    return;
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
    const auto t0 = std::chrono::steady_clock::now();
    FreezeVersions counted_when_issued;
    const graph::PlanStats& st = plan->plan->stats;
    const int captures = st.cuda_graph_captures, replays = st.cuda_graph_replays;
    graph::run(*plan->plan, bound, outputs, attrs, /*settle_kept=*/false);
    cuda_graph_captures = st.cuda_graph_captures - captures;
    cuda_graph_replays = st.cuda_graph_replays - replays;
    run_seconds = seconds_since(t0);
  } catch (...) {
    error = std::current_exception();
  }
  done.store(true, std::memory_order_release);
}

}  // namespace terra::trace
