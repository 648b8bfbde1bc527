// The LSTM and GRU cells' gate arithmetic, shared by the CPU and CUDA kernels (TERRA_HD), element
// by element. LSTM: the four pre-activation gates (PyTorch's order i, f, g, o; the input and hidden
// projections summed) and the previous cell state give the new cell and hidden states, and the
// backward pass recomputes the same activations (instead of keeping a workspace) to give the
// gradients of the gates and of cx. These are the unfused ops' formulas in their order (sigmoid,
// tanh, f * cx + i * g, o * tanh(cy), and the backward functors of sigmoid and tanh), so a fused
// cell gives the bits the op-by-op cell gave. GRU (order r, z, n): the input and hidden
// projections apart, since r scales the hidden part of n: r = sigmoid(ir + hr),
// z = sigmoid(iz + hz), n = tanh(in + r * hn), hy = n + z * (hx - n).
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

// The operands of one cell call, all contiguous: the input projection `gates` and the hidden one
// `hidden`, [B, G * H], and the previous state (LSTM: cx; GRU: hx) [B, H]. LSTM: G = 4, and hidden
// may be null (the gates already summed); GRU: G = 3.
template <class T>
struct CellOperands {
  const T* gates;
  const T* hidden;
  const T* state;
  int64_t H;
  // An LSTM gate k of element (b, j), the projections summed.
  TERRA_HD T lstm_gate(int64_t b, int k, int64_t j) const {
    const int64_t at = (b * 4 + k) * H + j;
    return hidden ? gates[at] + hidden[at] : gates[at];
  }
};

template <class T>
struct GruState {
  T r, z, n;  // activated gates
  T hy;
};

template <class T>
TERRA_HD GruState<T> gru_state(T ir, T iz, T in, T hr, T hz, T hn, T hx) {
  GruState<T> s;
  s.r = Sigmoid{}(ir + hr);
  s.z = Sigmoid{}(iz + hz);
  s.n = Tanh{}(in + s.r * hn);
  s.hy = s.n + s.z * (hx - s.n);
  return s;
}

template <class T>
struct GruGrads {
  T r, z, n;  // of the pre-activation gates; the hidden projection's n gets n * r
  T hx;
};

// From the activations, hn, hx and the incoming gradient of hy.
template <class T>
TERRA_HD GruGrads<T> gru_grads(const GruState<T>& s, T hn, T hx, T grad_hy) {
  const T dn = TanhBackward{}(grad_hy * (T(1) - s.z), s.n);
  return {SigmoidBackward{}(dn * hn, s.r), SigmoidBackward{}(grad_hy * (hx - s.n), s.z), dn, grad_hy * s.z};
}

}  // namespace terra::math
