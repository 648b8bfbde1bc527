// Unary elementwise ops against float64 references, over every supported dtype, contiguous,
// transposed and strided inputs, empty and 0-d tensors.
#include <functional>

#include "helpers.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("neg", "abs", "sign", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid",
              "log2", "log10", "atan", "asin", "acos", "sinh", "cosh", "asinh", "atanh",
              "relu", "gelu", "silu", "softplus", "leaky_relu", "elu", "erf", "floor", "ceil", "round", "reciprocal",
              "clamp", "logical_not", "isnan", "isinf");

namespace {

struct UnaryCase {
  const char* op;
  std::function<double(double)> ref;
  bool float_only;  // integer inputs promote to float
  double lo, hi;    // input domain
  NamedAttrs attrs = {};
};

double gelu_ref(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double gelu_tanh_ref(double x) {
  return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
}

const std::vector<UnaryCase>& cases() {
  static const std::vector<UnaryCase> c = {
      {"neg", [](double x) { return -x; }, false, -5, 5},
      {"abs", [](double x) { return std::fabs(x); }, false, -5, 5},
      {"sign", [](double x) { return double((x > 0) - (x < 0)); }, false, -5, 5},
      {"exp", [](double x) { return std::exp(x); }, true, -4, 4},
      {"log", [](double x) { return std::log(x); }, true, 0.1, 5},
      {"log1p", [](double x) { return std::log1p(x); }, true, -0.5, 5},
      {"expm1", [](double x) { return std::expm1(x); }, true, -3, 3},
      {"sqrt", [](double x) { return std::sqrt(x); }, true, 0.1, 9},
      {"rsqrt", [](double x) { return 1 / std::sqrt(x); }, true, 0.1, 9},
      {"sin", [](double x) { return std::sin(x); }, true, -4, 4},
      {"cos", [](double x) { return std::cos(x); }, true, -4, 4},
      {"tanh", [](double x) { return std::tanh(x); }, true, -4, 4},
      {"log2", [](double x) { return std::log2(x); }, true, 0.1, 9},
      {"log10", [](double x) { return std::log10(x); }, true, 0.1, 9},
      {"atan", [](double x) { return std::atan(x); }, true, -5, 5},
      {"asin", [](double x) { return std::asin(x); }, true, -0.95, 0.95},
      {"acos", [](double x) { return std::acos(x); }, true, -0.95, 0.95},
      {"sinh", [](double x) { return std::sinh(x); }, true, -4, 4},
      {"cosh", [](double x) { return std::cosh(x); }, true, -4, 4},
      {"asinh", [](double x) { return std::asinh(x); }, true, -5, 5},
      {"atanh", [](double x) { return std::atanh(x); }, true, -0.95, 0.95},
      {"sigmoid", [](double x) { return 1 / (1 + std::exp(-x)); }, true, -6, 6},
      {"relu", [](double x) { return x > 0 ? x : 0; }, false, -5, 5},
      {"gelu", gelu_ref, true, -4, 4},
      {"gelu", gelu_tanh_ref, true, -4, 4, {{"approximate", "tanh"}}},
      {"silu", [](double x) { return x / (1 + std::exp(-x)); }, true, -5, 5},
      {"softplus", [](double x) { return std::log1p(std::exp(x)); }, true, -5, 5},
      {"softplus", [](double x) { return 2 * x > 3 ? x : std::log1p(std::exp(2 * x)) / 2; }, true, -5, 5,
       {{"beta", 2.0}, {"threshold", 3.0}}},
      {"leaky_relu", [](double x) { return x > 0 ? x : 0.2 * x; }, true, -5, 5, {{"negative_slope", 0.2}}},
      {"elu", [](double x) { return x > 0 ? x : 1.5 * std::expm1(x); }, true, -5, 5, {{"alpha", 1.5}}},
      {"erf", [](double x) { return std::erf(x); }, true, -3, 3},
      {"floor", [](double x) { return std::floor(x); }, false, -5, 5},
      {"ceil", [](double x) { return std::ceil(x); }, false, -5, 5},
      {"round", [](double x) { return std::nearbyint(x); }, false, -5, 5},
      {"round", [](double x) { return std::nearbyint(x * 100) / 100; }, false, -5, 5, {{"decimals", 2}}},
      {"reciprocal", [](double x) { return 1 / x; }, true, 0.5, 4},
      {"clamp", [](double x) { return std::min(std::max(x, -1.0), 2.0); }, false, -5, 5, {{"min", -1}, {"max", 2}}},
      {"clamp", [](double x) { return std::max(x, 0.5); }, false, -5, 5, {{"min", 0.5}}},
  };
  return c;
}

}  // namespace

TEST_CASE("unary ops match float64 references", "[unary]") {
  uint64_t seed = 1;
  for (const UnaryCase& uc : cases()) {
    for (DType dt : {DType::Float32, DType::Float64, DType::Int32, DType::Int64}) {
      for (const Shape& shape : {Shape{7, 33}, Shape{3, 1, 5}, Shape{}, Shape{0, 4}, Shape{1}}) {
        INFO(uc.op << " " << dtype_name(dt) << shape_str(shape));
        bool intdt = is_integral(dt, false);
        double lo = intdt ? std::ceil(uc.lo) : uc.lo, hi = intdt ? std::floor(uc.hi) : uc.hi;
        if (intdt && lo > hi) continue;
        Tensor x = random_tensor(shape, dt, seed++, lo, hi);
        std::vector<double> in = values(x);
        std::vector<double> expect(in.size());
        for (size_t i = 0; i < in.size(); ++i) expect[i] = uc.ref(in[i]);
        for (Tensor input : {x, transposed_copy(x), strided_copy(x)}) {
          Tensor y = call1(uc.op, {input}, uc.attrs);
          CHECK(y.shape() == shape);
          DType out_dt = y.dtype();
          if (intdt && uc.float_only) CHECK(out_dt == DType::Float32);
          // Integer results are exact; float results get their dtype's tolerance.
          std::vector<double> e = expect;
          if (is_integral(out_dt, false))
            for (double& v : e) v = std::trunc(v);
          check_values(y, e, rtol_for(out_dt) * 4, atol_for(out_dt) * 4);
        }
      }
    }
  }
}

TEST_CASE("predicates and logical_not", "[unary]") {
  Tensor x = from_values({1.0, NAN, INFINITY, -INFINITY, 0.0, -2.5}, {6}, DType::Float32);
  CHECK(values(call1("isnan", {x})) == std::vector<double>{0, 1, 0, 0, 0, 0});
  CHECK(values(call1("isinf", {x})) == std::vector<double>{0, 0, 1, 1, 0, 0});
  Tensor n = call1("logical_not", {x});
  CHECK(n.dtype() == DType::Bool);
  CHECK(values(n) == std::vector<double>{0, 0, 0, 0, 1, 0});
  Tensor i = from_values({3, 0, -1}, {3}, DType::Int64);
  CHECK(values(call1("isnan", {i})) == std::vector<double>{0, 0, 0});
}

TEST_CASE("unary ops reject what PyTorch rejects", "[unary][errors]") {
  Tensor b = from_values({1, 0}, {2}, DType::Bool);
  require_error([&] { call1("neg", {b}); }, ErrorKind::Runtime, {"neg", "bool[2]"});
  Tensor x = random_tensor({2}, DType::Float32, 3);
  require_error([&] { call1("clamp", {x}); }, ErrorKind::Runtime, {"clamp", "min", "float32[2]"});
  require_error([&] { call1("gelu", {x}, {{"approximate", "fast"}}); }, ErrorKind::Runtime, {"gelu", "approximate"});
}

TEST_CASE("clamp keeps NaN and promotes for float bounds", "[unary]") {
  Tensor x = from_values({NAN, -3, 3}, {3}, DType::Float32);
  auto v = values(call1("clamp", {x}, {{"min", -1}, {"max", 1}}));
  CHECK(std::isnan(v[0]));
  CHECK(v[1] == -1);
  CHECK(v[2] == 1);
  Tensor i = from_values({-3, 0, 3}, {3}, DType::Int64);
  Tensor y = call1("clamp", {i}, {{"min", 0.5}});
  CHECK(y.dtype() == DType::Float32);
  CHECK(values(y) == std::vector<double>{0.5, 0.5, 3});
}
