// CPU kernels of the reductions (sum, mean, prod, max/min and their dim/arg forms, amax/amin,
// var/std, norm, logsumexp, all/any) and of the cumsum scan. Each reduction is a functor for the
// shared engine in reduce_loops.hpp (Note [Reduction functors]); the kernels only pick the
// functor for the dtypes at hand.
//
// Accumulation: floating inputs accumulate in double (float32 sums then stay accurate to float32
// rounding for any practical n, with no cascade needed), integer and bool inputs in int64 with
// wrap-around on overflow as PyTorch's int64 arithmetic does.
#include <cmath>
#include <limits>

#include "kernels/cpu/reduce_loops.hpp"
#include "kernels/kernel.hpp"

namespace terra::cpu {
namespace {

template <class T>
using acc_t = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

// Integer accumulators wrap (unsigned arithmetic) instead of overflowing, which C++ leaves undefined.
template <class A>
A wrap_add(A a, A b) {
  if constexpr (std::is_integral_v<A>) {
    return static_cast<A>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  } else {
    return a + b;
  }
}
template <class A>
A wrap_mul(A a, A b) {
  if constexpr (std::is_integral_v<A>) {
    return static_cast<A>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
  } else {
    return a * b;
  }
}

template <class T>
bool is_nan(T x) {
  if constexpr (std::is_floating_point_v<T>) {
    return x != x;
  } else {
    return false;
  }
}

constexpr double kInf = std::numeric_limits<double>::infinity();

// ---- Sums and products ----------------------------------------------------------------------

template <class T, class Out>
struct SumOp {
  using In = T;
  using Acc = acc_t<T>;
  static constexpr bool kOrdered = false;
  Out* out;
  Acc init() const { return 0; }
  Acc step(Acc a, T x, int64_t) const { return wrap_add(a, static_cast<Acc>(x)); }
  Acc combine(Acc a, Acc b) const { return wrap_add(a, b); }
  void store(int64_t o, Acc a) const { out[o] = static_cast<Out>(a); }
};

template <class T>
struct MeanOp : SumOp<T, T> {
  double count;
  void store(int64_t o, double a) const { this->out[o] = static_cast<T>(a / count); }
};

template <class T, class Out>
struct ProdOp {
  using In = T;
  using Acc = acc_t<T>;
  static constexpr bool kOrdered = false;
  Out* out;
  Acc init() const { return 1; }
  Acc step(Acc a, T x, int64_t) const { return wrap_mul(a, static_cast<Acc>(x)); }
  Acc combine(Acc a, Acc b) const { return wrap_mul(a, b); }
  void store(int64_t o, Acc a) const { out[o] = static_cast<Out>(a); }
};

// ---- Extrema: NaN wins (it propagates), ties keep the first position ---------------------------

template <class T, bool Max>
bool better(T x, T y) {  // whether x is strictly preferred over y
  if (is_nan(x) || is_nan(y)) return is_nan(x) && !is_nan(y);
  return Max ? x > y : x < y;
}

template <class T, bool Max>
struct ExtremumOp {
  using In = T;
  using Acc = T;
  static constexpr bool kOrdered = false;
  T* out;
  Acc init() const {
    if constexpr (std::is_floating_point_v<T>) {
      return Max ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
    } else {
      return Max ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
    }
  }
  // Written as one select so the loop vectorizes; a NaN accumulator is never replaced.
  Acc step(Acc a, T x, int64_t) const { return ((Max ? x > a : x < a) || is_nan(x)) ? x : a; }
  Acc combine(Acc a, Acc b) const { return step(a, b, 0); }
  void store(int64_t o, Acc a) const { out[o] = a; }
};

template <class T, bool Max>
struct ArgExtremumOp {
  using In = T;
  struct Acc {
    T v{};
    int64_t i = -1;  // -1: nothing seen yet
  };
  static constexpr bool kOrdered = true;
  T* values;  // may be null (argmax)
  int64_t* indices;
  Acc init() const { return {}; }
  Acc step(Acc a, T x, int64_t i) const { return (a.i < 0 || better<T, Max>(x, a.v)) ? Acc{x, i} : a; }
  Acc combine(Acc a, Acc b) const {
    if (a.i < 0 || better<T, Max>(b.v, a.v)) return b;
    if (b.i < 0 || better<T, Max>(a.v, b.v)) return a;
    return b.i < a.i ? b : a;
  }
  // Contiguous runs in cache-sized blocks: the extreme value by a vectorized fold, then the first
  // position holding it, instead of a branchy step carrying an index per element.
  Acc run(Acc a, const T* p, int64_t n, int64_t i0) const {
    constexpr int64_t kBlock = 4096;
    const ExtremumOp<T, Max> ext{nullptr};
    auto step = [&ext](T acc, T x, int64_t) { return ext.step(acc, x, 0); };
    auto combine = [&ext](T x, T y) { return ext.combine(x, y); };
    for (int64_t b = 0; b < n; b += kBlock) {
      const T* q = p + b;
      const T best = fold_lanes(ext.init(), q, std::min(kBlock, n - b), 0, step, combine);
      int64_t k = 0;
      while (!(q[k] == best || (is_nan(best) && is_nan(q[k])))) ++k;
      a = this->combine(a, Acc{best, i0 + b + k});
    }
    return a;
  }
  void store(int64_t o, Acc a) const {
    if (values) values[o] = a.v;
    indices[o] = a.i;
  }
};

// ---- Variance: Welford steps, two-pass blocks on contiguous runs, Chan's merge ------------------

struct Moments {
  double n = 0, mean = 0, m2 = 0;
};

template <class T>
struct VarOp {
  using In = T;
  using Acc = Moments;
  static constexpr bool kOrdered = false;
  T* out;
  double correction;
  bool take_sqrt;
  Acc init() const { return {}; }
  Acc step(Acc a, T x, int64_t) const {
    const double n = a.n + 1, d = x - a.mean, mean = a.mean + d / n;
    return {n, mean, a.m2 + d * (x - mean)};
  }
  Acc combine(Acc a, Acc b) const {
    if (a.n == 0) return b;
    if (b.n == 0) return a;
    const double n = a.n + b.n, d = b.mean - a.mean;
    return {n, a.mean + d * (b.n / n), a.m2 + b.m2 + d * d * (a.n * b.n / n)};
  }
  // Blocks small enough to stay in cache are done in two vectorized passes (mean, then squared
  // deviations from it), which is both faster and more accurate than a Welford step per element.
  Acc run(Acc a, const T* p, int64_t n, int64_t) const {
    constexpr int64_t kBlock = 4096;
    for (int64_t b = 0; b < n; b += kBlock) {
      const int64_t m = std::min(kBlock, n - b);
      const T* q = p + b;
      const double mean = lane_sum(q, m, [](T x) { return static_cast<double>(x); }) / static_cast<double>(m);
      const double m2 = lane_sum(q, m, [mean](T x) {
        const double d = x - mean;
        return d * d;
      });
      a = combine(a, Moments{static_cast<double>(m), mean, m2});
    }
    return a;
  }
  void store(int64_t o, Acc a) const {
    const double v = a.m2 / std::max(0.0, a.n - correction);  // PyTorch: 0/0 is nan, x/0 is inf
    out[o] = static_cast<T>(take_sqrt ? std::sqrt(v) : v);
  }
};

// ---- Vector norms ----------------------------------------------------------------------------

enum class NormKind { Zero, One, Two, Inf, NegInf, P };

template <class T, NormKind K>
struct NormOp {
  using In = T;
  using Acc = double;
  static constexpr bool kOrdered = false;
  T* out;
  double p;
  int64_t count;  // elements per output
  Acc init() const { return K == NormKind::NegInf ? kInf : 0.0; }
  Acc step(Acc a, T x, int64_t) const {
    const double v = std::abs(static_cast<double>(x));
    if constexpr (K == NormKind::Zero) return a + (x != T(0) ? 1.0 : 0.0);  // NaN counts as non-zero
    if constexpr (K == NormKind::One) return a + v;
    if constexpr (K == NormKind::Two) return a + v * v;
    if constexpr (K == NormKind::Inf) return (v > a || v != v) ? v : a;
    if constexpr (K == NormKind::NegInf) return (v < a || v != v) ? v : a;
    if constexpr (K == NormKind::P) return a + std::pow(v, p);
  }
  Acc combine(Acc a, Acc b) const {
    if constexpr (K == NormKind::Inf) return (b > a || b != b) ? b : a;
    if constexpr (K == NormKind::NegInf) return (b < a || b != b) ? b : a;
    return a + b;
  }
  void store(int64_t o, Acc a) const {
    double r = a;
    if constexpr (K == NormKind::Two) r = std::sqrt(a);
    if constexpr (K == NormKind::P) r = std::pow(a, 1.0 / p);
    out[o] = static_cast<T>(count == 0 ? 0.0 : r);  // torch.norm gives 0 for empty slices, any p
  }
};

// ---- logsumexp -------------------------------------------------------------------------------

// Note [Stable logsumexp]
// The accumulator is (m, s) with value m + log(s): m the largest element so far and s the sum of
// exp(x - m), so exp never overflows. Elements equal to m add exactly 1, which keeps slices of
// +inf (result +inf) and of -inf (result -inf, never inf - inf = nan) exact; s == 0 marks an empty
// accumulator (an empty slice gives -inf, as in PyTorch). NaN poisons both fields.
struct MaxSum {
  double m = 0, s = 0;
};

template <class T>
struct LogSumExpOp {
  using In = T;
  using Acc = MaxSum;
  static constexpr bool kOrdered = false;
  T* out;
  Acc init() const { return {}; }
  Acc step(Acc a, T xv, int64_t) const { return combine(a, MaxSum{static_cast<double>(xv), 1.0}); }
  Acc combine(Acc a, Acc b) const {
    if (a.s == 0) return b;
    if (b.s == 0) return a;
    if (a.m == b.m) return {a.m, a.s + b.s};
    if (a.m != a.m || b.m != b.m) return {a.m + b.m, a.s + b.s};  // NaN
    if (a.m < b.m) std::swap(a, b);
    return {a.m, a.s + b.s * std::exp(b.m - a.m)};
  }
  void store(int64_t o, Acc a) const { out[o] = static_cast<T>(a.s == 0 ? -kInf : a.m + std::log(a.s)); }
};

// ---- all / any -------------------------------------------------------------------------------

// A byte accumulator combined with & and | (not bool with && and ||) so the folds vectorize.
template <class T, bool All>
struct AllAnyOp {
  using In = T;
  using Acc = uint8_t;
  static constexpr bool kOrdered = false;
  bool* out;
  Acc init() const { return All; }
  Acc step(Acc a, T x, int64_t) const { return combine(a, x != T(0)); }
  Acc combine(Acc a, Acc b) const { return All ? (a & b) : (a | b); }
  void store(int64_t o, Acc a) const { out[o] = a != 0; }
};

// ---- Kernels ---------------------------------------------------------------------------------

// The dims an op reduces, from its "dim" attribute: an int, a list, or None / [] for every dim.
std::vector<bool> reduced_dims(const Tensor& t, const AttrValue& dim) {
  std::vector<int64_t> dims;
  if (const auto* d = std::get_if<int64_t>(&dim)) dims = {*d};
  if (const auto* l = std::get_if<std::vector<int64_t>>(&dim)) dims = *l;
  std::vector<bool> mask(t.dim(), false);
  for (int64_t d : normalize_dims(dims, t.dim())) mask[d] = true;
  return mask;
}

int64_t reduced_count(const Tensor& t, const std::vector<bool>& mask) {
  int64_t n = 1;
  for (int64_t d = 0; d < t.dim(); ++d)
    if (mask[d]) n *= t.shape()[d];
  return n;
}

// sum and prod: integer and bool inputs without dtype= produce int64.
template <template <class, class> class Op>
void sum_like_kernel(KernelCall& c) {
  const Tensor &x = c.inputs[0], &out = c.outputs[0];
  const auto mask = reduced_dims(x, c.attrs["dim"]);
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (out.dtype() == x.dtype()) {
      reduce(x, mask, Op<T, T>{out.data<T>()});
    } else {
      reduce(x, mask, Op<T, int64_t>{out.data<int64_t>()});
    }
  });
}

