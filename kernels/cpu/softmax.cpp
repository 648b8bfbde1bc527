// CPU kernels of softmax and log_softmax and of their backward ops, and the log-sum-exp and
// scaled-softmax routines the fused cross-entropy kernels share (kernels/cpu/softmax.hpp). Every variant makes the same passes over the softmax
// dim: the max, exp(x - max) with its sum, then a scale (softmax) or a shift (log_softmax).
// Subtracting the max keeps exp from overflowing; NaN and inf inputs come out as in PyTorch
// (a row holding NaN or +inf is all NaN, a row of -inf is NaN).
//
// Note [Softmax layouts]
// The input, made contiguous, is seen as [outer, C, inner] with C the softmax dim. The last dim
// (inner == 1) is a row per outer index; rows are split over threads and each pass is a
// contiguous loop (reductions keep kLanes partial results so they vectorize without
// reassociation flags). Any other dim takes a block of inner positions at a time: the passes walk
// c outermost and the positions innermost, so the inner loop is contiguous and vectorizes across
// positions, with per-position max and sum arrays and no transpose copy.
//
// Note [Fast exp]
// exp is host_math.hpp's (kernels/common): Cephes' algorithm within 2 ulp, with no branches and
// no float comparisons. GCC will not if-convert a float compare under the default
// -ftrapping-math except with AVX-512 masks, so its selects are integer bit masks and the loops
// vectorize at every ISA. Its arguments here are x - max(x): never positive (or NaN, which
// propagates), so nothing overflows.
//
// Note [ISA clones]
// The build targets baseline x86-64. The single-threaded routines are also compiled for
// x86-64-v3 (AVX2) and x86-64-v4 (AVX-512) through target_clones, and the loader picks the best
// for the CPU: same code, wider vectors (the AVX clones may fuse multiply-adds, so results can
// differ in the last bit between CPUs).
#include "kernels/cpu/softmax.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/common/host_math.hpp"
#include "kernels/common/softmax_kernels.hpp"
#include "kernels/cpu/contiguous.hpp"
#include "kernels/kernel.hpp"

// None under ThreadSanitizer (Note [AVX2 clones] in normalization.cpp says why).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && !defined(__SANITIZE_THREAD__)
#define TERRA_ISA_CLONES __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
// The clones only help if the loops are compiled inside them: everything they call is inlined.
#define TERRA_INLINE __attribute__((always_inline)) inline
#else
#define TERRA_ISA_CLONES
#define TERRA_INLINE inline
#endif

