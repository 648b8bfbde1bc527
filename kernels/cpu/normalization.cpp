// CPU kernels of the normalization ops: layer_norm, batch_norm (training and eval) and group_norm,
// and their backward ops. Each reads its statistics in one pass over a row, group or channel
// (Note [Shifted sums]) and normalizes in a second, plain loop that GCC vectorizes; each backward
// op recomputes them in its first pass, next to the gradient's sums, and writes dx in a second. Inputs and parameters are made
// contiguous first (a copy only when they are strided): every loop here walks unit-stride runs.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/common/norm_math.hpp"
#include "kernels/cpu/contiguous.hpp"
#include "kernels/cpu/loops.hpp"
#include "kernels/kernel.hpp"

// Note [AVX2 clones]
// Terra builds for baseline x86-64 (SSE2). The functions that run the loops over the data are also
// compiled for AVX2 and the loader picks the version the CPU supports (an ifunc): about 1.5x on a
// float32 layer_norm. The AVX2 target leaves FMA off, so both versions do the same roundings in
// the same order (Note [Shifted sums]) and give identical bits. The helpers these functions call
// are always inlined, so that they too are compiled for each version. None under ThreadSanitizer:
// the loader runs an ifunc's resolver before the TSan runtime is up, and an instrumented one crashes.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
#define TERRA_CPU_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define TERRA_CPU_CLONES
#endif

namespace terra::cpu {
namespace {

// Note [Shifted sums]
// Mean and variance come from one pass accumulating d = x - shift and d * d in double, with the
// shift one of the values themselves (the first of the row, group or channel). Plain sum and
// sum-of-squares cancel catastrophically when the mean is large against the spread; centring on
// a sample avoids that, while still reading the data once (a second pass over a batch_norm
// channel would read the input from memory twice). Lane k of a LaneSums takes values k,
// k + kLanes, ... of each run; the lanes are folded pairwise at the end. The loop over lanes has a
// variable trip count, so GCC's loop vectorizer takes it whole (a fixed 8-accumulator loop is left
// to the SLP pass, which splits it unevenly), and every add happens in the same order whatever
// the vector width: the clones of Note [AVX2 clones] give identical bits.
constexpr int64_t kLanes = 64;

using norm_math::BackwardAffine;
using norm_math::GradSums;
using norm_math::Moments;
using norm_math::Sums;
using norm_math::backward_affine;
using norm_math::moments;

struct LaneSums {
  // Only lanes [0, used) are initialized, so short rows pay for the lanes they use.
  double s[kLanes], q[kLanes];
  int64_t used = 0;

  template <class T>
  [[gnu::always_inline]] void add(const T* x, int64_t n, double shift) {
    const int64_t width = std::min(kLanes, n);
    for (; used < width; ++used) s[used] = q[used] = 0.0;
    for (int64_t i = 0; i < n; i += kLanes) {
      const int64_t m = std::min(kLanes, n - i);
      const T* xi = x + i;
      for (int64_t k = 0; k < m; ++k) {
        const double d = static_cast<double>(xi[k]) - shift;
        s[k] += d;
        q[k] += d * d;
      }
    }
  }

  // Folds the lanes pairwise, over the power of two that covers the used ones.
  [[gnu::always_inline]] Sums total() {
    int64_t width = 1;
    while (width < used) width *= 2;
    for (; used < width; ++used) s[used] = q[used] = 0.0;
    for (int64_t w = width / 2; w >= 1; w /= 2)
      for (int64_t k = 0; k < w; ++k) {
        s[k] += s[k + w];
        q[k] += q[k + w];
      }
    return used ? Sums{s[0], q[0]} : Sums{};
  }
};

// The backward passes' sums over runs (GradSums).
// Note [Backward sums]
// The backward pass reads two arrays and does twice the forward's arithmetic per element, so
// float64 accumulation as in Note [Shifted sums] would leave it compute-bound. The lanes hold the
// element type instead, and are folded into float64 totals every kSteps values per lane: no float
// lane ever sums more than 64 values (shift-relative, so without cancellation), and the totals
// keep float64's range over long runs.
template <class T>
struct GradLaneSums {
  static constexpr int64_t kWidth = 16, kSteps = 64;
  T s[kWidth] = {}, q[kWidth] = {}, g[kWidth] = {}, gd[kWidth] = {};
  int64_t steps = 0;  // values per lane since the last fold
  GradSums totals;