void mean_kernel(KernelCall& c) {
  const Tensor &x = c.inputs[0], &out = c.outputs[0];
  const auto mask = reduced_dims(x, c.attrs["dim"]);
  const double count = static_cast<double>(reduced_count(x, mask));
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    reduce(x, mask, MeanOp<T>{{out.data<T>()}, count});
  });
}

// max/min (every element) and amax/amin (a dim list).
template <bool Max, bool AllDims>
void extremum_kernel(KernelCall& c) {
  const Tensor &x = c.inputs[0], &out = c.outputs[0];
  const auto mask = AllDims ? std::vector<bool>(x.dim(), true) : reduced_dims(x, c.attrs["dim"]);
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    reduce(x, mask, ExtremumOp<T, Max>{out.data<T>()});
  });
}

// max_dim/min_dim (values and indices) and argmax/argmin (indices only; dim=None flattens).
template <bool Max, bool WithValues>
void arg_extremum_kernel(KernelCall& c) {
  const Tensor& x = c.inputs[0];
  const auto mask = reduced_dims(x, c.attrs["dim"]);
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* values = WithValues ? c.outputs[0].data<T>() : nullptr;
    reduce(x, mask, ArgExtremumOp<T, Max>{values, c.outputs.back().data<int64_t>()});
  });
}

