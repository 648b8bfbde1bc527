// Reductions and cumsum against float64 references computed here with naive loops over each
// output's slice: every dtype, dims lists with negative dims, None and keepdim, empty and size-1
// dims, 0-d tensors, non-contiguous inputs (transposed, strided, permuted, expanded), PyTorch's
// NaN/inf/tie semantics, float32 accuracy on long sums, multi-threaded sizes, and error messages.
#include <algorithm>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>

#include "helpers.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("sum", "prod", "mean", "max", "min", "amax", "amin", "max_dim", "min_dim", "argmax", "argmin", "var",
              "std", "norm", "logsumexp", "all", "any", "cumsum");

namespace {

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const std::vector<DType> kAllDTypes = {DType::Float32, DType::Float64, DType::Int32, DType::Int64, DType::Bool};
const std::vector<DType> kFloatDTypes = {DType::Float32, DType::Float64};
const std::vector<DType> kNumericDTypes = {DType::Float32, DType::Float64, DType::Int32, DType::Int64};

using Dims = std::optional<std::vector<int64_t>>;  // nullopt: dim=None

// The input's values grouped by output element (row-major over the kept dims), each group in the
// row-major order of the reduced positions; and the output shape.
struct Slices {
  Shape shape;
  std::vector<std::vector<double>> groups;
};

Slices slices(const Tensor& x, const Dims& dims, bool keepdim) {
  const int64_t nd = x.dim();
  std::vector<bool> red(nd, !dims || dims->empty());
  if (dims && nd > 0)
    for (int64_t d : *dims) red[d < 0 ? d + nd : d] = true;
  Slices s;
  int64_t nout = 1;
  for (int64_t d = 0; d < nd; ++d) {
    if (!red[d]) nout *= x.shape()[d];
    if (!red[d] || keepdim) s.shape.push_back(red[d] ? 1 : x.shape()[d]);
  }
  s.groups.resize(nout);
  const std::vector<double> v = values(x);
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t rem = i, o = 0, mul = 1;
    for (int64_t d = nd - 1; d >= 0; --d) {
      const int64_t idx = rem % x.shape()[d];
      rem /= x.shape()[d];
      if (!red[d]) {
        o += idx * mul;
        mul *= x.shape()[d];
      }
    }
    s.groups[o].push_back(v[i]);
  }
  return s;
}

// Non-contiguous layouts holding the same kind of values: each returns the tensor to reduce.
std::vector<std::pair<const char*, Tensor>> layouts(const Tensor& x, uint64_t seed, double lo, double hi) {
  std::vector<std::pair<const char*, Tensor>> out = {{"contiguous", x}};
  if (x.dim() == 0) return out;
  out.push_back({"transposed", transposed_copy(x)});
  out.push_back({"strided", strided_copy(x)});
  if (x.dim() >= 3) {
    Tensor p = call1("contiguous", {call1("permute", {x}, {{"dims", {2, 0, 1}}})});
    out.push_back({"permuted", call1("permute", {p}, {{"dims", {1, 2, 0}}})});
  }
  if (x.shape()[0] > 1) {  // dim 0 broadcast with stride 0
    Shape one = x.shape();
    one[0] = 1;
    Tensor base = random_tensor(one, x.dtype(), seed, lo, hi);
    out.push_back({"expanded", call1("expand", {base}, {{"size", std::vector<int64_t>(x.shape())}})});
  }
  return out;
}

double ref_sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}
double ref_var(const std::vector<double>& v, double correction) {
  const double n = static_cast<double>(v.size()), mean = ref_sum(v) / n;
  double m2 = 0;
  for (double x : v) m2 += (x - mean) * (x - mean);
  return m2 / std::max(0.0, n - correction);
}
double ref_norm(const std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  double r = p == -kInf ? kInf : 0;
  for (double x : v) {
    const double a = std::fabs(x);
    if (p == 0) r += a != 0;
    else if (p == kInf) r = std::max(r, a);
    else if (p == -kInf) r = std::min(r, a);
    else r += std::pow(a, p);
  }
  return (p == 0 || std::isinf(p)) ? r : std::pow(r, 1 / p);
}
double ref_logsumexp(const std::vector<double>& v) {
  if (v.empty()) return -kInf;
  const double m = *std::max_element(v.begin(), v.end());
  if (std::isinf(m)) return m;
  double s = 0;
  for (double x : v) s += std::exp(x - m);
  return m + std::log(s);
}

