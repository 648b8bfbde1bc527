// Gradients of the reductions and of cumsum (engine/ops/reduce.cpp): gradcheck over dim lists,
// keepdim, corrections, norm orders and non-contiguous inputs; double backward where the first
// gradient depends on the input; hand-computed values for PyTorch's conventions (ties shared
// evenly, zeros in prod, zero slices in std and norm); the reductions with no gradient.
#include "engine/autograd/record.hpp"
#include "grad_checks.hpp"

using namespace terra;
using namespace terra::test;

namespace {

using Dims = std::vector<int64_t>;

// The dim / keepdim variants every reduction over a dim list is checked with (on a [2, 3, 4] input).
const std::vector<NamedAttrs>& dim_variants() {
  static const std::vector<NamedAttrs> v = {
      {},
      {{"dim", Dims{1}}},
      {{"dim", Dims{-1}}},
      {{"dim", Dims{0, 2}}, {"keepdim", true}},
      {{"dim", Dims{2, 0}}},
      {{"dim", Dims{}}, {"keepdim", true}},
  };
  return v;
}

std::string describe(const std::string& op, const NamedAttrs& attrs) {
  std::string s = op;
  for (const auto& [name, value] : attrs) {
    s += " " + name;
    if (const auto* d = std::get_if<std::vector<int64_t>>(&value.value)) {
      s += "=[";
      for (int64_t x : *d) s += std::to_string(x) + ",";
      s += "]";
    }
    if (const auto* b = std::get_if<bool>(&value.value)) s += *b ? "=true" : "=false";
    if (const auto* p = std::get_if<double>(&value.value)) s += "=" + std::to_string(*p);
  }
  return s;
}

NamedAttrs with(NamedAttrs attrs, const std::string& name, AttrArg value) {
  attrs.emplace_back(name, std::move(value));
  return attrs;
}

Function unary(const std::string& op, const NamedAttrs& attrs) {
  return [=](const TensorList& x) { return call1(op, {x[0]}, attrs); };
}

// The op applied to a permuted (non-contiguous) view of a [4, 2, 3] input, i.e. a [2, 3, 4] tensor.
Function unary_permuted(const std::string& op, const NamedAttrs& attrs) {
  return [=](const TensorList& x) { return call1(op, {call1("permute", {x[0]}, {{"dims", Dims{1, 2, 0}}})}, attrs); };
}

Tensor r(const Shape& s, uint64_t seed, double lo = -2, double hi = 2) { return random_tensor(s, DType::Float64, seed, lo, hi); }

// d sum(out) / d x.
std::vector<double> grad_of_sum(const Tensor& out, const Tensor& x) { return values(grads_of_sum(out, {x})[0]); }

// Checks op over every dim variant, contiguous and permuted, with extra attributes.
void check_dim_variants(const std::string& op, const NamedAttrs& extra, uint64_t& seed, double lo = -2, double hi = 2) {
  for (const NamedAttrs& dims : dim_variants()) {
    NamedAttrs attrs = dims;
    attrs.insert(attrs.end(), extra.begin(), extra.end());
    gradcheck(describe(op, attrs), unary(op, attrs), {r({2, 3, 4}, seed++, lo, hi)});
    gradcheck(describe(op, attrs) + " permuted", unary_permuted(op, attrs), {r({4, 2, 3}, seed++, lo, hi)});
  }
}

}  // namespace

TEST_CASE("sum, mean and prod gradients over dims and keepdim", "[grad][reduce]") {
  uint64_t seed = 1;
  for (const char* op : {"sum", "mean", "prod"}) check_dim_variants(op, {}, seed, 0.5, 1.5);
  check_dim_variants("prod", {}, seed);  // negative factors too
  gradcheck("sum 0-d", unary("sum", {}), {r({}, seed++)});
  gradcheck("prod 0-d", unary("prod", {}), {r({}, seed++)});
}

