// CPU kernels of the normalization ops: layer_norm, batch_norm (training and eval) and group_norm.
// Each reads its statistics in one pass over a row, group or channel (Note [Shifted sums]) and
// normalizes in a second, plain loop that GCC vectorizes. Inputs and parameters are made
// contiguous first (a copy only when they are strided): every loop here walks unit-stride runs.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/loops.hpp"
#include "kernels/kernel.hpp"

namespace terra::cpu {
namespace {

// Note [Shifted sums]
// Mean and variance come from one pass accumulating d = x - shift and d * d in double, with the
// shift one of the values themselves (the first of the row, group or channel). Plain sum and
// sum-of-squares cancel catastrophically when the mean is large against the spread; centring on
// a sample avoids that, while still reading the data once (a second pass over a batch_norm
// channel would read the input from memory twice). kLanes independent accumulators let GCC
// vectorize the loop without reassociating floating-point additions.
constexpr int kLanes = 8;

struct Sums {
  double s = 0, q = 0;  // sum of d, sum of d * d
  void operator+=(const Sums& o) {
    s += o.s;
    q += o.q;
  }
};

template <class T>
Sums shifted_sums(const T* x, int64_t n, double shift) {
  double s[kLanes] = {}, q[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) {
      const double d = static_cast<double>(x[i + k]) - shift;
      s[k] += d;
      q[k] += d * d;
    }
  Sums r;
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - shift;
    r.s += d;
    r.q += d * d;
  }
  for (int k = 0; k < kLanes; ++k) r += Sums{s[k], q[k]};
  return r;
}

struct Moments {
  double mean, var;  // var is the biased (population) variance
};

// Over no values the mean is 0 and the variance NaN, as PyTorch reports for empty rows.
Moments moments(const Sums& sums, int64_t n, double shift) {
  if (n == 0) return {0.0, std::numeric_limits<double>::quiet_NaN()};
  const double m = sums.s / static_cast<double>(n);
  return {shift + m, std::max(0.0, sums.q / static_cast<double>(n) - m * m)};
}

// y = (x - mean) * scale + bias over a run: the normalizing loop of group_norm and batch_norm.
template <class T>
void normalize_run(const T* x, T* y, int64_t n, T mean, T scale, T bias) {
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * scale + bias;
}

// Threads get chunks of at least this many items when each item costs `work` elements.
int64_t grain_for(int64_t work) { return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(work, 1)); }

// `t` itself when contiguous or absent, else a contiguous copy.
Tensor contiguous(const Tensor& t) {
  if (!t.defined() || t.is_contiguous()) return t;
  Tensor out = Tensor::empty(t.shape(), t.dtype(), t.device());
  dispatch_floating(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    elementwise<T, T>(out, {t}, [](T v) { return v; });
  });
  return out;
}

// A parameter's n values, or n copies of `absent` when the optional parameter is None, so one
// loop serves with and without weight and bias.
template <class T>
std::vector<T> param_values(const Tensor& p, int64_t n, T absent) {
  if (!p.defined()) return std::vector<T>(n, absent);
  const Tensor c = contiguous(p);
  const T* d = c.data<T>();
  return std::vector<T>(d, d + n);
}

// Product of the dims from `first` on (1 for none).
int64_t trailing_numel(const Shape& shape, size_t first) {
  int64_t n = 1;
  for (size_t d = first; d < shape.size(); ++d) n *= shape[d];
  return n;
}

// ---- layer_norm: rows of the trailing normalized_shape elements -------------------------------

