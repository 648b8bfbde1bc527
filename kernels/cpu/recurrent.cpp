// CPU kernels of the fused LSTM and GRU cells and their backward ops
// (kernels/common/recurrent_kernels.hpp):
// rows split between threads, each row in blocks of kBlock elements staged through local arrays.
// Every loop then reads and writes plain streams the compiler can prove apart, so each one
// vectorizes (one loop over a row's many operands would need more run-time overlap checks than
// GCC makes, and stay scalar: five exponentials per element, one at a time).
#include <algorithm>

#include "kernels/common/recurrent_kernels.hpp"
#include "kernels/cpu/contiguous.hpp"
#include "kernels/cpu/parallel.hpp"

namespace terra::cpu {
namespace {

constexpr int64_t kBlock = 64;

// One block of row b: the activated gates a[k][j] and the new cell state c[j] of elements
// [j0, j0 + n), and cx's values there.
template <class T>
struct Block {
  T a[4][kBlock];
  T c[kBlock];
  const T* cx;

  Block(const math::CellOperands<T>& in, int64_t b, int64_t j0, int64_t n) : cx(in.state + b * in.H + j0) {
    for (int k = 0; k < 4; ++k) {
      const T* q = in.gates + (b * 4 + k) * in.H + j0;
      if (in.hidden) {
        const T* h = in.hidden + (b * 4 + k) * in.H + j0;
        for (int64_t j = 0; j < n; ++j) a[k][j] = q[j] + h[j];
      } else {
        std::copy(q, q + n, a[k]);
      }
      // A constant gate index in each loop, so that neither holds a branch.
      if (k == 2) {
        for (int64_t j = 0; j < n; ++j) a[k][j] = math::lstm_activate(2, a[k][j]);
      } else {
        for (int64_t j = 0; j < n; ++j) a[k][j] = math::lstm_activate(0, a[k][j]);
      }
    }
    for (int64_t j = 0; j < n; ++j) c[j] = math::lstm_cell_state(a[0][j], a[1][j], a[2][j], cx[j]);
  }
};

// One GRU block of row b: the six projections' values g[k][j] (input r, z, n, then hidden r, z,
// n) of elements [j0, j0 + n), and hx's values there. state(j) is an element's forward.
template <class T>
struct GruBlock {
  T g[6][kBlock];
  const T* hx;

  GruBlock(const math::CellOperands<T>& in, int64_t b, int64_t j0, int64_t n) : hx(in.state + b * in.H + j0) {
    for (int k = 0; k < 3; ++k) {
      const T* i = in.gates + (b * 3 + k) * in.H + j0;
      const T* h = in.hidden + (b * 3 + k) * in.H + j0;
      std::copy(i, i + n, g[k]);
      std::copy(h, h + n, g[3 + k]);
    }
  }
  math::GruState<T> state(int64_t j) const {
    return math::gru_state(g[0][j], g[1][j], g[2][j], g[3][j], g[4][j], g[5][j], hx[j]);
  }
};

// body(b, j0, n) over every block of every row.
template <class Body>
void for_each_block(int64_t rows, int64_t cols, const Body& body) {
  // Each element costs a few exponentials: a quarter of the plain elementwise grain.
  const int64_t grain = grain_for(4 * cols);
  parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b)
      for (int64_t j0 = 0; j0 < cols; j0 += kBlock) body(b, j0, std::min(kBlock, cols - j0));
  });
}

struct CpuRecurrent {
  static Tensor as_contiguous(const Tensor& t) { return cpu::as_contiguous(t); }

  template <class T>
  static void forward(const math::CellOperands<T>& in, int64_t rows, T* hy, T* cy) {
    for_each_block(rows, in.H, [&](int64_t b, int64_t j0, int64_t n) {
      const Block<T> s(in, b, j0, n);
      T h[kBlock];
      for (int64_t j = 0; j < n; ++j) h[j] = math::lstm_hidden_state(s.a[3][j], math::Tanh{}(s.c[j]));
      std::copy(s.c, s.c + n, cy + b * in.H + j0);
      std::copy(h, h + n, hy + b * in.H + j0);
    });
  }

  template <class T>
  static void backward(const math::CellOperands<T>& in, int64_t rows, const T* grad_hy, const T* grad_cy,
                       T* grad_gates, T* grad_cx) {
    for_each_block(rows, in.H, [&](int64_t b, int64_t j0, int64_t n) {
      const Block<T> s(in, b, j0, n);
      const int64_t at = b * in.H + j0;
      T gh[kBlock] = {}, gc[kBlock] = {}, d[5][kBlock];
      if (grad_hy) std::copy(grad_hy + at, grad_hy + at + n, gh);
      if (grad_cy) std::copy(grad_cy + at, grad_cy + at + n, gc);
      for (int64_t j = 0; j < n; ++j) {
        const math::LstmGrads<T> g = math::lstm_grads(s.a[0][j], s.a[1][j], s.a[2][j], s.a[3][j], s.cx[j],
                                                      math::Tanh{}(s.c[j]), gh[j], gc[j]);
        d[0][j] = g.i, d[1][j] = g.f, d[2][j] = g.g, d[3][j] = g.o, d[4][j] = g.cx;
      }
      for (int k = 0; k < 4; ++k) std::copy(d[k], d[k] + n, grad_gates + (b * 4 + k) * in.H + j0);
      std::copy(d[4], d[4] + n, grad_cx + at);
    });
  }

  template <class T>
  static void gru_forward(const math::CellOperands<T>& in, int64_t rows, T* hy) {
    for_each_block(rows, in.H, [&](int64_t b, int64_t j0, int64_t n) {
      const GruBlock<T> s(in, b, j0, n);
      T h[kBlock];
      for (int64_t j = 0; j < n; ++j) h[j] = s.state(j).hy;
      std::copy(h, h + n, hy + b * in.H + j0);
    });
  }

  template <class T>
  static void gru_backward(const math::CellOperands<T>& in, int64_t rows, const T* grad_hy, T* grad_input_gates,
                           T* grad_hidden_gates, T* grad_hx) {
    for_each_block(rows, in.H, [&](int64_t b, int64_t j0, int64_t n) {
      const GruBlock<T> s(in, b, j0, n);
      const int64_t at = b * in.H + j0;
      T d[5][kBlock];  // r, z, n, the hidden projection's n, hx
      for (int64_t j = 0; j < n; ++j) {
        const math::GruState<T> st = s.state(j);
        const math::GruGrads<T> g = math::gru_grads(st, s.g[5][j], s.hx[j], grad_hy[at + j]);
        d[0][j] = g.r, d[1][j] = g.z, d[2][j] = g.n, d[3][j] = g.n * st.r, d[4][j] = g.hx;
      }
      for (int k = 0; k < 3; ++k) {
        const int64_t q = (b * 3 + k) * in.H + j0;
        std::copy(d[k], d[k] + n, grad_input_gates + q);
        std::copy(d[k == 2 ? 3 : k], d[k == 2 ? 3 : k] + n, grad_hidden_gates + q);
      }
      std::copy(d[4], d[4] + n, grad_hx + at);
    });
  }
};

}  // namespace

TERRA_RECURRENT_KERNELS(CPU, CpuRecurrent);

}  // namespace terra::cpu
