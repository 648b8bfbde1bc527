// CPU kernels of the range creation ops: arange, linspace, eye. Values follow PyTorch 1.13's CPU
// formulas (kernels/common/range_math.hpp, shared with the CUDA kernels); PyTorch's AVX2 build
// may fuse a multiply-add where this plain code rounds twice, so the last bit can differ. Outputs may be strided (out= targets), so every
// store goes through the output's strides.
#include <algorithm>
#include <type_traits>

#include "kernels/common/range_math.hpp"
#include "kernels/cpu/parallel.hpp"
#include "kernels/kernel.hpp"

namespace terra::cpu {
namespace {

// Calls body(p, stride, begin, end) over chunks of a 1-d output of n elements.
template <class T, class Body>
void for_each_1d(const Tensor& out, const Body& body) {
  T* p = out.data<T>();
  const int64_t stride = out.stride(0);
  parallel_for(0, out.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) { body(p, stride, b, e); });
}

void arange_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  dispatch_numeric(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using A = math::arange_acc_t<T>;
    const math::ArangeValue<T> value{c.attrs.get<Scalar>("start").to<A>(), c.attrs.get<Scalar>("step").to<A>()};
    for_each_1d<T>(out, [&](T* p, int64_t stride, int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) p[i * stride] = value(i);
    });
  });
}

void linspace_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  const int64_t steps = c.attrs.get<int64_t>("steps");
  dispatch_numeric(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T start = c.attrs.get<Scalar>("start").to<T>();
    if (steps == 1) {
      *out.data<T>() = start;
      return;
    }
    const math::LinspaceValue<T> value(start, c.attrs.get<Scalar>("end").to<T>(), steps);
    for_each_1d<T>(out, [&](T* p, int64_t stride, int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) p[i * stride] = value(i);
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
