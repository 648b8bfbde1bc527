// The LSTM cell's gate arithmetic, shared by the CPU and CUDA kernels (TERRA_HD), element by
// element: the four pre-activation gates (PyTorch's order i, f, g, o; the input and hidden
// projections summed) and the previous cell state give the new cell and hidden states, and the
// backward pass recomputes the same activations (instead of keeping a workspace) to give the
// gradients of the gates and of cx. These are the unfused ops' formulas in their order (sigmoid,
// tanh, f * cx + i * g, o * tanh(cy), and the backward functors of sigmoid and tanh), so a fused
// cell gives the bits the op-by-op cell gave.
#pragma once
#include <cstdint>

#include "kernels/common/unary_backward_math.hpp"

namespace terra::math {

// Gate k's activation: tanh for g (k == 2), sigmoid for the others.
template <class T>
TERRA_HD T lstm_activate(int k, T a) {
  return k == 2 ? Tanh{}(a) : Sigmoid{}(a);
}

template <class T>
TERRA_HD T lstm_cell_state(T i, T f, T g, T cx) {
  return f * cx + i * g;
}

template <class T>
TERRA_HD T lstm_hidden_state(T o, T tanh_cy) {
  return o * tanh_cy;
}

template <class T>
struct LstmGrads {
  T i, f, g, o;  // of the pre-activation gates
  T cx;
};

// From the activations, cx, tanh(cy) and the incoming gradients of hy and cy (0 where none
// flowed).
template <class T>
TERRA_HD LstmGrads<T> lstm_grads(T i, T f, T g, T o, T cx, T tanh_cy, T grad_hy, T grad_cy) {
  const T dc = grad_cy + TanhBackward{}(grad_hy * o, tanh_cy);
  return {SigmoidBackward{}(dc * g, i), SigmoidBackward{}(dc * cx, f), TanhBackward{}(dc * i, g),
          SigmoidBackward{}(grad_hy * tanh_cy, o), dc * f};
}

// The operands of one cell call, all contiguous: gates and hidden (may be null: the gates are
// already summed) [B, 4H], cx [B, H]; the backward's grad_hy and grad_cy [B, H] may be null (no
// gradient flowed there).
template <class T>
struct LstmOperands {
  const T* gates;
  const T* hidden;
  const T* cx;
  int64_t H;
  TERRA_HD T gate(int64_t b, int k, int64_t j) const {
    const int64_t at = (b * 4 + k) * H + j;
    return hidden ? gates[at] + hidden[at] : gates[at];
  }
};

}  // namespace terra::math
