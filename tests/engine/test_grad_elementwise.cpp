// Gradients of the elementwise ops (engine/ops/unary.cpp, binary.cpp): gradcheck of every
// differentiable op and attribute variant on contiguous and non-contiguous inputs, with
// broadcasting for the binary ops; double backward through the fused backward ops; hand-computed
// values where PyTorch picks a convention (ties, zeros, bounds); the ops that carry no gradient.
#include "engine/autograd/node.hpp"
#include "engine/autograd/record.hpp"
#include "grad_checks.hpp"

using namespace terra;
using namespace terra::test;

namespace {

struct UnaryCase {
  const char* op;
  NamedAttrs attrs;
  double lo, hi;        // input domain, away from poles
  bool second = true;   // f' depends on x, so the first gradient has a gradient of its own
};

const std::vector<UnaryCase>& unary_cases() {
  static const std::vector<UnaryCase> c = {
      {"neg", {}, -2, 2, false},
      {"abs", {}, -2, 2},
      {"exp", {}, -2, 2},
      {"expm1", {}, -2, 2},
      {"log", {}, 0.2, 3},
      {"log1p", {}, -0.5, 3},
      {"sqrt", {}, 0.2, 3},
      {"rsqrt", {}, 0.2, 3},
      {"reciprocal", {}, 0.3, 3},
      {"reciprocal", {}, -3, -0.3},
      {"sin", {}, -3, 3},
      {"cos", {}, -3, 3},
      {"tanh", {}, -2, 2},
      {"log2", {}, 0.2, 3},
      {"log10", {}, 0.2, 3},
      {"atan", {}, -2, 2},
      {"asin", {}, -0.8, 0.8},
      {"acos", {}, -0.8, 0.8},
      {"sinh", {}, -2, 2},
      {"cosh", {}, -2, 2},
      {"asinh", {}, -2, 2},
      {"atanh", {}, -0.8, 0.8},
      {"sigmoid", {}, -3, 3},
      {"relu", {}, -2, 2},
      {"gelu", {}, -3, 3},
      {"gelu", {{"approximate", "tanh"}}, -3, 3},
      {"silu", {}, -3, 3},
      {"elu", {}, -2, 2},
      {"elu", {{"alpha", 0.5}}, -2, 2},
      {"leaky_relu", {}, -2, 2},
      {"leaky_relu", {{"negative_slope", 0.3}}, -2, 2},
      {"softplus", {}, -3, 3},
      {"softplus", {{"beta", 2.0}, {"threshold", 3.0}}, -3, 3},  // beta x > threshold above x = 1.5
      {"erf", {}, -2, 2},
      {"erfc", {}, -2, 2},
      {"erfinv", {}, -0.9, 0.9},
      {"tan", {}, -1.2, 1.2},
      {"lgamma", {}, 0.3, 4},
      {"lgamma", {}, -2.8, -2.2},
      {"digamma", {}, 0.3, 4},
      {"digamma", {}, -1.8, -1.2},
      {"polygamma", {{"n", 0}}, 0.3, 4},
      {"polygamma", {{"n", 1}}, 0.3, 4},
      {"polygamma", {{"n", 1}}, -0.8, -0.2},
      {"polygamma", {{"n", 3}}, 0.5, 4},
      {"clamp", {{"min", -0.5}, {"max", 1.0}}, -2, 2, false},
      {"clamp", {{"min", 0.3}}, -2, 2, false},
      {"clamp", {{"max", -0.2}}, -2, 2, false},
      {"sign", {}, -2, 2, false},
      {"floor", {}, -2, 2, false},
      {"ceil", {}, -2, 2, false},
      {"round", {}, -2, 2, false},
      {"round", {{"decimals", 1}}, -2, 2, false},
  };
  return c;
}

std::string describe(const char* op, const NamedAttrs& attrs) {
  std::string s = op;
  for (const auto& [name, _] : attrs) s += " " + name;
  return s;
}

Tensor transposed(const Tensor& t) { return call1("transpose", {t}, {{"dim0", 0}, {"dim1", 1}}); }

}  // namespace

TEST_CASE("unary gradients pass gradcheck, contiguous and transposed", "[grad][unary]") {
  uint64_t seed = 1;
  for (const UnaryCase& uc : unary_cases()) {
    const std::string what = describe(uc.op, uc.attrs);
    const auto op = uc.op;
    const auto attrs = uc.attrs;
    gradcheck(what, [=](const TensorList& x) { return call1(op, {x[0]}, attrs); },
              {random_tensor({3, 4}, DType::Float64, seed++, uc.lo, uc.hi)});
    gradcheck(what + " transposed", [=](const TensorList& x) { return call1(op, {transposed(x[0])}, attrs); },
              {random_tensor({4, 3}, DType::Float64, seed++, uc.lo, uc.hi)});
    gradcheck(what + " 0-d", [=](const TensorList& x) { return call1(op, {x[0]}, attrs); },
              {random_tensor({}, DType::Float64, seed++, uc.lo, uc.hi)});
  }
}