template <bool Sqrt>
void var_kernel(KernelCall& c) {
  const Tensor &x = c.inputs[0], &out = c.outputs[0];
  const auto mask = reduced_dims(x, c.attrs["dim"]);
  const double correction = c.attrs.get<double>("correction");
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    reduce(x, mask, VarOp<T>{out.data<T>(), correction, Sqrt});
  });
}

void norm_kernel(KernelCall& c) {
  const Tensor &x = c.inputs[0], &out = c.outputs[0];
  const auto mask = reduced_dims(x, c.attrs["dim"]);
  const double p = c.attrs.get<double>("p");
  const int64_t count = reduced_count(x, mask);
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    auto run = [&](auto kind) { reduce(x, mask, NormOp<T, decltype(kind)::value>{out.data<T>(), p, count}); };
    using K = NormKind;
    if (p == 0) run(std::integral_constant<K, K::Zero>{});
    else if (p == 1) run(std::integral_constant<K, K::One>{});
    else if (p == 2) run(std::integral_constant<K, K::Two>{});
    else if (p == kInf) run(std::integral_constant<K, K::Inf>{});
    else if (p == -kInf) run(std::integral_constant<K, K::NegInf>{});
    else run(std::integral_constant<K, K::P>{});
  });
}

void logsumexp_kernel(KernelCall& c) {
  const Tensor &x = c.inputs[0], &out = c.outputs[0];
  const auto mask = reduced_dims(x, c.attrs["dim"]);
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    reduce(x, mask, LogSumExpOp<T>{out.data<T>()});
  });
}