namespace terra::cpu {
namespace {

// Partial results a row reduction keeps: 128 bytes, a few vector registers at any width.
template <class T>
constexpr int64_t kLanes = 128 / sizeof(T);

// Inner positions a column pass takes at a time: their C rows stay in cache between the passes.
constexpr int64_t kInnerBlock = 256;

template <class T>
TERRA_INLINE T max_of(T a, T b) {
  return a > b ? a : b;
}

// --- rows (inner == 1) ---

template <class T>
TERRA_INLINE T row_max(const T* x, int64_t n) {
  constexpr int64_t L = kLanes<T>;
  T acc[L];
  std::fill_n(acc, L, -std::numeric_limits<T>::infinity());
  const int64_t full = n - n % L;
  for (int64_t i = 0; i < full; i += L)
    for (int64_t j = 0; j < L; ++j) acc[j] = max_of(x[i + j], acc[j]);
  for (int64_t i = full; i < n; ++i) acc[i - full] = max_of(x[i], acc[i - full]);
  T m = acc[0];
  for (int64_t j = 1; j < L; ++j) m = max_of(acc[j], m);
  return m;
}

template <class T>
TERRA_INLINE T row_sum(const T* x, int64_t n) {
  constexpr int64_t L = kLanes<T>;
  T acc[L] = {};
  const int64_t full = n - n % L;
  for (int64_t i = 0; i < full; i += L)
    for (int64_t j = 0; j < L; ++j) acc[j] += x[i + j];
  for (int64_t i = full; i < n; ++i) acc[i - full] += x[i];
  T s = 0;
  for (int64_t j = 0; j < L; ++j) s += acc[j];
  return s;
}

// y = exp(x - m); returns the sum of y.
template <class T>
TERRA_INLINE T row_exp(const T* x, T* y, int64_t n, T m) {
  for (int64_t i = 0; i < n; ++i) y[i] = math::host::exp(x[i] - m);
  return row_sum(y, n);
}

template <class T>
TERRA_INLINE T row_dot(const T* x, const T* y, int64_t n) {
  constexpr int64_t L = kLanes<T>;
  T acc[L] = {};
  const int64_t full = n - n % L;
  for (int64_t i = 0; i < full; i += L)
    for (int64_t j = 0; j < L; ++j) acc[j] += x[i + j] * y[i + j];
  for (int64_t i = full; i < n; ++i) acc[i - full] += x[i] * y[i];
  T s = 0;
  for (int64_t j = 0; j < L; ++j) s += acc[j];
  return s;
}

// `scale` (softmax only; null for none) multiplies row r's probabilities by scale[r].
template <class T>
TERRA_INLINE void softmax_rows(const T* x, T* y, int64_t rows, int64_t cols, bool log, const T* scale) {
  for (int64_t r = 0; r < rows; ++r, x += cols, y += cols) {
    const T m = row_max(x, cols);
    const T s = row_exp(x, y, cols, m);
    if (log) {
      // (x - m) is exact near the max; folding m into the shift would round it away.
      const T log_s = std::log(s);
      for (int64_t i = 0; i < cols; ++i) y[i] = (x[i] - m) - log_s;
    } else {
      const T inv = (scale ? scale[r] : T(1)) / s;
      for (int64_t i = 0; i < cols; ++i) y[i] *= inv;
    }
  }
}

// dx = y (g - sum(g y)) for softmax; dx = g - exp(y) sum(g) for log_softmax (y <= 0, so
// math::host::exp applies).
template <class T>
TERRA_INLINE void softmax_backward_rows(const T* g, const T* y, T* dx, int64_t rows, int64_t cols, bool log) {
  for (int64_t r = 0; r < rows; ++r, g += cols, y += cols, dx += cols) {
    if (log) {
      const T s = row_sum(g, cols);
      for (int64_t i = 0; i < cols; ++i) dx[i] = g[i] - math::host::exp(y[i]) * s;
    } else {
      const T s = row_dot(g, y, cols);
      for (int64_t i = 0; i < cols; ++i) dx[i] = y[i] * (g[i] - s);
    }
  }
}

template <class T>
TERRA_INLINE void lse_rows(const T* x, T* lse, int64_t rows, int64_t cols) {
  std::vector<T> scratch(cols);
  for (int64_t r = 0; r < rows; ++r, x += cols) {
    const T m = row_max(x, cols);
    lse[r] = m + std::log(row_exp(x, scratch.data(), cols, m));
  }
}

// --- a block of inner positions (inner > 1); x and y point at the block's first position ---

template <class T>
TERRA_INLINE void column_max(const T* x, int64_t C, int64_t inner, int64_t n, T* mx) {
  std::fill_n(mx, n, -std::numeric_limits<T>::infinity());
  for (int64_t c = 0; c < C; ++c, x += inner)
    for (int64_t j = 0; j < n; ++j) mx[j] = max_of(x[j], mx[j]);
}

template <class T>
TERRA_INLINE void softmax_column_block(const T* x, T* y, int64_t C, int64_t inner, int64_t n, bool log,
                                       const T* scale) {
  T mx[kInnerBlock], sum[kInnerBlock] = {};
  column_max(x, C, inner, n, mx);
  for (int64_t c = 0; c < C; ++c) {
    const T* xc = x + c * inner;
    T* yc = y + c * inner;
    for (int64_t j = 0; j < n; ++j) {
      yc[j] = math::host::exp(xc[j] - mx[j]);
      sum[j] += yc[j];
    }
  }
  if (log) {
    for (int64_t j = 0; j < n; ++j) sum[j] = std::log(sum[j]);
    for (int64_t c = 0; c < C; ++c)
      for (int64_t j = 0; j < n; ++j) y[c * inner + j] = (x[c * inner + j] - mx[j]) - sum[j];
  } else {
    for (int64_t j = 0; j < n; ++j) sum[j] = (scale ? scale[j] : T(1)) / sum[j];
    for (int64_t c = 0; c < C; ++c)
      for (int64_t j = 0; j < n; ++j) y[c * inner + j] *= sum[j];
  }
}

// `scale` points at position `begin`'s factor (or is null).
template <class T>
TERRA_INLINE void softmax_columns(const T* x, T* y, int64_t C, int64_t inner, int64_t begin, int64_t end, bool log,
                                  const T* scale) {
  for (int64_t j = begin; j < end; j += kInnerBlock)
    softmax_column_block(x + j, y + j, C, inner, std::min(kInnerBlock, end - j), log,
                         scale ? scale + (j - begin) : nullptr);
}

template <class T>
TERRA_INLINE void softmax_backward_columns(const T* g, const T* y, T* dx, int64_t C, int64_t inner, int64_t begin,
                                           int64_t end, bool log) {
  for (int64_t j0 = begin; j0 < end; j0 += kInnerBlock) {
    const int64_t n = std::min(kInnerBlock, end - j0);
    T sum[kInnerBlock] = {};
    for (int64_t c = 0; c < C; ++c) {
      const T* gc = g + c * inner + j0;
      const T* yc = y + c * inner + j0;
      if (log) {
        for (int64_t j = 0; j < n; ++j) sum[j] += gc[j];
      } else {
        for (int64_t j = 0; j < n; ++j) sum[j] += gc[j] * yc[j];
      }
    }
    for (int64_t c = 0; c < C; ++c) {
      const int64_t at = c * inner + j0;
      if (log) {
        for (int64_t j = 0; j < n; ++j) dx[at + j] = g[at + j] - math::host::exp(y[at + j]) * sum[j];
      } else {
        for (int64_t j = 0; j < n; ++j) dx[at + j] = y[at + j] * (g[at + j] - sum[j]);
      }
    }
  }
}

template <class T>
TERRA_INLINE void lse_columns(const T* x, T* lse, int64_t C, int64_t inner, int64_t begin, int64_t end) {
  for (int64_t j0 = begin; j0 < end; j0 += kInnerBlock) {
    const int64_t n = std::min(kInnerBlock, end - j0);
    T mx[kInnerBlock], sum[kInnerBlock] = {};
    column_max(x + j0, C, inner, n, mx);
    for (int64_t c = 0; c < C; ++c) {
      const T* xc = x + c * inner + j0;
      for (int64_t j = 0; j < n; ++j) sum[j] += math::host::exp(xc[j] - mx[j]);
    }
    for (int64_t j = 0; j < n; ++j) lse[j0 - begin + j] = mx[j] + std::log(sum[j]);
  }
}

// The single-threaded routines, compiled per ISA (Note [ISA clones]): one overload per dtype.
#define TERRA_SOFTMAX_CLONES(T)                                                                              \
  TERRA_ISA_CLONES void rows_isa(const T* x, T* y, int64_t rows, int64_t cols, bool log, const T* scale) {   \
    softmax_rows(x, y, rows, cols, log, scale);                                                              \
  }                                                                                                          \
  TERRA_ISA_CLONES void columns_isa(const T* x, T* y, int64_t C, int64_t inner, int64_t begin, int64_t end,  \
                                    bool log, const T* scale) {                                              \
    softmax_columns(x, y, C, inner, begin, end, log, scale);                                                 \
  }                                                                                                          \
  TERRA_ISA_CLONES void backward_rows_isa(const T* g, const T* y, T* dx, int64_t rows, int64_t cols,         \
                                          bool log) {                                                        \
    softmax_backward_rows(g, y, dx, rows, cols, log);                                                        \
  }                                                                                                          \
  TERRA_ISA_CLONES void backward_columns_isa(const T* g, const T* y, T* dx, int64_t C, int64_t inner,        \
                                             int64_t begin, int64_t end, bool log) {                         \
    softmax_backward_columns(g, y, dx, C, inner, begin, end, log);                                           \
  }                                                                                                          \
  TERRA_ISA_CLONES void lse_rows_isa(const T* x, T* lse, int64_t rows, int64_t cols) {                       \
    lse_rows(x, lse, rows, cols);                                                                            \
  }                                                                                                          \
  TERRA_ISA_CLONES void lse_columns_isa(const T* x, T* lse, int64_t C, int64_t inner, int64_t begin,         \
                                        int64_t end) {                                                       \
    lse_columns(x, lse, C, inner, begin, end);                                                               \
  }
TERRA_SOFTMAX_CLONES(float)
TERRA_SOFTMAX_CLONES(double)
#undef TERRA_SOFTMAX_CLONES

// Splits [outer, C, inner] over the thread pool: rows(begin, end) over ranges of outer indices
// when inner == 1, else block(o, begin, end) over blocks of inner positions of one outer index.
template <class Rows, class Block>
void split_dim(int64_t outer, int64_t C, int64_t inner, const Rows& rows, const Block& block) {
  const int64_t per_item = std::max<int64_t>(1, C * std::min(inner, kInnerBlock));
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / per_item);
  if (inner == 1) {
    parallel_for(0, outer, grain, rows);
    return;
  }
  const int64_t blocks = (inner + kInnerBlock - 1) / kInnerBlock;
  parallel_for(0, outer * blocks, grain, [&](int64_t b, int64_t e) {
    for (int64_t w = b; w < e; ++w) {
      const int64_t o = w / blocks, j = (w % blocks) * kInnerBlock;
      block(o, j, std::min(inner, j + kInnerBlock));
    }
  });
}

template <class T>
void softmax_backward_dim(const T* g, const T* y, T* dx, int64_t outer, int64_t C, int64_t inner, bool log) {
  split_dim(
      outer, C, inner, [&](int64_t b, int64_t e) { backward_rows_isa(g + b * C, y + b * C, dx + b * C, e - b, C, log); },
      [&](int64_t o, int64_t b, int64_t e) {
        const int64_t base = o * C * inner;
        backward_columns_isa(g + base, y + base, dx + base, C, inner, b, e, log);
      });
}

}  // namespace

