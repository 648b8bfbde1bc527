// The reductions' math as TERRA_HD functors shared by the CPU engine (kernels/cpu/reduce_loops.hpp)
// and the CUDA one (kernels/cuda/reduce.cuh): identity, fold of one element, merge of two partial
// results, and the store of the projected result into the output. Note [Reduction functors] in
// reduce_loops.hpp states the contract; the CPU adds blocked run() folds to two of them
// (kernels/cpu/reduce.cpp).
//
// Accumulation: floating inputs accumulate in double (float32 sums then stay accurate to float32
// rounding for any practical n, with no cascade needed), integer and bool inputs in int64 with
// wrap-around on overflow as PyTorch's int64 arithmetic does.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "tensor/macros.hpp"

namespace terra::math {

template <class T>
using reduce_acc_t = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

constexpr double kReduceInf = std::numeric_limits<double>::infinity();

// Integer accumulators wrap (unsigned arithmetic) instead of overflowing, which C++ leaves undefined.
template <class A>
TERRA_HD A wrap_add(A a, A b) {
  if constexpr (std::is_integral_v<A>) {
    return static_cast<A>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  } else {
    return a + b;
  }
}
template <class A>
TERRA_HD A wrap_mul(A a, A b) {
  if constexpr (std::is_integral_v<A>) {
    return static_cast<A>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
  } else {
    return a * b;
  }
}

template <class T>
TERRA_HD bool is_nan(T x) {
  if constexpr (std::is_floating_point_v<T>) {
    return x != x;
  } else {
    return false;
  }
}

// ---- Sums and products ----------------------------------------------------------------------

template <class T, class Out>
struct SumOp {
  using In = T;
  using Acc = reduce_acc_t<T>;
  static constexpr bool kOrdered = false;
  Out* out;
  TERRA_HD Acc init() const { return 0; }
  TERRA_HD Acc step(Acc a, T x, int64_t) const { return wrap_add(a, static_cast<Acc>(x)); }
  TERRA_HD Acc combine(Acc a, Acc b) const { return wrap_add(a, b); }
  TERRA_HD void store(int64_t o, Acc a) const { out[o] = static_cast<Out>(a); }
};

template <class T>
struct MeanOp : SumOp<T, T> {
  double count;
  TERRA_HD void store(int64_t o, double a) const { this->out[o] = static_cast<T>(a / count); }
};

template <class T, class Out>
struct ProdOp {
  using In = T;
  using Acc = reduce_acc_t<T>;
  static constexpr bool kOrdered = false;
  Out* out;
  TERRA_HD Acc init() const { return 1; }
  TERRA_HD Acc step(Acc a, T x, int64_t) const { return wrap_mul(a, static_cast<Acc>(x)); }
  TERRA_HD Acc combine(Acc a, Acc b) const { return wrap_mul(a, b); }
  TERRA_HD void store(int64_t o, Acc a) const { out[o] = static_cast<Out>(a); }
};

// ---- Extrema: NaN wins (it propagates), ties keep the first position ---------------------------

template <class T, bool Max>
TERRA_HD bool better(T x, T y) {  // whether x is strictly preferred over y
  if (is_nan(x) || is_nan(y)) return is_nan(x) && !is_nan(y);
  return Max ? x > y : x < y;
}

template <class T, bool Max>
struct ExtremumOp {
  using In = T;
  using Acc = T;
  static constexpr bool kOrdered = false;
  T* out;
  TERRA_HD Acc init() const {
    if constexpr (std::is_floating_point_v<T>) {
      return Max ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
    } else {
      return Max ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
    }
  }
  // Written as one select so the CPU loop vectorizes; a NaN accumulator is never replaced.
  TERRA_HD Acc step(Acc a, T x, int64_t) const { return ((Max ? x > a : x < a) || is_nan(x)) ? x : a; }
  TERRA_HD Acc combine(Acc a, Acc b) const { return step(a, b, 0); }
  TERRA_HD void store(int64_t o, Acc a) const { out[o] = a; }
};

template <class T>
struct ValueIndex {
  T v{};
  int64_t i = -1;  // -1: nothing seen yet
};

template <class T, bool Max>
struct ArgExtremumOp {
  using In = T;
  using Acc = ValueIndex<T>;
  static constexpr bool kOrdered = true;
  T* values;  // may be null (argmax)
  int64_t* indices;
  TERRA_HD Acc init() const { return {}; }
  TERRA_HD Acc step(Acc a, T x, int64_t i) const { return (a.i < 0 || better<T, Max>(x, a.v)) ? Acc{x, i} : a; }
  // An empty side first: its v is T{}, which must not beat a real value (the GPU's tree combine
  // merges threads that saw nothing; a negative maximum lost to it).
  TERRA_HD Acc combine(Acc a, Acc b) const {
    if (b.i < 0) return a;
    if (a.i < 0 || better<T, Max>(b.v, a.v)) return b;
    if (better<T, Max>(a.v, b.v)) return a;
    return b.i < a.i ? b : a;
  }
  TERRA_HD void store(int64_t o, Acc a) const {
    if (values) values[o] = a.v;
    indices[o] = a.i;
  }
};

// ---- Variance: Welford steps, Chan's merge -----------------------------------------------------

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
  TERRA_HD Acc init() const { return {}; }
  TERRA_HD Acc step(Acc a, T x, int64_t) const {
    const double n = a.n + 1, d = x - a.mean, mean = a.mean + d / n;
    return {n, mean, a.m2 + d * (x - mean)};
  }
  TERRA_HD Acc combine(Acc a, Acc b) const {
    if (a.n == 0) return b;
    if (b.n == 0) return a;
    const double n = a.n + b.n, d = b.mean - a.mean;
    return {n, a.mean + d * (b.n / n), a.m2 + b.m2 + d * d * (a.n * b.n / n)};
  }
  TERRA_HD void store(int64_t o, Acc a) const {
    const double dof = a.n - correction;
    const double v = a.m2 / (dof > 0.0 ? dof : 0.0);  // PyTorch: 0/0 is nan, x/0 is inf
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
  TERRA_HD Acc init() const { return K == NormKind::NegInf ? kReduceInf : 0.0; }
  TERRA_HD Acc step(Acc a, T x, int64_t) const {
    const double v = std::fabs(static_cast<double>(x));
    if constexpr (K == NormKind::Zero) return a + (x != T(0) ? 1.0 : 0.0);  // NaN counts as non-zero
    if constexpr (K == NormKind::One) return a + v;
    if constexpr (K == NormKind::Two) return a + v * v;
    if constexpr (K == NormKind::Inf) return (v > a || v != v) ? v : a;
    if constexpr (K == NormKind::NegInf) return (v < a || v != v) ? v : a;
    if constexpr (K == NormKind::P) return a + std::pow(v, p);
  }
  TERRA_HD Acc combine(Acc a, Acc b) const {
    if constexpr (K == NormKind::Inf) return (b > a || b != b) ? b : a;
    if constexpr (K == NormKind::NegInf) return (b < a || b != b) ? b : a;
    return a + b;
  }
  TERRA_HD void store(int64_t o, Acc a) const {
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
  TERRA_HD Acc init() const { return {}; }
  TERRA_HD Acc step(Acc a, T xv, int64_t) const { return combine(a, MaxSum{static_cast<double>(xv), 1.0}); }
  TERRA_HD Acc combine(Acc a, Acc b) const {
    if (a.s == 0) return b;
    if (b.s == 0) return a;
    if (a.m == b.m) return {a.m, a.s + b.s};
    if (a.m != a.m || b.m != b.m) return {a.m + b.m, a.s + b.s};  // NaN
    if (a.m < b.m) return {b.m, b.s + a.s * std::exp(a.m - b.m)};
    return {a.m, a.s + b.s * std::exp(b.m - a.m)};
  }
  TERRA_HD void store(int64_t o, Acc a) const {
    out[o] = static_cast<T>(a.s == 0 ? -kReduceInf : a.m + std::log(a.s));
  }
};

// ---- all / any -------------------------------------------------------------------------------

// A byte accumulator combined with & and | (not bool with && and ||) so the CPU folds vectorize.
template <class T, bool All>
struct AllAnyOp {
  using In = T;
  using Acc = uint8_t;
  static constexpr bool kOrdered = false;
  bool* out;
  TERRA_HD Acc init() const { return All; }
  TERRA_HD Acc step(Acc a, T x, int64_t) const { return combine(a, x != T(0)); }
  TERRA_HD Acc combine(Acc a, Acc b) const { return All ? (a & b) : (a | b); }
  TERRA_HD void store(int64_t o, Acc a) const { out[o] = a != 0; }
};

}  // namespace terra::math