template <class T>
void layer_norm_typed(KernelCall& c) {
  const Tensor x = contiguous(c.inputs[0]);
  const int64_t cols = shape_numel(c.attrs.get<std::vector<int64_t>>("normalized_shape"));
  const int64_t rows = c.outputs[1].numel();
  const double eps = c.attrs.get<double>("eps");
  const std::vector<T> weight = param_values<T>(c.inputs[1], cols, T(1));
  const std::vector<T> bias = param_values<T>(c.inputs[2], cols, T(0));
  const T *xp = x.data<T>(), *w = weight.data(), *b = bias.data();
  T *yp = c.outputs[0].data<T>(), *mean_out = c.outputs[1].data<T>(), *rstd_out = c.outputs[2].data<T>();
  parallel_for(0, rows, grain_for(cols), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* xr = xp + r * cols;
      T* yr = yp + r * cols;
      const double shift = cols ? static_cast<double>(xr[0]) : 0.0;
      const Moments m = moments(shifted_sums(xr, cols, shift), cols, shift);
      mean_out[r] = static_cast<T>(m.mean);
      rstd_out[r] = static_cast<T>(1.0 / std::sqrt(m.var + eps));
      const T mean = mean_out[r], rstd = rstd_out[r];
      // The row was just read, so this second pass runs from cache.
      for (int64_t i = 0; i < cols; ++i) yr[i] = (xr[i] - mean) * rstd * w[i] + b[i];
    }
  });
}

void layer_norm_kernel(KernelCall& c) {
  dispatch_floating(c.inputs[0].dtype(), [&](auto tag) { layer_norm_typed<decltype(tag)>(c); });
}

// ---- group_norm: (N, C, *) with each sample's channels split into groups -----------------------

template <class T>
void group_norm_typed(KernelCall& c) {
  const Tensor x = contiguous(c.inputs[0]);
  const int64_t n = x.shape()[0], channels = x.shape()[1], hw = trailing_numel(x.shape(), 2);
  const int64_t groups = c.attrs.get<int64_t>("num_groups"), per_group = channels / groups;
  const int64_t block = per_group * hw;  // a (sample, group) is one contiguous block
  const double eps = c.attrs.get<double>("eps");
  const std::vector<T> weight = param_values<T>(c.inputs[1], channels, T(1));
  const std::vector<T> bias = param_values<T>(c.inputs[2], channels, T(0));
  const T* xp = x.data<T>();
  T *yp = c.outputs[0].data<T>(), *mean_out = c.outputs[1].data<T>(), *rstd_out = c.outputs[2].data<T>();
  parallel_for(0, n * groups, grain_for(block), [&](int64_t begin, int64_t end) {
    for (int64_t ng = begin; ng < end; ++ng) {
      const T* xg = xp + ng * block;
      T* yg = yp + ng * block;
      const double shift = block ? static_cast<double>(xg[0]) : 0.0;
      const Moments m = moments(shifted_sums(xg, block, shift), block, shift);
      const double rstd = 1.0 / std::sqrt(m.var + eps);
      mean_out[ng] = static_cast<T>(m.mean);
      rstd_out[ng] = static_cast<T>(rstd);
      const int64_t c0 = (ng % groups) * per_group;
      for (int64_t k = 0; k < per_group; ++k)
        normalize_run(xg + k * hw, yg + k * hw, hw, mean_out[ng], static_cast<T>(rstd * weight[c0 + k]),
                      bias[c0 + k]);
    }
  });
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
};

template <class T>
std::vector<Moments> channel_moments(const T* x, const ChannelLayout& l) {
  // Each channel's shift is its first value (Note [Shifted sums]).
  auto shift_of = [&](int64_t ch) { return l.count() ? static_cast<double>(x[ch * l.hw]) : 0.0; };
  std::vector<Sums> sums(l.channels);
  if (!l.by_rows()) {
    parallel_for(0, l.channels, grain_for(l.count()), [&](int64_t begin, int64_t end) {
      for (int64_t ch = begin; ch < end; ++ch) {
        const double shift = shift_of(ch);
        for (int64_t i = 0; i < l.n; ++i) sums[ch] += shifted_sums(x + (i * l.channels + ch) * l.hw, l.hw, shift);
      }
    });
  } else {
    const int64_t cols = l.channels * l.hw;
    std::vector<double> shift(cols), s(cols, 0.0), q(cols, 0.0);
    for (int64_t j = 0; j < cols; ++j) shift[j] = shift_of(j / l.hw);
    double *sp = s.data(), *qp = q.data();
    const double* shp = shift.data();
    // Threads own disjoint column ranges and walk down all rows; the column loop vectorizes.
    parallel_for(0, cols, std::max<int64_t>(4 * kLanes, grain_for(l.n)), [&](int64_t begin, int64_t end) {
      for (int64_t i = 0; i < l.n; ++i) {
        const T* row = x + i * cols;
        for (int64_t j = begin; j < end; ++j) {
          const double d = static_cast<double>(row[j]) - shp[j];
          sp[j] += d;
          qp[j] += d * d;
        }
      }
    });
    for (int64_t j = 0; j < cols; ++j) sums[j / l.hw] += Sums{s[j], q[j]};
  }
  std::vector<Moments> out(l.channels);
  for (int64_t ch = 0; ch < l.channels; ++ch) out[ch] = moments(sums[ch], l.count(), shift_of(ch));
  return out;
}