struct ReduceCase {
  const char* op;
  std::function<double(const std::vector<double>&)> ref;
  std::vector<DType> dtypes;
  enum Out { Same, IntToLong, Float, Bool } out;
  NamedAttrs extra = {};
  double lo = -2, hi = 2;       // float input range (integers: [-5, 5] unless int_small)
  bool int_small = false;       // integers in [-1, 1] (prod: products stay exact)
  bool list_dim = false;        // "int[] dim": None is passed as [] (every dim)
  bool needs_nonempty = false;  // no identity: empty slices are an error (tested separately)
  bool with_zeros = false;      // inputs where a quarter of the elements are zero (all/any)
};

const std::vector<ReduceCase>& reduce_cases() {
  using C = ReduceCase;
  static const std::vector<ReduceCase> c = {
      {"sum", ref_sum, kAllDTypes, C::IntToLong},
      {"prod", [](const std::vector<double>& v) { double p = 1; for (double x : v) p *= x; return p; }, kAllDTypes,
       C::IntToLong, {}, 0.5, 1.5, true},
      {"mean", [](const std::vector<double>& v) { return ref_sum(v) / static_cast<double>(v.size()); }, kFloatDTypes,
       C::Same},
      {"amax", [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }, kAllDTypes, C::Same,
       {}, -2, 2, false, true, true},
      {"amin", [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }, kAllDTypes, C::Same,
       {}, -2, 2, false, true, true},
      {"var", [](const std::vector<double>& v) { return ref_var(v, 1); }, kFloatDTypes, C::Same},
      {"var", [](const std::vector<double>& v) { return ref_var(v, 0); }, kFloatDTypes, C::Same, {{"correction", 0.0}}},
      {"std", [](const std::vector<double>& v) { return std::sqrt(ref_var(v, 1)); }, kFloatDTypes, C::Same},
      {"std", [](const std::vector<double>& v) { return std::sqrt(ref_var(v, 2.5)); }, kFloatDTypes, C::Same,
       {{"correction", 2.5}}},
      {"norm", [](const std::vector<double>& v) { return ref_norm(v, 2); }, kFloatDTypes, C::Same},
      {"norm", [](const std::vector<double>& v) { return ref_norm(v, 1); }, kFloatDTypes, C::Same, {{"p", 1.0}}},
      {"norm", [](const std::vector<double>& v) { return ref_norm(v, kInf); }, kFloatDTypes, C::Same, {{"p", kInf}}},
      {"norm", [](const std::vector<double>& v) { return ref_norm(v, -kInf); }, kFloatDTypes, C::Same, {{"p", -kInf}}},
      {"norm", [](const std::vector<double>& v) { return ref_norm(v, 0); }, kFloatDTypes, C::Same, {{"p", 0.0}},
       -2, 2, false, false, false, true},
      {"norm", [](const std::vector<double>& v) { return ref_norm(v, 3); }, kFloatDTypes, C::Same, {{"p", 3.0}}},
      {"norm", [](const std::vector<double>& v) { return ref_norm(v, 0.5); }, kFloatDTypes, C::Same, {{"p", 0.5}}},
      {"norm", [](const std::vector<double>& v) { return ref_norm(v, -1); }, kFloatDTypes, C::Same, {{"p", -1.0}}},
      {"logsumexp", ref_logsumexp, kAllDTypes, C::Float, {}, -2, 2, false, true},
      {"all", [](const std::vector<double>& v) { return double(std::all_of(v.begin(), v.end(), [](double x) { return x != 0; })); },
       kAllDTypes, C::Bool, {}, -2, 2, false, false, false, true},
      {"any", [](const std::vector<double>& v) { return double(std::any_of(v.begin(), v.end(), [](double x) { return x != 0; })); },
       kAllDTypes, C::Bool, {}, -2, 2, false, false, false, true},
  };
  return c;
}

