// CPU kernels of the losses and their backward ops. The pointwise losses are the shared kernels
// of kernels/common/loss_kernels.hpp on the CPU's elementwise loop (CpuLoss). nll_loss gathers
// one log-probability per sample. cross_entropy is fused: each sample's log-sum-exp
// (kernels/cpu/softmax.hpp) and its logits give the loss, so log_softmax is never materialized;
// it equals log_softmax followed by nll_loss (and PyTorch's label-smoothing and
// class-probability formulas); the per-sample math is kernels/common/class_loss_math.hpp. Its
// backward is one scaled softmax pass and a correction (Note [Fused cross-entropy backward]).
// Sums accumulate in float64 (int64 for integer l1_loss) in a fixed order, so results do not
// depend on the thread count.
#include <algorithm>
#include <vector>

#include "kernels/common/class_loss_math.hpp"
#include "kernels/common/loss_kernels.hpp"
#include "kernels/cpu/contiguous.hpp"
#include "kernels/cpu/softmax.hpp"
#include "kernels/cpu/elementwise.hpp"

namespace terra::cpu {
namespace {

using math::Reduction;
using loss_kernels::reduction_of;

// Sum of n contiguous values in Acc, over fixed blocks summed in order.
template <class Acc, class T>
Acc blocked_sum(const T* p, int64_t n) {
  constexpr int64_t kBlock = 16384;
  constexpr int kLanes = 8;  // independent partial sums, so the loop vectorizes
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<Acc> partial(blocks);
  parallel_for(0, blocks, std::max<int64_t>(1, kElementwiseGrain / kBlock), [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const T* q = p + k * kBlock;
      const int64_t m = std::min(kBlock, n - k * kBlock), full = m - m % kLanes;
      Acc lanes[kLanes] = {};
      for (int64_t i = 0; i < full; i += kLanes)
        for (int j = 0; j < kLanes; ++j) lanes[j] += static_cast<Acc>(q[i + j]);
      for (int64_t i = full; i < m; ++i) lanes[i - full] += static_cast<Acc>(q[i]);
      Acc s = 0;
      for (Acc v : lanes) s += v;
      partial[k] = s;
    }
  });
  Acc total = 0;
  for (Acc v : partial) total += v;
  return total;
}

// The CPU engine of the pointwise losses (kernels/common/loss_kernels.hpp).
struct CpuLoss : CpuLoops {
  static Tensor as_contiguous(const Tensor& t) { return cpu::as_contiguous(t); }
  template <class T>
  static void finish(const KernelCall& c, const Tensor& loss, Reduction r) {
    if (r == Reduction::None) return;
    if constexpr (std::is_floating_point_v<T>) {
      const double s = blocked_sum<double>(loss.data<T>(), loss.numel());
      c.outputs[0].data<T>()[0] = static_cast<T>(r == Reduction::Mean ? s / static_cast<double>(loss.numel()) : s);
    } else {
      c.outputs[0].data<int64_t>()[0] = blocked_sum<int64_t>(loss.data<T>(), loss.numel());  // the rule allows only sum
    }
  }
  template <class T>
  static Tensor scaled_grad(const KernelCall& c, Reduction r) {
    const Tensor& g = c.inputs[0];
    if (r != Reduction::Mean) return g;
    const int64_t n = c.outputs[0].numel();
    return Tensor::wrap_scalar(static_cast<double>(*g.data<T>()) / static_cast<double>(n), g.dtype());
  }
  template <class T>
  static bool any_outside_unit(const Tensor& x) {
    Tensor flags = Tensor::empty(x.shape(), DType::Bool);
    elementwise<bool, T>(flags, {x}, math::OutsideUnitInterval{});
    const bool* f = flags.data<bool>();
    return std::any_of(f, f + flags.numel(), [](bool b) { return b; });
  }
};

// --- class losses: nll_loss, cross_entropy ---

using math::ClassLayout;
using math::class_layout;

using math::check_targets;

// Per-sample losses loss(s) into the output for 'none'; else their sum, divided for 'mean' by
// the sum of weight(s) (0/0 gives NaN, as in PyTorch). `cost` is the work per sample.
template <class T, class Loss, class Weight>
void reduce_samples(const KernelCall& c, Reduction r, int64_t n, int64_t cost, const Loss& loss, const Weight& weight) {
  const int64_t grain = grain_for(cost);
  T* out = c.outputs[0].data<T>();
  if (r == Reduction::None) {
    parallel_for(0, n, grain, [&](int64_t b, int64_t e) {
      for (int64_t s = b; s < e; ++s) out[s] = static_cast<T>(loss(s));
    });
    return;
  }
  std::vector<double> losses(n);
  parallel_for(0, n, grain, [&](int64_t b, int64_t e) {
    for (int64_t s = b; s < e; ++s) losses[s] = loss(s);
  });
  double total = 0, total_weight = 0;
  for (int64_t s = 0; s < n; ++s) total += losses[s];
  if (r == Reduction::Mean)
    for (int64_t s = 0; s < n; ++s) total_weight += weight(s);
  out[0] = static_cast<T>(r == Reduction::Mean ? total / total_weight : total);
}

using ClassOperands = loss_kernels::ClassOperands<CpuLoss>;

void nll_loss_kernel(KernelCall& c) {
  const Reduction r = reduction_of(c);
  const int64_t ignore = c.attrs.get<int64_t>("ignore_index");
  const ClassOperands in(c);
  const ClassLayout L = class_layout(in.x);
  const int64_t* t = in.target.data<int64_t>();
  check_targets(t, L.samples(), L.classes, ignore);
  dispatch_floating(in.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const math::NllSamples<T> m{in.x.data<T>(), t, in.weight_data<T>(), ignore, L};
    reduce_samples<T>(c, r, L.samples(), 1, [&](int64_t s) { return m.loss(s); }, [&](int64_t s) { return m.weight(s); });
  });
}

