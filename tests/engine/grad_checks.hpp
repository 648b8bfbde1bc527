// Helpers shared by the gradient-formula suites (test_grad_*.cpp) for hand-computed gradient
// values; gradcheck.hpp and gradgradcheck.hpp (double backward) come with it.
#pragma once
#include "engine/autograd/grad_helpers.hpp"
#include "gradgradcheck.hpp"

namespace terra::test {

// A tensor of these values that requires grad.
inline Tensor grad_leaf(const std::vector<double>& v, const Shape& shape, DType dtype = DType::Float64) {
  Tensor t = from_values(v, shape, dtype);
  autograd::set_requires_grad(t, true);
  return t;
}

// The gradients of sum(out) with respect to `inputs` (undefined where unused).
inline TensorList grads_of_sum(const Tensor& out, const TensorList& inputs) {
  Tensor ones = call1("ones", {}, {{"size", grad::dims_of(out.shape())}, {"dtype", out.dtype()}});
  return autograd::grad({out}, inputs, {ones}, false, false, true);
}

}  // namespace terra::test