const std::vector<std::pair<Shape, std::vector<Dims>>>& shape_cases() {
  static const std::vector<std::pair<Shape, std::vector<Dims>>> c = {
      {{3, 4, 5}, {std::nullopt, Dims{{1}}, Dims{{-1}}, Dims{{0, 2}}, Dims{{-3, -2}}, Dims{std::vector<int64_t>{}}}},
      {{7}, {std::nullopt, Dims{{0}}}},
      {{}, {std::nullopt, Dims{{0}}, Dims{{-1}}}},
      {{2, 0, 3}, {Dims{{1}}, Dims{{0}}, Dims{{2}}, std::nullopt}},
      {{1, 5, 1}, {Dims{{0}}, Dims{{0, 2}}, std::nullopt}},
      {{6, 33}, {Dims{{0}}, Dims{{1}}}},
      {{4, 3, 40}, {Dims{{0, 2}}, Dims{{1}}}},
  };
  return c;
}

DType out_dtype(ReduceCase::Out k, DType dt) {
  switch (k) {
    case ReduceCase::Same: return dt;
    case ReduceCase::IntToLong: return is_integral(dt, true) ? DType::Int64 : dt;
    case ReduceCase::Float: return is_floating(dt) ? dt : DType::Float32;
    case ReduceCase::Bool: return DType::Bool;
  }
  return dt;
}

Tensor make_input(const ReduceCase& rc, const Shape& shape, DType dt, uint64_t seed) {
  if (rc.with_zeros && dt != DType::Bool)
    return call1("to_dtype", {random_tensor(shape, DType::Int64, seed, 0, 3, false)}, {{"dtype", dt}});
  if (is_integral(dt, false)) return random_tensor(shape, dt, seed, rc.int_small ? -1 : -5, rc.int_small ? 1 : 5);
  return random_tensor(shape, dt, seed, rc.lo, rc.hi);
}

bool has_empty_slice(const Tensor& x, const Dims& dims) {
  if (!dims || dims->empty() || x.dim() == 0) return x.numel() == 0;
  for (int64_t d : *dims)
    if (x.size(d) == 0) return true;
  return false;
}

// Tolerance for an output computed from float64-exact inputs.
double rtol(DType dt) { return rtol_for(dt) * 4; }
double atol(DType dt) { return atol_for(dt) * 4; }

}  // namespace

TEST_CASE("reductions match float64 references over dims, dtypes and layouts", "[reduce]") {
  uint64_t seed = 1000;
  for (const ReduceCase& rc : reduce_cases()) {
    for (DType dt : rc.dtypes) {
      for (const auto& [shape, dim_cases] : shape_cases()) {
        for (const Dims& dims : dim_cases) {
          Tensor x0 = make_input(rc, shape, dt, seed++);
          for (const auto& [layout, x] : layouts(x0, seed++, rc.lo, rc.hi)) {
            if (rc.needs_nonempty && has_empty_slice(x, dims)) continue;
            for (bool keepdim : {false, true}) {
              INFO(rc.op << " " << attr_str(rc.extra.empty() ? AttrValue{} : rc.extra[0].second.value) << " "
                         << x.describe() << " " << layout << " dims "
                         << (dims ? attr_str(*dims) : std::string("None")) << " keepdim " << keepdim);
              NamedAttrs attrs = rc.extra;
              attrs.push_back({"keepdim", keepdim});
              if (dims) attrs.push_back({"dim", *dims});
              else if (rc.list_dim) attrs.push_back({"dim", std::vector<int64_t>{}});
              Tensor out = call1(rc.op, {x}, attrs);
              const Slices s = slices(x, dims, keepdim);
              CHECK(out.shape() == s.shape);
              const DType want = out_dtype(rc.out, dt);
              CHECK(out.dtype() == want);
              std::vector<double> expect;
              for (const auto& g : s.groups) expect.push_back(rc.ref(g));
              if (is_integral(want, false))
                for (double& e : expect) e = std::trunc(e);
              check_values(out, expect, rtol(want), atol(want));
            }
          }
        }
      }
    }
  }
}

