// CUDA kernels of the range creation ops: eye, and arange and linspace as the CPU's own kernels
// (kernels/common/range_kernels.hpp) over a device generate, each element computed by the CPU's
// formula (kernels/common/range_math.hpp), so both devices agree bit for bit.
// Outputs may be strided (out= targets).
#include "kernels/common/range_kernels.hpp"
#include "kernels/cuda/movement.cuh"
#include "kernels/kernel.hpp"

namespace terra::cuda {
namespace {

// out[i] = value(i) for a 1-d output.
template <class T, class Value>
struct Generate {
  T* out;
  int64_t stride;
  Value value;
  __device__ void operator()(int64_t i) const { out[i * stride] = value(i); }
};

// The primitive of the shared arange and linspace kernels (kernels/common/range_kernels.hpp).
struct CudaRanges {
  template <class T, class Value>
  static void generate(const Tensor& out, const Value& value) {
    for_each_index(out.numel(), Generate<T, Value>{out.data<T>(), out.dim() == 0 ? 0 : out.stride(0), value});
  }
};

template <class T>
struct Eye {
  T* out;
  int64_t cols, s0, s1;
  __device__ void operator()(int64_t i) const {
    const int64_t r = i / cols, col = i % cols;
    out[r * s0 + col * s1] = static_cast<T>(r == col);
  }
};

void eye_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    for_each_index(out.numel(), Eye<T>{out.data<T>(), out.size(1), out.stride(0), out.stride(1)});
  });
}

}  // namespace

TERRA_RANGE_KERNELS(CUDA, CudaRanges);
TERRA_KERNEL(eye, CUDA, eye_kernel);

}  // namespace terra::cuda
