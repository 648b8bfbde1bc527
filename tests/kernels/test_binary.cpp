// Binary elementwise ops against float64 references: broadcasting, type promotion (including
// wrapped Python numbers), non-contiguous inputs, in-place and out= forms, and error paths.
#include <functional>

#include "helpers.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("add", "sub", "mul", "div", "remainder", "maximum", "minimum", "pow", "atan2", "eq", "ne", "lt", "le",
              "gt", "ge", "logical_and", "logical_or", "logical_xor", "where");

namespace {

double py_floor_div(double a, double b) { return std::floor(a / b); }
double py_mod(double a, double b) {
  double m = std::fmod(a, b);
  return (m != 0 && ((m < 0) != (b < 0))) ? m + b : m;
}

struct BinaryCase {
  const char* op;
  std::function<double(double, double)> ref;
  enum Out { Same, Float, Bool } out;
  NamedAttrs attrs = {};
  bool positive_rhs = false;
};

const std::vector<BinaryCase>& cases() {
  static const std::vector<BinaryCase> c = {
      {"add", [](double a, double b) { return a + b; }, BinaryCase::Same},
      {"add", [](double a, double b) { return a + 3 * b; }, BinaryCase::Same, {{"alpha", 3}}},
      {"sub", [](double a, double b) { return a - b; }, BinaryCase::Same},
      {"sub", [](double a, double b) { return a - 2 * b; }, BinaryCase::Same, {{"alpha", 2}}},
      {"mul", [](double a, double b) { return a * b; }, BinaryCase::Same},
      {"div", [](double a, double b) { return a / b; }, BinaryCase::Float},
      {"div", [](double a, double b) { return std::trunc(a / b); }, BinaryCase::Same, {{"rounding_mode", "trunc"}}},
      {"div", py_floor_div, BinaryCase::Same, {{"rounding_mode", "floor"}}},
      {"remainder", py_mod, BinaryCase::Same},
      {"maximum", [](double a, double b) { return std::max(a, b); }, BinaryCase::Same},
      {"minimum", [](double a, double b) { return std::min(a, b); }, BinaryCase::Same},
      {"pow", [](double a, double b) { return std::pow(a, b); }, BinaryCase::Same, {}, true},
      {"atan2", [](double a, double b) { return std::atan2(a, b); }, BinaryCase::Float},
      {"eq", [](double a, double b) { return double(a == b); }, BinaryCase::Bool},
      {"ne", [](double a, double b) { return double(a != b); }, BinaryCase::Bool},
      {"lt", [](double a, double b) { return double(a < b); }, BinaryCase::Bool},
      {"le", [](double a, double b) { return double(a <= b); }, BinaryCase::Bool},
      {"gt", [](double a, double b) { return double(a > b); }, BinaryCase::Bool},
      {"ge", [](double a, double b) { return double(a >= b); }, BinaryCase::Bool},
      {"logical_and", [](double a, double b) { return double(a != 0 && b != 0); }, BinaryCase::Bool},
      {"logical_or", [](double a, double b) { return double(a != 0 || b != 0); }, BinaryCase::Bool},
      {"logical_xor", [](double a, double b) { return double((a != 0) != (b != 0)); }, BinaryCase::Bool},
  };
  return c;
}

}  // namespace

TEST_CASE("binary ops match float64 references with broadcasting", "[binary]") {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{5, 7}, {5, 7}}, {{4, 1, 3}, {5, 1}}, {{6}, {}}, {{}, {3, 2}}, {{0, 3}, {1, 3}}, {{2, 65}, {65}}};
  uint64_t seed = 100;
  for (const BinaryCase& bc : cases()) {
    for (DType dt : {DType::Float32, DType::Float64, DType::Int32, DType::Int64}) {
      for (const auto& [sa, sb] : shapes) {
        INFO(bc.op << " " << dtype_name(dt) << " " << shape_str(sa) << " " << shape_str(sb));
        bool intdt = is_integral(dt, false);
        if (intdt && std::string(bc.op) == "pow") continue;  // integer pow has its own test
        Tensor a = random_tensor(sa, dt, seed++, -6, 6);
        Tensor b = bc.positive_rhs ? random_tensor(sb, dt, seed++, 0.5, 3) : random_tensor(sb, dt, seed++, -6, 6);
        Shape os = broadcast_shapes(sa, sb);
        auto va = values(a), vb = values(b);
        std::vector<double> expect(shape_numel(os));
        for (int64_t i = 0; i < shape_numel(os); ++i)
          expect[i] = bc.ref(broadcast_at(va, sa, os, i), broadcast_at(vb, sb, os, i));
        for (auto [x, y] : {std::pair{a, b}, std::pair{transposed_copy(a), strided_copy(b)}}) {
          Tensor out = call1(bc.op, {x, y}, bc.attrs);
          CHECK(out.shape() == os);
          DType want = bc.out == BinaryCase::Bool ? DType::Bool
                       : (bc.out == BinaryCase::Float && intdt) ? DType::Float32
                                                                : dt;
          CHECK(out.dtype() == want);
          std::vector<double> e = expect;
          if (is_integral(want, false))
            for (double& v : e) v = std::trunc(v);
          check_values(out, e, rtol_for(want) * 4, atol_for(want) * 4);
        }
      }
    }
  }
}

