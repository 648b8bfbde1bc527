// Generic CPU kernels for functor-defined elementwise ops (kernels/common/*_math.hpp): one
// template per arity, instantiated for the element types the functor supports.
#pragma once
#include "kernels/common/unary_math.hpp"
#include "kernels/cpu/loops.hpp"
#include "kernels/kernel.hpp"

namespace terra::cpu {

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

}  // namespace terra::cpu
