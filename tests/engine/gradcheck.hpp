// gradcheck for the C++ suites: compares autograd's gradient of a function of float64 tensors
// with central finite differences, for every element of every input that requires grad.
//
//   gradcheck("mul", [](const TensorList& x) { return call1("mul", {x[0], x[1]}); },
//             {random_tensor({2, 3}, DType::Float64, 1), random_tensor({3}, DType::Float64, 2)});
//
// The output is contracted with random weights (never all ones), so every output element's
// gradient is checked; inputs are copied and marked requires_grad here.
#pragma once
#include <functional>
#include <set>

#include "engine/autograd/autograd_meta.hpp"
#include "engine/autograd/backward.hpp"
#include "engine/autograd/grad_mode.hpp"
#include "helpers.hpp"

namespace terra::test {

using Function = std::function<Tensor(const TensorList&)>;

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-4;
  std::vector<bool> differentiable;  // per input; empty: every floating input
};

// Every op whose gradient some gradcheck ran (test_grad_coverage.cpp checks none is missing).
inline std::set<std::string>& gradchecked_ops() {
  static std::set<std::string> ops;
  return ops;
}

inline void note_gradchecked_ops(const Tensor& out) {
  std::vector<Node*> stack{autograd::grad_fn(out).get()};
  std::set<Node*> seen;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    if (!n || !seen.insert(n).second) continue;
    if (auto* op = dynamic_cast<OpNode*>(n)) gradchecked_ops().insert(op->op().name());
    for (const Edge& e : n->next_edges) stack.push_back(e.node.get());
  }
}

inline double contracted(const Function& f, const TensorList& inputs, const Tensor& weights) {
  GradModeGuard no_grad(false);
  Tensor out = f(inputs);
  double s = 0;
  for (int64_t i = 0; i < out.numel(); ++i) s += get(out, i) * get(weights, i);
  return s;
}

inline void set(const Tensor& t, int64_t linear, double v) {
  REQUIRE(t.dtype() == DType::Float64);
  static_cast<double*>(t.storage()->data())[element_offset(t, linear)] = v;
}

inline void gradcheck(const std::string& what, const Function& f, TensorList inputs, GradcheckOptions opt = {}) {
  INFO("gradcheck " << what);
  std::vector<bool> diff = opt.differentiable;
  diff.resize(inputs.size(), opt.differentiable.empty());
  TensorList wrt;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) continue;
    inputs[i] = call1("clone", {inputs[i]});
    if (diff[i] && is_floating(inputs[i].dtype())) {
      REQUIRE(inputs[i].dtype() == DType::Float64);
      autograd::set_requires_grad(inputs[i], true);
      wrt.push_back(inputs[i]);
    }
  }
  REQUIRE(!wrt.empty());
  Tensor out = f(inputs);
  REQUIRE(autograd::requires_grad(out));
  note_gradchecked_ops(out);
  Tensor weights = random_tensor(out.shape(), DType::Float64, 4242, 0.5, 1.5);
  TensorList analytic = autograd::grad({out}, wrt, {weights}, false, false, true);
  for (size_t k = 0; k < wrt.size(); ++k) {
    INFO("input " << k << " " << wrt[k].describe());
    Tensor x = wrt[k];
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double orig = get(x, i);
      set(x, i, orig + opt.eps);
      const double up = contracted(f, inputs, weights);
      set(x, i, orig - opt.eps);
      const double down = contracted(f, inputs, weights);
      set(x, i, orig);
      const double numeric = (up - down) / (2 * opt.eps);
      const double exact = analytic[k].defined() ? get(analytic[k], i) : 0.0;
      INFO("element " << i << ": numeric " << numeric << " analytic " << exact);
      REQUIRE(std::abs(numeric - exact) <= opt.atol + opt.rtol * std::abs(numeric));
    }
  }
}

}  // namespace terra::test
