// Checks shared by the gradient-formula suites (test_grad_*.cpp), beside gradcheck.hpp:
// gradgradcheck for a formula's own gradient (double backward, create_graph), and small helpers
// for hand-computed gradient values.
#pragma once
#include "engine/autograd/grad_helpers.hpp"
#include "gradcheck.hpp"

namespace terra::test {

// The gradient of f with respect to input k, taken with create_graph and fixed random output
// weights, treated as a function of all the inputs and run through gradcheck.
inline void gradgradcheck(const std::string& what, const Function& f, TensorList inputs, size_t k = 0,
                          GradcheckOptions opt = {}) {
  Tensor weights;
  {
    GradModeGuard no_grad(false);
    weights = random_tensor(f(inputs).shape(), DType::Float64, 777, 0.5, 1.5);
  }
  auto first_gradient = [f, weights, k](const TensorList& x) {
    GradModeGuard enabled(true);  // gradcheck evaluates under no_grad; the first gradient needs a graph
    return autograd::grad({f(x)}, {x.at(k)}, {weights}, true, true, false).at(0);
  };
  gradcheck(what + " (double backward)", first_gradient, std::move(inputs), opt);
}

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