TEST_CASE("max_dim, min_dim, argmax, argmin give the first index of the extreme value", "[reduce]") {
  struct ArgCase {
    const char* op;
    bool max, values;
  };
  const ArgCase cases[] = {{"max_dim", true, true}, {"min_dim", false, true}, {"argmax", true, false}, {"argmin", false, false}};
  const std::vector<std::pair<Shape, std::vector<std::optional<int64_t>>>> shapes = {
      {{3, 4, 5}, {0, 1, 2, -1, std::nullopt}}, {{6, 33}, {0, 1, -2, std::nullopt}}, {{7}, {0, std::nullopt}},
      {{}, {0, -1, std::nullopt}},              {{2, 0, 3}, {2}},                      {{1, 5, 1}, {0, 1}},
  };
  uint64_t seed = 5000;
  for (const ArgCase& ac : cases) {
    std::vector<DType> dtypes = kNumericDTypes;
    if (ac.values) dtypes.push_back(DType::Bool);
    for (DType dt : dtypes) {
      for (const auto& [shape, dim_cases] : shapes) {
        for (const auto& dim : dim_cases) {
          if (!dim && ac.values) continue;  // max_dim needs a dim
          // Integers in [-2, 2] make ties common, also across the lanes of a contiguous run.
          Tensor x0 = random_tensor(shape, dt, seed++, -2, 2);
          for (const auto& [layout, x] : layouts(x0, seed++, -2, 2)) {
            for (bool keepdim : {false, true}) {
              INFO(ac.op << " " << x.describe() << " " << layout << " dim " << (dim ? std::to_string(*dim) : "None")
                         << " keepdim " << keepdim);
              NamedAttrs attrs = {{"keepdim", keepdim}};
              if (dim) attrs.push_back({"dim", *dim});
              std::vector<Tensor> outs = call(ac.op, {x}, attrs);
              REQUIRE(outs.size() == (ac.values ? 2u : 1u));
              const Slices s = dim ? slices(x, Dims{{*dim}}, keepdim) : slices(x, std::nullopt, keepdim);
              std::vector<double> best, index;
              for (const auto& g : s.groups) {
                size_t k = 0;
                for (size_t i = 1; i < g.size(); ++i)
                  if (ac.max ? g[i] > g[k] : g[i] < g[k]) k = i;
                best.push_back(g[k]);
                index.push_back(static_cast<double>(k));
              }
              const Tensor& idx = outs.back();
              CHECK(idx.dtype() == DType::Int64);
              CHECK(idx.shape() == s.shape);
              check_values(idx, index, 0, 0);
              if (ac.values) {
                CHECK(outs[0].dtype() == dt);
                CHECK(outs[0].shape() == s.shape);
                check_values(outs[0], best, 0, 0);
              }
            }
          }
        }
      }
    }
  }
}

TEST_CASE("max and min over every element", "[reduce]") {
  uint64_t seed = 7000;
  for (DType dt : kAllDTypes) {
    for (const Shape& shape : {Shape{3, 4, 5}, Shape{}, Shape{1}, Shape{6, 33}}) {
      seed += 2;
      for (const auto& [layout, x] : layouts(random_tensor(shape, dt, seed), seed + 1, -2, 2)) {
        INFO(x.describe() << " " << layout);
        const auto v = values(x);
        Tensor mx = call1("max", {x}), mn = call1("min", {x});
        CHECK(mx.shape() == Shape{});
        CHECK(mx.dtype() == dt);
        check_values(mx, {*std::max_element(v.begin(), v.end())}, 0, 0);
        check_values(mn, {*std::min_element(v.begin(), v.end())}, 0, 0);
      }
    }
  }
}

TEST_CASE("cumsum matches running float64 sums", "[reduce]") {
  const std::vector<std::pair<Shape, std::vector<int64_t>>> shapes = {
      {{3, 4, 5}, {0, 1, 2, -1, -3}}, {{7}, {0, -1}}, {{}, {0, -1}}, {{2, 0, 3}, {1, 0}}, {{6, 33}, {0, 1}},
      {{300, 2}, {0}},                {{1, 5, 1}, {0, 1}},
  };
  uint64_t seed = 9000;
  for (DType dt : kAllDTypes) {
    for (const auto& [shape, dims] : shapes) {
      for (int64_t dim : dims) {
        seed += 2;
        for (const auto& [layout, x] : layouts(random_tensor(shape, dt, seed, -5, 5), seed + 1, -5, 5)) {
          INFO(x.describe() << " " << layout << " dim " << dim);
          Tensor out = call1("cumsum", {x}, {{"dim", dim}});
          const DType want = is_integral(dt, true) ? DType::Int64 : dt;
          CHECK(out.dtype() == want);
          CHECK(out.shape() == x.shape());
          // Reference: positions along `dim` have stride `inner` in the row-major value vector.
          const auto v = values(x);
          std::vector<double> expect(v.size());
          const int64_t d = x.dim() == 0 ? 0 : (dim < 0 ? dim + x.dim() : dim);
          const int64_t n = x.dim() == 0 ? 1 : x.shape()[d];
          int64_t inner = 1;
          for (int64_t k = d + 1; k < x.dim(); ++k) inner *= x.shape()[k];
          for (size_t i = 0; i < v.size(); ++i) {
            const int64_t pos = (static_cast<int64_t>(i) / inner) % n;
            expect[i] = v[i] + (pos > 0 ? expect[i - inner] : 0.0);
          }
          check_values(out, expect, rtol(want), atol(want) * 10);
        }
      }
    }
  }
}

