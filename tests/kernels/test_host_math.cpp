// The host exp and tanh (kernels/common/host_math.hpp) against libm in a wider type: float over
// every 251st bit pattern (negative and positive, denormals, inf and NaN included), double over
// random bit patterns and random values of moderate size, both within 2 ulp (sigmoid, 4); and the special
// values, overflow and gradual underflow exactly as libm gives them. Through the kernels, the
// exp/tanh/sigmoid ops are checked against float64 references in test_unary.cpp.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "kernels/common/host_math.hpp"
#include "kernels/common/unary_math.hpp"

namespace host = terra::math::host;

namespace {

// The Sigmoid functor as kernels run it on the host: 1 / (1 + host exp(-x)).
template <class T>
T sigmoid(T x) {
  return terra::math::Sigmoid{}(x);
}

// The distance in ulps between `got` and `want` rounded to T (0 when both are NaN or the same
// infinity; "far" when only one is).
template <class T, class Wide>
int64_t ulp_distance(T got, Wide want_wide) {
  const T want = static_cast<T>(want_wide);
  constexpr int64_t far = int64_t(1) << 40;
  if (std::isnan(got) || std::isnan(want)) return std::isnan(got) && std::isnan(want) ? 0 : far;
  if (std::isinf(got) || std::isinf(want)) return got == want ? 0 : far;
  using Int = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  // Bits mapped to a line that orders like the values (negative floats count down from zero).
  auto ordered = [](T x) {
    const Int b = host::bit_cast<Int>(x);
    return b < 0 ? -static_cast<int64_t>(b & std::numeric_limits<Int>::max()) : static_cast<int64_t>(b);
  };
  const int64_t d = ordered(got) - ordered(want);
  return d < 0 ? -d : d;
}

template <class T, class Draw>
void check_range(Draw draw, int64_t count) {
  using Wide = std::conditional_t<sizeof(T) == 4, double, long double>;
  int64_t worst_exp = 0, worst_tanh = 0, worst_sigmoid = 0;
  T at_exp = 0, at_tanh = 0;
  for (int64_t i = 0; i < count; ++i) {
    const T x = draw(i);
    const int64_t e = ulp_distance(host::exp(x), std::exp(static_cast<Wide>(x)));
    const int64_t t = ulp_distance(host::tanh(x), std::tanh(static_cast<Wide>(x)));
    if (e > worst_exp) worst_exp = e, at_exp = x;
    if (t > worst_tanh) worst_tanh = t, at_tanh = x;
    // sigmoid is 1 / (1 + exp(-x)) in T either way: only exp's error reaches it. Where 1 + e^-x
    // is normal (not where it overflows and the quotient would be a denormal).
    if (std::fabs(x) < T(80)) {
      const int64_t s = ulp_distance(sigmoid(x), T(1) / (T(1) + static_cast<T>(std::exp(-static_cast<Wide>(x)))));
      if (s > worst_sigmoid) worst_sigmoid = s;
    }
  }
  INFO("exp worst at " << at_exp << ", tanh worst at " << at_tanh);
  CHECK(worst_exp <= 2);
  CHECK(worst_tanh <= 2);
  CHECK(worst_sigmoid <= 4);  // exp's ulp and two roundings of its own
}

template <class T>
void check_specials() {
  const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
  const T max_log = std::log(std::numeric_limits<T>::max());
  const T least_denormal = std::numeric_limits<T>::denorm_min();
  for (T x : {T(0), T(-0.0), inf, -inf, nan, -nan, max_log, std::nextafter(max_log, inf), T(2) * max_log,
              std::log(least_denormal), std::log(least_denormal) - T(1), -max_log - T(5), T(1e-30), T(-1e-30),
              std::numeric_limits<T>::min(), -least_denormal, T(0.625), T(-0.625), std::nextafter(T(0.625), T(0))}) {
    INFO("x = " << x);
    const T e = host::exp(x), want_e = std::exp(x);
    if (std::isnan(want_e)) CHECK(std::isnan(e));
    else CHECK(ulp_distance(e, want_e) <= 2);
    const T t = host::tanh(x), want_t = std::tanh(x);
    if (std::isnan(want_t)) CHECK(std::isnan(t));
    else CHECK(ulp_distance(t, want_t) <= 2);
    if (!std::isnan(x)) CHECK(std::signbit(t) == std::signbit(x));  // tanh(-0) = -0
  }
  CHECK(host::exp(-inf) == T(0));
  CHECK(host::exp(inf) == inf);
  CHECK(host::exp(std::nextafter(max_log, inf) + T(1)) == inf);
  CHECK(sigmoid(-inf) == T(0));
  CHECK(sigmoid(inf) == T(1));
  CHECK(std::isnan(sigmoid(nan)));
}

}  // namespace

TEST_CASE("host exp and tanh, float32: within 2 ulp over the whole range", "[host_math]") {
  check_range<float>(
      [](int64_t i) {
        const uint32_t bits = static_cast<uint32_t>(i * 251);
        return host::bit_cast<float>(bits);
      },
      (int64_t(1) << 32) / 251);
  check_specials<float>();
}

TEST_CASE("host exp and tanh, float64: within 2 ulp on random bits and moderate values", "[host_math]") {
  std::mt19937_64 rng(7);
  check_range<double>(
      [&](int64_t i) {
        if (i % 2 == 0) return host::bit_cast<double>(rng());
        // |x| < 2^11, where both functions do their work, with random exponents below.
        const double unit = static_cast<double>(rng() >> 11) / 9007199254740992.0 * 2 - 1;
        return std::ldexp(unit, static_cast<int>(rng() % 64) - 52);
      },
      4000000);
  check_specials<double>();
}
