// gradgradcheck: gradcheck of a gradient. F(x..., v) = d<f(x...), v>/dx_k is computed with
// create_graph, so checking F against finite differences (in x_k and in v) runs the gradient
// formulas' own gradients: double backward through the ops a formula calls.
//
//   gradgradcheck("gather", [](const TensorList& x) { return call1("gather", {x[0], idx}, {{"dim", 0}}); },
//                 {random_tensor({3, 4}, DType::Float64, 1)});
#pragma once
#include "gradcheck.hpp"

namespace terra::test {

inline void gradgradcheck(const std::string& what, const Function& f, const TensorList& inputs, size_t wrt = 0) {
  Tensor probe;
  {
    GradModeGuard no_grad(false);
    probe = f(inputs);
  }
  const size_t n = inputs.size();
  TensorList args = inputs;
  args.push_back(random_tensor(probe.shape(), DType::Float64, 777));
  GradcheckOptions opt;
  opt.differentiable.assign(args.size(), false);
  opt.differentiable[wrt] = opt.differentiable[n] = true;
  auto first_grad = [f, n, wrt](const TensorList& a) {
    GradModeGuard grad_mode(true);  // gradcheck evaluates without grad; the inner gradient needs a graph
    const TensorList xs(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(n));
    return autograd::grad({f(xs)}, {xs[wrt]}, {a[n]}, true, true, true)[0];
  };
  gradcheck(what + " (double backward)", first_grad, args, opt);
}

}  // namespace terra::test