TEST_CASE("dtype= converts before reducing; integer sums widen to int64", "[reduce]") {
  Tensor f = from_values({1.7, 1.7, -0.5}, {3}, DType::Float32);
  Tensor s = call1("sum", {f}, {{"dtype", DType::Int32}});
  CHECK(s.dtype() == DType::Int32);
  check_values(s, {2}, 0, 0);  // each element truncated first, as PyTorch
  Tensor i = from_values({2147483647, 2147483647, 2147483647}, {3}, DType::Int32);
  check_values(call1("sum", {i}), {3.0 * 2147483647}, 0, 0);
  Tensor m = call1("mean", {i}, {{"dtype", DType::Float64}});
  CHECK(m.dtype() == DType::Float64);
  check_values(m, {2147483647}, 0, 0);
  Tensor b = from_values({1, 0, 1, 1}, {2, 2}, DType::Bool);
  CHECK(call1("sum", {b}).dtype() == DType::Int64);
  check_values(call1("sum", {b}, {{"dim", {1}}}), {1, 2}, 0, 0);
  check_values(call1("prod", {b}, {{"dim", {0}}}), {1, 0}, 0, 0);
  CHECK(call1("sum", {f}, {{"dtype", DType::Bool}}).dtype() == DType::Bool);
  Tensor p = call1("prod", {from_values({1, 2, 3}, {3}, DType::Int32)}, {{"dtype", DType::Float32}});
  CHECK(p.dtype() == DType::Float32);
  check_values(p, {6}, 0, 0);
  // int64 products wrap like PyTorch's (2^40 * 2^40 = 2^80 = 0 mod 2^64).
  check_values(call1("prod", {from_values({1099511627776.0, 1099511627776.0}, {2}, DType::Int64)}), {0}, 0, 0);
  Tensor c = call1("cumsum", {from_values({1.7, 1.7}, {2}, DType::Float64)}, {{"dim", 0}, {"dtype", DType::Int64}});
  CHECK(c.dtype() == DType::Int64);
  check_values(c, {1, 2}, 0, 0);
  CHECK(call1("cumsum", {i}, {{"dim", 0}, {"dtype", DType::Int32}}).dtype() == DType::Int32);
  CHECK(call1("logsumexp", {i}, {{"dim", {0}}}).dtype() == DType::Float32);
}

TEST_CASE("NaN propagates through max, min, their indices and the norms", "[reduce]") {
  Tensor x = from_values({1, kNaN, 3, kNaN, 2, -1, 0, 5}, {2, 4}, DType::Float32);
  check_values(call1("max", {x}), {kNaN}, 0, 0);
  check_values(call1("min", {x}), {kNaN}, 0, 0);
  check_values(call1("amax", {x}, {{"dim", {1}}}), {kNaN, 5}, 0, 0);
  check_values(call1("amin", {x}, {{"dim", {1}}}), {kNaN, -1}, 0, 0);
  auto md = call("max_dim", {x}, {{"dim", 1}});
  check_values(md[0], {kNaN, 5}, 0, 0);
  check_values(md[1], {1, 3}, 0, 0);  // the first NaN's index
  auto nd = call("min_dim", {x}, {{"dim", 1}});
  check_values(nd[0], {kNaN, -1}, 0, 0);
  check_values(nd[1], {1, 1}, 0, 0);
  check_values(call1("argmax", {x}), {1}, 0, 0);
  check_values(call1("argmin", {x}), {1}, 0, 0);
  check_values(call1("argmax", {x}, {{"dim", 0}}), {1, 0, 0, 0}, 0, 0);
  check_values(call1("norm", {x}, {{"p", kInf}, {"dim", {1}}}), {kNaN, 5}, 0, 0);
  check_values(call1("norm", {x}, {{"p", 1.0}, {"dim", {1}}}), {kNaN, 8}, 0, 0);
  check_values(call1("norm", {x}, {{"p", 0.0}, {"dim", {1}}}), {4, 3}, 0, 0);  // NaN is non-zero
  check_values(call1("sum", {x}, {{"dim", {1}}}), {kNaN, 6}, 0, 0);
  check_values(call1("logsumexp", {x}, {{"dim", {1}}}), {kNaN, ref_logsumexp({2, -1, 0, 5})}, 1e-6, 1e-6);
  check_values(call1("all", {x}, {{"dim", {1}}}), {1, 0}, 0, 0);
  // NaN in a long contiguous run and across thread chunks: the first NaN wins.
  Tensor big = random_tensor({100000}, DType::Float64, 3);
  big.data<double>()[70001] = kNaN;
  big.data<double>()[90001] = kNaN;
  check_values(call1("argmax", {big}), {70001}, 0, 0);
  check_values(call1("amin", {big}), {kNaN}, 0, 0);
}

