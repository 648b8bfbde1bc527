// The CPU's loop engine as the elementwise kernels' Loops policy (kernels/common/
// elementwise_kernels.hpp): functor-defined ops run cpu::elementwise, and integer division checks
// its divisors so dividing by zero raises PyTorch's ZeroDivisionError instead of trapping.
#pragma once
#include "kernels/common/elementwise_kernels.hpp"
#include "kernels/cpu/loops.hpp"

namespace terra::cpu {

struct CpuLoops {
  template <class Out, class... In, class F>
  static void run(const Tensor& out, const std::array<Tensor, sizeof...(In)>& ins, const F& f) {
    elementwise<Out, In...>(out, ins, f);
  }
  static void check_integer_divisor(const Tensor& divisor);
};

}  // namespace terra::cpu
