// nll_loss and cross_entropy against float64 references written from PyTorch 1.13's definitions
// (log_softmax, then nll_loss, then the label-smoothing and class-probability terms), over [C],
// [N, C] and [N, C, d...] inputs, weights, ignore_index, every reduction, both float dtypes,
// non-contiguous operands and empty inputs; the fused cross_entropy against its decomposition;
// PyTorch fixtures; and every error with its message.
#include <limits>
#include <optional>

#include "loss_ref.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("nll_loss", "cross_entropy");

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// Per-sample values reduced like PyTorch: 'mean' divides by `denominator`.
std::vector<double> reduce(const std::vector<double>& per_sample, const std::string& reduction, double denominator) {
  if (reduction == "none") return per_sample;
  double s = 0;
  for (double v : per_sample) s += v;
  return {reduction == "sum" ? s : s / denominator};
}

std::vector<double> nll_ref(const std::vector<double>& x, const ClassLayout& L, const std::vector<int64_t>& t,
                            const Weights& w, const std::string& reduction, int64_t ignore) {
  std::vector<double> l(L.samples());
  double total_weight = 0;
  for (int64_t s = 0; s < L.samples(); ++s) {
    if (t[s] == ignore) continue;
    l[s] = -wt(w, t[s]) * x[L.at(s, t[s])];
    total_weight += wt(w, t[s]);
  }
  return reduce(l, reduction, total_weight);
}

// cross_entropy_loss_label_smoothing of PyTorch 1.13 (aten/src/ATen/native/LossNLL.cpp).
std::vector<double> cross_entropy_index_ref(const std::vector<double>& x, const ClassLayout& L, const std::vector<int64_t>& t,
                                            const Weights& w, const std::string& reduction, int64_t ignore, double ls) {
  const std::vector<double> logp = log_softmax_ref(x, L);
  std::vector<double> nll = nll_ref(logp, L, t, w, reduction, ignore);
  if (ls <= 0) return nll;
  std::vector<double> smooth(L.samples());
  double denominator = 0;
  for (int64_t s = 0; s < L.samples(); ++s) {
    if (t[s] == ignore) continue;
    for (int64_t k = 0; k < L.C; ++k) smooth[s] -= wt(w, k) * logp[L.at(s, k)];
    denominator += wt(w, t[s]);  // with no weight: the count of samples not ignored
  }
  std::vector<double> ret = reduce(smooth, reduction, denominator);
  for (size_t i = 0; i < nll.size(); ++i) nll[i] = (1 - ls) * nll[i] + ret[i] * (ls / L.C);
  return nll;
}

// cross_entropy_loss_prob_target of PyTorch 1.13.
std::vector<double> cross_entropy_prob_ref(const std::vector<double>& x, const ClassLayout& L, const std::vector<double>& q,
                                           const Weights& w, const std::string& reduction, double ls) {
  const std::vector<double> logp = log_softmax_ref(x, L);
  std::vector<double> l(L.samples());
  for (int64_t s = 0; s < L.samples(); ++s)
    for (int64_t k = 0; k < L.C; ++k) {
      const double target = ls > 0 ? q[L.at(s, k)] * (1 - ls) + ls / L.C : q[L.at(s, k)];
      l[s] -= wt(w, k) * target * logp[L.at(s, k)];
    }
  if (reduction == "mean" && x.empty()) return {kNaN};
  return reduce(l, reduction, static_cast<double>(L.samples()));
}

}  // namespace

TEST_CASE("nll_loss matches a float64 reference", "[nn][loss]") {
  uint64_t seed = 1;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Shape& xs : class_shapes()) {
      const ClassLayout L(xs);
      const Tensor x = random_tensor(xs, dt, seed++, -3.0, 3.0);
      const Tensor wtensor = random_tensor({L.C}, dt, seed++, 0.1, 2.0);
      for (int64_t ignore : {int64_t{-100}, int64_t{1}}) {
        const std::vector<int64_t> tv = random_targets(L, ignore, seed++);
        const Tensor t = index_tensor(tv, target_shape(xs));
        for (bool weighted : {false, true})
          for (const char* red : {"none", "mean", "sum"}) {
            INFO("nll_loss " << x.describe() << " weighted " << weighted << " reduction " << red << " ignore " << ignore);
            const Weights w = weighted ? Weights(values(wtensor)) : std::nullopt;
            const auto expected = nll_ref(values(x), L, tv, w, red, ignore);
            for (const Tensor& xl : operand_layouts(x))
              for (const Tensor& tl : operand_layouts(t)) {
                Tensor out = call_loss("nll_loss", {xl, tl, weighted ? strided_copy(wtensor) : Tensor()},
                                       {{"reduction", red}, {"ignore_index", ignore}});
                CHECK(out.dtype() == dt);
                CHECK(out.shape() == (std::string(red) == "none" ? target_shape(xs) : Shape{}));
                check_values(out, expected, rtol_for(dt), atol_for(dt));
              }
          }
      }
    }
}

