// Loss math shared by the CPU and CUDA kernels (TERRA_HD): the reduction argument every loss
// takes, and the pointwise losses and their derivatives with respect to the input as functors.
// These are the definitions the kernels (and any fused kernel) must agree with; they follow
// PyTorch 1.13's formulas.
#pragma once
#include <cmath>
#include <string>

#include "kernels/common/unary_math.hpp"
#include "tensor/error.hpp"

namespace terra::math {

enum class Reduction { None, Mean, Sum };

// The losses' reduction= argument; the shape rules call this first, so kernels see valid strings.
inline Reduction parse_reduction(const std::string& s) {
  if (s == "none") return Reduction::None;
  if (s == "mean") return Reduction::Mean;
  if (s == "sum") return Reduction::Sum;
  fail(ErrorKind::Value, s, " is not a valid value for reduction");
}

struct SquaredError : FloatOnly {
  template <class T> TERRA_HD T operator()(T x, T y) const { return (x - y) * (x - y); }
};

// Integers too: PyTorch computes l1_loss for them unless it has to take a mean.
struct AbsoluteError : Numeric {
  template <class T> TERRA_HD T operator()(T x, T y) const { return x > y ? x - y : y - x; }
};

// Quadratic below beta, linear above; beta == 0 is the absolute error.
struct SmoothL1 : FloatOnly {
  double beta = 1;
  static SmoothL1 from(const Attrs& a) { return SmoothL1{{}, a.get<double>("beta")}; }
  template <class T> TERRA_HD T operator()(T x, T y) const {
    const T z = x > y ? x - y : y - x, b = static_cast<T>(beta);
    return z < b ? T(0.5) * z * z / b : z - T(0.5) * b;
  }
};

// -w (y log x + (1 - y) log(1 - x)) with each log clamped at -100, so x = 0 or 1 gives a finite
// loss. Inputs outside [0, 1] are a data error the kernel checks separately.
struct BinaryCrossEntropy : FloatOnly {
  template <class T> TERRA_HD T operator()(T x, T y, T w) const {
    const T log_x = std::log(x), log_1mx = std::log1p(-x);
    return w * ((y - T(1)) * (log_1mx > T(-100) ? log_1mx : T(-100)) - y * (log_x > T(-100) ? log_x : T(-100)));
  }
};

// The data check of binary_cross_entropy: an input outside [0, 1] (NaN included) is an error.
struct OutsideUnitInterval {
  template <class T> TERRA_HD bool operator()(T x) const { return !(x >= T(0) && x <= T(1)); }
};

// w ((1 - y) x + (1 + (pw - 1) y) log(1 + exp(-x))), with log(1 + exp(-x)) written as
// m + log(exp(-m) + exp(-x - m)), m = max(-x, 0), so no exp overflows.
struct BinaryCrossEntropyWithLogits : FloatOnly {
  template <class T> TERRA_HD T operator()(T x, T y, T w, T pw) const {
    const T m = -x > T(0) ? -x : T(0);
    const T softplus_neg = m + std::log(fn::exp(-m) + fn::exp(-x - m));
    return w * ((T(1) - y) * x + (T(1) + (pw - T(1)) * y) * softplus_neg);
  }
};

// --- derivatives with respect to x, times the incoming gradient g (already divided by the
// element count for reduction='mean'); the backward kernels' functors ---

struct SquaredErrorGrad : FloatOnly {
  template <class T> TERRA_HD T operator()(T x, T y, T g) const { return T(2) * (x - y) * g; }
};

// sign(x - y): 0 where x == y, as PyTorch.
struct AbsoluteErrorGrad : FloatOnly {
  template <class T> TERRA_HD T operator()(T x, T y, T g) const { return T((y < x) - (x < y)) * g; }
};

struct SmoothL1Grad : FloatOnly {
  double beta = 1;
  static SmoothL1Grad from(const Attrs& a) { return SmoothL1Grad{{}, a.get<double>("beta")}; }
  template <class T> TERRA_HD T operator()(T x, T y, T g) const {
    const T z = x - y, b = static_cast<T>(beta);
    return ((z < b && -z < b) ? z / b : T((T(0) < z) - (z < T(0)))) * g;
  }
};

// w (x - y) / (x (1 - x)), the denominator kept at or above 1e-12 (PyTorch's EPSILON).
struct BinaryCrossEntropyGrad : FloatOnly {
  template <class T> TERRA_HD T operator()(T x, T y, T w, T g) const {
    const T d = (T(1) - x) * x;
    return (x - y) / (d > T(1e-12) ? d : T(1e-12)) * w * g;
  }
};

// w ((pw y + 1 - y) sigmoid(x) - pw y); pw = 1 without pos_weight gives w (sigmoid(x) - y).
struct BinaryCrossEntropyWithLogitsGrad : FloatOnly {
  template <class T> TERRA_HD T operator()(T x, T y, T w, T pw, T g) const {
    const T t = pw * y;
    return ((t + T(1) - y) / (T(1) + fn::exp(-x)) - t) * w * g;
  }
};

}  // namespace terra::math
