// The kernels that move values (to_dtype, copy_, clone, contiguous, fill_) and the fill-based
// creation ops (empty, zeros, ones, full), written once over a device's two primitives:
//   Impl::convert_into(out, src)  -- out = src converted to out's dtype, src broadcast to out
//   Impl::fill(out, scalar)       -- every element of out set to the scalar
// TERRA_COPY_KERNELS(DEVICE, Impl) registers them all for one device.
#pragma once
#include "kernels/kernel.hpp"

namespace terra::copy_kernels {

template <class Impl>
struct Kernels {
  static void to_dtype(KernelCall& c) { Impl::convert_into(c.outputs[0], c.inputs[0]); }
  static void copy_(KernelCall& c) { Impl::convert_into(c.inputs[0], c.inputs[1]); }
  static void clone(KernelCall& c) { Impl::convert_into(c.outputs[0], c.inputs[0]); }
  // Returns the input itself when it is already contiguous (the op makes its own outputs).
  static void contiguous(KernelCall& c) {
    const Tensor& x = c.inputs[0];
    if (x.is_contiguous()) {
      c.outputs = {x};
      return;
    }
    Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
    Impl::convert_into(out, x);
    c.outputs = {out};
  }
  static void fill_(KernelCall& c) { Impl::fill(c.inputs[0], c.attrs.get<Scalar>("value")); }
  static void empty(KernelCall&) {}
  static void zeros(KernelCall& c) { Impl::fill(c.outputs[0], Scalar(int64_t{0})); }
  static void ones(KernelCall& c) { Impl::fill(c.outputs[0], Scalar(int64_t{1})); }
  static void full(KernelCall& c) { Impl::fill(c.outputs[0], c.attrs.get<Scalar>("fill_value")); }
};

}  // namespace terra::copy_kernels

#define TERRA_COPY_KERNELS(DEVICE, Impl)                                            \
  TERRA_KERNEL(to_dtype, DEVICE, ::terra::copy_kernels::Kernels<Impl>::to_dtype);   \
  TERRA_KERNEL(copy_, DEVICE, ::terra::copy_kernels::Kernels<Impl>::copy_);         \
  TERRA_KERNEL(clone, DEVICE, ::terra::copy_kernels::Kernels<Impl>::clone);         \
  TERRA_KERNEL(contiguous, DEVICE, ::terra::copy_kernels::Kernels<Impl>::contiguous); \
  TERRA_KERNEL(fill_, DEVICE, ::terra::copy_kernels::Kernels<Impl>::fill_);         \
  TERRA_KERNEL(empty, DEVICE, ::terra::copy_kernels::Kernels<Impl>::empty);         \
  TERRA_KERNEL(zeros, DEVICE, ::terra::copy_kernels::Kernels<Impl>::zeros);         \
  TERRA_KERNEL(ones, DEVICE, ::terra::copy_kernels::Kernels<Impl>::ones);           \
  TERRA_KERNEL(full, DEVICE, ::terra::copy_kernels::Kernels<Impl>::full)