TEST_CASE("cross_entropy with class indices matches PyTorch's definition", "[nn][loss]") {
  uint64_t seed = 100;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Shape& xs : class_shapes()) {
      const ClassLayout L(xs);
      const Tensor x = random_tensor(xs, dt, seed++, -4.0, 4.0);
      const Tensor wtensor = random_tensor({L.C}, dt, seed++, 0.1, 2.0);
      for (int64_t ignore : {int64_t{-100}, int64_t{0}}) {
        const std::vector<int64_t> tv = random_targets(L, ignore, seed++);
        const Tensor t = index_tensor(tv, target_shape(xs));
        for (double ls : {0.0, 0.25, 1.0})
          for (bool weighted : {false, true})
            for (const char* red : {"none", "mean", "sum"}) {
              INFO("cross_entropy " << x.describe() << " weighted " << weighted << " reduction " << red
                                    << " smoothing " << ls << " ignore " << ignore);
              const Weights w = weighted ? Weights(values(wtensor)) : std::nullopt;
              const auto expected = cross_entropy_index_ref(values(x), L, tv, w, red, ignore, ls);
              for (const Tensor& xl : operand_layouts(x)) {
                Tensor out = call_loss("cross_entropy", {xl, t, weighted ? wtensor : Tensor()},
                                       {{"reduction", red}, {"ignore_index", ignore}, {"label_smoothing", ls}});
                CHECK(out.dtype() == dt);
                CHECK(out.shape() == (std::string(red) == "none" ? target_shape(xs) : Shape{}));
                check_values(out, expected, rtol_for(dt), atol_for(dt));
              }
            }
      }
    }
}

TEST_CASE("cross_entropy with class probabilities matches PyTorch's definition", "[nn][loss]") {
  uint64_t seed = 200;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Shape& xs : class_shapes()) {
      const ClassLayout L(xs);
      const Tensor x = random_tensor(xs, dt, seed++, -4.0, 4.0);
      const std::vector<double> qv = random_probabilities(L, seed++);
      const Tensor q = from_values(qv, xs, dt);
      const Tensor wtensor = random_tensor({L.C}, dt, seed++, 0.1, 2.0);
      for (double ls : {0.0, 0.3})
        for (bool weighted : {false, true})
          for (const char* red : {"none", "mean", "sum"}) {
            INFO("cross_entropy " << x.describe() << " weighted " << weighted << " reduction " << red << " smoothing " << ls);
            const Weights w = weighted ? Weights(values(wtensor)) : std::nullopt;
            const auto expected = cross_entropy_prob_ref(values(x), L, values(q), w, red, ls);
            for (const Tensor& ql : operand_layouts(q)) {
              Tensor out = call_loss("cross_entropy", {transposed_copy(x), ql, weighted ? wtensor : Tensor()},
                                     {{"reduction", red}, {"label_smoothing", ls}});
              CHECK(out.dtype() == dt);
              Shape none = xs;
              none.erase(none.begin() + (xs.size() == 1 ? 0 : 1));
              CHECK(out.shape() == (std::string(red) == "none" ? none : Shape{}));
              check_values(out, expected, rtol_for(dt), atol_for(dt));
            }
          }
    }
  // float32 logits with float64 probabilities compute in float64, as PyTorch's type promotion does.
  Tensor x = random_tensor({3, 4}, DType::Float32, 7);
  Tensor q = from_values(random_probabilities(ClassLayout({3, 4}), 8), {3, 4}, DType::Float64);
  Tensor out = call_loss("cross_entropy", {x, q});
  CHECK(out.dtype() == DType::Float64);
  check_values(out, cross_entropy_prob_ref(values(x), ClassLayout({3, 4}), values(q), std::nullopt, "mean", 0), 1e-12, 1e-12);
}

TEST_CASE("fused cross_entropy equals log_softmax followed by nll_loss", "[nn][loss]") {
  uint64_t seed = 300;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Shape& xs : std::vector<Shape>{{6}, {64, 10}, {4, 7, 5, 3}}) {
      const ClassLayout L(xs);
      const Tensor x = random_tensor(xs, dt, seed++, -5.0, 5.0);
      const Tensor t = index_tensor(random_targets(L, -100, seed++), target_shape(xs));
      const Tensor w = random_tensor({L.C}, dt, seed++, 0.1, 2.0);
      const Tensor logp = call1("log_softmax", {x}, {{"dim", xs.size() == 1 ? 0 : 1}});
      for (const char* red : {"none", "mean", "sum"}) {
        INFO(x.describe() << " " << red);
        check_values(call_loss("cross_entropy", {x, t, w}, {{"reduction", red}}),
                     values(call_loss("nll_loss", {logp, t, w}, {{"reduction", red}})), rtol_for(dt) * 4, atol_for(dt) * 4);
      }
    }
}