TEST_CASE("unary gradients have gradients of their own (double backward)", "[grad][unary][double]") {
  uint64_t seed = 500;
  for (const UnaryCase& uc : unary_cases()) {
    if (!uc.second) continue;
    const auto op = uc.op;
    const auto attrs = uc.attrs;
    gradgradcheck(describe(uc.op, uc.attrs), [=](const TensorList& x) { return call1(op, {x[0]}, attrs); },
                  {random_tensor({2, 3}, DType::Float64, seed++, uc.lo, uc.hi)});
  }
}

TEST_CASE("fused backward ops: gradients in both arguments", "[grad][unary][double]") {
  // b(g, v) is checked as a function of both g and v, including the broadcast of g.
  const std::vector<std::pair<const char*, NamedAttrs>> ops = {
      {"tanh_backward", {}},
      {"sigmoid_backward", {}},
      {"threshold_backward", {{"threshold", 0.25}}},
      {"gelu_backward", {}},
      {"gelu_backward", {{"approximate", "tanh"}}},
      {"silu_backward", {}},
      {"elu_backward", {{"alpha", 1.5}}},
      {"leaky_relu_backward", {{"negative_slope", 0.2}}},
      {"softplus_backward", {{"beta", 2.0}, {"threshold", 3.0}}},
  };
  uint64_t seed = 900;
  for (const auto& [op, attrs] : ops) {
    const auto o = op;
    const auto a = attrs;
    gradcheck(describe(op, attrs), [=](const TensorList& x) { return call1(o, {x[0], x[1]}, a); },
              {random_tensor({3}, DType::Float64, seed++), random_tensor({2, 3}, DType::Float64, seed++, -3, 3)});
  }
}

TEST_CASE("unary gradients at hand-computed points", "[grad][unary]") {
  Tensor x = grad_leaf({-1.5, -0.25, 0.5, 2.0}, {4});
  auto g = [&](const char* op, const NamedAttrs& attrs = {}) {
    return values(grads_of_sum(call1(op, {x}, attrs), {x})[0]);
  };
  CHECK(g("relu") == std::vector<double>{0, 0, 1, 1});
  CHECK(g("abs") == std::vector<double>{-1, -1, 1, 1});
  CHECK(g("leaky_relu", {{"negative_slope", 0.1}}) == std::vector<double>{0.1, 0.1, 1, 1});
  CHECK(g("clamp", {{"min", -0.5}, {"max", 1.0}}) == std::vector<double>{0, 1, 1, 0});
  CHECK(g("floor") == std::vector<double>{0, 0, 0, 0});
  auto t = g("tanh");
  CHECK(t[2] == Approx(1 - std::tanh(0.5) * std::tanh(0.5)));
  auto s = g("sigmoid");
  CHECK(s[3] == Approx(std::exp(-2.0) / ((1 + std::exp(-2.0)) * (1 + std::exp(-2.0)))));
  auto e = g("elu", {{"alpha", 2.0}});
  CHECK(e[0] == Approx(2 * std::exp(-1.5)));
  CHECK(e[3] == 1);
  auto ge = g("gelu");  // gelu'(0) = 1/2 is the only easy point: check gelu'(0.5) = Phi + x phi
  CHECK(ge[2] == Approx(0.5 * (1 + std::erf(0.5 / std::sqrt(2.0))) + 0.5 * std::exp(-0.125) / std::sqrt(2 * M_PI)));
  // clamp passes no gradient at NaN, as PyTorch's (x >= min) & (x <= max) mask does not.
  Tensor n = grad_leaf({NAN, 0.0}, {2});
  CHECK(values(grads_of_sum(call1("clamp", {n}, {{"min", -1}, {"max", 1}}), {n})[0]) == std::vector<double>{0, 1});
}