TEST_CASE("sum and mean with dtype= give the input's dtype back", "[grad][reduce]") {
  Tensor x = grad_leaf({1, 2, 3, 4}, {2, 2}, DType::Float32);
  for (const char* op : {"sum", "mean"}) {
    Tensor y = call1(op, {x}, {{"dim", Dims{1}}, {"dtype", DType::Float64}});
    REQUIRE(y.dtype() == DType::Float64);
    Tensor ones = call1("ones", {}, {{"size", Dims{2}}, {"dtype", DType::Float64}});
    Tensor g = autograd::grad({y}, {x}, {ones}, false, false, false)[0];
    CHECK(g.dtype() == DType::Float32);
    CHECK(values(g) == std::vector<double>(4, std::string(op) == "sum" ? 1.0 : 0.5));
  }
}

TEST_CASE("prod gradients with zeros in a slice", "[grad][reduce]") {
  // One zero: only the zero gets a gradient (the product of the others); two zeros: none does.
  Tensor x = grad_leaf({2, 0, 3, 0, 0, 5, 4, 2, -1}, {3, 3});
  CHECK(grad_of_sum(call1("prod", {x}, {{"dim", Dims{1}}}), x) == std::vector<double>{0, 6, 0, 0, 0, 0, -2, -4, 8});
  CHECK(grad_of_sum(call1("prod", {x}), x) == std::vector<double>(9, 0.0));
  Tensor y = grad_leaf({2, 0, 3, -1}, {4});
  CHECK(grad_of_sum(call1("prod", {y}), y) == std::vector<double>{0, -6, 0, 0});
  // gradcheck at the zeros (prod is multilinear, so central differences are exact there).
  for (const NamedAttrs& attrs : {NamedAttrs{}, NamedAttrs{{"dim", Dims{1}}}, NamedAttrs{{"dim", Dims{0}}, {"keepdim", true}}}) {
    gradcheck(describe("prod zeros", attrs), unary("prod", attrs),
              {from_values({2, 0, 3, 0, 0, 5, 4, 2, -1, 0.5, 1.5, 0}, {4, 3})});
  }
}

TEST_CASE("max, min, amax and amin share the gradient among ties", "[grad][reduce]") {
  uint64_t seed = 100;
  for (const char* op : {"max", "min"}) gradcheck(op, unary(op, {}), {r({3, 4}, seed++)});
  for (const char* op : {"amax", "amin"}) check_dim_variants(op, {}, seed);
  Tensor x = grad_leaf({1, 3, 3, 2, 2, 0}, {2, 3});
  CHECK(grad_of_sum(call1("max", {x}), x) == std::vector<double>{0, 0.5, 0.5, 0, 0, 0});
  CHECK(grad_of_sum(call1("min", {x}), x) == std::vector<double>{0, 0, 0, 0, 0, 1});
  CHECK(grad_of_sum(call1("amax", {x}, {{"dim", Dims{1}}}), x) == std::vector<double>{0, 0.5, 0.5, 0.5, 0.5, 0});
  CHECK(grad_of_sum(call1("amin", {x}, {{"dim", Dims{0}}, {"keepdim", true}}), x) ==
        std::vector<double>{1, 0, 0, 0, 1, 1});
  // Where the result is NaN, the NaN elements share the gradient.
  Tensor n = grad_leaf({1, NAN, 2, NAN}, {4});
  CHECK(grad_of_sum(call1("max", {n}), n) == std::vector<double>{0, 0.5, 0, 0.5});
}

TEST_CASE("max_dim and min_dim send the gradient to the reported index", "[grad][reduce]") {
  uint64_t seed = 200;
  for (const char* op : {"max_dim", "min_dim"}) {
    for (int64_t dim : {0, 1, -1}) {
      for (bool keepdim : {false, true}) {
        const std::string o = op;
        const NamedAttrs attrs = {{"dim", dim}, {"keepdim", keepdim}};
        gradcheck(describe(o, attrs), [=](const TensorList& x) { return call(o, {x[0]}, attrs)[0]; },
                  {r({3, 4}, seed++)});
      }
    }
  }
  gradcheck("max_dim permuted", [](const TensorList& x) {
    return call("max_dim", {call1("permute", {x[0]}, {{"dims", Dims{1, 0}}})}, {{"dim", 1}})[0];
  }, {r({4, 3}, seed++)});
  // Ties: the first index is reported and gets the whole gradient; the indices carry none.
  Tensor x = grad_leaf({3, 1, 3, 0, 2, 2}, {2, 3});
  std::vector<Tensor> out = call("max_dim", {x}, {{"dim", 1}});
  CHECK(!autograd::requires_grad(out[1]));
  CHECK(grad_of_sum(out[0], x) == std::vector<double>{1, 0, 0, 0, 1, 0});
  CHECK(grad_of_sum(call("min_dim", {x}, {{"dim", 0}, {"keepdim", true}})[0], x) ==
        std::vector<double>{0, 1, 0, 1, 0, 1});
  Tensor s = grad_leaf({2.5}, {});
  CHECK(grad_of_sum(call("max_dim", {s}, {{"dim", 0}})[0], s) == std::vector<double>{1});
}