TEST_CASE("class losses match PyTorch 1.13 fixtures", "[nn][loss]") {
  // x, t = [1, -100, 3], w and q below; F.cross_entropy(..., label_smoothing=0.3 / 0.2) in float64.
  const std::vector<double> xv = {0.5, -1.25, 2.0, 0.75, 3.0, 0.0, -0.75, 1.5, -2.0, 1.0, 0.25, -0.5};
  const Tensor x = from_values(xv, {3, 4}), t = index_tensor({1, -100, 3}, {3});
  const Tensor w = from_values({0.5, 1.0, 2.0, 1.5}, {4});
  const auto ce = [&](const Tensor& target, const Tensor& weight, const char* red, double ls) {
    return call_loss("cross_entropy", {x, target, weight}, {{"reduction", red}, {"label_smoothing", ls}});
  };
  check_values(ce(t, w, "none", 0.3), {3.18564516301, 0, 2.76235696411}, 1e-10, 1e-10);
  check_values(ce(t, w, "mean", 0.3), {2.37920085085}, 1e-10, 1e-10);
  check_values(ce(t, w, "sum", 0.3), {5.94800212712}, 1e-10, 1e-10);
  check_values(ce(t, Tensor(), "none", 0.3), {3.16222805861, 0, 2.00066716779}, 1e-10, 1e-10);
  check_values(ce(t, Tensor(), "mean", 0.3), {2.5814476132}, 1e-10, 1e-10);
  const Tensor q = from_values({0.1, 0.2, 0.3, 0.4, 0.7, 0.1, 0.1, 0.1, 0.25, 0.25, 0.25, 0.25}, {3, 4});
  check_values(ce(q, w, "none", 0.2), {2.09024156265, 1.88856017129, 2.00864645974}, 1e-10, 1e-10);
  check_values(ce(q, w, "mean", 0.2), {1.99581606456}, 1e-10, 1e-10);
  check_values(ce(q, w, "sum", 0.2), {5.98744819368}, 1e-10, 1e-10);
  check_values(call_loss("nll_loss", {x, index_tensor({1, 2, 3}, {3}), w}), {0.777777777778}, 1e-10, 1e-10);
}

TEST_CASE("class losses: empty inputs, all targets ignored, negative smoothing", "[nn][loss]") {
  for (const char* op : {"nll_loss", "cross_entropy"}) {
    const Tensor x = Tensor::empty({0, 4}, DType::Float32), t = index_tensor({}, {0});
    check_values(call_loss(op, {x, t}), {kNaN}, 0, 0);
    check_values(call_loss(op, {x, t}, {{"reduction", "sum"}}), {0.0}, 0, 0);
    CHECK(call_loss(op, {x, t}, {{"reduction", "none"}}).shape() == Shape{0});
    const Tensor y = random_tensor({3, 4}, DType::Float64, 9), ignored = index_tensor({-100, -100, -100}, {3});
    check_values(call_loss(op, {y, ignored}), {kNaN}, 0, 0);
    check_values(call_loss(op, {y, ignored}, {{"reduction", "sum"}}), {0.0}, 0, 0);
    check_values(call_loss(op, {y, ignored}, {{"reduction", "none"}}), {0, 0, 0}, 0, 0);
  }
  // Zero weight on every target class: 0 / 0 as in PyTorch.
  const Tensor y = random_tensor({3, 4}, DType::Float64, 10);
  check_values(call_loss("nll_loss", {y, index_tensor({1, 2, 0}, {3}), from_values({0, 0, 0, 0}, {4})}), {kNaN}, 0, 0);
  // A negative label_smoothing is ignored, as in PyTorch.
  const Tensor t = index_tensor({1, 2, 0}, {3});
  check_values(call_loss("cross_entropy", {y, t}, {{"label_smoothing", -0.5}}), values(call_loss("cross_entropy", {y, t})), 0, 0);
  // Class probabilities over an empty input: the mean is NaN.
  const Tensor e = Tensor::empty({0, 4}, DType::Float32);
  check_values(call_loss("cross_entropy", {e, e}), {kNaN}, 0, 0);
  check_values(call_loss("cross_entropy", {e, e, from_values({1, 1, 1, 1}, {4}, DType::Float32)}), {kNaN}, 0, 0);
}

