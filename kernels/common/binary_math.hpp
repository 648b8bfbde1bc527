// Elementwise binary math as functors shared by the CPU and CUDA kernels. Both operands arrive in
// the promoted type T (the dispatcher converts); comparisons and logical ops return bool.
// Integer division and remainder by zero return 0 instead of trapping; such functors say so with
// is_integer_division, and the device's loop engine may check integer divisors first (the CPU
// raises PyTorch's "ZeroDivisionError"), so a bad input never kills the process.
#pragma once
#include "kernels/common/unary_math.hpp"

namespace terra::math {

struct Add : AnyType {
  double alpha = 1;
  static Add from(const Attrs& a) { return Add{{}, a.get<Scalar>("alpha").as_double()}; }
  template <class T> TERRA_HD T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) return a || (b && alpha != 0);
    else return a + T(alpha) * b;
  }
};
struct Sub : Numeric {
  double alpha = 1;
  static Sub from(const Attrs& a) { return Sub{{}, a.get<Scalar>("alpha").as_double()}; }
  template <class T> TERRA_HD T operator()(T a, T b) const { return a - T(alpha) * b; }
};
struct Mul : AnyType {
  template <class T> TERRA_HD T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) return a && b; else return a * b;
  }
};

// Integer division helpers: C++ truncates; floor rounds toward -inf like Python.
template <class T> TERRA_HD T floor_div_int(T a, T b) {
  T q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

enum class Rounding { None, Trunc, Floor };
struct Div : Numeric {
  Rounding mode = Rounding::None;
  static Div from(const Attrs& a) {
    if (a.is_none("rounding_mode")) return Div{};
    return Div{{}, a.get<std::string>("rounding_mode") == "trunc" ? Rounding::Trunc : Rounding::Floor};
  }
  template <class T> TERRA_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      T q = a / b;
      if (mode == Rounding::Trunc) return std::trunc(q);
      if (mode == Rounding::Floor) {
        // Python's floor division: floor of the exact quotient, computed via fmod to avoid
        // the rounding error of floor(a / b) (PyTorch's div_floor).
        if (b == T(0)) return q;
        T m = std::fmod(a, b);
        T d = (a - m) / b;
        if (m != T(0) && ((b < T(0)) != (m < T(0)))) d -= T(1);
        if (d == T(0)) return std::copysign(T(0), q);
        T fd = std::floor(d);
        return d - fd > T(0.5) ? fd + T(1) : fd;
      }
      return q;
    } else {
      if (b == T(0)) return T(0);
      return mode == Rounding::Floor ? floor_div_int(a, b) : T(a / b);
    }
  }
};
// Python's modulo: the result takes the divisor's sign.
struct Remainder : Numeric {
  template <class T> TERRA_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      T m = std::fmod(a, b);
      return (m != T(0) && ((m < T(0)) != (b < T(0)))) ? m + b : m;
    } else {
      if (b == T(0)) return T(0);
      T m = a % b;
      return (m != 0 && ((m < 0) != (b < 0))) ? T(m + b) : m;
    }
  }
};
// maximum/minimum propagate NaN, as PyTorch's do.
struct Maximum : AnyType {
  template <class T> TERRA_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) { if (a != a || b != b) return a + b; }
    return a > b ? a : b;
  }
};
struct Minimum : AnyType {
  template <class T> TERRA_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) { if (a != a || b != b) return a + b; }
    return a < b ? a : b;
  }
};
struct Pow : Numeric {
  template <class T> TERRA_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      return std::pow(a, b);
    } else {
      if (b < 0) return (a == 1) ? T(1) : (a == -1 ? T((b % 2) ? -1 : 1) : T(0));
      T r = 1;
      for (T e = b; e > 0; e >>= 1, a *= a)
        if (e & 1) r *= a;
      return r;
    }
  }
};
template <class Op> constexpr bool is_integer_division = std::is_same_v<Op, Div> || std::is_same_v<Op, Remainder>;

struct Atan2 : FloatOnly { template <class T> TERRA_HD T operator()(T a, T b) const { return std::atan2(a, b); } };

struct Eq : AnyType { template <class T> TERRA_HD bool operator()(T a, T b) const { return a == b; } };
struct Ne : AnyType { template <class T> TERRA_HD bool operator()(T a, T b) const { return a != b; } };
struct Lt : AnyType { template <class T> TERRA_HD bool operator()(T a, T b) const { return a < b; } };
struct Le : AnyType { template <class T> TERRA_HD bool operator()(T a, T b) const { return a <= b; } };
struct Gt : AnyType { template <class T> TERRA_HD bool operator()(T a, T b) const { return a > b; } };
struct Ge : AnyType { template <class T> TERRA_HD bool operator()(T a, T b) const { return a >= b; } };
struct LogicalAnd : AnyType { template <class T> TERRA_HD bool operator()(T a, T b) const { return a && b; } };
struct LogicalOr : AnyType { template <class T> TERRA_HD bool operator()(T a, T b) const { return a || b; } };
struct LogicalXor : AnyType { template <class T> TERRA_HD bool operator()(T a, T b) const { return bool(a) != bool(b); } };

struct BitwiseAnd : Integral { template <class T> TERRA_HD T operator()(T a, T b) const { return T(a & b); } };
struct BitwiseOr : Integral { template <class T> TERRA_HD T operator()(T a, T b) const { return T(a | b); } };
struct BitwiseXor : Integral { template <class T> TERRA_HD T operator()(T a, T b) const { return T(a ^ b); } };

// Shifts by a count outside [0, bits) are defined as PyTorch 2 defines them (1.13 left them to
// the hardware): nothing is left of a left shift, and a right shift leaves the sign.
template <class T> TERRA_HD bool shift_in_range(T count) {
  if constexpr (std::is_signed_v<T>)
    if (count < 0) return false;
  return count < T(sizeof(T) * 8);
}
struct LeftShift : IntegerOnly {
  template <class T> TERRA_HD T operator()(T a, T b) const {
    return shift_in_range(b) ? T(static_cast<std::make_unsigned_t<T>>(a) << b) : T(0);
  }
};
struct RightShift : IntegerOnly {
  template <class T> TERRA_HD T operator()(T a, T b) const { return shift_in_range(b) ? T(a >> b) : T(a < 0 ? -1 : 0); }
};

template <class T> TERRA_HD T magnitude(T x) {
  if constexpr (std::is_signed_v<T>) return x < 0 ? T(-x) : x; else return x;
}
struct Gcd : IntegerOnly {
  template <class T> TERRA_HD T operator()(T a, T b) const {
    a = magnitude(a);
    b = magnitude(b);
    while (b != 0) {
      const T r = T(a % b);
      a = b;
      b = r;
    }
    return a;
  }
};
struct Lcm : IntegerOnly {
  template <class T> TERRA_HD T operator()(T a, T b) const {
    const T g = Gcd{}(a, b);
    return g == 0 ? T(0) : magnitude(T(a / g * b));
  }
};

}  // namespace terra::math
