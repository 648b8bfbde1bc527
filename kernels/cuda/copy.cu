// CUDA kernels that move values: conversion between any two dtypes over any strides (to_dtype,
// copy_, clone, contiguous), fills, and the creation ops (zeros, ones, full, empty), as in
// kernels/cpu/copy.cpp. Same-dtype contiguous copies and zero fills use cudaMemcpyAsync and
// cudaMemsetAsync on the current stream.
#include "kernels/cuda/loops.cuh"
#include "kernels/kernel.hpp"

namespace terra::cuda {
namespace {

template <class O, class I>
struct Convert {
  TERRA_HD O operator()(I x) const {
    if constexpr (std::is_same_v<O, bool>) return x != I(0);
    else return static_cast<O>(x);
  }
};

template <class T>
struct Constant {
  T value;
  TERRA_HD T operator()() const { return value; }
};

// out = convert(src): every (in, out) dtype pair, broadcasting src to out's shape. src may be a
// wrapped number on the CPU (copy_ of a Python scalar).
void convert_into(const Tensor& out, const Tensor& src) {
  if (src.dtype() == out.dtype() && src.device() == out.device() && src.shape() == out.shape() &&
      src.is_contiguous() && out.is_contiguous()) {
    if (out.numel() > 0 && src.raw_data() != out.raw_data())
      TERRA_CUDA_CHECK(cudaMemcpyAsync(out.raw_data(), src.raw_data(), out.numel() * out.itemsize(),
                                       cudaMemcpyDeviceToDevice, current_stream()));
    return;
  }
  dispatch_dtype(out.dtype(), [&](auto out_tag) {
    using O = decltype(out_tag);
    dispatch_dtype(src.dtype(), [&](auto in_tag) {
      using I = decltype(in_tag);
      elementwise<O, I>(out, {src}, Convert<O, I>{});
    });
  });
}

void fill(const Tensor& out, const Scalar& value) {
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = std::is_same_v<T, bool> ? T(value.as_double() != 0) : value.to<T>();
    // All-zero bytes are 0 (and false, and +0.0) in every dtype.
    if (out.is_contiguous() && v == T(0) && !std::signbit(static_cast<double>(v))) {
      if (out.numel() > 0)
        TERRA_CUDA_CHECK(cudaMemsetAsync(out.raw_data(), 0, out.numel() * out.itemsize(), current_stream()));
    } else {
      elementwise<T>(out, {}, Constant<T>{v});
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

TERRA_KERNEL(to_dtype, CUDA, to_dtype_kernel);
TERRA_KERNEL(copy_, CUDA, copy_kernel);
TERRA_KERNEL(clone, CUDA, clone_kernel);
TERRA_KERNEL(contiguous, CUDA, contiguous_kernel);
TERRA_KERNEL(fill_, CUDA, fill_kernel);
TERRA_KERNEL(empty, CUDA, empty_kernel);
TERRA_KERNEL(zeros, CUDA, zeros_kernel);
TERRA_KERNEL(ones, CUDA, ones_kernel);
TERRA_KERNEL(full, CUDA, full_kernel);

}  // namespace terra::cuda