  // gy[i] * w[i] is the gradient term; Weighted false reads no w. Each call starts at lane 0.
  template <bool Weighted>
  [[gnu::always_inline]] void add(const T* x, const T* gy, const T* w, int64_t n, T shift) {
    for (int64_t c0 = 0; c0 < n;) {
      const int64_t m = std::min((kSteps - steps) * kWidth, n - c0), full = m - m % kWidth;
      const T *xc = x + c0, *gc = gy + c0, *wc = Weighted ? w + c0 : nullptr;
      for (int64_t i = 0; i < full; i += kWidth)
        for (int64_t k = 0; k < kWidth; ++k) lane(k, xc[i + k], Weighted ? gc[i + k] * wc[i + k] : gc[i + k], shift);
      for (int64_t i = full; i < m; ++i) lane(i - full, xc[i], Weighted ? gc[i] * wc[i] : gc[i], shift);
      steps += (m + kWidth - 1) / kWidth;
      c0 += m;
      if (steps >= kSteps) fold();
    }
  }

  [[gnu::always_inline]] GradSums total() {
    fold();
    return totals;
  }

 private:
  [[gnu::always_inline]] void lane(int64_t k, T xv, T gv, T shift) {
    const T d = xv - shift;
    s[k] += d;
    q[k] += d * d;
    g[k] += gv;
    gd[k] += gv * d;
  }
  [[gnu::always_inline]] void fold() {
    for (int64_t k = 0; k < kWidth; ++k) {
      totals += GradSums{static_cast<double>(s[k]), static_cast<double>(q[k]), static_cast<double>(g[k]),
                         static_cast<double>(gd[k])};
      s[k] = q[k] = g[k] = gd[k] = T(0);
    }
    steps = 0;
  }
};

// y = (x - mean) * scale + bias over a run: the normalizing loop of group_norm and batch_norm.
template <class T>
[[gnu::always_inline]] inline void normalize_run(const T* x, T* y, int64_t n, T mean, T scale, T bias) {
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * scale + bias;
}

// A parameter's n values, or n copies of `absent` when the optional parameter is None, so one
// loop serves with and without weight and bias.
template <class T>
std::vector<T> param_values(const Tensor& p, int64_t n, T absent) {
  if (!p.defined()) return std::vector<T>(n, absent);
  const Tensor c = as_contiguous(p);
  const T* d = c.data<T>();
  return std::vector<T>(d, d + n);
}

// Product of the dims from `first` on (1 for none).
int64_t trailing_numel(const Shape& shape, size_t first) {
  int64_t n = 1;
  for (size_t d = first; d < shape.size(); ++d) n *= shape[d];
  return n;
}

// The pointers of one call: the (contiguous) input and output, the two statistics outputs, and
// weight and bias (never null: param_values fills absent ones).
template <class T>
struct NormData {
  const T* x;
  T* y;
  T* mean;
  T* rstd;
  const T* weight;
  const T* bias;
};

// ---- layer_norm: rows of the trailing normalized_shape elements -------------------------------

// Rows [begin, end) of a (rows, cols) layer_norm.
template <class T>
TERRA_CPU_CLONES void layer_norm_rows(const NormData<T>& d, int64_t cols, double eps, int64_t begin, int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    const T* x = d.x + r * cols;
    T* y = d.y + r * cols;
    const double shift = cols ? static_cast<double>(x[0]) : 0.0;
    LaneSums sums;
    sums.add(x, cols, shift);
    const Moments m = moments(sums.total(), cols, shift);
    d.mean[r] = static_cast<T>(m.mean);
    d.rstd[r] = static_cast<T>(1.0 / std::sqrt(m.var + eps));
    const T mean = d.mean[r], rstd = d.rstd[r];
    const T *w = d.weight, *b = d.bias;
    // The row was just read, so this second pass runs from cache.
    for (int64_t i = 0; i < cols; ++i) y[i] = (x[i] - mean) * rstd * w[i] + b[i];
  }
}

template <class T>
void layer_norm_typed(KernelCall& c) {
  const Tensor x = as_contiguous(c.inputs[0]);
  const int64_t cols = shape_numel(c.attrs.get<std::vector<int64_t>>("normalized_shape"));
  const int64_t rows = c.outputs[1].numel();
  const double eps = c.attrs.get<double>("eps");
  const std::vector<T> weight = param_values<T>(c.inputs[1], cols, T(1));
  const std::vector<T> bias = param_values<T>(c.inputs[2], cols, T(0));
  const NormData<T> d{x.data<T>(), c.outputs[0].data<T>(), c.outputs[1].data<T>(), c.outputs[2].data<T>(),
                      weight.data(), bias.data()};
  parallel_for(0, rows, grain_for(cols), [&](int64_t begin, int64_t end) { layer_norm_rows(d, cols, eps, begin, end); });
}

void layer_norm_kernel(KernelCall& c) {
  dispatch_floating(c.inputs[0].dtype(), [&](auto tag) { layer_norm_typed<decltype(tag)>(c); });
}

// ---- group_norm: (N, C, *) with each sample's channels split into groups -----------------------

struct GroupLayout {
  int64_t groups, per_group, hw;
  int64_t block() const { return per_group * hw; }  // a (sample, group) is one contiguous block
};

// (sample, group) blocks [begin, end) of a group_norm.
template <class T>
TERRA_CPU_CLONES void group_norm_blocks(const NormData<T>& d, const GroupLayout& l, double eps, int64_t begin,
                                        int64_t end) {
  const int64_t block = l.block();
  for (int64_t ng = begin; ng < end; ++ng) {
    const T* x = d.x + ng * block;
    T* y = d.y + ng * block;
    const double shift = block ? static_cast<double>(x[0]) : 0.0;
    LaneSums sums;
    sums.add(x, block, shift);
    const Moments m = moments(sums.total(), block, shift);
    const double rstd = 1.0 / std::sqrt(m.var + eps);
    d.mean[ng] = static_cast<T>(m.mean);
    d.rstd[ng] = static_cast<T>(rstd);
    const int64_t c0 = (ng % l.groups) * l.per_group;
    for (int64_t k = 0; k < l.per_group; ++k)
      normalize_run(x + k * l.hw, y + k * l.hw, l.hw, d.mean[ng], static_cast<T>(rstd * d.weight[c0 + k]),
                    d.bias[c0 + k]);
  }
}

template <class T>
void group_norm_typed(KernelCall& c) {
  const Tensor x = as_contiguous(c.inputs[0]);
  const int64_t n = x.shape()[0], channels = x.shape()[1], groups = c.attrs.get<int64_t>("num_groups");
  const GroupLayout l{groups, channels / groups, trailing_numel(x.shape(), 2)};
  const double eps = c.attrs.get<double>("eps");
  const std::vector<T> weight = param_values<T>(c.inputs[1], channels, T(1));
  const std::vector<T> bias = param_values<T>(c.inputs[2], channels, T(0));
  const NormData<T> d{x.data<T>(), c.outputs[0].data<T>(), c.outputs[1].data<T>(), c.outputs[2].data<T>(),
                      weight.data(), bias.data()};
  parallel_for(0, n * groups, grain_for(l.block()),
               [&](int64_t begin, int64_t end) { group_norm_blocks(d, l, eps, begin, end); });
}

void group_norm_kernel(KernelCall& c) {
  dispatch_floating(c.inputs[0].dtype(), [&](auto tag) { group_norm_typed<decltype(tag)>(c); });
}

// ---- batch_norm: (N, C, *) normalized per channel over the batch and the spatial dims ----------

// Contiguous (N, C, HW) data. A channel is N runs of HW values; when HW is below kMinRun those
// runs are too short to loop over, so loops walk whole rows of C * HW values instead, with
// per-column state (this is the (N, C) and short-(N, C, L) case).
struct ChannelLayout {
  int64_t n, channels, hw;
  static constexpr int64_t kMinRun = 16;
  bool by_rows() const { return hw < kMinRun; }
  int64_t count() const { return n * hw; }  // values per channel
  int64_t cols() const { return channels * hw; }
};

// Each channel's shift is its first value (Note [Shifted sums]).
template <class T>
double channel_shift(const T* x, const ChannelLayout& l, int64_t ch) {
  return l.count() ? static_cast<double>(x[ch * l.hw]) : 0.0;
}

// Sums of channels [begin, end), walking each channel's runs.
template <class T>
TERRA_CPU_CLONES void channel_sums_by_runs(const T* x, const ChannelLayout& l, Sums* sums, int64_t begin,
                                           int64_t end) {
  for (int64_t ch = begin; ch < end; ++ch) {
    const double shift = channel_shift(x, l, ch);
    LaneSums acc;
    for (int64_t i = 0; i < l.n; ++i) acc.add(x + (i * l.channels + ch) * l.hw, l.hw, shift);
    sums[ch] = acc.total();
  }
}

// Per-column sums s, q of columns [begin, end), walking down all rows.
template <class T>
TERRA_CPU_CLONES void column_sums(const T* x, const ChannelLayout& l, const double* shift, double* s, double* q,
                                  int64_t begin, int64_t end) {
  const int64_t cols = l.cols();
  for (int64_t i = 0; i < l.n; ++i) {
    const T* row = x + i * cols;
    for (int64_t j = begin; j < end; ++j) {
      const double d = static_cast<double>(row[j]) - shift[j];
      s[j] += d;
      q[j] += d * d;
    }
  }
}

template <class T>
std::vector<Moments> channel_moments(const T* x, const ChannelLayout& l) {
  std::vector<Sums> sums(l.channels);
  if (!l.by_rows()) {
    parallel_for(0, l.channels, grain_for(l.count()),
                 [&](int64_t begin, int64_t end) { channel_sums_by_runs(x, l, sums.data(), begin, end); });
  } else {
    std::vector<double> shift(l.cols()), s(l.cols(), 0.0), q(l.cols(), 0.0);
    for (int64_t j = 0; j < l.cols(); ++j) shift[j] = channel_shift(x, l, j / l.hw);
    // Threads own disjoint column ranges, wide enough for the column loop to vectorize.
    parallel_for(0, l.cols(), std::max<int64_t>(64, grain_for(l.n)), [&](int64_t begin, int64_t end) {
      column_sums(x, l, shift.data(), s.data(), q.data(), begin, end);
    });
    for (int64_t j = 0; j < l.cols(); ++j) sums[j / l.hw] += Sums{s[j], q[j]};
  }
  std::vector<Moments> out(l.channels);
  for (int64_t ch = 0; ch < l.channels; ++ch) out[ch] = moments(sums[ch], l.count(), channel_shift(x, l, ch));
  return out;
}

// Per-channel (or, by rows, per-column) normalizing parameters: y = (x - mean) * scale + bias.
template <class T>
struct ChannelAffine {
  std::vector<T> mean, scale, bias;
};

// Runs [begin, end) of (sample, channel) planes.
template <class T>
TERRA_CPU_CLONES void normalize_by_runs(const T* x, T* y, const ChannelLayout& l, const ChannelAffine<T>& a,
                                        int64_t begin, int64_t end) {
  for (int64_t p = begin; p < end; ++p) {
    const int64_t ch = p % l.channels;
    normalize_run(x + p * l.hw, y + p * l.hw, l.hw, a.mean[ch], a.scale[ch], a.bias[ch]);
  }
}

// Rows [begin, end), with per-column parameters.
template <class T>
TERRA_CPU_CLONES void normalize_by_rows(const T* x, T* y, int64_t cols, const ChannelAffine<T>& a, int64_t begin,
                                        int64_t end) {
  const T *m = a.mean.data(), *s = a.scale.data(), *b = a.bias.data();
  for (int64_t i = begin; i < end; ++i) {
    const T* xr = x + i * cols;
    T* yr = y + i * cols;
    for (int64_t j = 0; j < cols; ++j) yr[j] = (xr[j] - m[j]) * s[j] + b[j];
  }
}

// Per-column copies of per-channel parameters: by rows, they make each row one vectorizable loop.
template <class T>
std::vector<T> per_column(const std::vector<T>& v, const ChannelLayout& l) {
  std::vector<T> cols(l.cols());
  for (int64_t j = 0; j < l.cols(); ++j) cols[j] = v[j / l.hw];
  return cols;
}

template <class T>
void normalize_channels(const T* x, T* y, const ChannelLayout& l, const ChannelAffine<T>& a) {
  if (!l.by_rows()) {
    parallel_for(0, l.n * l.channels, grain_for(l.hw),
                 [&](int64_t begin, int64_t end) { normalize_by_runs(x, y, l, a, begin, end); });
    return;
  }
  const ChannelAffine<T> cols{per_column(a.mean, l), per_column(a.scale, l), per_column(a.bias, l)};
  parallel_for(0, l.n, grain_for(l.cols()),
               [&](int64_t begin, int64_t end) { normalize_by_rows(x, y, l.cols(), cols, begin, end); });
}

// running = (1 - momentum) * running + momentum * batch, written through running's strides.
template <class T>
void blend_running(const Tensor& running, const std::vector<double>& batch, double momentum) {
  if (!running.defined()) return;
  const int64_t n = static_cast<int64_t>(batch.size());
  const std::vector<T> old = param_values<T>(running, n, T(0));
  Tensor next = Tensor::empty(running.shape(), running.dtype(), running.device());
  for (int64_t i = 0; i < n; ++i) next.data<T>()[i] = static_cast<T>((1 - momentum) * old[i] + momentum * batch[i]);
  elementwise<T, T>(running, {next}, [](T v) { return v; });
  running.bump_version();
}

template <class T>
void batch_norm_typed(KernelCall& c) {
  const Tensor x = as_contiguous(c.inputs[0]);
  const Tensor &running_mean = c.inputs[3], &running_var = c.inputs[4];
  const ChannelLayout l{x.shape()[0], x.shape()[1], trailing_numel(x.shape(), 2)};
  const bool training = c.attrs.get<bool>("training");
  const double momentum = c.attrs.get<double>("momentum"), eps = c.attrs.get<double>("eps");
  std::vector<double> mean(l.channels), invstd(l.channels);
  if (training) {
    const std::vector<Moments> m = channel_moments(x.data<T>(), l);
    T *save_mean = c.outputs[1].data<T>(), *save_invstd = c.outputs[2].data<T>();
    for (int64_t ch = 0; ch < l.channels; ++ch) {
      mean[ch] = m[ch].mean;
      invstd[ch] = 1.0 / std::sqrt(m[ch].var + eps);
      save_mean[ch] = static_cast<T>(mean[ch]);
      save_invstd[ch] = static_cast<T>(invstd[ch]);
    }
    // Running statistics blend in the unbiased variance, as PyTorch. An empty batch has no
    // statistics to blend in and leaves them alone.
    if (l.count() > 0) {
      const double unbias = static_cast<double>(l.count()) / static_cast<double>(l.count() - 1);
      std::vector<double> var(l.channels);
      for (int64_t ch = 0; ch < l.channels; ++ch) var[ch] = m[ch].var * unbias;
      blend_running<T>(running_mean, mean, momentum);
      blend_running<T>(running_var, var, momentum);
    }
  } else {
    const std::vector<T> rm = param_values<T>(running_mean, l.channels, T(0));
    const std::vector<T> rv = param_values<T>(running_var, l.channels, T(0));
    for (int64_t ch = 0; ch < l.channels; ++ch) {
      mean[ch] = rm[ch];
      invstd[ch] = 1.0 / std::sqrt(static_cast<double>(rv[ch]) + eps);
    }
  }
  const std::vector<T> weight = param_values<T>(c.inputs[1], l.channels, T(1));
  const std::vector<T> bias = param_values<T>(c.inputs[2], l.channels, T(0));
  ChannelAffine<T> a{std::vector<T>(l.channels), std::vector<T>(l.channels), bias};
  for (int64_t ch = 0; ch < l.channels; ++ch) {
    a.mean[ch] = static_cast<T>(mean[ch]);
    a.scale[ch] = static_cast<T>(invstd[ch] * weight[ch]);
  }
  normalize_channels(x.data<T>(), c.outputs[0].data<T>(), l, a);
}

void batch_norm_kernel(KernelCall& c) {
  dispatch_floating(c.inputs[0].dtype(), [&](auto tag) { batch_norm_typed<decltype(tag)>(c); });
}

// ---- backward ------------------------------------------------------------------------------
// Each backward op writes dx = a * g + b * x + k per row, group or channel (norm_math.hpp).
template <class T>
[[gnu::always_inline]] inline void backward_run(const T* g, const T* x, T* dx, int64_t n, T a, T b, T k) {
  for (int64_t i = 0; i < n; ++i) dx[i] = a * g[i] + b * x[i] + k;
}

// ---- layer_norm_backward: rows; grad_weight and grad_bias sum over rows into partials --------

template <class T>
struct LayerNormBackward {
  const T *x, *g, *w;
  T* dx;
  int64_t cols;
  double eps;
};

// One row's dx = a * g * w + b * x + k, and its g * xhat and g added into wa and ba. Restrict
// pointers: without them GCC will not vectorize a loop that stores through four of them.
template <class T>
[[gnu::always_inline]] inline void row_backward(const T* __restrict x, const T* __restrict g, const T* __restrict w,
                                                T* __restrict dx, T* __restrict wa, T* __restrict ba, int64_t n, T a,
                                                T b, T k, T mean, T rstd) {
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i], xi = x[i];
    dx[i] = a * gi * w[i] + b * xi + k;
    wa[i] += gi * ((xi - mean) * rstd);
    ba[i] += gi;
  }
}

