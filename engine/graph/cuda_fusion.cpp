// The CUDA side of elementwise fusion (passes.hpp): a group whose values live on the GPU gets the
// CUDA C++ form of its program (kernels/fused_codegen.hpp) compiled with NVRTC here, when the
// plan is built, so its first run only loads it. With check_all (TERRA_CHECK_NVRTC=1) every CPU
// group is generated and compiled too, which is how CI, without a GPU, shows that every fused
// kernel of the program corpus compiles; NVRTC's cache makes a group seen before free.
#include "engine/graph/passes.hpp"
#include "terra_config.hpp"
#if TERRA_WITH_CUDA
#include "kernels/cuda/fused_elementwise.hpp"
#endif

namespace terra::graph {

#if TERRA_WITH_CUDA

namespace {

std::string describe_group(const Program& p, const FusedGroup& g, int index) {
  std::string ops;
  for (int s : g.steps) ops += (ops.empty() ? "" : ", ") + p.steps[s].op->name();
  return "fused group " + std::to_string(index) + " (" + dtype_name(g.dtype) + shape_str(g.shape) + ": " + ops + ")";
}

}  // namespace

int compile_cuda_kernels(const Program& p, std::vector<FusedGroup>& groups, bool check_all) {
  int compiled = 0;
  for (int i = 0; i < static_cast<int>(groups.size()); ++i) {
    FusedGroup& g = groups[i];
    const bool on_cuda = p.values[g.outputs.at(0)].meta.device.is_cuda();
    if (!on_cuda && !check_all) continue;
    std::vector<fused::InputKind> inputs;
    for (int in : g.inputs) inputs.push_back({p.values[in].meta.dtype, shape_numel(p.values[in].meta.shape) == 1});
    auto kernel = std::make_shared<const cuda::FusedKernel>(g.kernel, std::move(inputs), describe_group(p, g, i));
    g.cuda_hash = kernel->hash();
    if (on_cuda) g.cuda_kernel = std::move(kernel);
    ++compiled;
  }
  return compiled;
}

#else

int compile_cuda_kernels(const Program&, std::vector<FusedGroup>&, bool) { return 0; }  // no CUDA groups exist

#endif

}  // namespace terra::graph