TEST_CASE("class loss errors name the op and the inputs", "[nn][loss]") {
  const Tensor x = random_tensor({3, 4}, DType::Float32, 1);
  const Tensor t = index_tensor({1, 2, 0}, {3});
  for (const char* op : {"nll_loss", "cross_entropy"}) {
    require_error([&] { call_loss(op, {x, random_tensor({3}, DType::Float32, 2)}); }, ErrorKind::Runtime,
                  {op, "expected scalar type int64 but found float32", "float32[3, 4]", "float32[3]"});
    require_error([&] { call_loss(op, {x, index_tensor({1, 2}, {2})}); }, ErrorKind::Value,
                  {op, "Expected input batch_size (3) to match target batch_size (2).", "float32[3, 4]", "int64[2]"});
    require_error([&] { call_loss(op, {x, index_tensor({1, 5, 0}, {3})}); }, ErrorKind::Index,
                  {op, "Target 5 is out of bounds.", "float32[3, 4]", "int64[3]"});
    require_error([&] { call_loss(op, {x, index_tensor({1, -1, 0}, {3})}); }, ErrorKind::Index, {op, "Target -1 is out of bounds."});
    require_error([&] { call_loss(op, {x, t, random_tensor({3}, DType::Float32, 3)}); }, ErrorKind::Runtime,
                  {op, "weight tensor should be defined either for all 4 classes or no classes but got weight tensor of shape: [3]",
                   "float32[3, 4], int64[3], float32[3]"});
    require_error([&] { call_loss(op, {x, t, random_tensor({4}, DType::Float64, 3)}); }, ErrorKind::Runtime,
                  {op, "expected scalar type float32 but found float64"});
    require_error([&] { call_loss(op, {from_values({1}, {}, DType::Float32), index_tensor({1}, {1})}); }, ErrorKind::Value,
                  {op, "Expected 1 or more dimensions (got 0)", "float32[]"});
    require_error([&] { call_loss(op, {x, index_tensor({1, 2, 0, 1, 1, 1}, {3, 2})}); }, ErrorKind::Runtime,
                  {op, "0D or 1D target tensor expected, multi-target not supported", "int64[3, 2]"});
    require_error([&] { call_loss(op, {random_tensor({4}, DType::Float32, 4), index_tensor({1}, {1})}); }, ErrorKind::Runtime,
                  {op, "size mismatch (got input: [4], target: [1])"});
    require_error([&] { call_loss(op, {random_tensor({2, 4, 3}, DType::Float32, 5), index_tensor({1, 1, 1, 1}, {2, 2})}); },
                  ErrorKind::Runtime, {op, "Expected target size [2, 3], got [2, 2]", "float32[2, 4, 3]", "int64[2, 2]"});
    require_error([&] { call_loss(op, {random_tensor({3, 4}, DType::Int32, 6, -3, 3), t}); }, ErrorKind::Runtime,
                  {op, "not implemented for 'int32'", "int32[3, 4]"});
    require_error([&] { call_loss(op, {x, t}, {{"reduction", "foo"}}); }, ErrorKind::Value,
                  {op, "foo is not a valid value for reduction", "float32[3, 4]"});
  }
  require_error([&] { call_loss("cross_entropy", {x, t}, {{"label_smoothing", 1.5}}); }, ErrorKind::Runtime,
                {"cross_entropy", "label_smoothing must be between 0.0 and 1.0. Got: 1.5", "float32[3, 4]"});
  const Tensor q = random_tensor({3, 4}, DType::Float32, 7, 0.0, 1.0);
  require_error([&] { call_loss("cross_entropy", {x, q}, {{"label_smoothing", 1.5}}); }, ErrorKind::Runtime,
                {"cross_entropy", "label_smoothing must be between 0.0 and 1.0. Got: 1.5"});
  require_error([&] { call_loss("cross_entropy", {x, random_tensor({3, 4}, DType::Int64, 8, 0, 3)}); }, ErrorKind::Runtime,
                {"cross_entropy", "Expected floating point type for target with class probabilities, got int64", "int64[3, 4]"});
  require_error([&] { call_loss("cross_entropy", {x, q}, {{"ignore_index", 1}}); }, ErrorKind::Runtime,
                {"cross_entropy", "ignore_index is not supported for floating point target"});
  require_error([&] { call_loss("cross_entropy", {x, q, random_tensor({3}, DType::Float32, 9)}); }, ErrorKind::Runtime,
                {"cross_entropy", "cross_entropy: weight tensor should be defined either for all 4 classes or no classes"});
  require_error([&] { call_loss("cross_entropy", {x, index_tensor({1, 7, 2}, {3})}, {{"label_smoothing", 0.2}}); },
                ErrorKind::Index, {"cross_entropy", "Target 7 is out of bounds."});
}