template <bool All>
void all_any_kernel(KernelCall& c) {
  const Tensor &x = c.inputs[0], &out = c.outputs[0];
  const auto mask = reduced_dims(x, c.attrs["dim"]);
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    reduce(x, mask, AllAnyOp<T, All>{out.data<bool>()});
  });
}

// ---- cumsum ----------------------------------------------------------------------------------

// Running sums along one dim. The scan reads in the input's memory order and writes the
// (contiguous) output in its own; the layout follows whichever dim is innermost on each side:
//   - the scan dim on both sides: each scan runs on its own;
//   - a kept dim on both: a block of neighbouring scans advances one step at a time, reading and
//     writing whole rows (vectorized, as the reduction engine's vertical layout);
//   - they disagree (a transposed input): 64x64 tiles are computed in the input's order and
//     written in the output's, so no inner loop strides through memory on either side.
// Work is split over the scans; a single long scan runs on one thread.
//
// The strides are passed by value: an int64 output could otherwise alias them as far as the
// compiler knows, forcing a reload after every store.
template <class T, class Out>
struct Scan {
  using Acc = acc_t<T>;
  static constexpr int64_t kTile = 64;

  // n: scan length; s, os: its input and output strides; ks, kos: the innermost kept dim's.
  static void each(const T* src, Out* dst, int64_t cnt, const int64_t n, const int64_t s, const int64_t os,
                   const int64_t ks, const int64_t kos) {
    for (int64_t j = 0; j < cnt; ++j) {
      Acc a = 0;
      for (int64_t r = 0; r < n; ++r) {
        a = wrap_add(a, static_cast<Acc>(src[j * ks + r * s]));
        dst[j * kos + r * os] = static_cast<Out>(a);
      }
    }
  }

