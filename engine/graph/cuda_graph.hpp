// Running a plan as a CUDA graph (Note [CUDA graph replay] in graph_replay.hpp): the executor
// hands over the run's inputs and a function that runs every kernel of the plan once on given
// bound tensors and kept storages; this decides (ReplayPolicy) whether to call it plainly,
// capture it over the graph's own copies of the moving inputs and of the kept storages, or
// launch a graph captured before, on the thread's own stream (tensor/cuda/graph_capture.hpp).
// Built with CUDA only.
#pragma once
#include "terra_config.hpp"
#if TERRA_WITH_CUDA
#include <functional>

#include "engine/graph/graph_replay.hpp"

namespace terra::graph {

// Made on a plan's first run when cuda_graph_blocker(plan) is empty.
std::shared_ptr<CudaGraphs> make_cuda_graphs(const CompiledPlan& plan);

using RunKernels = std::function<void(const std::vector<Tensor>& bound, const std::vector<Storage>& kept)>;

// One run of `plan` (whose cuda_graphs is set) on `bound` and `kept` (all allocated). A capture
// that fails (a kernel that synchronizes or copies to or from the host, memory that outlives the
// run) is dropped and the run made plainly: nothing ran while capturing. Errors of a plain run
// propagate.
void run_with_cuda_graphs(CompiledPlan& plan, const std::vector<Tensor>& bound, const std::vector<Storage>& kept,
                          const RunKernels& run_kernels);

}  // namespace terra::graph
#endif
