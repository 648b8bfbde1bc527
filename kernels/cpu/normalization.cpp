// CPU kernels of the normalization ops: layer_norm, batch_norm (training and eval) and group_norm.
// Each reads its statistics in one pass over a row, group or channel (Note [Shifted sums]) and
// normalizes in a second, plain loop that GCC vectorizes. Inputs and parameters are made
// contiguous first (a copy only when they are strided): every loop here walks unit-stride runs.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/contiguous.hpp"
#include "kernels/cpu/loops.hpp"
#include "kernels/kernel.hpp"

// Note [AVX2 clones]
// Terra builds for baseline x86-64 (SSE2). The functions that run the loops over the data are also
// compiled for AVX2 and the loader picks the version the CPU supports (an ifunc): about 1.5x on a
// float32 layer_norm. The AVX2 target leaves FMA off, so both versions do the same roundings in
// the same order (Note [Shifted sums]) and give identical bits. The helpers these functions call
// are always inlined, so that they too are compiled for each version.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
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

struct Sums {
  double s = 0, q = 0;  // sum of d, sum of d * d
  void operator+=(const Sums& o) {
    s += o.s;
    q += o.q;
  }
};

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

struct Moments {
  double mean, var;  // var is the biased (population) variance
};

// Over no values the mean is 0 and the variance NaN, as PyTorch reports for empty rows. Rounding
// can leave a tiny negative variance, clamped to 0 (a NaN passes through).
Moments moments(const Sums& sums, int64_t n, double shift) {
  if (n == 0) return {0.0, std::numeric_limits<double>::quiet_NaN()};
  const double m = sums.s / static_cast<double>(n);
  const double var = sums.q / static_cast<double>(n) - m * m;
  return {shift + m, var < 0 ? 0.0 : var};
}

// y = (x - mean) * scale + bias over a run: the normalizing loop of group_norm and batch_norm.
template <class T>
[[gnu::always_inline]] inline void normalize_run(const T* x, T* y, int64_t n, T mean, T scale, T bias) {
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * scale + bias;
}

// Threads get chunks of at least this many items when each item costs `work` elements.
int64_t grain_for(int64_t work) { return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(work, 1)); }

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

template <class T>
void normalize_channels(const T* x, T* y, const ChannelLayout& l, const ChannelAffine<T>& a) {
  if (!l.by_rows()) {
    parallel_for(0, l.n * l.channels, grain_for(l.hw),
                 [&](int64_t begin, int64_t end) { normalize_by_runs(x, y, l, a, begin, end); });
    return;
  }
  // Per-column copies of the channel parameters make each row one vectorizable loop.
  ChannelAffine<T> cols;
  for (int64_t j = 0; j < l.cols(); ++j) {
    cols.mean.push_back(a.mean[j / l.hw]);
    cols.scale.push_back(a.scale[j / l.hw]);
    cols.bias.push_back(a.bias[j / l.hw]);
  }
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

}  // namespace

TERRA_KERNEL(layer_norm, CPU, layer_norm_kernel);
TERRA_KERNEL(batch_norm, CPU, batch_norm_kernel);
TERRA_KERNEL(group_norm, CPU, group_norm_kernel);

}  // namespace terra::cpu