// Rows [begin, end), adding each row's g * xhat and g into dw and db. They accumulate in the
// element type over at most kFlushRows rows at a time, then in float64 (Note [Backward sums]).
template <class T>
TERRA_CPU_CLONES void layer_norm_backward_rows(const LayerNormBackward<T>& d, int64_t begin, int64_t end, double* dw,
                                               double* db) {
  constexpr int64_t kFlushRows = 32;
  const int64_t cols = d.cols;
  std::vector<T> dw_acc(cols, T(0)), db_acc(cols, T(0));
  T *wa = dw_acc.data(), *ba = db_acc.data();
  for (int64_t r = begin; r < end; ++r) {
    const T* x = d.x + r * cols;
    const T* g = d.g + r * cols;
    const T shift = x[0];
    GradLaneSums<T> sums;
    sums.template add<true>(x, g, d.w, cols, shift);
    const GradSums t = sums.total();
    const Moments m = moments(Sums{t.s, t.q}, cols, shift);
    const double rstd = 1.0 / std::sqrt(m.var + d.eps);
    const BackwardAffine c = backward_affine(t, m, rstd, 1.0, cols);
    const T a = static_cast<T>(c.a), b = static_cast<T>(c.b), k = static_cast<T>(c.k);
    const T rs = static_cast<T>(rstd), mean = static_cast<T>(m.mean);
    row_backward(x, g, d.w, d.dx + r * cols, wa, ba, cols, a, b, k, mean, rs);
    if ((r - begin + 1) % kFlushRows == 0 || r + 1 == end) {
      for (int64_t i = 0; i < cols; ++i) {
        dw[i] += static_cast<double>(wa[i]);
        db[i] += static_cast<double>(ba[i]);
        wa[i] = ba[i] = T(0);
      }
    }
  }
}