TEST_CASE("logsumexp is stable for large and infinite values", "[reduce]") {
  Tensor x = from_values({1000, 1000, -kInf, -kInf, kInf, 1, kInf, kInf, -1000, -1001, 0, 0}, {6, 2}, DType::Float64);
  check_values(call1("logsumexp", {x}, {{"dim", {1}}}),
               {1000 + std::log(2.0), -kInf, kInf, kInf, -1000 + std::log1p(std::exp(-1.0)), std::log(2.0)}, 1e-12,
               1e-12);
  Tensor e = Tensor::empty({0, 3}, DType::Float32);
  check_values(call1("logsumexp", {e}, {{"dim", {0}}}), {-kInf, -kInf, -kInf}, 0, 0);
}

TEST_CASE("var and std with corrections at or past the slice size", "[reduce]") {
  Tensor x = from_values({1, 2, 3, 2, 2, 2}, {2, 3}, DType::Float64);
  check_values(call1("var", {x}, {{"dim", {1}}, {"correction", 3.0}}), {kInf, kNaN}, 0, 0);  // 2/0 and 0/0
  check_values(call1("var", {x}, {{"dim", {1}}, {"correction", 4.0}}), {kInf, kNaN}, 0, 0);
  check_values(call1("std", {from_values({3}, {}, DType::Float32)}), {kNaN}, 0, 0);
  check_values(call1("std", {from_values({3}, {}, DType::Float32)}, {{"correction", 0.0}}), {0}, 0, 0);
  check_values(call1("mean", {Tensor::empty({0}, DType::Float32)}), {kNaN}, 0, 0);
  check_values(call1("var", {Tensor::empty({0, 2}, DType::Float32)}, {{"dim", {0}}}), {kNaN, kNaN}, 0, 0);
  // A large offset with a small spread: a one-pass sum-of-squares formula would lose it all.
  Tensor off = random_tensor({1000}, DType::Float32, 11, 1e4, 1e4 + 1);
  check_values(call1("var", {off}), {ref_var(values(off), 1)}, 1e-5, 0);
}

TEST_CASE("norm with negative and fractional p, and empty inputs", "[reduce]") {
  Tensor x = from_values({0, 2, 3, -4}, {2, 2}, DType::Float64);
  check_values(call1("norm", {x}, {{"p", -1.0}, {"dim", {1}}}), {0, 1 / (1 / 3.0 + 1 / 4.0)}, 1e-12, 0);
  check_values(call1("norm", {x}, {{"p", -kInf}, {"dim", {1}}}), {0, 3}, 0, 0);
  check_values(call1("norm", {x}, {{"p", 0.5}}), {std::pow(std::sqrt(2.0) + std::sqrt(3.0) + 2, 2)}, 1e-12, 0);
  for (double p : {2.0, 1.0, 0.0, kInf, -kInf, -1.0, 3.0})
    check_values(call1("norm", {Tensor::empty({0, 2}, DType::Float32)}, {{"p", p}, {"dim", {0}}}), {0, 0}, 0, 0);
}

