// CUDA graph capture and replay of plan runs (cuda_graph.hpp).
#include "engine/graph/cuda_graph.hpp"

#if TERRA_WITH_CUDA
#include "tensor/cuda/graph_capture.hpp"

namespace terra::graph {

class CudaGraphs {
 public:
  ReplayPolicy policy;
  std::array<std::unique_ptr<cuda::CapturedGraph>, ReplayPolicy::kSlots> graphs;
};

std::shared_ptr<CudaGraphs> make_cuda_graphs() { return std::make_shared<CudaGraphs>(); }

namespace {

// Captures `run_kernels`; null (and the capture ended) when it failed, with the reason in `why`.
std::unique_ptr<cuda::CapturedGraph> capture(const std::function<void()>& run_kernels, std::string& why) {
  cuda::begin_capture();
  std::string ignored;
  try {
    run_kernels();
  } catch (const Error& e) {
    (void)cuda::end_capture(ignored);  // a partial graph: dropped
    why = e.what();
    return nullptr;
  } catch (...) {
    (void)cuda::end_capture(ignored);
    throw;
  }
  return cuda::end_capture(why);
}

}  // namespace

void run_with_cuda_graphs(CompiledPlan& plan, const ReplayKey& key, const std::function<void()>& run_kernels) {
  cuda::on_own_stream([&] {
    CudaGraphs& g = *plan.cuda_graphs;
    const ReplayPolicy::Decision d = g.policy.next(key);
    switch (d.action) {
      case ReplayPolicy::Action::Plain:
        return run_kernels();
      case ReplayPolicy::Action::GiveUp:
        g.graphs = {};
        plan.cuda_graph_blocker =
            "its addresses kept changing (" + std::to_string(ReplayPolicy::kMaxCaptures) + " captures)";
        return run_kernels();
      case ReplayPolicy::Action::Replay:
        g.graphs[d.slot]->launch();
        ++plan.stats.cuda_graph_replays;
        return;
      case ReplayPolicy::Action::Capture: {
        std::string why;
        g.graphs[d.slot] = capture(run_kernels, why);
        if (!g.graphs[d.slot]) {
          g.policy.capture_failed();
          g.graphs = {};
          plan.cuda_graph_blocker = "capture failed: " + why;
          return run_kernels();
        }
        ++plan.stats.cuda_graph_captures;
        g.graphs[d.slot]->launch();  // capturing ran nothing
        return;
      }
    }
  });
}

}  // namespace terra::graph
#endif