// Per-sample losses: math::CrossEntropyIndexSamples and CrossEntropyProbSamples.
void cross_entropy_kernel(KernelCall& c) {
  const Reduction r = reduction_of(c);
  const ClassOperands in(c);
  const ClassLayout L = class_layout(in.x);
  const int64_t n = L.samples(), C = L.classes;
  const double smoothing = std::max(0.0, c.attrs.get<double>("label_smoothing"));  // only e > 0 applies
  const bool probabilities = is_floating(in.target.dtype());
  const int64_t ignore = c.attrs.get<int64_t>("ignore_index");
  if (!probabilities) check_targets(in.target.data<int64_t>(), n, C, ignore);
  dispatch_floating(in.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* xp = in.x.data<T>();
    const T* wp = in.weight_data<T>();
    std::vector<T> lse(C > 0 ? n : 0);
    if (C > 0 && n > 0) logsumexp_dim(xp, lse.data(), L.outer, C, L.inner);
    const math::CrossEntropyCommon<T> common{xp, lse.data(), wp, smoothing, L};
    auto weight_of = [](const auto& m) { return [&m](int64_t s) { return m.weight(s); }; };
    auto loss_of = [](const auto& m) { return [&m](int64_t s) { return m.loss(s); }; };
    if (probabilities) {
      const math::CrossEntropyProbSamples<T> m{common, in.target.data<T>()};
      reduce_samples<T>(c, r, n, C, loss_of(m), weight_of(m));
      return;
    }
    const math::CrossEntropyIndexSamples<T> m{common, in.target.data<int64_t>(), ignore};
    reduce_samples<T>(c, r, n, smoothing > 0 ? C : 1, loss_of(m), weight_of(m));
  });
}

// --- backward ---