TEST_CASE("float32 sums of a million values are accurate to float32 rounding", "[reduce]") {
  Tensor x = random_tensor({1000000}, DType::Float32, 21, 0, 1);
  const auto v = values(x);
  const double s = ref_sum(v);
  check_values(call1("sum", {x}), {s}, 1.2e-7, 0);
  check_values(call1("mean", {x}), {s / 1e6}, 1.2e-7, 0);
  Tensor sq = call1("reshape", {x}, {{"shape", {1000, 1000}}});
  Tensor cols = call1("sum", {sq}, {{"dim", {0}}}), rows = call1("sum", {call1("transpose", {sq}, {{"dim0", 0}, {"dim1", 1}})}, {{"dim", {0}}});
  check_values(call1("sum", {cols}, {{"dtype", DType::Float64}}), {s}, 1e-6, 0);
  check_values(call1("sum", {rows}, {{"dtype", DType::Float64}}), {s}, 1e-6, 0);
  check_values(call1("norm", {x}), {std::sqrt(std::inner_product(v.begin(), v.end(), v.begin(), 0.0))}, 1.2e-7, 0);
}

TEST_CASE("moderately large reductions split over threads agree with the reference", "[reduce][threads]") {
  const Shape shape{512, 300};
  Tensor a = random_tensor(shape, DType::Float32, 31);
  Tensor ai = random_tensor(shape, DType::Int32, 32, -3, 3);
  for (const auto& [layout, x] : {std::pair{"contiguous", a}, std::pair{"transposed", transposed_copy(a)}}) {
    for (const Dims& dims : {Dims{{0}}, Dims{{1}}, Dims{std::nullopt}}) {
      INFO(layout << " dims " << (dims ? attr_str(*dims) : "None"));
      const Slices s = slices(x, dims, false);
      auto expect = [&](auto f) {
        std::vector<double> e;
        for (const auto& g : s.groups) e.push_back(f(g));
        return e;
      };
      NamedAttrs at;
      if (dims) at.push_back({"dim", *dims});
      check_values(call1("sum", {x}, at), expect(ref_sum), 4e-6, 4e-6);
      check_values(call1("var", {x}, at), expect([](const auto& g) { return ref_var(g, 1); }), 4e-6, 4e-6);
      check_values(call1("logsumexp", {x}, dims ? at : NamedAttrs{{"dim", std::vector<int64_t>{}}}),
                   expect(ref_logsumexp), 4e-6, 4e-6);
      check_values(call1("amax", {x}, dims ? at : NamedAttrs{}),
                   expect([](const auto& g) { return *std::max_element(g.begin(), g.end()); }), 0, 0);
    }
    for (int64_t dim : {0, 1}) {
      Tensor xi = layout == std::string("contiguous") ? ai : transposed_copy(ai);
      const Slices s = slices(xi, Dims{{dim}}, false);
      std::vector<double> idx;
      for (const auto& g : s.groups) idx.push_back(static_cast<double>(std::max_element(g.begin(), g.end()) - g.begin()));
      check_values(call1("argmax", {xi}, {{"dim", dim}}), idx, 0, 0);
      Tensor cs = call1("cumsum", {x}, {{"dim", dim}});
      const Slices full = slices(x, Dims{{dim}}, false);
      for (size_t o = 0; o < full.groups.size(); o += 37) {  // spot-check whole scans
        double run = 0;
        const int64_t n = static_cast<int64_t>(full.groups[o].size());
        for (int64_t r = 0; r < n; ++r) {
          run += full.groups[o][r];
          const int64_t lin = dim == 0 ? r * shape[1] + static_cast<int64_t>(o) : static_cast<int64_t>(o) * shape[1] + r;
          REQUIRE(std::fabs(get(cs, lin) - run) <= 1e-5 * (1 + std::fabs(run)));
        }
      }
    }
  }
  // A million-element argmax with many ties: chunks combine to the first index overall.
  Tensor t = random_tensor({1000000}, DType::Int64, 41, -3, 3);
  const auto v = values(t);
  check_values(call1("argmax", {t}), {static_cast<double>(std::max_element(v.begin(), v.end()) - v.begin())}, 0, 0);
  check_values(call1("argmin", {t}), {static_cast<double>(std::min_element(v.begin(), v.end()) - v.begin())}, 0, 0);
}