// y = (x - mean[c]) * scale[c] + bias[c] for every value of channel c.
template <class T>
void normalize_channels(const T* x, T* y, const ChannelLayout& l, const std::vector<T>& mean,
                        const std::vector<T>& scale, const std::vector<T>& bias) {
  if (!l.by_rows()) {
    parallel_for(0, l.n * l.channels, grain_for(l.hw), [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) {
        const int64_t ch = p % l.channels;
        normalize_run(x + p * l.hw, y + p * l.hw, l.hw, mean[ch], scale[ch], bias[ch]);
      }
    });
    return;
  }
  // Per-column copies of the channel parameters make each row one vectorizable loop.
  const int64_t cols = l.channels * l.hw;
  std::vector<T> m(cols), s(cols), b(cols);
  for (int64_t j = 0; j < cols; ++j) {
    m[j] = mean[j / l.hw];
    s[j] = scale[j / l.hw];
    b[j] = bias[j / l.hw];
  }
  const T *mp = m.data(), *sp = s.data(), *bp = b.data();
  parallel_for(0, l.n, grain_for(cols), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const T* xr = x + i * cols;
      T* yr = y + i * cols;
      for (int64_t j = 0; j < cols; ++j) yr[j] = (xr[j] - mp[j]) * sp[j] + bp[j];
    }
  });
}

// Writes `values` into a (possibly strided) running-statistics tensor.
template <class T>
void store(const Tensor& dst, const std::vector<double>& values) {
  Tensor tmp = Tensor::empty(dst.shape(), dst.dtype(), dst.device());
  std::copy(values.begin(), values.end(), tmp.data<T>());
  elementwise<T, T>(dst, {tmp}, [](T v) { return v; });
  dst.bump_version();
}

template <class T>
void batch_norm_typed(KernelCall& c) {
  const Tensor x = contiguous(c.inputs[0]);
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
    // new = (1 - momentum) * old + momentum * batch, with the unbiased variance as PyTorch. An
    // empty batch has no statistics to blend in and leaves the running ones alone.
    if (l.count() > 0) {
      const double unbias = static_cast<double>(l.count()) / static_cast<double>(l.count() - 1);
      if (running_mean.defined()) {
        const std::vector<T> old = param_values<T>(running_mean, l.channels, T(0));
        std::vector<double> next(l.channels);
        for (int64_t ch = 0; ch < l.channels; ++ch) next[ch] = (1 - momentum) * old[ch] + momentum * mean[ch];
        store<T>(running_mean, next);
      }
      if (running_var.defined()) {
        const std::vector<T> old = param_values<T>(running_var, l.channels, T(0));
        std::vector<double> next(l.channels);
        for (int64_t ch = 0; ch < l.channels; ++ch)
          next[ch] = (1 - momentum) * old[ch] + momentum * m[ch].var * unbias;
        store<T>(running_var, next);
      }
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
  std::vector<T> mean_t(l.channels), scale(l.channels);
  for (int64_t ch = 0; ch < l.channels; ++ch) {
    mean_t[ch] = static_cast<T>(mean[ch]);
    scale[ch] = static_cast<T>(invstd[ch] * weight[ch]);
  }
  normalize_channels(x.data<T>(), c.outputs[0].data<T>(), l, mean_t, scale, bias);
}

void batch_norm_kernel(KernelCall& c) {
  dispatch_floating(c.inputs[0].dtype(), [&](auto tag) { batch_norm_typed<decltype(tag)>(c); });
}

}  // namespace

TERRA_KERNEL(layer_norm, CPU, layer_norm_kernel);
TERRA_KERNEL(batch_norm, CPU, batch_norm_kernel);
TERRA_KERNEL(group_norm, CPU, group_norm_kernel);

}  // namespace terra::cpu
