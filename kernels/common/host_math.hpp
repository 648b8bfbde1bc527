// exp and tanh for float and double on the host, written so that the elementwise loops calling
// them vectorize: std::exp and std::tanh are calls into libm, one element at a time (tanh of a
// [32, 32] float tensor took ~10 µs, most of a small model's step). Cephes' algorithms, each
// within 2 ulp of the correctly rounded result over the whole range (tests/kernels/
// test_host_math.cpp sweeps it), with inf, NaN, overflow to inf and gradual underflow as in libm.
//
// No branches and no float comparisons: GCC does not if-convert a float compare under the default
// -ftrapping-math except with AVX-512 masks (Note [Fast exp] in kernels/cpu/softmax.cpp), so
// every select is an integer bit mask computed from the operand's bits.
//
// Host only: the device and NVRTC use CUDA's own (kernels/common/math_deps.hpp picks).
#pragma once
#include <cstdint>
#include <cstring>

namespace terra::math::host {

template <class To, class From>
inline To bit_cast(From x) {
  static_assert(sizeof(To) == sizeof(From));
  To y;
  std::memcpy(&y, &x, sizeof y);
  return y;
}

namespace detail {

// The constants of one precision.
template <class T>
struct Bits;

template <>
struct Bits<float> {
  using UInt = uint32_t;
  static constexpr int kMantissa = 23;
  static constexpr UInt kBias = 127;
  static constexpr UInt kSign = 0x80000000u;
  static constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer in the low bits
  static constexpr float kLog2e = 1.44269504088896341f;
  static constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;  // n * kLn2Hi is exact
  static constexpr float kOverflow = 88.7228394f;   // above: exp(x) > FLT_MAX
  static constexpr float kUnderflow = 103.972084f;  // x below minus this: exp(x) < half the least denormal
  static constexpr float kTanhSmall = 0.625f;       // below: tanh's odd polynomial
};

template <>
struct Bits<double> {
  using UInt = uint64_t;
  static constexpr int kMantissa = 52;
  static constexpr UInt kBias = 1023;
  static constexpr UInt kSign = 0x8000000000000000ULL;
  static constexpr double kRound = 6755399441055744.0;  // 1.5 * 2^52
  static constexpr double kLog2e = 1.4426950408889634074;
  static constexpr double kLn2Hi = 6.93145751953125E-1, kLn2Lo = 1.42860682030941723212E-6;
  static constexpr double kOverflow = 709.782712893383996843;
  static constexpr double kUnderflow = 745.133219101941108420;
  static constexpr double kTanhSmall = 0.625;
};

// exp(r) for |r| <= ln(2)/2.
inline float exp_reduced(float r) {
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return p * r * r + r + 1.0f;
}

inline double exp_reduced(double r) {  // Cephes' Padé form: 1 + 2 r P(r^2) / (Q(r^2) - r P(r^2))
  const double rr = r * r;
  const double p = r * ((1.26177193074810590878E-4 * rr + 3.02994407707441961300E-2) * rr + 9.99999999999999999910E-1);
  const double q =
      ((3.00198505138664455042E-6 * rr + 2.52448340349684104192E-3) * rr + 2.27265548208155028766E-1) * rr +
      2.00000000000000000009E0;
  return 1.0 + 2.0 * (p / (q - p));
}

// tanh(x) for |x| < 0.625: x + x^3 P(x^2).
inline float tanh_small(float x) {
  const float z = x * x;
  float p = -5.70498872745E-3f;
  p = p * z + 2.06390887954E-2f;
  p = p * z - 5.37397155531E-2f;
  p = p * z + 1.33314422036E-1f;
  p = p * z - 3.33332819422E-1f;
  return p * z * x + x;
}

inline double tanh_small(double x) {  // x + x^3 P(x^2) / Q(x^2)
  const double z = x * x;
  const double p = (-9.64399179425052238628E-1 * z - 9.92877231001918586564E1) * z - 1.61468768441708447952E3;
  const double q = ((z + 1.12811678491632931402E2) * z + 2.23548839060100448583E3) * z + 4.84406305325125486048E3;
  return x + x * z * (p / q);
}

// All ones where `condition`, else zero.
template <class UInt>
inline UInt mask(bool condition) {
  return UInt(0) - static_cast<UInt>(condition);
}

}  // namespace detail

// The operand's classification reads its top 32 bits as a signed int (with the low word, for a
// double, only to tell NaN from inf): SSE2 has no 64-bit compares or arithmetic shifts, and GCC
// vectorizes the float64 loops only without them.
template <class T>
inline int32_t top_word(T x) {
  if constexpr (sizeof(T) == 4) return bit_cast<int32_t>(x);
  else return static_cast<int32_t>(bit_cast<uint64_t>(x) >> 32);
}

template <class T>
inline bool is_nan(T x) {
  const int32_t abs_top = top_word(x) & 0x7fffffff, inf_top = top_word(T(__builtin_inf()));
  if constexpr (sizeof(T) == 4) return abs_top > inf_top;
  else return (abs_top > inf_top) | ((abs_top == inf_top) & (static_cast<uint32_t>(bit_cast<uint64_t>(x)) != 0));
}

template <class T>
inline T exp(T x) {
  using B = detail::Bits<T>;
  using UInt = typename B::UInt;
  const int32_t top = top_word(x), abs_top = top & 0x7fffffff;
  const bool negative = top < 0, nan = is_nan(x);
  // Past the thresholds (compared on the top word: the few values just past them that it misses
  // overflow or underflow in the arithmetic below anyway).
  const bool overflow = !negative & !nan & (abs_top > top_word(B::kOverflow));  // +inf included
  const bool underflow = negative & !nan & (abs_top > top_word(B::kUnderflow));  // -inf included
  // x = n ln 2 + r, n = round(x / ln 2) read off the low mantissa bits of t.
  const T t = x * B::kLog2e + B::kRound;
  const T fn = t - B::kRound;
  const T r = (x - fn * B::kLn2Hi) - fn * B::kLn2Lo;
  // y 2^n as y 2^h 2^(n - h), h = round(n / 2): both factors are normal for every n in range, and
  // a result in the denormals is rounded once, by the last multiply. Outside the range n is
  // garbage, masked below (unsigned arithmetic, so garbage never overflows a signed int).
  const UInt n = bit_cast<UInt>(t) - bit_cast<UInt>(B::kRound);
  const UInt h = bit_cast<UInt>(fn * T(0.5) + B::kRound) - bit_cast<UInt>(B::kRound);
  const T scale1 = bit_cast<T>((h + B::kBias) << B::kMantissa);
  const T scale2 = bit_cast<T>((n - h + B::kBias) << B::kMantissa);
  const UInt e = bit_cast<UInt>(detail::exp_reduced(r) * scale1 * scale2);
  const UInt keep = ~(detail::mask<UInt>(overflow) | detail::mask<UInt>(underflow));
  return bit_cast<T>((e & keep) | (bit_cast<UInt>(T(__builtin_inf())) & detail::mask<UInt>(overflow)));
}

template <class T>
inline T tanh(T x) {
  using B = detail::Bits<T>;
  using UInt = typename B::UInt;
  const UInt bits = bit_cast<UInt>(x), sign = bits & B::kSign;
  const T ax = bit_cast<T>(bits & ~B::kSign);
  // 1 - 2 / (e^(2|x|) + 1): 1 once e overflows, NaN for NaN.
  const T large = T(1) - T(2) / (exp(ax + ax) + T(1));
  // The sign ORed in keeps tanh(-0) = -0 (the polynomial's sum rounds it to +0).
  const UInt small = bit_cast<UInt>(detail::tanh_small(x)) | sign;
  const UInt use_small = detail::mask<UInt>((top_word(x) & 0x7fffffff) < top_word(B::kTanhSmall));
  return bit_cast<T>((small & use_small) | ((bit_cast<UInt>(large) | sign) & ~use_small));
}

}  // namespace terra::math::host
