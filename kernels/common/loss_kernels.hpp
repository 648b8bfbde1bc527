// The kernels of the pointwise losses (mse_loss, l1_loss, smooth_l1_loss, binary_cross_entropy,
// binary_cross_entropy_with_logits) and of their backward ops, written once over a device's
// engine: the elementwise loop over the functors of loss_math.hpp, then the reduction. `Engine`
// is a device's Loops policy (elementwise_kernels.hpp) with also
//   template <class T> static void finish(c, loss, r)        -- the 0-d output = sum (or mean) of
//                                        the per-element losses, summed in float64 (int64 for integer
//                                        l1_loss); nothing for reduction='none'
//   template <class T> static Tensor scaled_grad(c, r)       -- grad_output, divided by the element
//                                        count (in float64) for reduction='mean'
//   template <class T> static bool any_outside_unit(x)       -- whether some x is not in [0, 1]
//                                        (NaN included); a host read on devices
//   static Tensor as_contiguous(t)                           -- t, or a packed copy (ClassOperands)
// TERRA_POINTWISE_LOSS_KERNELS(DEVICE, Engine) registers them for one device.
#pragma once
#include "kernels/common/loss_math.hpp"
#include "kernels/kernel.hpp"

namespace terra::loss_kernels {

using math::Reduction;

inline Reduction reduction_of(const KernelCall& c) { return math::parse_reduction(c.attrs.get<std::string>("reduction")); }

// Where the per-element losses go: the output itself for reduction='none', else a temporary
// that finish() reduces into the 0-d output.
inline Tensor loss_buffer(const KernelCall& c, Reduction r, const Shape& shape, DType dtype) {
  return r == Reduction::None ? c.outputs[0] : Tensor::empty(shape, dtype, c.outputs[0].device());
}

// An absent weight is a 0-d one (a wrapped number), broadcast by the elementwise loop.
inline Tensor weight_or_one(const Tensor& w, DType dtype) { return w.defined() ? w : Tensor::wrap_scalar(1.0, dtype); }

// The class losses (nll_loss, cross_entropy) read whole rows and gather by class: contiguous
// operands keep that simple. Their backward ops take grad_output first, so the operands start at
// input `first`.
template <class Engine>
struct ClassOperands {
  Tensor x, target, weight;
  explicit ClassOperands(const KernelCall& c, size_t first = 0)
      : x(Engine::as_contiguous(c.inputs[first])),
        target(Engine::as_contiguous(c.inputs[first + 1])),
        weight(Engine::as_contiguous(c.inputs[first + 2])) {}
  template <class T>
  const T* weight_data() const {
    return weight.defined() ? weight.data<T>() : nullptr;
  }
};

template <class Engine>
struct Kernels {
  // mse_loss, l1_loss, smooth_l1_loss over broadcast inputs of the promoted dtype.
  template <class Op>
  static void regression(KernelCall& c) {
    const Op op = math::make_op<Op>(c.attrs);
    const Reduction r = reduction_of(c);
    const Tensor &x = c.inputs[0], &y = c.inputs[1];
    dispatch_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (Op::template supports<T>) {
        const Tensor loss = loss_buffer(c, r, broadcast_shapes(x.shape(), y.shape()), x.dtype());
        Engine::template run<T, T, T>(loss, {x, y}, op);
        Engine::template finish<T>(c, loss, r);
      } else {
        fail(ErrorKind::Runtime, "\"", c.op, "\" not implemented for '", dtype_name(x.dtype()), "'");
      }
    });
  }

  static void binary_cross_entropy(KernelCall& c) {
    const Reduction r = reduction_of(c);
    const Tensor &x = c.inputs[0], &y = c.inputs[1];
    dispatch_floating(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      // A data error in PyTorch (NaN included), checked before anything is written.
      TERRA_CHECK(!Engine::template any_outside_unit<T>(x), Runtime, "all elements of input should be between 0 and 1");
      const Tensor loss = loss_buffer(c, r, x.shape(), x.dtype());
      Engine::template run<T, T, T, T>(loss, {x, y, weight_or_one(c.inputs[2], x.dtype())}, math::BinaryCrossEntropy{});
      Engine::template finish<T>(c, loss, r);
    });
  }

  static void binary_cross_entropy_with_logits(KernelCall& c) {
    const Reduction r = reduction_of(c);
    const Tensor &x = c.inputs[0], &y = c.inputs[1], &pos_weight = c.inputs[3];
    const Shape shape = pos_weight.defined() ? broadcast_shapes(x.shape(), pos_weight.shape()) : x.shape();
    dispatch_floating(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const Tensor loss = loss_buffer(c, r, shape, x.dtype());
      Engine::template run<T, T, T, T, T>(
          loss, {x, y, weight_or_one(c.inputs[2], x.dtype()), weight_or_one(pos_weight, x.dtype())},
          math::BinaryCrossEntropyWithLogits{});
      Engine::template finish<T>(c, loss, r);
    });
  }

  // The backward ops: grad_output first, then the forward's inputs; the output has the loss's
  // broadcast shape. For 'mean' and 'sum' grad_output is 0-d, broadcast with the other operands.
  template <class Op>
  static void regression_backward(KernelCall& c) {
    const Op op = math::make_op<Op>(c.attrs);
    const Reduction r = reduction_of(c);
    dispatch_floating(c.outputs[0].dtype(), [&](auto tag) {
      using T = decltype(tag);
      Engine::template run<T, T, T, T>(c.outputs[0], {c.inputs[1], c.inputs[2], Engine::template scaled_grad<T>(c, r)}, op);
    });
  }

  static void binary_cross_entropy_backward(KernelCall& c) {
    const Reduction r = reduction_of(c);
    const Tensor& out = c.outputs[0];
    dispatch_floating(out.dtype(), [&](auto tag) {
      using T = decltype(tag);
      Engine::template run<T, T, T, T, T>(
          out, {c.inputs[1], c.inputs[2], weight_or_one(c.inputs[3], out.dtype()), Engine::template scaled_grad<T>(c, r)},
          math::BinaryCrossEntropyGrad{});
    });
  }

  static void binary_cross_entropy_with_logits_backward(KernelCall& c) {
    const Reduction r = reduction_of(c);
    const Tensor& out = c.outputs[0];
    dispatch_floating(out.dtype(), [&](auto tag) {
      using T = decltype(tag);
      Engine::template run<T, T, T, T, T, T>(out,
                                             {c.inputs[1], c.inputs[2], weight_or_one(c.inputs[3], out.dtype()),
                                              weight_or_one(c.inputs[4], out.dtype()), Engine::template scaled_grad<T>(c, r)},
                                             math::BinaryCrossEntropyWithLogitsGrad{});
    });
  }
};

}  // namespace terra::loss_kernels

