// CPU kernels of the range creation ops: arange, linspace, eye. Values follow PyTorch 1.13's CPU
// formulas (which arithmetic happens in double and which in the output type, which half of a
// linspace counts from which end); PyTorch's AVX2 build may fuse a multiply-add where this plain
// code rounds twice, so the last bit can differ. Outputs may be strided (out= targets), so every
// store goes through the output's strides.
#include <algorithm>
#include <type_traits>

#include "kernels/cpu/parallel.hpp"
#include "kernels/kernel.hpp"

namespace terra::cpu {
namespace {

// arange accumulates in int64 for integer outputs and in double for floating ones.
template <class T>
using arange_acc_t = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

// Calls body(p, stride, begin, end) over chunks of a 1-d output of n elements.
template <class T, class Body>
void for_each_1d(const Tensor& out, const Body& body) {
  T* p = out.data<T>();
  const int64_t stride = out.stride(0);
  parallel_for(0, out.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) { body(p, stride, b, e); });
}

// value i = start + step * i.
void arange_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  dispatch_numeric(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using A = arange_acc_t<T>;
    const A start = c.attrs.get<Scalar>("start").to<A>();
    const A step = c.attrs.get<Scalar>("step").to<A>();
    for_each_1d<T>(out, [&](T* p, int64_t stride, int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) p[i * stride] = static_cast<T>(start + step * static_cast<A>(i));
    });
  });
}

// PyTorch's symmetric formula: the first half counts up from start, the second half down from
// end, so both endpoints are exact. The step is computed in the output type, in double for
// integer outputs (their values are truncated toward zero).
void linspace_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  const int64_t steps = c.attrs.get<int64_t>("steps");
  dispatch_numeric(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using S = std::conditional_t<std::is_integral_v<T>, double, T>;
    const T start = c.attrs.get<Scalar>("start").to<T>();
    const T end = c.attrs.get<Scalar>("end").to<T>();
    if (steps == 1) {
      *out.data<T>() = start;
      return;
    }
    const S step = (static_cast<S>(end) - static_cast<S>(start)) / static_cast<S>(steps - 1);
    const int64_t halfway = steps / 2;
    for_each_1d<T>(out, [&](T* p, int64_t stride, int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        p[i * stride] = i < halfway ? static_cast<T>(start + step * static_cast<S>(i))
                                    : static_cast<T>(end - step * static_cast<S>(steps - i - 1));
    });
  });
}

void eye_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    const int64_t rows = out.size(0), cols = out.size(1), s0 = out.stride(0), s1 = out.stride(1);
    const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(cols, 1));
    parallel_for(0, rows, grain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        for (int64_t j = 0; j < cols; ++j) p[i * s0 + j * s1] = static_cast<T>(i == j);
    });
  });
}

}  // namespace

TERRA_KERNEL(arange, CPU, arange_kernel);
TERRA_KERNEL(linspace, CPU, linspace_kernel);
TERRA_KERNEL(eye, CPU, eye_kernel);

}  // namespace terra::cpu