// Each sample's share of the incoming gradient g: g[s] for 'none', g for 'sum', g / total for
// 'mean' with total the sum of weight(s) the forward divided by. An ignored sample's weight(s)
// is 0, and the kernels leave its gradient 0 whatever its factor.
template <class T, class Weight>
std::vector<double> sample_factors(const Tensor& grad, Reduction r, int64_t n, const Weight& weight) {
  std::vector<double> f(n);
  if (r == Reduction::None) {
    const Tensor g = as_contiguous(grad);
    const T* gp = g.data<T>();
    for (int64_t s = 0; s < n; ++s) f[s] = static_cast<double>(gp[s]);
    return f;
  }
  double v = static_cast<double>(*grad.data<T>());
  if (r == Reduction::Mean) {
    double total = 0;
    for (int64_t s = 0; s < n; ++s) total += weight(s);
    v /= total;
  }
  std::fill(f.begin(), f.end(), v);
  return f;
}

// nll_loss_backward(grad_output, self, target, weight): -w[t] times the sample's factor at the
// target class, 0 elsewhere.
void nll_loss_backward_kernel(KernelCall& c) {
  const Reduction r = reduction_of(c);
  const int64_t ignore = c.attrs.get<int64_t>("ignore_index");
  const ClassOperands in(c, 1);
  const ClassLayout L = class_layout(in.x);
  const int64_t n = L.samples();
  const int64_t* t = in.target.data<int64_t>();
  check_targets(t, n, L.classes, ignore);
  const Tensor& out = c.outputs[0];
  dispatch_floating(in.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* wp = in.weight_data<T>();
    auto weight = [&](int64_t s) { return t[s] == ignore ? 0.0 : (wp ? double(wp[t[s]]) : 1.0); };
    const std::vector<double> f = sample_factors<T>(c.inputs[0], r, n, weight);
    T* o = out.data<T>();
    const int64_t per_outer = L.classes * L.inner;
    parallel_for(0, L.outer, grain_for(per_outer),
                 [&](int64_t b, int64_t e) {
                   std::fill(o + b * per_outer, o + e * per_outer, T(0));
                   for (int64_t s = b * L.inner; s < e * L.inner; ++s)
                     if (t[s] != ignore) o[L.base(s) + t[s] * L.inner] = static_cast<T>(-weight(s) * f[s]);
                 });
  });
}

// The dense correction's loops, with restrict pointers so they vectorize (q null: no q term).
// Along one class's run of positions: row[j] -= f[j] * (spread + share * q[j]).
template <class T>
void subtract_positions(T* __restrict row, const T* __restrict f, T spread, T share, const T* __restrict q, int64_t n) {
  if (q) {
    for (int64_t j = 0; j < n; ++j) row[j] -= f[j] * (spread + share * q[j]);
  } else {
    for (int64_t j = 0; j < n; ++j) row[j] -= f[j] * spread;
  }
}

// Along one sample's classes: row[k] -= f * (spread[k] + share[k] * q[k]).
template <class T>
void subtract_classes(T* __restrict row, T f, const T* __restrict spread, const T* __restrict share,
                      const T* __restrict q, int64_t n) {
  if (q) {
    for (int64_t k = 0; k < n; ++k) row[k] -= f * (spread[k] + share[k] * q[k]);
  } else {
    for (int64_t k = 0; k < n; ++k) row[k] -= f * spread[k];
  }
}

// o[s, k] -= f[s] * (spread[k] + share[k] * q[s, k]) over every class k of every sample, in
// memory order: along the classes of a sample when they are contiguous (inner == 1), else along
// the samples of a class.
template <class T>
void subtract_dense(T* o, const ClassLayout& L, const std::vector<T>& f, const std::vector<T>& spread,
                    const std::vector<T>& share, const T* q) {
  const int64_t C = L.classes, inner = L.inner;
  parallel_for(0, L.outer, grain_for(C * inner),
               [&](int64_t b, int64_t e) {
                 for (int64_t i = b; i < e; ++i) {
                   if (inner == 1) {
                     subtract_classes(o + i * C, f[i], spread.data(), share.data(), q ? q + i * C : nullptr, C);
                     continue;
                   }
                   for (int64_t k = 0; k < C; ++k) {
                     const int64_t at = (i * C + k) * inner;
                     subtract_positions(o + at, f.data() + i * inner, spread[k], share[k], q ? q + at : nullptr, inner);
                   }
                 }
               });
}

