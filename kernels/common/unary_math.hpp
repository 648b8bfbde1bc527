// Elementwise unary math as functors shared by the CPU and CUDA kernels (TERRA_HD). Each functor
// says which element types it supports; one with parameters (leaky_relu's slope) builds itself
// from the op's attributes with from(attrs). The CPU kernel is the reference for every other
// device and for fused kernels, so these are the definitions of the math.
#pragma once
#include "kernels/common/math_deps.hpp"
#include "kernels/common/special_math.hpp"

namespace terra::math {

struct FloatOnly {
  template <class T> static constexpr bool supports = std::is_floating_point_v<T>;
};
struct Numeric {
  template <class T> static constexpr bool supports = std::is_arithmetic_v<T> && !std::is_same_v<T, bool>;
};
struct AnyType {
  template <class T> static constexpr bool supports = true;
};
struct Integral {  // integers and bool (bitwise ops)
  template <class T> static constexpr bool supports = std::is_integral_v<T>;
};
struct IntegerOnly {  // shifts, gcd, lcm
  template <class T> static constexpr bool supports = std::is_integral_v<T> && !std::is_same_v<T, bool>;
};

struct Neg : Numeric { template <class T> TERRA_HD T operator()(T x) const { return -x; } };
struct Abs : Numeric { template <class T> TERRA_HD T operator()(T x) const { return x < T(0) ? -x : x; } };
struct Sign : Numeric {
  template <class T> TERRA_HD T operator()(T x) const { return T((T(0) < x) - (x < T(0))); }
};
struct Exp : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return fn::exp(x); } };
struct Log : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return std::log(x); } };
struct Log1p : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return std::log1p(x); } };
struct Expm1 : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return std::expm1(x); } };
struct Sqrt : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return std::sqrt(x); } };
struct Rsqrt : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return T(1) / std::sqrt(x); } };
struct Sin : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return std::sin(x); } };
struct Cos : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return std::cos(x); } };
struct Tanh : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return fn::tanh(x); } };
struct Log2 : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return std::log2(x); } };
struct Log10 : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return std::log10(x); } };
struct Atan : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return std::atan(x); } };
struct Asin : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return std::asin(x); } };
struct Acos : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return std::acos(x); } };
struct Sinh : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return std::sinh(x); } };
struct Cosh : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return std::cosh(x); } };
struct Asinh : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return std::asinh(x); } };
struct Atanh : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return std::atanh(x); } };
struct Erf : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return std::erf(x); } };
struct Tan : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return std::tan(x); } };
struct Erfc : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return std::erfc(x); } };
struct Erfinv : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return special::erfinv(x); } };
struct Lgamma : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return std::lgamma(x); } };
struct Digamma : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return special::digamma(x); } };
// The n-th derivative of digamma (n >= 0, checked by the op's shape rule).
struct Polygamma : FloatOnly {
  int64_t n = 0;
  static Polygamma from(const Attrs& a) { return Polygamma{{}, a.get<int64_t>("n")}; }
  template <class T> TERRA_HD T operator()(T x) const { return special::polygamma(n, x); }
};
struct Reciprocal : FloatOnly { template <class T> TERRA_HD T operator()(T x) const { return T(1) / x; } };
struct Sigmoid : FloatOnly {
  template <class T> TERRA_HD T operator()(T x) const { return T(1) / (T(1) + fn::exp(-x)); }
};
struct Silu : FloatOnly {
  template <class T> TERRA_HD T operator()(T x) const { return x / (T(1) + fn::exp(-x)); }
};
struct Relu : Numeric { template <class T> TERRA_HD T operator()(T x) const { return x > T(0) ? x : T(0); } };
struct Floor : Numeric {
  template <class T> TERRA_HD T operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>) return std::floor(x); else return x;
  }
};
struct Ceil : Numeric {
  template <class T> TERRA_HD T operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>) return std::ceil(x); else return x;
  }
};
// Round half to even, as PyTorch and numpy do; `decimals` scales by 10^decimals first.
struct Round : Numeric {
  int64_t decimals = 0;
  static Round from(const Attrs& a) { return Round{{}, a.get<int64_t>("decimals")}; }
  template <class T> TERRA_HD T operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (decimals == 0) return std::nearbyint(x);
      T scale = std::pow(T(10), T(decimals));
      return std::nearbyint(x * scale) / scale;
    } else {
      return x;
    }
  }
};
// GELU, exact (erf) or the tanh approximation.
struct Gelu : FloatOnly {
  bool tanh_approx = false;
  static Gelu from(const Attrs& a) { return Gelu{{}, a.get<std::string>("approximate") == "tanh"}; }
  template <class T> TERRA_HD T operator()(T x) const {
    if (tanh_approx) {
      const T k = T(0.7978845608028654);  // sqrt(2/pi)
      return T(0.5) * x * (T(1) + fn::tanh(k * (x + T(0.044715) * x * x * x)));
    }
    return T(0.5) * x * (T(1) + std::erf(x * T(0.7071067811865476)));
  }
};
struct Softplus : FloatOnly {
  double beta = 1, threshold = 20;
  static Softplus from(const Attrs& a) { return Softplus{{}, a.get<double>("beta"), a.get<double>("threshold")}; }
  template <class T> TERRA_HD T operator()(T x) const {
    T bx = x * T(beta);
    return bx > T(threshold) ? x : std::log1p(fn::exp(bx)) / T(beta);
  }
};
struct LeakyRelu : FloatOnly {
  double slope = 0.01;
  static LeakyRelu from(const Attrs& a) { return LeakyRelu{{}, a.get<double>("negative_slope")}; }
  template <class T> TERRA_HD T operator()(T x) const { return x > T(0) ? x : x * T(slope); }
};
struct Elu : FloatOnly {
  double alpha = 1;
  static Elu from(const Attrs& a) { return Elu{{}, a.get<double>("alpha")}; }
  template <class T> TERRA_HD T operator()(T x) const { return x > T(0) ? x : T(alpha) * std::expm1(x); }
};
// clamp with optional bounds; NaN propagates as in PyTorch.
struct Clamp : Numeric {
  bool has_min = false, has_max = false;
  double lo = 0, hi = 0;
  static Clamp from(const Attrs& a) {
    Clamp c;
    if (!a.is_none("min")) { c.has_min = true; c.lo = a.get<Scalar>("min").as_double(); }
    if (!a.is_none("max")) { c.has_max = true; c.hi = a.get<Scalar>("max").as_double(); }
    return c;
  }
  template <class T> TERRA_HD T operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (x != x) return x;
    }
    if (has_min && x < T(lo)) x = T(lo);
    if (has_max && x > T(hi)) x = T(hi);
    return x;
  }
};
struct BitwiseNot : Integral {
  template <class T> TERRA_HD T operator()(T x) const {
    if constexpr (std::is_same_v<T, bool>) return !x; else return T(~x);
  }
};
struct LogicalNot : AnyType { template <class T> TERRA_HD bool operator()(T x) const { return !x; } };
struct IsNan : AnyType {
  template <class T> TERRA_HD bool operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>) return x != x; else return false;
  }
};
struct IsInf : AnyType {
  template <class T> TERRA_HD bool operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>) return std::isinf(x); else return false;
  }
};

template <class Op, class = void>
struct has_from : std::false_type {};
template <class Op>
struct has_from<Op, std::void_t<decltype(Op::from(std::declval<const Attrs&>()))>> : std::true_type {};

// Builds a functor from an op's attributes (for functors with parameters) or default-constructs it.
template <class Op>
Op make_op(const Attrs& attrs) {
  if constexpr (has_from<Op>::value) return Op::from(attrs);
  else return Op{};
}

}  // namespace terra::math
