// arange and linspace, written once over a device's one primitive and registered for each device:
//   Impl::generate<T>(out, value)  -- out[i] = value(i) for every i of a 1-d (or 0-d) out, any stride
// with the values of range_math.hpp, so every device computes every element the same way.
#pragma once
#include "kernels/common/range_math.hpp"
#include "kernels/kernel.hpp"

namespace terra::range_kernels {

template <class T>
struct Constant {
  T value;
  TERRA_HD T operator()(int64_t) const { return value; }
};

template <class Impl>
struct Kernels {
  static void arange(KernelCall& c) {
    const Tensor& out = c.outputs[0];
    dispatch_numeric(out.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using A = math::arange_acc_t<T>;
      Impl::template generate<T>(
          out, math::ArangeValue<T>{c.attrs.get<Scalar>("start").to<A>(), c.attrs.get<Scalar>("step").to<A>()});
    });
  }

  static void linspace(KernelCall& c) {
    const Tensor& out = c.outputs[0];
    const int64_t steps = c.attrs.get<int64_t>("steps");
    dispatch_numeric(out.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T start = c.attrs.get<Scalar>("start").to<T>();
      if (steps == 1) return Impl::template generate<T>(out, Constant<T>{start});
      if (steps == 0) return;
      Impl::template generate<T>(out, math::LinspaceValue<T>(start, c.attrs.get<Scalar>("end").to<T>(), steps));
    });
  }
};

}  // namespace terra::range_kernels

#define TERRA_RANGE_KERNELS(DEVICE, Impl)                                          \
  TERRA_KERNEL(arange, DEVICE, ::terra::range_kernels::Kernels<Impl>::arange);     \
  TERRA_KERNEL(linspace, DEVICE, ::terra::range_kernels::Kernels<Impl>::linspace)
