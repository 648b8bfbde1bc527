// The glue between an elementwise op's call and its functor, shared by every device: build the
// functor from the attributes, pick the element type, run the device's loop. `Loops` is the
// device's loop engine (cpu::CpuLoops, cuda::CudaLoops) with
//   template <class Out, class... In, class F> static void run(out, {inputs...}, f);
//   static void check_integer_divisor(const Tensor& divisor);
#pragma once
#include "kernels/common/binary_math.hpp"
#include "kernels/common/unary_backward_math.hpp"
#include "kernels/kernel.hpp"

namespace terra::elementwise_kernels {

[[noreturn]] inline void not_implemented(const KernelCall& c) {
  fail(ErrorKind::Runtime, "\"", c.op, "\" not implemented for '", dtype_name(c.inputs[0].dtype()), "'");
}

// out = op(x); x already has the compute dtype, out's dtype is what op returns.
template <class Loops, class Op>
void unary(KernelCall& c) {
  const Op op = math::make_op<Op>(c.attrs);
  dispatch_dtype(c.inputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (Op::template supports<T>) {
      using R = decltype(op(T{}));
      Loops::template run<R, T>(c.outputs[0], {c.inputs[0]}, op);
    } else {
      not_implemented(c);
    }
  });
}

// out = op(a, b) over broadcast inputs that already share the compute dtype.
template <class Loops, class Op>
void binary(KernelCall& c) {
  const Op op = math::make_op<Op>(c.attrs);
  if constexpr (math::is_integer_division<Op>) Loops::check_integer_divisor(c.inputs[1]);
  dispatch_dtype(c.inputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (Op::template supports<T>) {
      using R = decltype(op(T{}, T{}));
      Loops::template run<R, T, T>(c.outputs[0], {c.inputs[0], c.inputs[1]}, op);
    } else {
      not_implemented(c);
    }
  });
}

}  // namespace terra::elementwise_kernels