  static void vertical(const T* src, Out* dst, int64_t cnt, Acc* acc, const int64_t n, const int64_t s,
                       const int64_t os, const int64_t ks, const int64_t kos) {
    constexpr int64_t kBlock = vertical_block<T>();
    for (int64_t j0 = 0; j0 < cnt; j0 += kBlock) {
      const int64_t m = std::min(kBlock, cnt - j0);
      std::fill_n(acc, m, Acc(0));
      for (int64_t r = 0; r < n; ++r) {
        const T* row = src + j0 * ks + r * s;
        Out* orow = dst + j0 * kos + r * os;
        if (ks == 1 && kos == 1) {
          for (int64_t j = 0; j < m; ++j) {
            acc[j] = wrap_add(acc[j], static_cast<Acc>(row[j]));
            orow[j] = static_cast<Out>(acc[j]);
          }
        } else {
          for (int64_t j = 0; j < m; ++j) {
            acc[j] = wrap_add(acc[j], static_cast<Acc>(row[j * ks]));
            orow[j * kos] = static_cast<Out>(acc[j]);
          }
        }
      }
    }
  }

  static void tiled(const T* src, Out* dst, int64_t cnt, bool read_vertical, const int64_t n, const int64_t s,
                    const int64_t os, const int64_t ks, const int64_t kos) {
    Acc acc[kTile];
    Out tile[kTile * kTile];  // tile[j * kTile + r]
    for (int64_t j0 = 0; j0 < cnt; j0 += kTile) {
      const int64_t m = std::min(kTile, cnt - j0);
      std::fill_n(acc, m, Acc(0));
      for (int64_t r0 = 0; r0 < n; r0 += kTile) {
        const int64_t rr = std::min(kTile, n - r0);
        const T* in0 = src + j0 * ks + r0 * s;
        Out* out0 = dst + j0 * kos + r0 * os;
        if (read_vertical) {
          for (int64_t r = 0; r < rr; ++r)
            for (int64_t j = 0; j < m; ++j) {
              acc[j] = wrap_add(acc[j], static_cast<Acc>(in0[r * s + j * ks]));
              tile[j * kTile + r] = static_cast<Out>(acc[j]);
            }
          for (int64_t j = 0; j < m; ++j)
            for (int64_t r = 0; r < rr; ++r) out0[j * kos + r * os] = tile[j * kTile + r];
        } else {
          for (int64_t j = 0; j < m; ++j)
            for (int64_t r = 0; r < rr; ++r) {
              acc[j] = wrap_add(acc[j], static_cast<Acc>(in0[j * ks + r * s]));
              tile[j * kTile + r] = static_cast<Out>(acc[j]);
            }
          for (int64_t r = 0; r < rr; ++r)
            for (int64_t j = 0; j < m; ++j) out0[r * os + j * kos] = tile[j * kTile + r];
        }
      }
    }
  }
};

