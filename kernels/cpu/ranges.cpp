// CPU kernels of the range creation ops: eye, and arange and linspace over the shared kernels
// (kernels/common/range_kernels.hpp). Values follow PyTorch 1.13's CPU formulas
// (kernels/common/range_math.hpp); PyTorch's AVX2 build may fuse a multiply-add where this plain
// code rounds twice, so the last bit can differ. Outputs may be strided (out= targets), so every
// store goes through the output's strides.
#include <algorithm>
#include <type_traits>

#include "kernels/common/range_kernels.hpp"
#include "kernels/cpu/parallel.hpp"
#include "kernels/kernel.hpp"

namespace terra::cpu {
namespace {

// The primitive of the shared arange and linspace kernels (kernels/common/range_kernels.hpp).
struct CpuRanges {
  template <class T, class Value>
  static void generate(const Tensor& out, const Value& value) {
    T* p = out.data<T>();
    const int64_t stride = out.dim() == 0 ? 0 : out.stride(0);
    parallel_for(0, out.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) p[i * stride] = value(i);
    });
  }
};

void eye_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    const int64_t rows = out.size(0), cols = out.size(1), s0 = out.stride(0), s1 = out.stride(1);
    const int64_t grain = grain_for(cols);
    parallel_for(0, rows, grain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        for (int64_t j = 0; j < cols; ++j) p[i * s0 + j * s1] = static_cast<T>(i == j);
    });
  });
}

}  // namespace

TERRA_RANGE_KERNELS(CPU, CpuRanges);
TERRA_KERNEL(eye, CPU, eye_kernel);

}  // namespace terra::cpu
