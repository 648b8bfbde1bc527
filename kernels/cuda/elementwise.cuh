// The GPU's loop engine as the elementwise kernels' Loops policy (kernels/common/
// elementwise_kernels.hpp): the same functors and op glue as the CPU, run by cuda::elementwise.
#pragma once
#include "kernels/common/elementwise_kernels.hpp"
#include "kernels/cuda/loops.cuh"

namespace terra::cuda {

struct CudaLoops {
  template <class Out, class... In, class F>
  static void run(const Tensor& out, const std::array<Tensor, sizeof...(In)>& ins, const F& f) {
    elementwise<Out, In...>(out, ins, f);
  }
  // Note [Integer division by zero on CUDA]
  // The CPU scans integer divisors and raises ZeroDivisionError. Doing that here would need a
  // device reduction and a host read (a synchronization) on every integer div/remainder, so the
  // CUDA kernels do what PyTorch's do: no error, and the functors' defined result (0) instead of
  // a trap. Raising it at the next sync point belongs with the deferred kernel-error flag
  // (DESIGN §11).
  static void check_integer_divisor(const Tensor&) {}
};

}  // namespace terra::cuda
