// The special functions behind the erfinv, digamma and polygamma functors (unary_math.hpp),
// written once for the CPU, CUDA and NVRTC-compiled fused kernels. They follow the algorithms
// PyTorch 1.13's CPU kernels use, so results agree with PyTorch to rounding, including its
// conventions at poles and infinities (Note [Special functions as PyTorch computes them]).
//
// Note [Special functions as PyTorch computes them]
// - digamma: Cephes' psi. The recurrence psi(x) = psi(x + 1) - 1/x pushes x to >= 10, then the
//   asymptotic series in 1/x^2; x < 0 reflects, psi(x) = psi(1 - x) - pi / tan(pi r), with r the
//   fractional part of x (tan(pi r) is more accurate than tan(pi x)), the reflection term in
//   double for float32 as in PyTorch. psi(+-0) = -+inf (the sign of the pole side), psi of a
//   negative integer and of -inf is NaN, psi(inf) = inf.
// - trigamma: six steps of psi1(x) = psi1(x + 1) + 1/x^2, then five terms of the asymptotic
//   series, in the input's precision; x < 0.5 reflects with pi^2 / sin^2(pi x). Its truncation
//   leaves an error of up to ~5e-10 relative in float64 near x = 1: PyTorch's, kept on purpose.
// - polygamma(n >= 2, x) = (-1)^(n+1) n! zeta(n + 1, x), Hurwitz's zeta by Cephes' direct sum
//   plus Euler-Maclaurin tail, in double for both float types (PyTorch's CPU accumulates in
//   double), the factorial as exp(lgamma(n + 1)) in the input's precision.
// - erfinv: a rational first guess (central |y| <= 0.7 and tail) and two Newton steps on erf, in
//   the input's precision; erfinv(+-1) = +-inf, NaN outside [-1, 1].
// The algorithms and their constants are the Cephes Math Library's (S. L. Moshier, 3-clause BSD)
// and, for erfinv, G. L. Pavlis's translation of MATLAB 2.0's erfinv (New BSD), as PyTorch uses them.
#pragma once
#include "kernels/common/math_deps.hpp"

