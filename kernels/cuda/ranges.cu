// CUDA kernels of the range creation ops: arange, linspace, eye, each element computed by the
// CPU kernel's formula (kernels/common/range_math.hpp), so both devices agree bit for bit.
// Outputs may be strided (out= targets).
#include "kernels/common/range_math.hpp"
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

template <class T, class Value>
void generate(const Tensor& out, const Value& value) {
  for_each_index(out.numel(), Generate<T, Value>{out.data<T>(), out.dim() == 0 ? 0 : out.stride(0), value});
}

template <class T>
struct Constant {
  T value;
  __device__ T operator()(int64_t) const { return value; }
};

void arange_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  dispatch_numeric(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using A = math::arange_acc_t<T>;
    generate<T>(out, math::ArangeValue<T>{c.attrs.get<Scalar>("start").to<A>(), c.attrs.get<Scalar>("step").to<A>()});
  });
}

void linspace_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  const int64_t steps = c.attrs.get<int64_t>("steps");
  dispatch_numeric(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T start = c.attrs.get<Scalar>("start").to<T>();
    if (steps == 1) generate<T>(out, Constant<T>{start});
    else generate<T>(out, math::LinspaceValue<T>(start, c.attrs.get<Scalar>("end").to<T>(), steps));
  });
}

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

TERRA_KERNEL(arange, CUDA, arange_kernel);
TERRA_KERNEL(linspace, CUDA, linspace_kernel);
TERRA_KERNEL(eye, CUDA, eye_kernel);

}  // namespace terra::cuda