TEST_CASE("var and std gradients over dims, keepdim and corrections", "[grad][reduce]") {
  uint64_t seed = 300;
  for (const char* op : {"var", "std"})
    for (double correction : {0.0, 1.0, 2.5}) check_dim_variants(op, {{"correction", correction}}, seed);
  // A constant slice has std 0: its gradient is 0 (PyTorch), not NaN.
  Tensor x = grad_leaf({1, 1, 1, 1, 2, 4}, {2, 3});
  auto g = grad_of_sum(call1("std", {x}, {{"dim", Dims{1}}}), x);
  CHECK(g[0] == 0);
  CHECK(g[2] == 0);
  // d var / dx = 2 (x - mean) / (N - 1): row [1, 2, 4] has mean 7/3.
  auto gv = grad_of_sum(call1("var", {x}, {{"dim", Dims{1}}}), x);
  CHECK(gv[3] == Approx(1 - 7.0 / 3));
  CHECK(gv[5] == Approx(4 - 7.0 / 3));
}

TEST_CASE("norm gradients for each order", "[grad][reduce]") {
  uint64_t seed = 400;
  const double inf = std::numeric_limits<double>::infinity();
  for (double p : {2.0, 1.0, inf, -inf, 3.0, 1.5, 0.5, -1.0}) {
    for (const NamedAttrs& dims : {NamedAttrs{}, NamedAttrs{{"dim", Dims{1}}}, NamedAttrs{{"dim", Dims{0}}, {"keepdim", true}}}) {
      NamedAttrs attrs = with(dims, "p", p);
      gradcheck(describe("norm", attrs), unary("norm", attrs), {r({3, 4}, seed++)});
      gradcheck(describe("norm", attrs) + " transposed", [=](const TensorList& x) {
        return call1("norm", {call1("transpose", {x[0]}, {{"dim0", 0}, {"dim1", 1}})}, attrs);
      }, {r({4, 3}, seed++)});
    }
  }
  // Hand-computed: the 2-norm of [3, 4] is 5; the inf-norm shares among |x| ties with x's sign.
  Tensor v = grad_leaf({3, 4}, {2});
  auto g2 = grad_of_sum(call1("norm", {v}), v);
  CHECK(g2[0] == Approx(0.6));
  CHECK(g2[1] == Approx(0.8));
  Tensor t = grad_leaf({-3, 3, 1}, {3});
  CHECK(grad_of_sum(call1("norm", {t}, {{"p", inf}}), t) == std::vector<double>{-0.5, 0.5, 0});
  CHECK(grad_of_sum(call1("norm", {t}, {{"p", 0.0}}), t) == std::vector<double>{0, 0, 0});
  // A zero vector's subgradient is 0 for every order, never NaN.
  Tensor z = grad_leaf({0, 0, 0, 1, 2, 2}, {2, 3});
  for (double p : {2.0, 1.0, inf, 3.0, 1.5, 0.5}) {
    INFO("p = " << p);
    auto g = grad_of_sum(call1("norm", {z}, {{"p", p}, {"dim", Dims{1}}}), z);
    CHECK(g[0] == 0);
    CHECK(g[1] == 0);
    CHECK(g[2] == 0);
  }
}

