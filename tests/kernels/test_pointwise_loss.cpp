// mse_loss, l1_loss, smooth_l1_loss, binary_cross_entropy and binary_cross_entropy_with_logits
// against float64 references: broadcasting and type promotion (regression losses), weights and
// pos_weight, every reduction, non-contiguous operands, empty and 0-d inputs, extreme values,
// PyTorch 1.13 fixtures and every error with its message.
#include <functional>
#include <limits>

#include "loss_ref.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("mse_loss", "l1_loss", "smooth_l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits");

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// f over the broadcast operands, then the reduction (mean of nothing is NaN).
std::vector<double> pointwise_ref(const std::vector<std::pair<std::vector<double>, Shape>>& operands, const Shape& out,
                                  const std::function<double(const std::vector<double>&)>& f, const std::string& reduction) {
  std::vector<double> l(shape_numel(out));
  std::vector<double> args(operands.size());
  for (size_t i = 0; i < l.size(); ++i) {
    for (size_t k = 0; k < operands.size(); ++k)
      args[k] = broadcast_at(operands[k].first, operands[k].second, out, static_cast<int64_t>(i));
    l[i] = f(args);
  }
  if (reduction == "none") return l;
  double s = 0;
  for (double v : l) s += v;
  return {reduction == "sum" ? s : s / static_cast<double>(l.size())};
}

double smooth_l1(double z, double beta) { return z < beta ? 0.5 * z * z / beta : z - 0.5 * beta; }

double bce(double x, double y, double w) {
  return -w * (y * std::max(std::log(x), -100.0) + (1 - y) * std::max(std::log(1 - x), -100.0));
}

double bce_logits(double x, double y, double w, double pw) {
  // log(sigmoid(x)) and log(1 - sigmoid(x)) written stably in float64.
  const double log_sig = -std::log1p(std::exp(-std::abs(x))) + std::min(x, 0.0);
  const double log_one_minus = log_sig - x;
  return -w * (pw * y * log_sig + (1 - y) * log_one_minus);
}

Shape reduced(const Shape& s, const char* reduction) { return std::string(reduction) == "none" ? s : Shape{}; }

}  // namespace

TEST_CASE("regression losses match float64 references with broadcasting", "[nn][loss]") {
  struct Case {
    const char* op;
    NamedAttrs attrs;
    std::function<double(double, double)> f;
  };
  const std::vector<Case> cases = {
      {"mse_loss", {}, [](double a, double b) { return (a - b) * (a - b); }},
      {"l1_loss", {}, [](double a, double b) { return std::abs(a - b); }},
      {"smooth_l1_loss", {}, [](double a, double b) { return smooth_l1(std::abs(a - b), 1.0); }},
      {"smooth_l1_loss", {{"beta", 0.5}}, [](double a, double b) { return smooth_l1(std::abs(a - b), 0.5); }},
      {"smooth_l1_loss", {{"beta", 0.0}}, [](double a, double b) { return std::abs(a - b); }},
  };
  const std::vector<std::pair<Shape, Shape>> shapes = {{{5, 7}, {5, 7}}, {{3, 4}, {4}},   {{2, 1, 3}, {4, 1}},
                                                        {{}, {}},         {{0, 3}, {0, 3}}, {{1, 1}, {1}},
                                                        {{3, 100}, {3, 100}}};
  uint64_t seed = 1;
  for (const Case& cs : cases)
    for (DType dt : {DType::Float32, DType::Float64})
      for (const auto& [sa, sb] : shapes) {
        const Tensor a = random_tensor(sa, dt, seed++), b = random_tensor(sb, dt, seed++);
        const Shape out = broadcast_shapes(sa, sb);
        for (const char* red : {"none", "mean", "sum"}) {
          INFO(cs.op << " " << a.describe() << " " << b.describe() << " " << red);
          const auto expected = pointwise_ref({{values(a), sa}, {values(b), sb}}, out,
                                              [&](const std::vector<double>& v) { return cs.f(v[0], v[1]); }, red);
          NamedAttrs attrs = cs.attrs;
          attrs.push_back({"reduction", red});
          for (const Tensor& al : operand_layouts(a)) {
            Tensor r = call1(cs.op, {al, strided_copy(b)}, attrs);
            CHECK(r.dtype() == dt);
            CHECK(r.shape() == reduced(out, red));
            check_values(r, expected, rtol_for(dt), atol_for(dt));
          }
        }
      }
}