// Sums over rows go to a fixed number of row blocks' partials, added in order at the end, so the
// result does not depend on the thread count.
int64_t partial_blocks(int64_t rows, int64_t cols) {
  constexpr int64_t kMaxPartials = 16, kPartialValues = int64_t{1} << 22;
  return std::max<int64_t>(1, std::min({rows, kMaxPartials, kPartialValues / std::max<int64_t>(cols, 1)}));
}

template <class T>
void layer_norm_backward_typed(KernelCall& c) {
  const Tensor g = as_contiguous(c.inputs[0]), x = as_contiguous(c.inputs[1]);
  const int64_t cols = shape_numel(c.attrs.get<std::vector<int64_t>>("normalized_shape"));
  const int64_t rows = cols == 0 ? 0 : x.numel() / cols;
  const std::vector<T> weight = param_values<T>(c.inputs[2], cols, T(1));
  const LayerNormBackward<T> d{x.data<T>(), g.data<T>(), weight.data(), c.outputs[0].data<T>(), cols,
                               c.attrs.get<double>("eps")};
  const int64_t blocks = partial_blocks(rows, cols), per_block = rows == 0 ? 0 : (rows + blocks - 1) / blocks;
  std::vector<double> dw(blocks * cols, 0.0), db(blocks * cols, 0.0);
  parallel_for(0, blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p)
      layer_norm_backward_rows(d, std::min(rows, p * per_block), std::min(rows, (p + 1) * per_block),
                               dw.data() + p * cols, db.data() + p * cols);
  });
  T *gw = c.outputs[1].data<T>(), *gb = c.outputs[2].data<T>();
  for (int64_t i = 0; i < cols; ++i) {
    double sw = 0, sb = 0;
    for (int64_t p = 0; p < blocks; ++p) {
      sw += dw[p * cols + i];
      sb += db[p * cols + i];
    }
    gw[i] = static_cast<T>(sw);
    gb[i] = static_cast<T>(sb);
  }
}