template <class T>
void softmax_dim(const T* x, T* y, int64_t outer, int64_t C, int64_t inner, bool log, const T* scale) {
  split_dim(
      outer, C, inner,
      [&](int64_t b, int64_t e) { rows_isa(x + b * C, y + b * C, e - b, C, log, scale ? scale + b : nullptr); },
      [&](int64_t o, int64_t b, int64_t e) {
        columns_isa(x + o * C * inner, y + o * C * inner, C, inner, b, e, log, scale ? scale + o * inner + b : nullptr);
      });
}

template <class T>
void logsumexp_dim(const T* x, T* lse, int64_t outer, int64_t C, int64_t inner) {
  split_dim(
      outer, C, inner, [&](int64_t b, int64_t e) { lse_rows_isa(x + b * C, lse + b, e - b, C); },
      [&](int64_t o, int64_t b, int64_t e) { lse_columns_isa(x + o * C * inner, lse + o * inner + b, C, inner, b, e); });
}

template void softmax_dim(const float*, float*, int64_t, int64_t, int64_t, bool, const float*);
template void softmax_dim(const double*, double*, int64_t, int64_t, int64_t, bool, const double*);
template void logsumexp_dim(const float*, float*, int64_t, int64_t, int64_t);
template void logsumexp_dim(const double*, double*, int64_t, int64_t, int64_t);

namespace {

// The CPU engine of the shared softmax kernels (kernels/common/softmax_kernels.hpp).
struct CpuSoftmax {
  static Tensor as_contiguous(const Tensor& t) { return cpu::as_contiguous(t); }  // Note [Softmax layouts]
  template <class T>
  static void softmax_dim(const T* x, T* y, int64_t outer, int64_t C, int64_t inner, bool log) {
    cpu::softmax_dim(x, y, outer, C, inner, log);
  }
  template <class T>
  static void softmax_backward_dim(const T* g, const T* y, T* dx, int64_t outer, int64_t C, int64_t inner, bool log) {
    cpu::softmax_backward_dim(g, y, dx, outer, C, inner, log);
  }
};

}  // namespace

TERRA_SOFTMAX_KERNELS(CPU, CpuSoftmax);
}  // namespace terra::cpu
