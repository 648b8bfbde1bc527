// Generic CUDA kernels for functor-defined elementwise ops: the same functors as the CPU kernels
// (kernels/common/*_math.hpp, TERRA_HD), one template per arity, instantiated for the element
// types each functor supports. Mirrors kernels/cpu/elementwise.hpp.
#pragma once
#include "kernels/common/unary_math.hpp"
#include "kernels/cuda/loops.cuh"
#include "kernels/kernel.hpp"

namespace terra::cuda {

// out = op(x); x already has the compute dtype, out's dtype is what op returns.
template <class Op>
void unary_kernel(KernelCall& c) {
  const Op op = math::make_op<Op>(c.attrs);
  dispatch_dtype(c.inputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (Op::template supports<T>) {
      using R = decltype(op(T{}));
      elementwise<R, T>(c.outputs[0], {c.inputs[0]}, op);
    } else {
      fail(ErrorKind::Runtime, "\"", c.op, "\" not implemented for '", dtype_name(c.inputs[0].dtype()), "'");
    }
  });
}

// out = op(a, b) over broadcast inputs that already share the compute dtype.
template <class Op>
void binary_kernel(KernelCall& c) {
  const Op op = math::make_op<Op>(c.attrs);
  dispatch_dtype(c.inputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (Op::template supports<T>) {
      using R = decltype(op(T{}, T{}));
      elementwise<R, T, T>(c.outputs[0], {c.inputs[0], c.inputs[1]}, op);
    } else {
      fail(ErrorKind::Runtime, "\"", c.op, "\" not implemented for '", dtype_name(c.inputs[0].dtype()), "'");
    }
  });
}

}  // namespace terra::cuda
