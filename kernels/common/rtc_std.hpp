// What the functors of kernels/common/*_math.hpp need from the standard library, for NVRTC, which
// has no host headers (and no libcu++ on its default include path): the math functions are
// NVRTC's built-in overloads (float and double), made visible as std:: as <cmath> does on the
// host, plus the few type traits the functors use and numeric_limits' infinity and NaN. The
// attributes (Attrs, Scalar, std::string) are declarations only: from(attrs) is host code, which
// NVRTC parses and never emits. Only ever compiled by NVRTC (math_deps.hpp includes it under
// __CUDACC_RTC__); the generated fused kernels (kernels/fused_codegen.hpp) include the functor
// headers with it.
#pragma once

using int64_t = long long;
using int32_t = int;

namespace std {

using ::acos;
using ::asin;
using ::asinh;
using ::atan2;
using ::atan;
using ::atanh;
using ::ceil;
using ::copysign;
using ::cos;
using ::cosh;
using ::erf;
using ::erfc;
using ::exp;
using ::expm1;
using ::floor;
using ::fmod;
using ::isinf;
using ::lgamma;
using ::log10;
using ::log1p;
using ::log2;
using ::log;
using ::nearbyint;
using ::pow;
using ::sin;
using ::sinh;
using ::sqrt;
using ::tan;
using ::tanh;
using ::trunc;

template <class T, T V> struct integral_constant { static constexpr T value = V; };
template <bool B> using bool_constant = integral_constant<bool, B>;
using true_type = bool_constant<true>;
using false_type = bool_constant<false>;

template <class T, class U> inline constexpr bool is_same_v = false;
template <class T> inline constexpr bool is_same_v<T, T> = true;
template <class T, class... U> inline constexpr bool is_any_of_v = (is_same_v<T, U> || ...);
template <class T> inline constexpr bool is_floating_point_v = is_any_of_v<T, float, double, long double>;
template <class T> inline constexpr bool is_integral_v =
    is_any_of_v<T, bool, char, signed char, unsigned char, short, unsigned short, int, unsigned, long, unsigned long,
                long long, unsigned long long>;
template <class T> inline constexpr bool is_arithmetic_v = is_integral_v<T> || is_floating_point_v<T>;

// infinity() and quiet_NaN() as the special functions (special_math.hpp) use them, from the bits.
template <class T> struct numeric_limits;
template <> struct numeric_limits<float> {
  static float infinity() { return __int_as_float(0x7f800000); }
  static float quiet_NaN() { return __int_as_float(0x7fc00000); }
};
template <> struct numeric_limits<double> {
  static double infinity() { return __longlong_as_double(0x7ff0000000000000LL); }
  static double quiet_NaN() { return __longlong_as_double(0x7ff8000000000000LL); }
};

template <class...> struct make_void { using type = void; };
template <class... T> using void_t = typename make_void<T...>::type;
template <class T> T&& declval();

struct string {
  bool operator==(const char*) const;
};

}  // namespace std

namespace terra {

struct Scalar {
  double as_double() const;
};
class Attrs {
 public:
  template <class T> const T& get(const char* name) const;
  bool is_none(const char* name) const;
};

}  // namespace terra