// The inner loop holds an operand that repeats along a run (stride 0) in a local: the first, the
// second, or both (two columns expanded to [3, 4]); and a unary op over a repeated input. sub, not
// a commutative op, so that operands taken in the wrong order show; every element is checked.
TEST_CASE("binary and unary ops over runs where operands repeat", "[binary][broadcast]") {
  Tensor col = random_tensor({3, 1}, DType::Float64, 31, -4, 4);
  Tensor col2 = random_tensor({3, 1}, DType::Float64, 32, -4, 4);
  Tensor full = random_tensor({3, 4}, DType::Float64, 33, -4, 4);
  Tensor wide = col.as_strided({3, 4}, {1, 0}, 0), wide2 = col2.as_strided({3, 4}, {1, 0}, 0);
  auto c = values(col), c2 = values(col2), f = values(full);
  std::vector<double> both(12), first(12), second(12), unary(12);
  for (int i = 0; i < 12; ++i) {
    const int r = i / 4;
    both[i] = c[r] - c2[r];
    first[i] = c[r] - f[i];
    second[i] = f[i] - c2[r];
    unary[i] = std::exp(c[r]);
  }
  check_values(call1("sub", {wide, wide2}), both, 0, 0);
  check_values(call1("sub", {wide, full}), first, 0, 0);
  check_values(call1("sub", {full, wide2}), second, 0, 0);
  check_values(call1("sub", {full, col2}), second, 0, 0);  // broadcast by the op, not by a view
  check_values(call1("exp", {wide}), unary, 1e-15, 0);
  // In place: the target is the contiguous operand, the repeated one a column.
  Tensor target = call1("clone", {full});
  call_inplace("sub", {target, col2});
  check_values(target, second, 0, 0);
}

TEST_CASE("integer pow, including negative exponents", "[binary]") {
  Tensor a = from_values({2, -3, 1, -1, 5}, {5}, DType::Int64);
  Tensor b = from_values({10, 3, -2, -3, 0}, {5}, DType::Int64);
  CHECK(values(call1("pow", {a, b})) == std::vector<double>{1024, -27, 1, -1, 1});
}

TEST_CASE("type promotion with wrapped numbers and 0-d tensors", "[binary][promotion]") {
  Tensor f = random_tensor({3}, DType::Float32, 1);
  Tensor i = random_tensor({3}, DType::Int32, 2, -5, 5);
  Tensor l = random_tensor({3}, DType::Int64, 3, -5, 5);
  Tensor d0 = from_values({2.5}, {}, DType::Float64);
  CHECK(call1("add", {f, Tensor::wrap_scalar(2.5, DType::Float64)}).dtype() == DType::Float32);
  CHECK(call1("add", {i, Tensor::wrap_scalar(2.5, DType::Float64)}).dtype() == DType::Float32);
  CHECK(call1("add", {i, Tensor::wrap_scalar(2, DType::Int64)}).dtype() == DType::Int32);
  CHECK(call1("add", {i, l}).dtype() == DType::Int64);
  CHECK(call1("add", {f, d0}).dtype() == DType::Float32);   // 0-d of the same category does not widen
  CHECK(call1("add", {i, d0}).dtype() == DType::Float64);   // higher category does
  CHECK(call1("div", {i, l}).dtype() == DType::Float32);
  auto v = values(call1("mul", {i, Tensor::wrap_scalar(0.5, DType::Float64)}));
  auto vi = values(i);
  for (size_t k = 0; k < v.size(); ++k) CHECK(v[k] == vi[k] * 0.5);
}