TEST_CASE("regression losses promote dtypes; l1_loss takes integers unless it must average", "[nn][loss]") {
  const Tensor f32 = random_tensor({3, 4}, DType::Float32, 1), f64 = random_tensor({3, 4}, DType::Float64, 2);
  const Tensor i64 = random_tensor({3, 4}, DType::Int64, 3, -9, 9);
  for (const char* op : {"mse_loss", "l1_loss", "smooth_l1_loss"}) {
    CHECK(call1(op, {f32, f64}).dtype() == DType::Float64);
    Tensor r = call1(op, {f32, i64}, {{"reduction", "none"}});
    CHECK(r.dtype() == DType::Float32);
    const auto vf = values(f32), vi = values(i64);
    std::vector<double> expected(vf.size());
    for (size_t i = 0; i < vf.size(); ++i) {
      const double d = vf[i] - vi[i];
      expected[i] = std::string(op) == "mse_loss" ? d * d : std::string(op) == "l1_loss" ? std::abs(d) : smooth_l1(std::abs(d), 1);
    }
    check_values(r, expected, 2e-6, 1e-6);
  }
  for (DType dt : {DType::Int32, DType::Int64}) {
    const Tensor a = random_tensor({4, 5}, dt, 4, -50, 50), b = random_tensor({5}, dt, 5, -50, 50);
    const auto expected = pointwise_ref({{values(a), {4, 5}}, {values(b), {5}}}, {4, 5},
                                        [](const std::vector<double>& v) { return std::abs(v[0] - v[1]); }, "none");
    Tensor none = call1("l1_loss", {a, strided_copy(b)}, {{"reduction", "none"}});
    CHECK(none.dtype() == dt);
    check_values(none, expected, 0, 0);
    Tensor sum = call1("l1_loss", {transposed_copy(a), b}, {{"reduction", "sum"}});
    CHECK(sum.dtype() == DType::Int64);
    double s = 0;
    for (double v : expected) s += v;
    check_values(sum, {s}, 0, 0);
  }
}

TEST_CASE("binary_cross_entropy matches a float64 reference", "[nn][loss]") {
  uint64_t seed = 50;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Shape& s : std::vector<Shape>{{5, 7}, {3, 2, 4}, {}, {0, 3}, {2, 300}}) {
      std::vector<double> xv = values(random_tensor(s, dt, seed++, 0.001, 0.999));
      if (xv.size() >= 2) {  // the clamped logs: log(0) and log(1 - 1)
        xv[0] = 0.0;
        xv[1] = 1.0;
      }
      const Tensor x = from_values(xv, s, dt), y = random_tensor(s, dt, seed++, 0.0, 1.0);
      const Shape ws = s.empty() ? Shape{} : Shape{s.back()};
      const Tensor w = random_tensor(ws, dt, seed++, 0.1, 2.0);
      for (bool weighted : {false, true})
        for (const char* red : {"none", "mean", "sum"}) {
          INFO(x.describe() << " weighted " << weighted << " " << red);
          const auto expected = pointwise_ref({{xv, s}, {values(y), s}, {weighted ? values(w) : std::vector<double>{1.0}, weighted ? ws : Shape{}}},
                                              s, [](const std::vector<double>& v) { return bce(v[0], v[1], v[2]); }, red);
          for (const Tensor& xl : operand_layouts(x)) {
            Tensor r = call_loss("binary_cross_entropy", {xl, strided_copy(y), weighted ? strided_copy(w) : Tensor()},
                                 {{"reduction", red}});
            CHECK(r.dtype() == dt);
            CHECK(r.shape() == reduced(s, red));
            check_values(r, expected, rtol_for(dt), atol_for(dt));
          }
        }
    }
}

