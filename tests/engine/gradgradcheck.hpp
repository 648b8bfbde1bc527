// gradgradcheck for the C++ suites (PyTorch's gradgradcheck): gradcheck of a first gradient,
// built with create_graph, so the gradients of backward ops (double backward) are checked too.
//
//   gradgradcheck("conv2d d/dweight", conv, {x, w, bias}, 1);
//
// checks d/d(x, w, bias, v) of autograd.grad(conv(x, w, bias), w, grad_outputs=v), v being a
// random gradient of conv's output that is checked like any other input.
#pragma once
#include "gradcheck.hpp"

namespace terra::test {

inline void gradgradcheck(const std::string& what, const Function& f, TensorList inputs, size_t which = 0,
                          GradcheckOptions opt = {}) {
  Tensor out;
  {
    GradModeGuard no_grad(false);
    out = f(inputs);
  }
  inputs.push_back(random_tensor(out.shape(), DType::Float64, 4343));
  if (!opt.differentiable.empty()) opt.differentiable.push_back(true);
  // Grad mode is on even inside gradcheck's no-grad evaluations, which need the first gradient.
  gradcheck(what, [f, which](const TensorList& x) {
    GradModeGuard grad_mode(true);
    const TensorList in(x.begin(), x.end() - 1);
    return autograd::grad({f(in)}, {in.at(which)}, {x.back()}, true, true, false)[0];
  }, inputs, opt);
}

}  // namespace terra::test