TEST_CASE("reduction errors name the op, the input and PyTorch's reason", "[reduce][errors]") {
  Tensor f = random_tensor({2, 3}, DType::Float32, 1);
  Tensor i = random_tensor({2, 3}, DType::Int32, 2);
  Tensor b = random_tensor({2, 3}, DType::Bool, 3);
  Tensor e = Tensor::empty({0, 3}, DType::Float32);
  require_error([&] { call1("sum", {f}, {{"dim", {2}}}); }, ErrorKind::Index,
                {"sum", "float32[2, 3]", "Dimension out of range (expected to be in range of [-2, 1], but got 2)"});
  require_error([&] { call1("sum", {f}, {{"dim", {0, -2}}}); }, ErrorKind::Runtime,
                {"sum", "float32[2, 3]", "dim 0 appears multiple times in the list of dims"});
  require_error([&] { call1("amax", {f}, {{"dim", {-3}}}); }, ErrorKind::Index, {"amax", "float32[2, 3]", "out of range"});
  require_error([&] { call("max_dim", {f}, {{"dim", 2}}); }, ErrorKind::Index, {"max_dim", "float32[2, 3]", "out of range"});
  require_error([&] { call1("argmin", {f}, {{"dim", -3}}); }, ErrorKind::Index, {"argmin", "float32[2, 3]", "out of range"});
  require_error([&] { call1("cumsum", {f}, {{"dim", 2}}); }, ErrorKind::Index, {"cumsum", "float32[2, 3]", "out of range"});
  require_error([&] { call1("sum", {from_values({1}, {}, DType::Float32)}, {{"dim", {1}}}); }, ErrorKind::Index,
                {"sum", "float32[]", "[-1, 0]"});
  require_error([&] { call1("mean", {i}); }, ErrorKind::Runtime,
                {"mean", "int32[2, 3]", "could not infer output dtype. Input dtype must be either a floating point"});
  require_error([&] { call1("mean", {f}, {{"dtype", DType::Int64}}); }, ErrorKind::Runtime,
                {"mean", "float32[2, 3]", "Optional dtype must be either a floating point"});
  require_error([&] { call1("var", {i}); }, ErrorKind::Runtime, {"var", "int32[2, 3]", "std and var only support floating point"});
  require_error([&] { call1("std", {b}); }, ErrorKind::Runtime, {"std", "bool[2, 3]", "only support floating point"});
  require_error([&] { call1("norm", {i}); }, ErrorKind::Runtime,
                {"norm", "int32[2, 3]", "input dtype should be either floating point or complex"});
  require_error([&] { call1("argmax", {b}); }, ErrorKind::Runtime, {"argmax", "bool[2, 3]", "not implemented for 'bool'"});
  require_error([&] { call1("cumsum", {f}, {{"dim", 0}, {"dtype", DType::Bool}}); }, ErrorKind::Runtime,
                {"cumsum", "float32[2, 3]", "not implemented for 'bool'"});
  require_error([&] { call1("max", {e}); }, ErrorKind::Runtime,
                {"max", "float32[0, 3]", "Expected reduction dim to be specified for input.numel() == 0"});
  require_error([&] { call1("min", {e}); }, ErrorKind::Runtime, {"min", "float32[0, 3]", "input.numel() == 0"});
  require_error([&] { call1("amax", {e}); }, ErrorKind::Runtime, {"amax", "float32[0, 3]", "input.numel() == 0"});
  require_error([&] { call1("amin", {e}, {{"dim", {0}}}); }, ErrorKind::Index,
                {"amin", "float32[0, 3]", "Expected reduction dim 0 to have non-zero size."});
  require_error([&] { call("max_dim", {e}, {{"dim", 0}}); }, ErrorKind::Index,
                {"max_dim", "float32[0, 3]", "Expected reduction dim 0 to have non-zero size."});
  require_error([&] { call1("argmax", {e}); }, ErrorKind::Index, {"argmax", "float32[0, 3]", "input.numel() == 0"});
  require_error([&] { call1("argmin", {e}, {{"dim", -2}}); }, ErrorKind::Index, {"argmin", "float32[0, 3]", "dim 0"});
  // Reductions over a kept empty dim are fine (empty results).
  CHECK(call1("amax", {e}, {{"dim", {1}}}).shape() == Shape{0});
  CHECK(call("max_dim", {e}, {{"dim", 1}, {"keepdim", true}})[1].shape() == Shape{0, 1});
  require_error([&] { call1("logsumexp", {f}); }, ErrorKind::Type, {"logsumexp", "dim"});
}