// Note [Fused cross-entropy backward]
// The loss of a sample is sum_k r[k] (lse - x[k]) for per-class coefficients r (see
// cross_entropy_kernel), so its gradient is f * (R p - r) with p = softmax(x), R = sum_k r[k] and
// f the sample's factor. The softmax pass writes f R p straight into the output (its normalizing
// multiply takes the factor); subtracting f r then touches only the target class for class
// indices without smoothing (r = w[t] at t), and every class otherwise. With C classes and
// smoothing e: indices r[k] = (1 - e) w[t] [k = t] + e / C w[k], ignored samples r = 0;
// probabilities r[k] = w[k] (q[k] (1 - e) + e / C).
void cross_entropy_backward_kernel(KernelCall& c) {
  const Reduction r = reduction_of(c);
  const ClassOperands in(c, 1);
  const ClassLayout L = class_layout(in.x);
  const int64_t n = L.samples(), C = L.classes;
  const double e = std::max(0.0, c.attrs.get<double>("label_smoothing"));
  const bool probabilities = is_floating(in.target.dtype());
  const int64_t ignore = c.attrs.get<int64_t>("ignore_index");
  if (!probabilities) check_targets(in.target.data<int64_t>(), n, C, ignore);
  const Tensor& out = c.outputs[0];
  if (out.numel() == 0) return;
  dispatch_floating(in.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* wp = in.weight_data<T>();
    auto w = [&](int64_t k) { return wp ? double(wp[k]) : 1.0; };
    double w_total = 0;
    for (int64_t k = 0; k < C; ++k) w_total += w(k);
    T* o = out.data<T>();
    std::vector<T> row_scale(n), spread(C), share(C);
    for (int64_t k = 0; k < C; ++k) {
      spread[k] = static_cast<T>(w(k) * e / double(C));
      share[k] = static_cast<T>(w(k) * (1 - e));
    }
    if (probabilities) {
      const T* q = in.target.data<T>();
      const std::vector<double> f = sample_factors<T>(c.inputs[0], r, n, [](int64_t) { return 1.0; });
      for (int64_t s = 0; s < n; ++s) {
        double total = 0;
        for (int64_t k = 0; k < C; ++k) total += w(k) * (double(q[L.base(s) + k * L.inner]) * (1 - e) + e / double(C));
        row_scale[s] = static_cast<T>(f[s] * total);
      }
      softmax_dim(in.x.data<T>(), o, L.outer, C, L.inner, false, row_scale.data());
      subtract_dense(o, L, std::vector<T>(f.begin(), f.end()), spread, share, q);
      return;
    }
    const int64_t* t = in.target.data<int64_t>();
    std::vector<double> f =
        sample_factors<T>(c.inputs[0], r, n, [&](int64_t s) { return t[s] == ignore ? 0.0 : w(t[s]); });
    for (int64_t s = 0; s < n; ++s) {
      if (t[s] == ignore) f[s] = 0;  // also when all are ignored and the 'mean' factor is inf
      row_scale[s] = t[s] == ignore ? T(0) : static_cast<T>(f[s] * ((1 - e) * w(t[s]) + e / double(C) * w_total));
    }
    softmax_dim(in.x.data<T>(), o, L.outer, C, L.inner, false, row_scale.data());
    for (int64_t s = 0; s < n; ++s)
      if (t[s] != ignore) o[L.base(s) + t[s] * L.inner] -= static_cast<T>(f[s] * (1 - e) * w(t[s]));
    if (e > 0) subtract_dense(o, L, std::vector<T>(f.begin(), f.end()), spread, share, static_cast<const T*>(nullptr));
  });
}

}  // namespace

TERRA_KERNEL(nll_loss, CPU, nll_loss_kernel);
TERRA_KERNEL(cross_entropy, CPU, cross_entropy_kernel);
TERRA_KERNEL(nll_loss_backward, CPU, nll_loss_backward_kernel);
TERRA_KERNEL(cross_entropy_backward, CPU, cross_entropy_backward_kernel);
TERRA_POINTWISE_LOSS_KERNELS(CPU, CpuLoss);
}  // namespace terra::cpu
