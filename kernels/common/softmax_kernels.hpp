// The kernels of softmax, log_softmax and their backward ops, written once over a device's engine:
//   Engine::as_contiguous(t)                               -- t, or a packed copy of it
//   Engine::softmax_dim(x, y, outer, C, inner, log)        -- kernels/cpu/softmax.hpp's contract
//   Engine::softmax_backward_dim(g, y, dx, outer, C, inner, log)
// over the [outer, C, inner] view of contiguous operands (DimLayout). TERRA_SOFTMAX_KERNELS(DEVICE,
// Engine) registers them for one device.
#pragma once
#include "kernels/common/dim_layout.hpp"
#include "kernels/kernel.hpp"

namespace terra::softmax_kernels {

template <class Engine>
struct Kernels {
  template <bool Log>
  static void forward(KernelCall& c) {
    const Tensor x = Engine::as_contiguous(c.inputs[0]);
    const Tensor& y = c.outputs[0];
    if (x.numel() == 0) return;
    const DimLayout L(x, c.attrs.get<int64_t>("dim"));
    dispatch_floating(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      Engine::softmax_dim(x.data<T>(), y.data<T>(), L.outer, L.C, L.inner, Log);
    });
  }

  // softmax_backward(grad_output, output, dim): dx = y (g - sum(g y)); log_softmax_backward:
  // dx = g - exp(y) sum(g).
  template <bool Log>
  static void backward(KernelCall& c) {
    const Tensor g = Engine::as_contiguous(c.inputs[0]), y = Engine::as_contiguous(c.inputs[1]);
    const Tensor& dx = c.outputs[0];
    if (y.numel() == 0) return;
    const DimLayout L(y, c.attrs.get<int64_t>("dim"));
    dispatch_floating(y.dtype(), [&](auto tag) {
      using T = decltype(tag);
      Engine::softmax_backward_dim(g.data<T>(), y.data<T>(), dx.data<T>(), L.outer, L.C, L.inner, Log);
    });
  }
};

}  // namespace terra::softmax_kernels

#define TERRA_SOFTMAX_KERNELS(DEVICE, Engine)                                                                \
  TERRA_KERNEL(softmax, DEVICE, ::terra::softmax_kernels::Kernels<Engine>::forward<false>);                 \
  TERRA_KERNEL(log_softmax, DEVICE, ::terra::softmax_kernels::Kernels<Engine>::forward<true>);              \
  TERRA_KERNEL(softmax_backward, DEVICE, ::terra::softmax_kernels::Kernels<Engine>::backward<false>);       \
  TERRA_KERNEL(log_softmax_backward, DEVICE, ::terra::softmax_kernels::Kernels<Engine>::backward<true>)