TEST_CASE("logsumexp and cumsum gradients", "[grad][reduce]") {
  uint64_t seed = 500;
  for (const NamedAttrs& dims : dim_variants()) {
    if (dims.empty()) continue;  // logsumexp has no dim=None
    gradcheck(describe("logsumexp", dims), unary("logsumexp", dims), {r({2, 3, 4}, seed++)});
    gradcheck(describe("logsumexp", dims) + " permuted", unary_permuted("logsumexp", dims), {r({4, 2, 3}, seed++)});
  }
  Tensor x = grad_leaf({0, std::log(3.0)}, {2});
  auto g = grad_of_sum(call1("logsumexp", {x}, {{"dim", Dims{0}}}), x);
  CHECK(g[0] == Approx(0.25));
  CHECK(g[1] == Approx(0.75));

  for (int64_t dim : {0, 1, 2, -1}) {
    const NamedAttrs attrs = {{"dim", dim}};
    gradcheck(describe("cumsum", attrs), unary("cumsum", attrs), {r({2, 3, 4}, seed++)});
    gradcheck(describe("cumsum", attrs) + " permuted", unary_permuted("cumsum", attrs), {r({4, 2, 3}, seed++)});
  }
  gradcheck("cumsum 0-d", unary("cumsum", {{"dim", 0}}), {r({}, seed++)});
  // The gradient of x[i] is the number of outputs it feeds: [3, 2, 1].
  Tensor c = grad_leaf({1, 2, 3}, {3}, DType::Float32);
  Tensor y = call1("cumsum", {c}, {{"dim", 0}, {"dtype", DType::Float64}});
  Tensor ones = call1("ones", {}, {{"size", Dims{3}}, {"dtype", DType::Float64}});
  Tensor gc = autograd::grad({y}, {c}, {ones}, false, false, false)[0];
  CHECK(gc.dtype() == DType::Float32);
  CHECK(values(gc) == std::vector<double>{3, 2, 1});
}

TEST_CASE("reduction gradients have gradients of their own (double backward)", "[grad][reduce][double]") {
  uint64_t seed = 600;
  const std::vector<std::pair<std::string, NamedAttrs>> cases = {
      {"prod", {{"dim", Dims{1}}}},
      {"prod", {}},
      {"var", {{"dim", Dims{1}}}},
      {"std", {{"dim", Dims{0}}, {"keepdim", true}}},
      {"std", {}},
      {"norm", {}},
      {"norm", {{"p", 3.0}, {"dim", Dims{1}}}},
      {"norm", {{"p", 1.5}}},
      {"logsumexp", {{"dim", Dims{1}}}},
  };
  for (const auto& [op, attrs] : cases) gradgradcheck(describe(op, attrs), unary(op, attrs), {r({3, 4}, seed++)});
  gradgradcheck("prod zeros", unary("prod", {{"dim", Dims{1}}}), {from_values({2, 0, 3, 0, 0, 5, 4, 2, -1}, {3, 3})});
  // PyTorch 1.13's second derivative of prod at one and two zeros in a row.
  Tensor x = grad_leaf({2, 0, 3, 0, 0, 5, 4, 2, -1}, {9});
  Tensor y = call1("prod", {call1("view", {x}, {{"size", Dims{3, 3}}})}, {{"dim", Dims{1}}});
  Tensor g = autograd::grad({y}, {x}, {from_values({1, 2, 3}, {3})}, true, true, false)[0];
  Tensor gg = autograd::grad({g}, {x}, {from_values({1, 2, 3, 4, 5, 6, 7, 8, 9}, {9})}, false, false, false)[0];
  CHECK(values(gg) == std::vector<double>{6, 9, 4, 50, 40, 0, 30, 87, 138});
}

TEST_CASE("argmax, argmin, all and any carry no gradient", "[grad][reduce]") {
  for (const char* op : {"argmax", "argmin", "all", "any"}) {
    INFO(op);
    CHECK(Registry::instance().get(op).grad_state == GradState::NotDifferentiable);
  }
  Tensor x = grad_leaf({1, 2}, {2});
  CHECK(!autograd::requires_grad(call1("argmax", {x})));
  CHECK(!autograd::requires_grad(call1("any", {x})));
}