template <class T, class Out>
void cumsum_loop(const Tensor& x, const Tensor& out, int64_t dim) {
  std::vector<bool> mask(x.dim(), false);
  if (x.dim() > 0) mask[dim] = true;
  const ReducePlan p = make_reduce_plan(x.shape(), x.strides(), out.strides(), mask, true);
  const int64_t n = p.reduced.size[0], s = p.reduced.stride[0], os = p.reduced.out_stride[0];
  const int64_t ks = p.kept.stride[0], kos = p.kept.out_stride[0];
  const bool read_vertical = stride_rank(ks) < stride_rank(s);
  const bool write_vertical = stride_rank(kos) < stride_rank(os);
  const T* in = x.data<T>();
  Out* o = out.data<Out>();
  using S = Scan<T, Out>;
  parallel_for(0, p.kept.numel, std::max<int64_t>(1, kElementwiseGrain / n), [&](int64_t b, int64_t e) {
    std::vector<acc_t<T>> acc(read_vertical && write_vertical ? vertical_block<T>() : 0);
    walk_runs(p.kept, b, e, [&](int64_t ioff, int64_t ooff, int64_t cnt, int64_t) {
      if (read_vertical != write_vertical) {
        S::tiled(in + ioff, o + ooff, cnt, read_vertical, n, s, os, ks, kos);
      } else if (read_vertical) {
        S::vertical(in + ioff, o + ooff, cnt, acc.data(), n, s, os, ks, kos);
      } else {
        S::each(in + ioff, o + ooff, cnt, n, s, os, ks, kos);
      }
    });
  });
}

void cumsum_kernel(KernelCall& c) {
  const Tensor &x = c.inputs[0], &out = c.outputs[0];
  if (x.numel() == 0) return;
  const int64_t dim = normalize_dim(c.attrs.get<int64_t>("dim"), x.dim());
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (out.dtype() == x.dtype()) {
      cumsum_loop<T, T>(x, out, dim);
    } else {
      cumsum_loop<T, int64_t>(x, out, dim);
    }
  });
}

}  // namespace

TERRA_KERNEL(sum, CPU, sum_like_kernel<SumOp>);
TERRA_KERNEL(prod, CPU, sum_like_kernel<ProdOp>);
TERRA_KERNEL(mean, CPU, mean_kernel);
TERRA_KERNEL(max, CPU, (extremum_kernel<true, true>));
TERRA_KERNEL(min, CPU, (extremum_kernel<false, true>));
TERRA_KERNEL(amax, CPU, (extremum_kernel<true, false>));
TERRA_KERNEL(amin, CPU, (extremum_kernel<false, false>));
TERRA_KERNEL(max_dim, CPU, (arg_extremum_kernel<true, true>));
TERRA_KERNEL(min_dim, CPU, (arg_extremum_kernel<false, true>));
TERRA_KERNEL(argmax, CPU, (arg_extremum_kernel<true, false>));
TERRA_KERNEL(argmin, CPU, (arg_extremum_kernel<false, false>));
TERRA_KERNEL(var, CPU, var_kernel<false>);
TERRA_KERNEL(std, CPU, var_kernel<true>);
TERRA_KERNEL(norm, CPU, norm_kernel);
TERRA_KERNEL(logsumexp, CPU, logsumexp_kernel);
TERRA_KERNEL(all, CPU, all_any_kernel<true>);
TERRA_KERNEL(any, CPU, all_any_kernel<false>);
TERRA_KERNEL(cumsum, CPU, cumsum_kernel);

}  // namespace terra::cpu