TEST_CASE("where selects with broadcasting and promotion", "[binary]") {
  Tensor c = from_values({1, 0, 1}, {3, 1}, DType::Bool);
  Tensor a = random_tensor({3, 4}, DType::Float32, 5);
  Tensor b = random_tensor({4}, DType::Float64, 6);
  Tensor w = call1("where", {c, a, b});
  CHECK(w.dtype() == DType::Float64);
  auto va = values(a), vb = values(b), vw = values(w);
  for (int r = 0; r < 3; ++r)
    for (int k = 0; k < 4; ++k) CHECK(vw[r * 4 + k] == (r != 1 ? static_cast<double>(static_cast<float>(va[r * 4 + k])) : vb[k]));
  require_error([&] { call1("where", {a, a, b}); }, ErrorKind::Runtime, {"where", "boolean"});
}

TEST_CASE("in-place and out= forms write into the target", "[binary][inplace]") {
  Tensor a = random_tensor({4, 5}, DType::Float32, 7);
  Tensor b = random_tensor({5}, DType::Float32, 8);
  auto va = values(a), vb = values(b);
  uint32_t v0 = a.version();
  Tensor r = call_inplace("add", {a, b}, {{"alpha", 2}});
  CHECK(r.is_same(a));
  CHECK(a.version() == v0 + 1);
  auto got = values(a);
  for (int i = 0; i < 20; ++i) CHECK(got[i] == Approx(va[i] + 2 * vb[i % 5]));

  // In-place on a transposed (non-contiguous) target.
  Tensor t = transposed_copy(random_tensor({3, 3}, DType::Float64, 9));
  auto vt = values(t);
  call_inplace("mul", {t, Tensor::wrap_scalar(2.0, DType::Float64)});
  check_values(t, [&] { for (double& x : vt) x *= 2; return vt; }(), 0, 0);

  // An integer tensor cannot take a float result in place; it can take an int one.
  Tensor i = random_tensor({3}, DType::Int64, 10, -5, 5);
  require_error([&] { call_inplace("add", {i, b.numel() ? random_tensor({3}, DType::Float32, 11) : b}); },
                ErrorKind::Runtime, {"add", "can't be cast", "int64"});
  // The target's shape cannot grow by broadcasting.
  require_error([&] { call_inplace("add", {b, a}); }, ErrorKind::Runtime, {"add", "[5]", "[4, 5]"});
  // float32 target, float64 operand: computed in float64, written as float32.
  Tensor f = from_values({1, 2}, {2}, DType::Float32);
  call_inplace("add", {f, from_values({0.5, 0.25}, {2}, DType::Float64)});
  CHECK(values(f) == std::vector<double>{1.5, 2.25});
}

TEST_CASE("binary errors name the op, shapes and dtypes", "[binary][errors]") {
  Tensor a = random_tensor({2, 3}, DType::Float32, 1);
  Tensor b = random_tensor({4}, DType::Float32, 2);
  require_error([&] { call1("add", {a, b}); }, ErrorKind::Runtime, {"add", "float32[2, 3]", "float32[4]", "broadcast"});
  Tensor bb = from_values({1, 0}, {2}, DType::Bool);
  require_error([&] { call1("sub", {bb, bb}); }, ErrorKind::Runtime, {"sub", "bool"});
  Tensor i = from_values({1, 2}, {2}, DType::Int64);
  require_error([&] { call1("add", {i, i}, {{"alpha", 0.5}}); }, ErrorKind::Runtime, {"alpha"});
  Tensor z = from_values({1, 0}, {2}, DType::Int64);
  require_error([&] { call1("div", {i, z}, {{"rounding_mode", "floor"}}); }, ErrorKind::Runtime, {"ZeroDivisionError"});
  require_error([&] { call1("remainder", {i, z}); }, ErrorKind::Runtime, {"ZeroDivisionError"});
  require_error([&] { call1("div", {a, a}, {{"rounding_mode", "up"}}); }, ErrorKind::Value, {"rounding_mode"});
  // Float division by zero follows IEEE.
  auto q = values(call1("div", {from_values({1, -1, 0}, {3}), from_values({0, 0, 0}, {3})}));
  CHECK(std::isinf(q[0]));
  CHECK(std::isinf(q[1]));
  CHECK(std::isnan(q[2]));
}

TEST_CASE("large elementwise ops split over threads give the same answer", "[binary][parallel]") {
  Tensor a = random_tensor({1 << 18}, DType::Float32, 12);
  Tensor b = random_tensor({1 << 18}, DType::Float32, 13);
  auto va = values(a), vb = values(b);
  Tensor s = call1("add", {a, b});
  std::vector<double> e(va.size());
  for (size_t k = 0; k < e.size(); ++k) e[k] = static_cast<float>(static_cast<float>(va[k]) + static_cast<float>(vb[k]));
  check_values(s, e, 0, 0);
}