TEST_CASE("binary gradients pass gradcheck with broadcasting", "[grad][binary]") {
  auto binary = [](const char* op, NamedAttrs attrs = {}) {
    return [=](const TensorList& x) { return call1(op, {x[0], x[1]}, attrs); };
  };
  auto r = [](const Shape& s, uint64_t seed, double lo = -2, double hi = 2) {
    return random_tensor(s, DType::Float64, seed, lo, hi);
  };
  gradcheck("div", binary("div"), {r({3, 4}, 1), r({4}, 2, 0.5, 2)});
  gradcheck("div negative divisor", binary("div"), {r({3, 1}, 3), r({2, 1, 4}, 4, -2, -0.5)});
  gradcheck("div floor", binary("div", {{"rounding_mode", "floor"}}), {r({3, 4}, 5), r({4}, 6, 0.5, 2)});
  gradcheck("div trunc", binary("div", {{"rounding_mode", "trunc"}}), {r({3, 4}, 7), r({4}, 8, 0.5, 2)});
  gradcheck("remainder", binary("remainder"), {r({3, 4}, 9, -3, 3), r({4}, 10, 0.7, 1.6)});
  gradcheck("remainder negative", binary("remainder"), {r({3, 4}, 11, -3, 3), r({3, 1}, 12, -1.6, -0.7)});
  gradcheck("maximum", binary("maximum"), {r({3, 4}, 13), r({4}, 14)});
  gradcheck("minimum", binary("minimum"), {r({3, 1}, 15), r({3, 4}, 16)});
  gradcheck("pow", binary("pow"), {r({3, 4}, 17, 0.5, 2), r({4}, 18)});
  gradcheck("atan2", binary("atan2"), {r({3, 4}, 19), r({3, 1}, 20)});
  gradcheck("mul", binary("mul"), {r({2, 1, 3}, 21), r({4, 1}, 22)});
  gradcheck("add alpha", binary("add", {{"alpha", -1.5}}), {r({3, 4}, 23), r({4}, 24)});
  gradcheck("sub alpha", binary("sub", {{"alpha", 0.5}}), {r({4}, 25), r({3, 4}, 26)});
  // Non-contiguous operands.
  gradcheck("div transposed", [](const TensorList& x) { return call1("div", {transposed(x[0]), x[1]}); },
            {r({4, 3}, 27), r({3, 4}, 28, 0.5, 2)});
  gradcheck("pow transposed", [](const TensorList& x) { return call1("pow", {x[0], transposed(x[1])}); },
            {r({3, 4}, 29, 0.5, 2), r({4, 3}, 30)});
  // A Python number on either side: pow(x, 3) (negative bases allowed), 2 ** x.
  gradcheck("pow scalar exponent", [](const TensorList& x) {
    return call1("pow", {x[0], Tensor::wrap_scalar(3.0, DType::Float64)});
  }, {r({3, 4}, 31)});
  gradcheck("pow scalar base", [](const TensorList& x) {
    return call1("pow", {Tensor::wrap_scalar(2.0, DType::Float64), x[0]});
  }, {r({3, 4}, 32)});
  gradcheck("where", [](const TensorList& x) {
    Tensor cond = call1("gt", {random_tensor({3, 1}, DType::Float64, 33), Tensor::wrap_scalar(0.0, DType::Float64)});
    return call1("where", {cond, x[0], x[1]});
  }, {r({3, 4}, 34), r({4}, 35)});
}

TEST_CASE("binary gradients have gradients of their own (double backward)", "[grad][binary][double]") {
  auto r = [](const Shape& s, uint64_t seed, double lo = -2, double hi = 2) {
    return random_tensor(s, DType::Float64, seed, lo, hi);
  };
  for (size_t k : {0, 1}) {
    gradgradcheck("div", [](const TensorList& x) { return call1("div", {x[0], x[1]}); },
                  {r({2, 3}, 1), r({3}, 2, 0.5, 2)}, k);
    gradgradcheck("pow", [](const TensorList& x) { return call1("pow", {x[0], x[1]}); },
                  {r({2, 3}, 3, 0.5, 2), r({3}, 4)}, k);
    gradgradcheck("atan2", [](const TensorList& x) { return call1("atan2", {x[0], x[1]}); },
                  {r({2, 3}, 5), r({2, 3}, 6)}, k);
    gradgradcheck("mul", [](const TensorList& x) { return call1("mul", {x[0], x[1]}); }, {r({2, 3}, 7), r({3}, 8)},
                  k);
  }
}