TEST_CASE("binary_cross_entropy_with_logits matches a float64 reference and is stable", "[nn][loss]") {
  uint64_t seed = 80;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Shape& s : std::vector<Shape>{{5, 7}, {3, 2, 4}, {}, {0, 3}, {2, 300}}) {
      std::vector<double> xv = values(random_tensor(s, dt, seed++, -6.0, 6.0));
      std::vector<double> yv = values(random_tensor(s, dt, seed++, 0.0, 1.0));
      if (xv.size() >= 2) {
        // exp(-x) would overflow without the log-sum-exp form. (Targets where the loss does not
        // cancel terms of size |x|, which float32 cannot resolve, in PyTorch's formula as in ours.)
        xv[0] = 200.0, yv[0] = 0.0;
        xv[1] = -200.0, yv[1] = 1.0;
      }
      const Tensor x = from_values(xv, s, dt), y = from_values(yv, s, dt);
      const Shape ws = s.empty() ? Shape{} : Shape{s.back()};
      const Tensor w = random_tensor(ws, dt, seed++, 0.1, 2.0), pw = random_tensor(ws, dt, seed++, 0.1, 3.0);
      for (bool weighted : {false, true})
        for (bool pos_weighted : {false, true})
          for (const char* red : {"none", "mean", "sum"}) {
            INFO(x.describe() << " weighted " << weighted << " pos_weighted " << pos_weighted << " " << red);
            const std::vector<double> one{1.0};
            const auto expected = pointwise_ref(
                {{xv, s}, {values(y), s}, {weighted ? values(w) : one, weighted ? ws : Shape{}},
                 {pos_weighted ? values(pw) : one, pos_weighted ? ws : Shape{}}},
                s, [](const std::vector<double>& v) { return bce_logits(v[0], v[1], v[2], v[3]); }, red);
            for (const Tensor& xl : operand_layouts(x)) {
              Tensor r = call_loss("binary_cross_entropy_with_logits",
                                   {xl, y, weighted ? w : Tensor(), pos_weighted ? strided_copy(pw) : Tensor()},
                                   {{"reduction", red}});
              CHECK(r.dtype() == dt);
              CHECK(r.shape() == reduced(s, red));
              check_values(r, expected, rtol_for(dt), atol_for(dt));
            }
          }
    }
  // pos_weight may broadcast the loss to a larger shape; dtypes promote like PyTorch.
  const Tensor x = random_tensor({3, 4}, DType::Float32, 1), y = random_tensor({3, 4}, DType::Float64, 2, 0.0, 1.0);
  const Tensor pw = random_tensor({2, 1, 4}, DType::Float32, 3, 0.1, 3.0);
  Tensor r = call_loss("binary_cross_entropy_with_logits", {x, y, Tensor(), pw}, {{"reduction", "none"}});
  CHECK(r.shape() == Shape{2, 3, 4});
  CHECK(r.dtype() == DType::Float64);
  check_values(r,
               pointwise_ref({{values(x), {3, 4}}, {values(y), {3, 4}}, {{1.0}, {}}, {values(pw), {2, 1, 4}}}, {2, 3, 4},
                             [](const std::vector<double>& v) { return bce_logits(v[0], v[1], v[2], v[3]); }, "none"),
               1e-12, 1e-12);
}

TEST_CASE("pointwise losses match PyTorch 1.13 fixtures; empty means are NaN", "[nn][loss]") {
  const Tensor xb = from_values({0.0, 0.25, 0.5, 0.75, 1.0, 0.125}, {2, 3});
  const Tensor yb = from_values({0.0, 1.0, 0.5, 0.25, 0.0, 1.0}, {2, 3}), wb = from_values({1.0, 2.0, 0.5}, {3});
  check_values(call_loss("binary_cross_entropy", {xb, yb, wb}, {{"reduction", "none"}}),
               {0, 2.77258872224, 0.34657359028, 1.11164128895, 200, 1.03972077084}, 1e-10, 1e-10);
  const Tensor xl = from_values({1000.0, -1000.0, 0.5, -2.0, 3.0, 0.0}, {2, 3}), pw = from_values({2.0, 0.5, 1.5}, {3});
  check_values(call_loss("binary_cross_entropy_with_logits", {xl, yb, wb, pw}, {{"reduction", "none"}}),
               {1000, 1000, 0.421298115113, 1.1586600138, 6.09717470315, 0.51986038542}, 1e-10, 1e-10);
  const Tensor x = from_values({0.5, -1.25, 2.0, 0.75, 3.0, 0.0, -0.75, 1.5, -2.0, 1.0, 0.25, -0.5}, {3, 4});
  const Tensor q = from_values({0.1, 0.2, 0.3, 0.4, 0.7, 0.1, 0.1, 0.1, 0.25, 0.25, 0.25, 0.25}, {3, 4});
  check_values(call1("smooth_l1_loss", {x, q}, {{"reduction", "none"}, {"beta", 0.5}}),
               {0.16, 1.2, 1.45, 0.1225, 2.05, 0.01, 0.6, 1.15, 2, 0.5, 0, 0.5}, 1e-10, 1e-10);
  const Tensor e = Tensor::empty({0, 3}, DType::Float32);
  for (const char* op : {"mse_loss", "l1_loss", "smooth_l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"}) {
    INFO(op);
    check_values(call_loss(op, {e, e}), {kNaN}, 0, 0);
    check_values(call_loss(op, {e, e}, {{"reduction", "sum"}}), {0.0}, 0, 0);
  }
}

