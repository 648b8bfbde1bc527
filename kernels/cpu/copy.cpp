// CPU kernels that move values: conversion between any two dtypes over any strides, and fills.
// Creation ops (zeros, ones, full) are fills of a freshly allocated output.
#include "kernels/cpu/loops.hpp"
#include "kernels/kernel.hpp"

namespace terra::cpu {
namespace {

// out = convert(src): every (in, out) dtype pair, broadcasting src to out's shape.
void convert_into(const Tensor& out, const Tensor& src) {
  dispatch_dtype(out.dtype(), [&](auto out_tag) {
    using O = decltype(out_tag);
    dispatch_dtype(src.dtype(), [&](auto in_tag) {
      using I = decltype(in_tag);
      elementwise<O, I>(out, {src}, [](I x) {
        if constexpr (std::is_same_v<O, bool>) return x != I(0);
        else return static_cast<O>(x);
      });
    });
  });
}

void fill(const Tensor& out, const Scalar& value) {
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = std::is_same_v<T, bool> ? T(value.as_double() != 0) : value.to<T>();
    if (out.is_contiguous()) {
      T* p = out.data<T>();
      parallel_for(0, out.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) { std::fill(p + b, p + e, v); });
    } else {
      elementwise<T>(out, {}, [v]() { return v; });
    }
  });
}

void to_dtype_kernel(KernelCall& c) { convert_into(c.outputs[0], c.inputs[0]); }
void copy_kernel(KernelCall& c) { convert_into(c.inputs[0], c.inputs[1]); }
void clone_kernel(KernelCall& c) { convert_into(c.outputs[0], c.inputs[0]); }
void contiguous_kernel(KernelCall& c) {
  const Tensor& x = c.inputs[0];
  if (x.is_contiguous()) {
    c.outputs = {x};
    return;
  }
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  convert_into(out, x);
  c.outputs = {out};
}
void fill_kernel(KernelCall& c) { fill(c.inputs[0], c.attrs.get<Scalar>("value")); }
void zeros_kernel(KernelCall& c) { fill(c.outputs[0], Scalar(int64_t{0})); }
void ones_kernel(KernelCall& c) { fill(c.outputs[0], Scalar(int64_t{1})); }
void full_kernel(KernelCall& c) { fill(c.outputs[0], c.attrs.get<Scalar>("fill_value")); }
void empty_kernel(KernelCall&) {}

}  // namespace

TERRA_KERNEL(to_dtype, CPU, to_dtype_kernel);
TERRA_KERNEL(copy_, CPU, copy_kernel);
TERRA_KERNEL(clone, CPU, clone_kernel);
TERRA_KERNEL(contiguous, CPU, contiguous_kernel);
TERRA_KERNEL(fill_, CPU, fill_kernel);
TERRA_KERNEL(empty, CPU, empty_kernel);
TERRA_KERNEL(zeros, CPU, zeros_kernel);
TERRA_KERNEL(ones, CPU, ones_kernel);
TERRA_KERNEL(full, CPU, full_kernel);

}  // namespace terra::cpu