#define TERRA_POINTWISE_LOSS_KERNELS(DEVICE, Engine)                                                             \
  using TerraLossKernels##DEVICE = ::terra::loss_kernels::Kernels<Engine>;                                       \
  TERRA_KERNEL(mse_loss, DEVICE, TerraLossKernels##DEVICE::regression<::terra::math::SquaredError>);             \
  TERRA_KERNEL(l1_loss, DEVICE, TerraLossKernels##DEVICE::regression<::terra::math::AbsoluteError>);             \
  TERRA_KERNEL(smooth_l1_loss, DEVICE, TerraLossKernels##DEVICE::regression<::terra::math::SmoothL1>);           \
  TERRA_KERNEL(binary_cross_entropy, DEVICE, TerraLossKernels##DEVICE::binary_cross_entropy);                    \
  TERRA_KERNEL(binary_cross_entropy_with_logits, DEVICE, TerraLossKernels##DEVICE::binary_cross_entropy_with_logits); \
  TERRA_KERNEL(mse_loss_backward, DEVICE, TerraLossKernels##DEVICE::regression_backward<::terra::math::SquaredErrorGrad>); \
  TERRA_KERNEL(l1_loss_backward, DEVICE, TerraLossKernels##DEVICE::regression_backward<::terra::math::AbsoluteErrorGrad>); \
  TERRA_KERNEL(smooth_l1_loss_backward, DEVICE, TerraLossKernels##DEVICE::regression_backward<::terra::math::SmoothL1Grad>); \
  TERRA_KERNEL(binary_cross_entropy_backward, DEVICE, TerraLossKernels##DEVICE::binary_cross_entropy_backward);  \
  TERRA_KERNEL(binary_cross_entropy_with_logits_backward, DEVICE,                                                \
               TerraLossKernels##DEVICE::binary_cross_entropy_with_logits_backward)