void layer_norm_backward_kernel(KernelCall& c) {
  dispatch_floating(c.inputs[1].dtype(), [&](auto tag) { layer_norm_backward_typed<decltype(tag)>(c); });
}

// ---- group_norm_backward: (sample, group) blocks; per-(sample, channel) sums for the weight ---

template <class T>
struct GroupNormBackward {
  const T *x, *g, *w;
  T* dx;
  double* dw;  // [N, C]: sum over the channel's run of g * xhat
  double* db;  // [N, C]: sum of g
  double eps;
};

template <class T>
TERRA_CPU_CLONES void group_norm_backward_blocks(const GroupNormBackward<T>& d, const GroupLayout& l, int64_t begin,
                                                 int64_t end) {
  const int64_t block = l.block();
  std::vector<GradSums> ch(l.per_group);
  for (int64_t ng = begin; ng < end; ++ng) {
    const T* x = d.x + ng * block;
    const T* g = d.g + ng * block;
    const int64_t c0 = (ng % l.groups) * l.per_group;
    const T shift = x[0];
    // The group's sums, with g weighted per channel: w * sum(g) and w * sum(g * d).
    GradSums t;
    for (int64_t k = 0; k < l.per_group; ++k) {
      GradLaneSums<T> sums;
      sums.template add<false>(x + k * l.hw, g + k * l.hw, nullptr, l.hw, shift);
      ch[k] = sums.total();
      const double w = static_cast<double>(d.w[c0 + k]);
      t += GradSums{ch[k].s, ch[k].q, w * ch[k].g, w * ch[k].gd};
    }
    const Moments m = moments(Sums{t.s, t.q}, block, shift);
    const double rstd = 1.0 / std::sqrt(m.var + d.eps);
    const double mean_d = t.s / static_cast<double>(block);
    for (int64_t k = 0; k < l.per_group; ++k) {
      const BackwardAffine c = backward_affine(t, m, rstd, static_cast<double>(d.w[c0 + k]), block);
      backward_run(g + k * l.hw, x + k * l.hw, d.dx + ng * block + k * l.hw, l.hw, static_cast<T>(c.a),
                   static_cast<T>(c.b), static_cast<T>(c.k));
      const int64_t nc = (ng / l.groups) * l.groups * l.per_group + c0 + k;
      d.dw[nc] = rstd * (ch[k].gd - mean_d * ch[k].g);
      d.db[nc] = ch[k].g;
    }
  }
}

