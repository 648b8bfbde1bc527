// The fused LSTM and GRU cells and their backward ops, written once over a device's loops and
// registered for each device:
//   Impl::as_contiguous(t)                      -- t, or a packed copy (absent stays absent)
//   Impl::template forward<T>(in, B, hy, cy)    -- LSTM: hy, cy [B, H] from math::CellOperands<T>
//   Impl::template backward<T>(in, B, grad_hy, grad_cy, grad_gates, grad_cx)
//   Impl::template gru_forward<T>(in, B, hy)    -- GRU: hy [B, H] from math::CellOperands<T>
//   Impl::template gru_backward<T>(in, B, grad_hy, grad_input_gates, grad_hidden_gates, grad_hx)
// each element by the functions of recurrent_math.hpp. The shape rules (engine/ops/recurrent.cpp)
// checked the operands: gates [B, 4H] (GRU: 3H), states [B, H], one floating dtype; outputs come
// contiguous.
#pragma once
#include "kernels/common/recurrent_math.hpp"
#include "kernels/kernel.hpp"

namespace terra::recurrent_kernels {

template <class Impl>
struct Kernels {
  // fused_lstm_cell(gates, cx, hidden_gates) -> (hy, cy)
  static void lstm_cell(KernelCall& c) {
    const Tensor gates = Impl::as_contiguous(c.inputs[0]), cx = Impl::as_contiguous(c.inputs[1]),
                 hidden = Impl::as_contiguous(c.inputs[2]);
    dispatch_floating(gates.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const math::CellOperands<T> in{gates.data<T>(), data_or_null<T>(hidden), cx.data<T>(), cx.size(1)};
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
      const math::CellOperands<T> in{gates.data<T>(), data_or_null<T>(hidden), cx.data<T>(), cx.size(1)};
      Impl::template backward<T>(in, cx.size(0), data_or_null<T>(grad_hy), data_or_null<T>(grad_cy),
                                 c.outputs[0].data<T>(), c.outputs[1].data<T>());
    });
  }

  // fused_gru_cell(input_gates, hidden_gates, hx) -> hy
  static void gru_cell(KernelCall& c) {
    const Tensor ig = Impl::as_contiguous(c.inputs[0]), hg = Impl::as_contiguous(c.inputs[1]),
                 hx = Impl::as_contiguous(c.inputs[2]);
    dispatch_floating(ig.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const math::CellOperands<T> in{ig.data<T>(), hg.data<T>(), hx.data<T>(), hx.size(1)};
      Impl::template gru_forward<T>(in, hx.size(0), c.outputs[0].data<T>());
    });
  }

  // fused_gru_cell_backward(grad_hy, input_gates, hidden_gates, hx)
  //   -> (grad_input_gates, grad_hidden_gates, grad_hx)
  static void gru_cell_backward(KernelCall& c) {
    const Tensor grad = Impl::as_contiguous(c.inputs[0]), ig = Impl::as_contiguous(c.inputs[1]),
                 hg = Impl::as_contiguous(c.inputs[2]), hx = Impl::as_contiguous(c.inputs[3]);
    dispatch_floating(ig.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const math::CellOperands<T> in{ig.data<T>(), hg.data<T>(), hx.data<T>(), hx.size(1)};
      Impl::template gru_backward<T>(in, hx.size(0), grad.data<T>(), c.outputs[0].data<T>(), c.outputs[1].data<T>(),
                                     c.outputs[2].data<T>());
    });
  }
};

}  // namespace terra::recurrent_kernels

#define TERRA_RECURRENT_KERNELS(DEVICE, Impl)                                                                   \
  TERRA_KERNEL(fused_lstm_cell, DEVICE, ::terra::recurrent_kernels::Kernels<Impl>::lstm_cell);                  \
  TERRA_KERNEL(fused_lstm_cell_backward, DEVICE, ::terra::recurrent_kernels::Kernels<Impl>::lstm_cell_backward); \
  TERRA_KERNEL(fused_gru_cell, DEVICE, ::terra::recurrent_kernels::Kernels<Impl>::gru_cell);                    \
  TERRA_KERNEL(fused_gru_cell_backward, DEVICE, ::terra::recurrent_kernels::Kernels<Impl>::gru_cell_backward)
