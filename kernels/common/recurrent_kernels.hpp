// The fused LSTM cell and its backward, written once over a device's two loops and registered for
// each device:
//   Impl::as_contiguous(t)                      -- t, or a packed copy (absent stays absent)
//   Impl::template forward<T>(in, hy, cy)       -- hy, cy [B, H] from math::LstmOperands<T>
//   Impl::template backward<T>(in, grad_hy, grad_cy, grad_gates, grad_cx)
// each element by the functions of recurrent_math.hpp. The shape rules (engine/ops/recurrent.cpp)
// checked the operands: gates [B, 4H], cx [B, H], one floating dtype; outputs come contiguous.
#pragma once
#include "kernels/common/recurrent_math.hpp"
#include "kernels/kernel.hpp"

namespace terra::recurrent_kernels {

template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

template <class Impl>
struct Kernels {
  // fused_lstm_cell(gates, cx, hidden_gates) -> (hy, cy)
  static void lstm_cell(KernelCall& c) {
    const Tensor gates = Impl::as_contiguous(c.inputs[0]), cx = Impl::as_contiguous(c.inputs[1]),
                 hidden = Impl::as_contiguous(c.inputs[2]);
    dispatch_floating(gates.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const math::LstmOperands<T> in{gates.data<T>(), data_or_null<T>(hidden), cx.data<T>(), cx.size(1)};
      Impl::template forward<T>(in, cx.size(0), c.outputs[0].data<T>(), c.outputs[1].data<T>());
    });
  }

  // fused_lstm_cell_backward(grad_hy, grad_cy, gates, cx, hidden_gates) -> (grad_gates, grad_cx)
  static void lstm_cell_backward(KernelCall& c) {
    const Tensor grad_hy = Impl::as_contiguous(c.inputs[0]), grad_cy = Impl::as_contiguous(c.inputs[1]),
                 gates = Impl::as_contiguous(c.inputs[2]), cx = Impl::as_contiguous(c.inputs[3]),
                 hidden = Impl::as_contiguous(c.inputs[4]);
    dispatch_floating(gates.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const math::LstmOperands<T> in{gates.data<T>(), data_or_null<T>(hidden), cx.data<T>(), cx.size(1)};
      Impl::template backward<T>(in, cx.size(0), data_or_null<T>(grad_hy), data_or_null<T>(grad_cy),
                                 c.outputs[0].data<T>(), c.outputs[1].data<T>());
    });
  }
};

}  // namespace terra::recurrent_kernels

#define TERRA_RECURRENT_KERNELS(DEVICE, Impl)                                                                   \
  TERRA_KERNEL(fused_lstm_cell, DEVICE, ::terra::recurrent_kernels::Kernels<Impl>::lstm_cell);                  \
  TERRA_KERNEL(fused_lstm_cell_backward, DEVICE, ::terra::recurrent_kernels::Kernels<Impl>::lstm_cell_backward)