// Sums [N, C] per-sample values over the samples into a [C] output, in sample order.
template <class T>
void sum_over_samples(const std::vector<double>& v, int64_t n, int64_t channels, const Tensor& out) {
  T* o = out.data<T>();
  for (int64_t ch = 0; ch < channels; ++ch) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += v[i * channels + ch];
    o[ch] = static_cast<T>(s);
  }
}

template <class T>
void group_norm_backward_typed(KernelCall& c) {
  const Tensor g = as_contiguous(c.inputs[0]), x = as_contiguous(c.inputs[1]);
  const int64_t n = x.shape()[0], channels = x.shape()[1], groups = c.attrs.get<int64_t>("num_groups");
  const GroupLayout l{groups, channels / groups, trailing_numel(x.shape(), 2)};
  const std::vector<T> weight = param_values<T>(c.inputs[2], channels, T(1));
  std::vector<double> dw(n * channels, 0.0), db(n * channels, 0.0);
  const GroupNormBackward<T> d{x.data<T>(), g.data<T>(), weight.data(), c.outputs[0].data<T>(),
                               dw.data(), db.data(), c.attrs.get<double>("eps")};
  if (l.block() > 0)
    parallel_for(0, n * groups, grain_for(2 * l.block()),
                 [&](int64_t begin, int64_t end) { group_norm_backward_blocks(d, l, begin, end); });
  sum_over_samples<T>(dw, n, channels, c.outputs[1]);
  sum_over_samples<T>(db, n, channels, c.outputs[2]);
}

