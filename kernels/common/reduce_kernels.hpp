// The kernels of the reductions (sum, mean, prod, max/min and their dim/arg forms, amax/amin,
// var/std, norm, logsumexp, all/any) and of the cumsum scan, written once over a device's engine:
//   Engine::reduce(in, reduced, op)   -- folds `in` over the dims flagged in `reduced` with a
//                                        functor of kernels/common/reduce_math.hpp, op.store
//                                        receiving row-major output positions
//   Engine::template scan<T, Out>(in, out, dim)  -- out = running sums of in along dim (wrapping
//                                        integer sums, accumulated in reduce_acc_t<T>)
// The kernels only pick the functor for the dtypes at hand. TERRA_REDUCE_KERNELS(DEVICE, Engine)
// registers them all for one device.
#pragma once
#include <type_traits>
#include <vector>

#include "kernels/common/reduce_math.hpp"
#include "kernels/kernel.hpp"

namespace terra::reduce_kernels {

// The dims an op reduces, from its "dim" attribute: an int, a list, or None / [] for every dim.
inline std::vector<bool> reduced_dims(const Tensor& t, const AttrValue& dim) {
  std::vector<int64_t> dims;
  if (const auto* d = std::get_if<int64_t>(&dim)) dims = {*d};
  if (const auto* l = std::get_if<std::vector<int64_t>>(&dim)) dims = *l;
  std::vector<bool> mask(t.dim(), false);
  for (int64_t d : normalize_dims(dims, t.dim())) mask[d] = true;
  return mask;
}

inline int64_t reduced_count(const Tensor& t, const std::vector<bool>& mask) {
  int64_t n = 1;
  for (int64_t d = 0; d < t.dim(); ++d)
    if (mask[d]) n *= t.shape()[d];
  return n;
}

template <class Engine>
struct Kernels {
  // sum and prod: integer and bool inputs without dtype= produce int64.
  template <template <class, class> class Op>
  static void sum_like(KernelCall& c) {
    const Tensor &x = c.inputs[0], &out = c.outputs[0];
    const auto mask = reduced_dims(x, c.attrs["dim"]);
    dispatch_dtype(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if (out.dtype() == x.dtype()) {
        Engine::reduce(x, mask, Op<T, T>{out.data<T>()});
      } else {
        Engine::reduce(x, mask, Op<T, int64_t>{out.data<int64_t>()});
      }
    });
  }

  static void mean(KernelCall& c) {
    const Tensor &x = c.inputs[0], &out = c.outputs[0];
    const auto mask = reduced_dims(x, c.attrs["dim"]);
    const double count = static_cast<double>(reduced_count(x, mask));
    dispatch_floating(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      Engine::reduce(x, mask, math::MeanOp<T>{{out.data<T>()}, count});
    });
  }

  // max/min (every element) and amax/amin (a dim list).
  template <bool Max, bool AllDims>
  static void extremum(KernelCall& c) {
    const Tensor &x = c.inputs[0], &out = c.outputs[0];
    const auto mask = AllDims ? std::vector<bool>(x.dim(), true) : reduced_dims(x, c.attrs["dim"]);
    dispatch_dtype(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      Engine::reduce(x, mask, math::ExtremumOp<T, Max>{out.data<T>()});
    });
  }

  // max_dim/min_dim (values and indices) and argmax/argmin (indices only; dim=None flattens).
  template <bool Max, bool WithValues>
  static void arg_extremum(KernelCall& c) {
    const Tensor& x = c.inputs[0];
    const auto mask = reduced_dims(x, c.attrs["dim"]);
    dispatch_dtype(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T* values = WithValues ? c.outputs[0].data<T>() : nullptr;
      Engine::reduce(x, mask, math::ArgExtremumOp<T, Max>{values, c.outputs.back().data<int64_t>()});
    });
  }

  template <bool Sqrt>
  static void var(KernelCall& c) {
    const Tensor &x = c.inputs[0], &out = c.outputs[0];
    const auto mask = reduced_dims(x, c.attrs["dim"]);
    const double correction = c.attrs.get<double>("correction");
    dispatch_floating(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      Engine::reduce(x, mask, math::VarOp<T>{out.data<T>(), correction, Sqrt});
    });
  }

  static void norm(KernelCall& c) {
    const Tensor &x = c.inputs[0], &out = c.outputs[0];
    const auto mask = reduced_dims(x, c.attrs["dim"]);
    const double p = c.attrs.get<double>("p");
    const int64_t count = reduced_count(x, mask);
    dispatch_floating(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      auto run = [&](auto kind) {
        Engine::reduce(x, mask, math::NormOp<T, decltype(kind)::value>{out.data<T>(), p, count});
      };
      using K = math::NormKind;
      constexpr double kInf = math::kReduceInf;
      if (p == 0) run(std::integral_constant<K, K::Zero>{});
      else if (p == 1) run(std::integral_constant<K, K::One>{});
      else if (p == 2) run(std::integral_constant<K, K::Two>{});
      else if (p == kInf) run(std::integral_constant<K, K::Inf>{});
      else if (p == -kInf) run(std::integral_constant<K, K::NegInf>{});
      else run(std::integral_constant<K, K::P>{});
    });
  }

  static void logsumexp(KernelCall& c) {
    const Tensor &x = c.inputs[0], &out = c.outputs[0];
    const auto mask = reduced_dims(x, c.attrs["dim"]);
    dispatch_floating(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      Engine::reduce(x, mask, math::LogSumExpOp<T>{out.data<T>()});
    });
  }

  template <bool All>
  static void all_any(KernelCall& c) {
    const Tensor &x = c.inputs[0], &out = c.outputs[0];
    const auto mask = reduced_dims(x, c.attrs["dim"]);
    dispatch_dtype(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      Engine::reduce(x, mask, math::AllAnyOp<T, All>{out.data<bool>()});
    });
  }

  static void cumsum(KernelCall& c) {
    const Tensor &x = c.inputs[0], &out = c.outputs[0];
    if (x.numel() == 0) return;
    const int64_t dim = normalize_dim(c.attrs.get<int64_t>("dim"), x.dim());
    dispatch_dtype(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if (out.dtype() == x.dtype()) {
        Engine::template scan<T, T>(x, out, dim);
      } else {
        Engine::template scan<T, int64_t>(x, out, dim);
      }
    });
  }
};

}  // namespace terra::reduce_kernels

