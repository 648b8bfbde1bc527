// CUDA kernels of the fused LSTM and GRU cells and their backward ops: the CPU's own kernels
// (kernels/common/recurrent_kernels.hpp) with a thread per element, each computing what the CPU
// computes for it (kernels/common/recurrent_math.hpp).
#include "kernels/common/recurrent_kernels.hpp"
#include "kernels/cuda/contiguous.cuh"
#include "kernels/cuda/movement.cuh"

namespace terra::cuda {
namespace {

// Element e (row e / H, column e % H): the activated gates and the new cell state.
template <class T>
struct CellState {
  T a[4];
  T c;
  __device__ CellState(const math::CellOperands<T>& in, int64_t e) {
    for (int k = 0; k < 4; ++k) a[k] = math::lstm_activate(k, in.lstm_gate(e / in.H, k, e % in.H));
    c = math::lstm_cell_state(a[0], a[1], a[2], in.state[e]);
  }
};

template <class T>
struct CellForward {
  math::CellOperands<T> in;
  T* hy;
  T* cy;
  __device__ void operator()(int64_t e) const {
    const CellState<T> s(in, e);
    cy[e] = s.c;
    hy[e] = math::lstm_hidden_state(s.a[3], math::Tanh{}(s.c));
  }
};

template <class T>
struct CellBackward {
  math::CellOperands<T> in;
  const T* grad_hy;
  const T* grad_cy;
  T* grad_gates;
  T* grad_cx;
  __device__ void operator()(int64_t e) const {
    const CellState<T> s(in, e);
    const math::LstmGrads<T> g = math::lstm_grads(s.a[0], s.a[1], s.a[2], s.a[3], in.state[e], math::Tanh{}(s.c),
                                                  grad_hy ? grad_hy[e] : T(0), grad_cy ? grad_cy[e] : T(0));
    const int64_t q = (e / in.H) * 4 * in.H + e % in.H;
    grad_gates[q] = g.i;
    grad_gates[q + in.H] = g.f;
    grad_gates[q + 2 * in.H] = g.g;
    grad_gates[q + 3 * in.H] = g.o;
    grad_cx[e] = g.cx;
  }
};

// GRU element e: its six projections' values (input r, z, n, then hidden r, z, n) and forward.
template <class T>
struct GruElement {
  T g[6];
  T hx;
  math::GruState<T> s;
  __device__ GruElement(const math::CellOperands<T>& in, int64_t e) : hx(in.state[e]) {
    const int64_t q = (e / in.H) * 3 * in.H + e % in.H;
    for (int k = 0; k < 3; ++k) {
      g[k] = in.gates[q + k * in.H];
      g[3 + k] = in.hidden[q + k * in.H];
    }
    s = math::gru_state(g[0], g[1], g[2], g[3], g[4], g[5], hx);
  }
};

template <class T>
struct GruForward {
  math::CellOperands<T> in;
  T* hy;
  __device__ void operator()(int64_t e) const { hy[e] = GruElement<T>(in, e).s.hy; }
};

template <class T>
struct GruBackward {
  math::CellOperands<T> in;
  const T* grad_hy;
  T* grad_input_gates;
  T* grad_hidden_gates;
  T* grad_hx;
  __device__ void operator()(int64_t e) const {
    const GruElement<T> x(in, e);
    const math::GruGrads<T> g = math::gru_grads(x.s, x.g[5], x.hx, grad_hy[e]);
    const int64_t q = (e / in.H) * 3 * in.H + e % in.H;
    grad_input_gates[q] = grad_hidden_gates[q] = g.r;
    grad_input_gates[q + in.H] = grad_hidden_gates[q + in.H] = g.z;
    grad_input_gates[q + 2 * in.H] = g.n;
    grad_hidden_gates[q + 2 * in.H] = g.n * x.s.r;
    grad_hx[e] = g.hx;
  }
};

struct CudaRecurrent {
  static Tensor as_contiguous(const Tensor& t) { return cuda::as_contiguous(t); }
  template <class T>
  static void forward(const math::CellOperands<T>& in, int64_t rows, T* hy, T* cy) {
    for_each_index(rows * in.H, CellForward<T>{in, hy, cy});
  }
  template <class T>
  static void backward(const math::CellOperands<T>& in, int64_t rows, const T* grad_hy, const T* grad_cy,
                       T* grad_gates, T* grad_cx) {
    for_each_index(rows * in.H, CellBackward<T>{in, grad_hy, grad_cy, grad_gates, grad_cx});
  }
  template <class T>
  static void gru_forward(const math::CellOperands<T>& in, int64_t rows, T* hy) {
    for_each_index(rows * in.H, GruForward<T>{in, hy});
  }
  template <class T>
  static void gru_backward(const math::CellOperands<T>& in, int64_t rows, const T* grad_hy, T* grad_input_gates,
                           T* grad_hidden_gates, T* grad_hx) {
    for_each_index(rows * in.H, GruBackward<T>{in, grad_hy, grad_input_gates, grad_hidden_gates, grad_hx});
  }
};

}  // namespace

TERRA_RECURRENT_KERNELS(CUDA, CudaRecurrent);

}  // namespace terra::cuda