void group_norm_backward_kernel(KernelCall& c) {
  dispatch_floating(c.inputs[1].dtype(), [&](auto tag) { group_norm_backward_typed<decltype(tag)>(c); });
}

// ---- batch_norm_backward: per-channel sums over (N, HW), as the forward's statistics ----------

// Channels [begin, end), walking each channel's runs.
template <class T>
TERRA_CPU_CLONES void channel_grad_sums_by_runs(const T* x, const T* g, const ChannelLayout& l, const double* shift,
                                                GradSums* sums, int64_t begin, int64_t end) {
  for (int64_t ch = begin; ch < end; ++ch) {
    GradLaneSums<T> acc;
    for (int64_t i = 0; i < l.n; ++i) {
      const int64_t at = (i * l.channels + ch) * l.hw;
      acc.template add<false>(x + at, g + at, nullptr, l.hw, static_cast<T>(shift[ch]));
    }
    sums[ch] = acc.total();
  }
}

// Columns [begin, end) of the per-column sums, walking down all rows.
template <class T>
TERRA_CPU_CLONES void column_grad_sums(const T* x, const T* g, const ChannelLayout& l, const double* shift,
                                       GradSums* sums, int64_t begin, int64_t end) {
  const int64_t cols = l.cols();
  std::vector<double> s(end - begin, 0.0), q(end - begin, 0.0), sg(end - begin, 0.0), sgd(end - begin, 0.0);
  for (int64_t i = 0; i < l.n; ++i) {
    const T* xr = x + i * cols + begin;
    const T* gr = g + i * cols + begin;
    const double* sh = shift + begin;
    for (int64_t j = 0; j < end - begin; ++j) {
      const double dv = static_cast<double>(xr[j]) - sh[j], gv = static_cast<double>(gr[j]);
      s[j] += dv;
      q[j] += dv * dv;
      sg[j] += gv;
      sgd[j] += gv * dv;
    }
  }
  for (int64_t j = 0; j < end - begin; ++j) sums[begin + j] = GradSums{s[j], q[j], sg[j], sgd[j]};
}

template <class T>
std::vector<GradSums> channel_grad_sums(const T* x, const T* g, const ChannelLayout& l, const std::vector<double>& shift) {
  std::vector<GradSums> sums(l.channels);
  if (!l.by_rows()) {
    parallel_for(0, l.channels, grain_for(2 * l.count()), [&](int64_t begin, int64_t end) {
      channel_grad_sums_by_runs(x, g, l, shift.data(), sums.data(), begin, end);
    });
    return sums;
  }
  std::vector<double> col_shift(l.cols());
  for (int64_t j = 0; j < l.cols(); ++j) col_shift[j] = shift[j / l.hw];
  std::vector<GradSums> cols(l.cols());
  parallel_for(0, l.cols(), std::max<int64_t>(64, grain_for(2 * l.n)), [&](int64_t begin, int64_t end) {
    column_grad_sums(x, g, l, col_shift.data(), cols.data(), begin, end);
  });
  for (int64_t j = 0; j < l.cols(); ++j) sums[j / l.hw] += cols[j];
  return sums;
}

// dx = a * g + b * x + k with per-channel (or, by rows, per-column) coefficients.
template <class T>
struct ChannelCoefs {
  std::vector<T> a, b, k;
};

template <class T>
TERRA_CPU_CLONES void channel_backward_by_runs(const T* g, const T* x, T* dx, const ChannelLayout& l,
                                               const ChannelCoefs<T>& c, int64_t begin, int64_t end) {
  for (int64_t p = begin; p < end; ++p) {
    const int64_t ch = p % l.channels;
    backward_run(g + p * l.hw, x + p * l.hw, dx + p * l.hw, l.hw, c.a[ch], c.b[ch], c.k[ch]);
  }
}