namespace terra::math::special {

inline constexpr double kPi = 3.14159265358979323846;

template <class T> TERRA_HD T infinity() { return std::numeric_limits<T>::infinity(); }
template <class T> TERRA_HD T quiet_nan() { return std::numeric_limits<T>::quiet_NaN(); }

// psi(x) for x > 0 (or NaN, inf): the recurrence up to 10, then the asymptotic series.
template <class T>
TERRA_HD T digamma_positive(T x) {
  T result = T(0);
  while (x < T(10)) {
    result -= T(1) / x;
    x += T(1);
  }
  if (x == T(10)) return result + T(2.25175258906672110764);  // psi(10)
  T y = T(0);
  if (x < T(1e17)) {
    // Horner in z = 1/x^2 over B_2k / 2k, highest power first.
    const T z = T(1) / (x * x);
    T p = T(8.33333333333333333333E-2);
    p = p * z + T(-2.10927960927960927961E-2);
    p = p * z + T(7.57575757575757575758E-3);
    p = p * z + T(-4.16666666666666666667E-3);
    p = p * z + T(3.96825396825396825397E-3);
    p = p * z + T(-8.33333333333333333333E-3);
    p = p * z + T(8.33333333333333333333E-2);
    y = z * p;
  }
  return result + std::log(x) - T(0.5) / x - y;
}

template <class T>
TERRA_HD T digamma(T x) {
  if (x == T(0)) return std::copysign(infinity<T>(), -x);
  if (x < T(0)) {
    if (x == std::trunc(x)) return quiet_nan<T>();
    const double r = static_cast<double>(x) - std::trunc(static_cast<double>(x));  // exact
    const T pi_over_tan = static_cast<T>(kPi / std::tan(kPi * r));
    return digamma_positive<T>(T(1) - x) - pi_over_tan;
  }
  return digamma_positive<T>(x);
}

template <class T>
TERRA_HD T trigamma(T x) {
  T sign = T(1), result = T(0);
  if (x < T(0.5)) {
    sign = T(-1);
    const T pi = T(kPi);
    const T s = std::sin(pi * x);
    result -= pi * pi / (s * s);
    x = T(1) - x;
  }
  for (int i = 0; i < 6; ++i) {
    result += T(1) / (x * x);
    x += T(1);
  }
  const T ixx = T(1) / (x * x);
  result += (T(1) + T(1) / (T(2) * x) + ixx * (T(1) / T(6) - ixx * (T(1) / T(30) - ixx * (T(1) / T(42))))) / x;
  return sign * result;
}

// Hurwitz's zeta(s, q) = sum over k >= 0 of (q + k)^-s, for s > 1 (inf at s = 1, NaN below; inf at
// q a non-positive integer; NaN for q < 0 with s not an integer).
TERRA_HD double hurwitz_zeta(double s, double q) {
  const double kMachEp = 1.11022302462515654042E-16;
  // (2j + 2)! / B_(2j + 2): the Euler-Maclaurin tail's divisors.
  const double kTail[12] = {12.0,
                            -720.0,
                            30240.0,
                            -1209600.0,
                            47900160.0,
                            -1.8924375803183791606e9,
                            7.47242496e10,
                            -2.950130727918164224e12,
                            1.1646782814350067249e14,
                            -4.5979787224074726105e15,
                            1.8152105401943546773e17,
                            -7.1661652561756670113e18};
  if (s == 1.0) return infinity<double>();
  if (s < 1.0) return quiet_nan<double>();
  if (q <= 0.0) {
    if (q == std::floor(q)) return infinity<double>();
    if (s != std::floor(s)) return quiet_nan<double>();
  }
  // The first terms directly, until they are negligible or q + k passes 9.
  double sum = std::pow(q, -s), a = q, b = 0.0;
  int i = 0;
  while (i < 9 || a <= 9.0) {
    ++i;
    a += 1.0;
    b = std::pow(a, -s);
    sum += b;
    if (-kMachEp * sum < b && b < kMachEp * sum) return sum;
  }
  // The rest: the integral, half the last term and the Bernoulli corrections.
  const double w = a;
  sum += b * w / (s - 1.0);
  sum -= 0.5 * b;
  double rising = 1.0, k = 0.0;
  for (int j = 0; j < 12; ++j) {
    rising *= s + k;
    b /= w;
    const double t = rising * b / kTail[j];
    sum += t;
    const double rel = t / sum;
    if ((rel < 0 ? -rel : rel) < kMachEp) return sum;
    k += 1.0;
    rising *= s + k;
    b /= w;
    k += 1.0;
  }
  return sum;
}

// The n-th derivative of digamma; n >= 0 (the op's shape rule rejects negative n).
template <class T>
TERRA_HD T polygamma(int64_t n, T x) {
  if (n == 0) return digamma(x);
  if (n == 1) return trigamma(x);
  const T sign = n % 2 ? T(1) : T(-1);
  const T factorial = std::exp(std::lgamma(static_cast<T>(n) + T(1)));
  return sign * factorial * static_cast<T>(hurwitz_zeta(static_cast<double>(n + 1), static_cast<double>(x)));
}

template <class T>
TERRA_HD T erfinv(T y) {
  const T ay = y < T(0) ? -y : y;
  if (ay > T(1)) return quiet_nan<T>();
  if (ay == T(1)) return std::copysign(infinity<T>(), y);
  T x;
  if (ay <= T(0.7)) {
    const T z = y * y;
    const T num = ((T(-0.140543331) * z + T(0.914624893)) * z + T(-1.645349621)) * z + T(0.886226899);
    const T den = (((T(0.012229801) * z + T(-0.329097515)) * z + T(1.442710462)) * z + T(-2.118377725)) * z + T(1);
    x = y * num / den;
  } else {
    const T z = std::sqrt(-std::log((T(1) - ay) / T(2)));
    const T num = ((T(1.641345311) * z + T(3.429567803)) * z + T(-1.624906493)) * z + T(-1.970840454);
    const T den = (T(1.637067800) * z + T(3.543889200)) * z + T(1);
    x = std::copysign(num, y) / den;
  }
  const T two_over_sqrt_pi = T(1.1283791670955126);
  x = x - (std::erf(x) - y) / (two_over_sqrt_pi * std::exp(-x * x));
  x = x - (std::erf(x) - y) / (two_over_sqrt_pi * std::exp(-x * x));
  return x;
}

}  // namespace terra::math::special
