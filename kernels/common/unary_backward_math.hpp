// The derivatives of the activation functors in unary_math.hpp as binary functors
// (grad_output, x) -> grad_output * f'(x), shared by the CPU and CUDA kernels. They back the
// registered *_backward ops that the unary ops' gradient formulas call, so a backward pass reads
// and writes each element once, as PyTorch's fused backward kernels do. Each one must stay the
// exact derivative of its forward functor (same constants, same threshold tests); tanh_backward
// and sigmoid_backward take the forward's result instead of its input, as PyTorch's do.
#pragma once
#include "kernels/common/unary_math.hpp"

namespace terra::math {

// g * (1 - y^2), y = tanh(x).
struct TanhBackward : FloatOnly {
  template <class T> TERRA_HD T operator()(T g, T y) const { return g * (T(1) - y * y); }
};
// g * y * (1 - y), y = sigmoid(x).
struct SigmoidBackward : FloatOnly {
  template <class T> TERRA_HD T operator()(T g, T y) const { return g * (T(1) - y) * y; }
};
// relu's gradient (threshold 0, applied to relu's result): zero where x <= threshold. A NaN x
// passes the gradient through, as PyTorch's threshold_backward does.
struct ThresholdBackward : FloatOnly {
  double threshold = 0;
  static ThresholdBackward from(const Attrs& a) { return ThresholdBackward{{}, a.get<double>("threshold")}; }
  template <class T> TERRA_HD T operator()(T g, T x) const { return x <= T(threshold) ? T(0) : g; }
};
struct GeluBackward : FloatOnly {
  bool tanh_approx = false;
  static GeluBackward from(const Attrs& a) { return GeluBackward{{}, a.get<std::string>("approximate") == "tanh"}; }
  template <class T> TERRA_HD T operator()(T g, T x) const {
    if (tanh_approx) {
      const T k = T(0.7978845608028654), c = T(0.044715);  // Gelu's sqrt(2/pi) and cubic coefficient
      const T t = fn::tanh(k * (x + c * x * x * x));
      const T inner_derivative = k * (T(1) + T(3) * c * x * x);
      return g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * inner_derivative);
    }
    const T cdf = T(0.5) * (T(1) + std::erf(x * T(0.7071067811865476)));
    const T pdf = T(0.3989422804014327) * fn::exp(T(-0.5) * x * x);  // 1/sqrt(2 pi) e^(-x^2/2)
    return g * (cdf + x * pdf);
  }
};
// silu'(x) = s (1 + x (1 - s)), s = sigmoid(x).
struct SiluBackward : FloatOnly {
  template <class T> TERRA_HD T operator()(T g, T x) const {
    const T s = T(1) / (T(1) + fn::exp(-x));
    return g * s * (T(1) + x * (T(1) - s));
  }
};
struct EluBackward : FloatOnly {
  double alpha = 1;
  static EluBackward from(const Attrs& a) { return EluBackward{{}, a.get<double>("alpha")}; }
  template <class T> TERRA_HD T operator()(T g, T x) const { return x > T(0) ? g : g * T(alpha) * fn::exp(x); }
};
struct LeakyReluBackward : FloatOnly {
  double slope = 0.01;
  static LeakyReluBackward from(const Attrs& a) { return LeakyReluBackward{{}, a.get<double>("negative_slope")}; }
  template <class T> TERRA_HD T operator()(T g, T x) const { return x > T(0) ? g : g * T(slope); }
};
// Above the threshold softplus is the identity; below it its derivative is sigmoid(beta x),
// written with exp(-beta x) so it cannot overflow to inf / inf.
struct SoftplusBackward : FloatOnly {
  double beta = 1, threshold = 20;
  static SoftplusBackward from(const Attrs& a) {
    return SoftplusBackward{{}, a.get<double>("beta"), a.get<double>("threshold")};
  }
  template <class T> TERRA_HD T operator()(T g, T x) const {
    const T bx = x * T(beta);
    return bx > T(threshold) ? g : g / (T(1) + fn::exp(-bx));
  }
};

}  // namespace terra::math
