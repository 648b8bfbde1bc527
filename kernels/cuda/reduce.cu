// CUDA kernels of the reductions and of cumsum: the shared kernels of
// kernels/common/reduce_kernels.hpp on the GPU's engine (reduce.cuh). cumsum runs one thread per
// scan, each summing its scan in order in the CPU's accumulator type, so its results are the
// CPU's bit for bit.
#include "kernels/common/reduce_kernels.hpp"
#include "kernels/cuda/reduce.cuh"

namespace terra::cuda {
namespace {

// Scan k starts at offsets_of(kept, k); its n elements are s apart in the input, os in the output.
template <class T, class Out>
__global__ void scan_kernel(const T* in, Out* out, ReduceDims kept, int64_t scans, int64_t n, int64_t s, int64_t os) {
  using Acc = math::reduce_acc_t<T>;
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < scans; k += step) {
    const ReduceOffsets b = offsets_of(kept, k);
    Acc a = 0;
    for (int64_t r = 0; r < n; ++r) {
      a = math::wrap_add(a, static_cast<Acc>(in[b.in + r * s]));
      out[b.out + r * os] = static_cast<Out>(a);
    }
  }
}

struct CudaReduce {
  template <class Op>
  static void reduce(const Tensor& in, const std::vector<bool>& mask, const Op& op) {
    cuda::reduce(in, mask, op);
  }
  template <class T, class Out>
  static void scan(const Tensor& in, const Tensor& out, int64_t dim) {
    std::vector<bool> mask(in.dim(), false);
    if (in.dim() > 0) mask[dim] = true;
    const cpu::ReducePlan p = cpu::make_reduce_plan(in.shape(), in.strides(), out.strides(), mask, true);
    const int64_t scans = p.kept.numel;
    scan_kernel<<<loop_blocks(scans), kLoopThreads, 0, current_stream()>>>(in.data<T>(), out.data<Out>(), reduce_dims(p.kept), scans,
                                                      p.reduced.size[0], p.reduced.stride[0], p.reduced.out_stride[0]);
    TERRA_CUDA_CHECK(cudaGetLastError());
  }
};

}  // namespace

TERRA_REDUCE_KERNELS(CUDA, CudaReduce);

}  // namespace terra::cuda
