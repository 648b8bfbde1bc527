// CUDA kernels of the elementwise unary ops: the generic unary launcher over each op's functor
// (kernels/common/elementwise_ops.def lists them; the CPU kernels use the same functors).
#include "kernels/cuda/elementwise.cuh"

namespace terra::cuda {

#define TERRA_UNARY_OP(op, F) TERRA_KERNEL(op, CUDA, (elementwise_kernels::unary<CudaLoops, math::F>));
#include "kernels/common/elementwise_ops.def"
#undef TERRA_UNARY_OP

}  // namespace terra::cuda
