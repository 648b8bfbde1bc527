// A first Terra program in C++: fit y = X·w + b by gradient descent with the op registry's ops
// (randn, matmul, sub, mul, mean, ...), gradients written out by hand (autograd comes with the
// Python API). Prints the loss as it trains and the recovered weights at the end.
//   build/examples/linear_regression [steps]
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "engine/dispatch/dispatcher.hpp"
#include "tensor/generator.hpp"

using terra::call1;
using terra::Tensor;

namespace {

Tensor scalar(double v) { return Tensor::wrap_scalar(v, terra::DType::Float64); }
double item(const Tensor& t) { return *call1("to_dtype", {t}, {{"dtype", terra::DType::Float64}}).data<double>(); }

}  // namespace

static int train(int steps) {
  const int64_t n = 4096, features = 8;
  terra::default_generator().manual_seed(0);

  // Ground truth and noisy observations.
  Tensor w_true = call1("arange", {}, {{"start", 1}, {"end", features + 1}, {"dtype", terra::DType::Float32}});
  w_true = call1("reshape", {call1("mul", {w_true, scalar(0.5)})}, {{"shape", {features, 1}}});
  Tensor x = call1("randn", {}, {{"size", {n, features}}});
  Tensor noise = call1("mul", {call1("randn", {}, {{"size", {n, 1}}}), scalar(0.1)});
  Tensor y = call1("add", {call1("add", {call1("matmul", {x, w_true}), scalar(3.0)}), noise});

  Tensor w = call1("zeros", {}, {{"size", {features, 1}}});
  Tensor b = call1("zeros", {}, {{"size", {1}}});
  Tensor xt = call1("transpose", {x}, {{"dim0", 0}, {"dim1", 1}});
  const double lr = 0.1;
  for (int step = 0; step <= steps; ++step) {
    Tensor residual = call1("sub", {call1("add", {call1("matmul", {x, w}), b}), y});
    Tensor loss = call1("mean", {call1("mul", {residual, residual})});
    if (step % 20 == 0) std::printf("step %4d  loss %.6f\n", step, item(loss));
    if (step == steps) break;
    // d(loss)/dw = 2/n · Xᵀ r ; d(loss)/db = 2 · mean(r)
    Tensor grad_w = call1("mul", {call1("matmul", {xt, residual}), scalar(2.0 / n)});
    Tensor grad_b = call1("mul", {call1("mean", {residual}), scalar(2.0)});
    terra::call_inplace("sub", {w, grad_w}, {{"alpha", lr}});
    terra::call_inplace("sub", {b, grad_b}, {{"alpha", lr}});
  }
  std::printf("learned b = %.3f (true 3.000)\nlearned w =", item(b));
  for (int64_t i = 0; i < features; ++i) std::printf(" %.3f", item(call1("select", {w}, {{"dim", 0}, {"index", i}})));
  std::printf("\n   true w =");
  for (int64_t i = 0; i < features; ++i) std::printf(" %.3f", 0.5 * (i + 1));
  std::printf("\n");
  return 0;
}

int main(int argc, char** argv) {
  try {
    return train(argc > 1 ? std::atoi(argv[1]) : 200);
  } catch (const terra::Error& e) {
    std::fprintf(stderr, "linear_regression: %s\n", e.what());
    return 1;
  }
}