TEST_CASE("pointwise loss errors name the op and the inputs", "[nn][loss]") {
  const Tensor x = random_tensor({3, 4}, DType::Float32, 1, 0.1, 0.9), y = random_tensor({3, 4}, DType::Float32, 2, 0.0, 1.0);
  const Tensor i64 = random_tensor({3, 4}, DType::Int64, 3, -3, 3);
  const Tensor b = from_values({1, 0}, {2}, DType::Bool);
  for (const char* op : {"mse_loss", "l1_loss", "smooth_l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"})
    require_error([&] { call_loss(op, {x, y}, {{"reduction", "foo"}}); }, ErrorKind::Value,
                  {op, "foo is not a valid value for reduction", "float32[3, 4], float32[3, 4]"});
  for (const char* op : {"mse_loss", "l1_loss", "smooth_l1_loss"})
    require_error([&] { call1(op, {x, random_tensor({2, 4}, DType::Float32, 4)}); }, ErrorKind::Runtime,
                  {op, "must match the size of tensor b (2) at non-singleton dimension 0", "float32[3, 4], float32[2, 4]"});
  for (const char* op : {"mse_loss", "smooth_l1_loss"})
    require_error([&] { call1(op, {i64, i64}); }, ErrorKind::Runtime, {op, "not implemented for 'int64'", "int64[3, 4]"});
  require_error([&] { call1("mse_loss", {b, b}); }, ErrorKind::Runtime, {"mse_loss", "'bool'", "bool[2]"});
  require_error([&] { call1("l1_loss", {i64, i64}); }, ErrorKind::Runtime,
                {"l1_loss", "mean(): could not infer output dtype", "Got: int64", "int64[3, 4]"});
  require_error([&] { call1("l1_loss", {b, b}, {{"reduction", "sum"}}); }, ErrorKind::Runtime,
                {"l1_loss", "Subtraction, the `-` operator, with two bool tensors is not supported", "bool[2]"});
  require_error([&] { call1("smooth_l1_loss", {x, y}, {{"beta", -1.0}}); }, ErrorKind::Runtime,
                {"smooth_l1_loss", "smooth_l1_loss does not support negative values for beta.", "float32[3, 4]"});

  const char* bce_op = "binary_cross_entropy";
  require_error([&] { call_loss(bce_op, {x, random_tensor({2, 4}, DType::Float32, 5, 0.0, 1.0)}); }, ErrorKind::Value,
                {bce_op, "Using a target size ([2, 4]) that is different to the input size ([3, 4]) is deprecated", "float32[2, 4]"});
  require_error([&] { call_loss(bce_op, {x, random_tensor({3, 4}, DType::Float64, 6, 0.0, 1.0)}); }, ErrorKind::Runtime,
                {bce_op, "Found dtype float64 but expected float32", "float32[3, 4], float64[3, 4]"});
  require_error([&] { call_loss(bce_op, {i64, i64}); }, ErrorKind::Runtime, {bce_op, "not implemented for 'int64'", "int64[3, 4]"});
  require_error([&] { call_loss(bce_op, {x, y, random_tensor({3}, DType::Float32, 7)}); }, ErrorKind::Runtime,
                {bce_op, "must match the size of tensor b (4)", "float32[3]"});
  require_error([&] { call_loss(bce_op, {x, y, random_tensor({2, 3, 4}, DType::Float32, 8)}); }, ErrorKind::Runtime,
                {bce_op, "output with shape [3, 4] doesn't match the broadcast shape [2, 3, 4]"});
  for (double bad : {1.5, -0.25, kNaN}) {
    std::vector<double> xv = values(x);
    xv[5] = bad;
    require_error([&] { call_loss(bce_op, {from_values(xv, {3, 4}, DType::Float32), y}); }, ErrorKind::Runtime,
                  {bce_op, "all elements of input should be between 0 and 1", "float32[3, 4]"});
  }

  const char* logits_op = "binary_cross_entropy_with_logits";
  require_error([&] { call_loss(logits_op, {x, random_tensor({4}, DType::Float32, 9)}); }, ErrorKind::Value,
                {logits_op, "Target size ([4]) must be the same as input size ([3, 4])", "float32[3, 4], float32[4]"});
  require_error([&] { call_loss(logits_op, {x, i64}); }, ErrorKind::Runtime, {logits_op, "not implemented for 'int64'", "int64[3, 4]"});
  require_error([&] { call_loss(logits_op, {x, y, Tensor(), random_tensor({3}, DType::Float32, 10)}); }, ErrorKind::Runtime,
                {logits_op, "must match the size of tensor b (3)"});
  require_error([&] { call_loss(logits_op, {x, y, random_tensor({5}, DType::Float32, 11)}); }, ErrorKind::Runtime,
                {logits_op, "must match the size of tensor b (4)"});
}