#define TERRA_REDUCE_KERNELS(DEVICE, Engine)                                                          \
  using TerraReduceKernels##DEVICE = ::terra::reduce_kernels::Kernels<Engine>;                        \
  TERRA_KERNEL(sum, DEVICE, TerraReduceKernels##DEVICE::sum_like<::terra::math::SumOp>);             \
  TERRA_KERNEL(prod, DEVICE, TerraReduceKernels##DEVICE::sum_like<::terra::math::ProdOp>);           \
  TERRA_KERNEL(mean, DEVICE, TerraReduceKernels##DEVICE::mean);                                       \
  TERRA_KERNEL(max, DEVICE, (TerraReduceKernels##DEVICE::extremum<true, true>));                      \
  TERRA_KERNEL(min, DEVICE, (TerraReduceKernels##DEVICE::extremum<false, true>));                     \
  TERRA_KERNEL(amax, DEVICE, (TerraReduceKernels##DEVICE::extremum<true, false>));                    \
  TERRA_KERNEL(amin, DEVICE, (TerraReduceKernels##DEVICE::extremum<false, false>));                   \
  TERRA_KERNEL(max_dim, DEVICE, (TerraReduceKernels##DEVICE::arg_extremum<true, true>));              \
  TERRA_KERNEL(min_dim, DEVICE, (TerraReduceKernels##DEVICE::arg_extremum<false, true>));             \
  TERRA_KERNEL(argmax, DEVICE, (TerraReduceKernels##DEVICE::arg_extremum<true, false>));              \
  TERRA_KERNEL(argmin, DEVICE, (TerraReduceKernels##DEVICE::arg_extremum<false, false>));             \
  TERRA_KERNEL(var, DEVICE, TerraReduceKernels##DEVICE::var<false>);                                  \
  TERRA_KERNEL(std, DEVICE, TerraReduceKernels##DEVICE::var<true>);                                   \
  TERRA_KERNEL(norm, DEVICE, TerraReduceKernels##DEVICE::norm);                                       \
  TERRA_KERNEL(logsumexp, DEVICE, TerraReduceKernels##DEVICE::logsumexp);                             \
  TERRA_KERNEL(all, DEVICE, TerraReduceKernels##DEVICE::all_any<true>);                               \
  TERRA_KERNEL(any, DEVICE, TerraReduceKernels##DEVICE::all_any<false>);                              \
  TERRA_KERNEL(cumsum, DEVICE, TerraReduceKernels##DEVICE::cumsum)