template <class T>
TERRA_CPU_CLONES void channel_backward_by_rows(const T* g, const T* x, T* dx, int64_t cols,
                                               const ChannelCoefs<T>& c, int64_t begin, int64_t end) {
  const T *sa = c.a.data(), *sb = c.b.data(), *sk = c.k.data();
  for (int64_t i = begin; i < end; ++i) {
    const T* gr = g + i * cols;
    const T* xr = x + i * cols;
    T* dr = dx + i * cols;
    for (int64_t j = 0; j < cols; ++j) dr[j] = sa[j] * gr[j] + sb[j] * xr[j] + sk[j];
  }
}

template <class T>
void channel_backward(const T* g, const T* x, T* dx, const ChannelLayout& l, const ChannelCoefs<T>& c) {
  if (!l.by_rows()) {
    parallel_for(0, l.n * l.channels, grain_for(2 * l.hw),
                 [&](int64_t begin, int64_t end) { channel_backward_by_runs(g, x, dx, l, c, begin, end); });
    return;
  }
  const ChannelCoefs<T> cols{per_column(c.a, l), per_column(c.b, l), per_column(c.k, l)};
  parallel_for(0, l.n, grain_for(2 * l.cols()),
               [&](int64_t begin, int64_t end) { channel_backward_by_rows(g, x, dx, l.cols(), cols, begin, end); });
}

// Training: the batch statistics, recomputed (shift: each channel's first value, as the forward).
// Eval: the running statistics, with d = x - running_mean; dx = w * invstd * g.
template <class T>
void batch_norm_backward_typed(KernelCall& c) {
  const Tensor g = as_contiguous(c.inputs[0]), x = as_contiguous(c.inputs[1]);
  const ChannelLayout l{x.shape()[0], x.shape()[1], trailing_numel(x.shape(), 2)};
  const bool training = c.attrs.get<bool>("training");
  const double eps = c.attrs.get<double>("eps");
  const std::vector<T> weight = param_values<T>(c.inputs[2], l.channels, T(1));
  const std::vector<T> rm = param_values<T>(training ? Tensor() : c.inputs[3], l.channels, T(0));
  const std::vector<T> rv = param_values<T>(training ? Tensor() : c.inputs[4], l.channels, T(0));
  std::vector<double> shift(l.channels);
  for (int64_t ch = 0; ch < l.channels; ++ch)
    shift[ch] = training ? channel_shift(x.data<T>(), l, ch) : static_cast<double>(rm[ch]);
  const std::vector<GradSums> sums = channel_grad_sums(x.data<T>(), g.data<T>(), l, shift);
  ChannelCoefs<T> coef{std::vector<T>(l.channels), std::vector<T>(l.channels), std::vector<T>(l.channels)};
  T *gw = c.outputs[1].data<T>(), *gb = c.outputs[2].data<T>();
  for (int64_t ch = 0; ch < l.channels; ++ch) {
    const GradSums& t = sums[ch];
    const double w = static_cast<double>(weight[ch]);
    if (l.count() == 0) {
      gw[ch] = gb[ch] = T(0);
      continue;
    }
    BackwardAffine a;
    if (training) {
      const Moments m = moments(Sums{t.s, t.q}, l.count(), shift[ch]);
      const double invstd = 1.0 / std::sqrt(m.var + eps);
      a = backward_affine(GradSums{t.s, t.q, w * t.g, w * t.gd}, m, invstd, w, l.count());
      gw[ch] = static_cast<T>(invstd * (t.gd - t.s / static_cast<double>(l.count()) * t.g));
    } else {
      const double invstd = 1.0 / std::sqrt(static_cast<double>(rv[ch]) + eps);
      a = {w * invstd, 0.0, 0.0};
      gw[ch] = static_cast<T>(invstd * t.gd);
    }
    gb[ch] = static_cast<T>(t.g);
    coef.a[ch] = static_cast<T>(a.a);
    coef.b[ch] = static_cast<T>(a.b);
    coef.k[ch] = static_cast<T>(a.k);
  }
  channel_backward(g.data<T>(), x.data<T>(), c.outputs[0].data<T>(), l, coef);
}

void batch_norm_backward_kernel(KernelCall& c) {
  dispatch_floating(c.inputs[1].dtype(), [&](auto tag) { batch_norm_backward_typed<decltype(tag)>(c); });
}

}  // namespace

TERRA_KERNEL(layer_norm, CPU, layer_norm_kernel);
TERRA_KERNEL(batch_norm, CPU, batch_norm_kernel);
TERRA_KERNEL(group_norm, CPU, group_norm_kernel);
TERRA_KERNEL(layer_norm_backward, CPU, layer_norm_backward_kernel);
TERRA_KERNEL(batch_norm_backward, CPU, batch_norm_backward_kernel);
TERRA_KERNEL(group_norm_backward, CPU, group_norm_backward_kernel);

}  // namespace terra::cpu