TEST_CASE("binary gradients at ties and zeros follow PyTorch", "[grad][binary]") {
  // maximum / minimum split the gradient in half where the operands tie.
  Tensor a = grad_leaf({1, 2, 3}, {3}), b = grad_leaf({1, 5, 0}, {3});
  TensorList g = grads_of_sum(call1("maximum", {a, b}), {a, b});
  CHECK(values(g[0]) == std::vector<double>{0.5, 0, 1});
  CHECK(values(g[1]) == std::vector<double>{0.5, 1, 0});
  g = grads_of_sum(call1("minimum", {a, b}), {a, b});
  CHECK(values(g[0]) == std::vector<double>{0.5, 1, 0});
  CHECK(values(g[1]) == std::vector<double>{0.5, 0, 1});
  // pow at a zero base: d/da = b a^(b-1) (0 where b = 0), d/db = 0 where a = 0 and b >= 0.
  Tensor base = grad_leaf({0, 0, 2, 0}, {4}), ex = grad_leaf({2, 0, 1.5, 0.5}, {4});
  g = grads_of_sum(call1("pow", {base, ex}), {base, ex});
  auto ga = values(g[0]), gb = values(g[1]);
  CHECK(ga[0] == 0);
  CHECK(ga[1] == 0);
  CHECK(ga[2] == Approx(1.5 * std::sqrt(2.0)));
  CHECK(std::isinf(ga[3]));  // 0.5 * 0^-0.5, as in PyTorch
  CHECK(gb[0] == 0);
  CHECK(gb[1] == 0);
  CHECK(gb[2] == Approx(std::pow(2.0, 1.5) * std::log(2.0)));
  CHECK(gb[3] == 0);
  // A negative base gives the exponent a NaN gradient (a^b log a), as in PyTorch.
  Tensor nb = grad_leaf({-2}, {1}), ne = grad_leaf({2}, {1});
  CHECK(std::isnan(values(grads_of_sum(call1("pow", {nb, ne}), {nb, ne})[1])[0]));
  // remainder: d/db = -floor(a / b).
  Tensor x = grad_leaf({7, -7}, {2}), y = grad_leaf({2, 2}, {2});
  g = grads_of_sum(call1("remainder", {x, y}), {x, y});
  CHECK(values(g[0]) == std::vector<double>{1, 1});
  CHECK(values(g[1]) == std::vector<double>{-3, 4});
  // div with a rounding mode: zero gradients of the inputs' shapes.
  g = grads_of_sum(call1("div", {x, y}, {{"rounding_mode", "floor"}}), {x, y});
  CHECK(values(g[0]) == std::vector<double>{0, 0});
  CHECK(values(g[1]) == std::vector<double>{0, 0});
}

TEST_CASE("where's condition, comparisons, logical ops and predicates carry no gradient", "[grad][binary]") {
  for (const char* op : {"eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor",
                         "logical_not", "isnan", "isinf"}) {
    INFO(op);
    CHECK(Registry::instance().get(op).grad_state == GradState::NotDifferentiable);
  }
  Tensor a = grad_leaf({1, 2}, {2}), b = grad_leaf({2, 1}, {2});
  CHECK(!autograd::requires_grad(call1("lt", {a, b})));
  CHECK(!autograd::requires_grad(call1("isnan", {a})));
  Tensor cond = call1("lt", {a, b});
  TensorList g = grads_of_sum(call1("where", {cond, a, b}), {a, b});
  CHECK(values(g[0]) == std::vector<double>{1, 0});
  CHECK(values(g[1]) == std::vector<double>{0, 1});
}

TEST_CASE("float32 activations get float32 gradients from the fused kernels", "[grad][unary]") {
  Tensor x = random_tensor({5}, DType::Float32, 3);
  autograd::set_requires_grad(x, true);
  for (const char* op : {"tanh", "sigmoid", "relu", "gelu", "silu", "elu", "leaky_relu", "softplus"}) {
    INFO(op);
    Tensor y = call1(op, {x});
    CHECK(autograd::grad_fn(y)->name() == backward_node_name(op));
    Tensor g = grads_of_sum(y, {x})[0];
    CHECK(g.dtype() == DType::Float32);
  }
}

TEST_CASE("in-place forms of the elementwise ops record the same gradients", "[grad][inplace]") {
  // Each in-place op runs on a non-leaf copy; its saved input (a clone) or result is what the
  // formula reads.
  const std::vector<std::pair<const char*, NamedAttrs>> ops = {
      {"exp", {}}, {"tanh", {}}, {"relu", {}}, {"sigmoid", {}}, {"clamp", {{"min", -0.5}, {"max", 0.5}}},
      {"log1p", {}}, {"gelu", {}}};
  uint64_t seed = 1200;
  for (const auto& [op, attrs] : ops) {
    const auto o = op;
    const auto a = attrs;
    gradcheck(describe(op, attrs) + " in place", [=](const TensorList& x) {
      Tensor y = call1("mul", {x[0], Tensor::wrap_scalar(1.0, DType::Float64)});
      return call_inplace(o, {y}, a);
    }, {random_tensor({3, 4}, DType::Float64, seed++, -0.9, 2)});
  }
  gradcheck("div_ in place", [](const TensorList& x) {
    Tensor y = call1("mul", {x[0], Tensor::wrap_scalar(1.0, DType::Float64)});
    return call_inplace("div", {y, x[1]});
  }, {random_tensor({3, 4}, DType::Float64, 1300), random_tensor({4}, DType::Float64, 1301, 0.5, 2)});
}
