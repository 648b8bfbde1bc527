// The unary ops' fused backward kernels (tanh_backward, gelu_backward, ...) against float64
// references grad * f'(x), over float32 and float64, contiguous, transposed, strided and
// broadcast inputs, empty and 0-d tensors. Each reference derivative is itself checked against
// central differences of its forward reference, so the two cannot share a mistake.
#include <functional>

#include "helpers.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("tanh_backward", "sigmoid_backward", "threshold_backward", "gelu_backward", "silu_backward",
              "elu_backward", "leaky_relu_backward", "softplus_backward");

namespace {

using Fn = std::function<double(double)>;

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

struct BackwardCase {
  const char* op;
  Fn forward, derivative;
  bool takes_result;  // the kernel's second input is forward(x) (tanh, sigmoid), not x
  NamedAttrs attrs;
  double lo = -4, hi = 4;
};

const std::vector<BackwardCase>& cases() {
  const double k = std::sqrt(2 / M_PI), c = 0.044715;
  static const std::vector<BackwardCase> v = {
      {"tanh_backward", [](double x) { return std::tanh(x); },
       [](double x) { return 1 / (std::cosh(x) * std::cosh(x)); }, true, {}},
      {"sigmoid_backward", sigmoid, [](double x) { return std::exp(-x) * sigmoid(x) * sigmoid(x); }, true, {}},
      {"threshold_backward", [](double x) { return x > 0 ? x : 0; }, [](double x) { return x > 0 ? 1.0 : 0.0; }, false,
       {{"threshold", 0.0}}},
      {"threshold_backward", [](double x) { return x > 0.5 ? x : 0; }, [](double x) { return x > 0.5 ? 1.0 : 0.0; },
       false, {{"threshold", 0.5}}},
      {"gelu_backward", [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); },
       [](double x) { return 0.5 * (1 + std::erf(x / std::sqrt(2.0))) + x * std::exp(-x * x / 2) / std::sqrt(2 * M_PI); },
       false, {}},
      {"gelu_backward", [=](double x) { return 0.5 * x * (1 + std::tanh(k * (x + c * x * x * x))); },
       [=](double x) {
         const double t = std::tanh(k * (x + c * x * x * x));
         return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * c * x * x);
       },
       false, {{"approximate", "tanh"}}},
      {"silu_backward", [](double x) { return x * sigmoid(x); },
       [](double x) { return sigmoid(x) + x * sigmoid(x) * (1 - sigmoid(x)); }, false, {}},
      {"elu_backward", [](double x) { return x > 0 ? x : 1.5 * std::expm1(x); },
       [](double x) { return x > 0 ? 1 : 1.5 * std::exp(x); }, false, {{"alpha", 1.5}}},
      {"leaky_relu_backward", [](double x) { return x > 0 ? x : 0.2 * x; }, [](double x) { return x > 0 ? 1 : 0.2; },
       false, {{"negative_slope", 0.2}}},
      {"softplus_backward", [](double x) { return std::log1p(std::exp(x)); }, sigmoid, false,
       {{"beta", 1.0}, {"threshold", 20.0}}},
      {"softplus_backward", [](double x) { return 2 * x > 3 ? x : std::log1p(std::exp(2 * x)) / 2; },
       [](double x) { return 2 * x > 3 ? 1 : sigmoid(2 * x); }, false, {{"beta", 2.0}, {"threshold", 3.0}}},
  };
  return v;
}

// The kernel's second input for x: x itself or the forward's result.
Tensor second_input(const BackwardCase& bc, const Tensor& x) {
  std::vector<double> v = values(x);
  if (bc.takes_result)
    for (double& e : v) e = bc.forward(e);
  return from_values(v, x.shape(), x.dtype());
}

}  // namespace

TEST_CASE("reference derivatives agree with central differences of the forward", "[unary_backward]") {
  uint64_t seed = 1;
  for (const BackwardCase& bc : cases()) {
    INFO(bc.op);
    for (double x : values(random_tensor({64}, DType::Float64, seed++, bc.lo, bc.hi))) {
      if (std::fabs(x) < 1e-3 || std::fabs(x - 0.5) < 1e-3 || std::fabs(x - 1.5) < 1e-3) continue;  // kinks
      const double h = 1e-6, numeric = (bc.forward(x + h) - bc.forward(x - h)) / (2 * h);
      CHECK(bc.derivative(x) == Approx(numeric).epsilon(1e-6).margin(1e-8));
    }
  }
}

TEST_CASE("fused backward kernels match grad * f'(x)", "[unary_backward]") {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{7, 33}, {7, 33}}, {{3, 1, 5}, {3, 1, 5}}, {{}, {}}, {{0, 4}, {0, 4}}, {{4, 6}, {6}}, {{2, 1}, {2, 5}}};
  uint64_t seed = 100;
  for (const BackwardCase& bc : cases()) {
    for (DType dt : {DType::Float32, DType::Float64}) {
      for (const auto& [gs, xs] : shapes) {
        INFO(bc.op << " " << dtype_name(dt) << " grad " << shape_str(gs) << " x " << shape_str(xs));
        Tensor g = random_tensor(gs, dt, seed++, -2, 2);
        Tensor x = random_tensor(xs, dt, seed++, bc.lo, bc.hi);
        Tensor v = second_input(bc, x);
        const Shape os = broadcast_shapes(gs, xs);
        auto vg = values(g), vx = values(x);
        std::vector<double> expect(shape_numel(os));
        for (int64_t i = 0; i < shape_numel(os); ++i)
          expect[i] = broadcast_at(vg, gs, os, i) * bc.derivative(broadcast_at(vx, xs, os, i));
        for (auto [a, b] : {std::pair{g, v}, std::pair{transposed_copy(g), strided_copy(v)}}) {
          Tensor out = call1(bc.op, {a, b}, bc.attrs);
          CHECK(out.shape() == os);
          CHECK(out.dtype() == dt);
          // tanh/sigmoid get their result rounded to dt, so their float32 error is a few ulps more.
          check_values(out, expect, rtol_for(dt) * 8, atol_for(dt) * 8);
        }
      }
    }
  }
}

TEST_CASE("threshold_backward passes the gradient at NaN and blocks it at the threshold", "[unary_backward]") {
  Tensor g = from_values({1, 2, 3, 4}, {4}, DType::Float32);
  Tensor x = from_values({NAN, 0, 0.5, -1}, {4}, DType::Float32);
  CHECK(values(call1("threshold_backward", {g, x}, {{"threshold", 0.0}})) == std::vector<double>{1, 0, 3, 0});
}

TEST_CASE("softplus_backward does not overflow far below a large threshold", "[unary_backward]") {
  Tensor g = from_values({1, 1}, {2}, DType::Float32);
  Tensor x = from_values({-200, 200}, {2}, DType::Float32);
  CHECK(values(call1("softplus_backward", {g, x}, {{"beta", 1.0}, {"threshold", 1000.0}})) == std::vector<double>{0, 1});
}
