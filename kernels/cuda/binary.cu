// CUDA kernels of the elementwise binary ops (kernels/common/elementwise_ops.def lists them; the
// CPU kernels use the same functors) and where(). Integer division by zero: see Note [Integer
// division by zero on CUDA] in elementwise.cuh.
#include "kernels/cuda/elementwise.cuh"

namespace terra::cuda {

namespace {

template <class T>
struct Select {
  TERRA_HD T operator()(bool condition, T a, T b) const { return condition ? a : b; }
};

void where_kernel(KernelCall& c) {
  dispatch_dtype(c.inputs[1].dtype(), [&](auto tag) {
    using T = decltype(tag);
    elementwise<T, bool, T, T>(c.outputs[0], {c.inputs[0], c.inputs[1], c.inputs[2]}, Select<T>{});
  });
}

}  // namespace

#define TERRA_BINARY_OP(op, F) TERRA_KERNEL(op, CUDA, (elementwise_kernels::binary<CudaLoops, math::F>));
#include "kernels/common/elementwise_ops.def"
#undef TERRA_BINARY_OP
TERRA_KERNEL(where, CUDA, where_kernel);

}  // namespace terra::cuda
