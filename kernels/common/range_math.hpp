// The values of the range creation ops (arange, linspace, eye) by element index, shared by the
// CPU and CUDA kernels (TERRA_HD) so both compute every element with the same arithmetic and agree
// bit for bit. The formulas are PyTorch 1.13's CPU ones (which arithmetic happens in double and
// which in the output type, which half of a linspace counts from which end).
#pragma once
#include <cstdint>
#include <type_traits>

#include "tensor/macros.hpp"

namespace terra::math {

// a * b rounded on its own: nvcc contracts a * b + c into one fused multiply-add by default,
// rounding once where the CPU rounds twice, which would change the last bit.
template <class T>
TERRA_HD T product(T a, T b) {
#ifdef __CUDA_ARCH__
  if constexpr (std::is_same_v<T, double>) return __dmul_rn(a, b);
  else if constexpr (std::is_same_v<T, float>) return __fmul_rn(a, b);
  else return a * b;
#else
  return a * b;
#endif
}

// arange accumulates in int64 for integer outputs and in double for floating ones.
template <class T>
using arange_acc_t = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

// value i = start + step * i.
template <class T>
struct ArangeValue {
  arange_acc_t<T> start, step;
  TERRA_HD T operator()(int64_t i) const { return static_cast<T>(start + product(step, static_cast<arange_acc_t<T>>(i))); }
};

// PyTorch's symmetric formula: the first half counts up from start, the second half down from
// end, so both endpoints are exact. The step is computed in the output type, in double for
// integer outputs (their values are truncated toward zero). Needs steps >= 2.
template <class T>
struct LinspaceValue {
  using S = std::conditional_t<std::is_integral_v<T>, double, T>;
  T start, end;
  int64_t steps;
  S step;
  LinspaceValue(T start_, T end_, int64_t steps_)
      : start(start_),
        end(end_),
        steps(steps_),
        step((static_cast<S>(end_) - static_cast<S>(start_)) / static_cast<S>(steps_ - 1)) {}
  TERRA_HD T operator()(int64_t i) const {
    return i < steps / 2 ? static_cast<T>(start + product(step, static_cast<S>(i)))
                         : static_cast<T>(end - product(step, static_cast<S>(steps - i - 1)));
  }
};

}  // namespace terra::math
