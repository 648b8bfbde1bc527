// layer_norm_backward, batch_norm_backward (training and eval) and group_norm_backward against
// naive float64 references (two-pass statistics, then the textbook gradient): grad_input,
// grad_weight and grad_bias for float32 and float64, with and without weight, strided operands,
// shapes that take each loop (rows, runs, by-rows channels) and split over threads, empty
// batches; and the shape errors.
#include <optional>

#include "helpers.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("layer_norm_backward", "batch_norm_backward", "group_norm_backward");

namespace {

struct Grads {
  std::vector<double> dx, dw, db;
};

// One normalized set: the elements `idx` of x, their weights w(i), and statistics (the set's own
// when `mean` is empty). Adds the set's terms into r; p(i) is the parameter index of element i.
template <class Param, class Weight>
void ref_set(const std::vector<double>& x, const std::vector<double>& g, const std::vector<int64_t>& idx,
             std::optional<std::pair<double, double>> stats, double eps, const Param& p, const Weight& w, Grads& r) {
  const double n = static_cast<double>(idx.size());
  double mean, rstd;
  if (stats) {
    mean = stats->first;
    rstd = 1 / std::sqrt(stats->second + eps);
  } else {
    double s = 0, q = 0;
    for (int64_t i : idx) s += x[i];
    mean = s / n;
    for (int64_t i : idx) q += (x[i] - mean) * (x[i] - mean);
    rstd = 1 / std::sqrt(q / n + eps);
  }
  double mean_gw = 0, mean_gwx = 0;
  for (int64_t i : idx) {
    mean_gw += g[i] * w(i) / n;
    mean_gwx += g[i] * w(i) * (x[i] - mean) * rstd / n;
  }
  for (int64_t i : idx) {
    const double xhat = (x[i] - mean) * rstd;
    r.dx[i] = stats ? rstd * g[i] * w(i) : rstd * (g[i] * w(i) - mean_gw - xhat * mean_gwx);
    r.dw[p(i)] += g[i] * xhat;
    r.db[p(i)] += g[i];
  }
}

std::vector<double> or_ones(const Tensor& w, int64_t n) { return w.defined() ? values(w) : std::vector<double>(n, 1.0); }

Grads ref_layer_norm(const std::vector<double>& x, const std::vector<double>& g, int64_t cols, const Tensor& weight,
                     double eps) {
  Grads r{std::vector<double>(x.size()), std::vector<double>(cols), std::vector<double>(cols)};
  const std::vector<double> w = or_ones(weight, cols);
  const int64_t rows = cols ? static_cast<int64_t>(x.size()) / cols : 0;
  for (int64_t row = 0; row < rows; ++row) {
    std::vector<int64_t> idx(cols);
    for (int64_t k = 0; k < cols; ++k) idx[k] = row * cols + k;
    ref_set(x, g, idx, std::nullopt, eps, [&](int64_t i) { return i % cols; }, [&](int64_t i) { return w[i % cols]; }, r);
  }
  return r;
}

Grads ref_group_norm(const std::vector<double>& x, const std::vector<double>& g, const Shape& s, int64_t groups,
                     const Tensor& weight, double eps) {
  const int64_t n = s[0], c = s[1], hw = shape_numel(s) / std::max<int64_t>(n * c, 1), per = c / groups;
  Grads r{std::vector<double>(x.size()), std::vector<double>(c), std::vector<double>(c)};
  const std::vector<double> w = or_ones(weight, c);
  auto channel = [&](int64_t i) { return (i / hw) % c; };
  for (int64_t b = 0; b < n * groups; ++b) {
    std::vector<int64_t> idx(per * hw);
    for (int64_t k = 0; k < per * hw; ++k) idx[k] = b * per * hw + k;
    ref_set(x, g, idx, std::nullopt, eps, channel, [&](int64_t i) { return w[channel(i)]; }, r);
  }
  return r;
}

Grads ref_batch_norm(const std::vector<double>& x, const std::vector<double>& g, const Shape& s, const Tensor& weight,
                     const Tensor& rm, const Tensor& rv, bool training, double eps) {
  const int64_t n = s[0], c = s[1], hw = shape_numel(s) / std::max<int64_t>(n * c, 1);
  Grads r{std::vector<double>(x.size()), std::vector<double>(c), std::vector<double>(c)};
  const std::vector<double> w = or_ones(weight, c);
  auto channel = [&](int64_t i) { return (i / hw) % c; };
  for (int64_t ch = 0; ch < c && n * hw > 0; ++ch) {
    std::vector<int64_t> idx;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < hw; ++k) idx.push_back((i * c + ch) * hw + k);
    std::optional<std::pair<double, double>> stats;
    if (!training) stats = {get(rm, ch), get(rv, ch)};
    ref_set(x, g, idx, stats, eps, channel, [&](int64_t i) { return w[channel(i)]; }, r);
  }
  return r;
}

// `scale`: for sets of one value, where rstd = 1 / sqrt(eps) multiplies float32 rounding (dx = 0
// comes out as a difference of two values of about rstd * g).
double tol(DType dt, double scale = 1) { return (dt == DType::Float32 ? 5e-5 : 1e-10) * scale; }

void check_grads(const std::vector<Tensor>& got, const Grads& want, const Shape& x_shape, const Shape& param_shape,
                 DType dt, double scale = 1) {
  REQUIRE(got.size() == 3);
  CHECK(got[0].shape() == x_shape);
  CHECK(got[1].shape() == param_shape);
  CHECK(got[2].shape() == param_shape);
  for (const Tensor& t : got) CHECK(t.dtype() == dt);
  check_values(got[0], want.dx, tol(dt), tol(dt, scale));
  check_values(got[1], want.dw, tol(dt), tol(dt));
  check_values(got[2], want.db, tol(dt), tol(dt));
}

Tensor layout(const Tensor& t, int variant) {
  if (variant == 0 || !t.defined() || t.dim() == 0) return t;
  return variant == 1 ? transposed_copy(t) : strided_copy(t);
}

}  // namespace

TEST_CASE("layer_norm_backward matches a float64 reference", "[norm][backward]") {
  struct Case {
    Shape input;
    std::vector<int64_t> normalized;
  };
  const Case cases[] = {{{3, 5}, {5}},     {{2, 3, 4}, {3, 4}}, {{300, 1024}, {1024}}, {{4, 1}, {1}},
                        {{0, 4}, {4}},     {{3, 0}, {0}},       {{7}, {7}},            {{40, 3, 77}, {77}}};
  uint64_t seed = 1;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Case& k : cases)
      for (bool has_w : {false, true})
        for (int variant = 0; variant < 3; ++variant) {
          INFO(dtype_name(dt) << shape_str(k.input) << " weight " << has_w << " layout " << variant);
          Tensor x = random_tensor(k.input, dt, seed++), g = random_tensor(k.input, dt, seed++);
          Tensor w = has_w ? random_tensor(Shape(k.normalized), dt, seed++) : Tensor();
          const int64_t cols = shape_numel(Shape(k.normalized));
          auto got = call("layer_norm_backward", {layout(g, variant), layout(x, variant), w},
                          {{"normalized_shape", k.normalized}, {"eps", 1e-5}});
          check_grads(got, ref_layer_norm(values(x), values(g), cols, w, 1e-5), k.input, Shape(k.normalized), dt,
                      cols == 1 ? 1 / std::sqrt(1e-5) : 1);
        }
}

TEST_CASE("group_norm_backward matches a float64 reference", "[norm][backward]") {
  struct Case {
    Shape input;
    int64_t groups;
  };
  const Case cases[] = {{{2, 4, 3}, 1}, {{2, 4, 3}, 2},   {{2, 4, 3}, 4},       {{2, 6, 5, 5}, 3},
                        {{3, 6}, 2},    {{0, 4, 3}, 2},   {{8, 32, 16, 16}, 8}, {{2, 4, 0}, 2}};
  uint64_t seed = 1000;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Case& k : cases)
      for (bool has_w : {false, true})
        for (int variant = 0; variant < 3; ++variant) {
          INFO(dtype_name(dt) << shape_str(k.input) << " groups " << k.groups << " weight " << has_w << " layout "
                              << variant);
          Tensor x = random_tensor(k.input, dt, seed++), g = random_tensor(k.input, dt, seed++);
          Tensor w = has_w ? random_tensor({k.input[1]}, dt, seed++) : Tensor();
          auto got = call("group_norm_backward", {layout(g, variant), layout(x, variant), layout(w, variant)},
                          {{"num_groups", k.groups}, {"eps", 1e-5}});
          check_grads(got, ref_group_norm(values(x), values(g), k.input, k.groups, w, 1e-5), k.input, {k.input[1]}, dt);
        }
}

TEST_CASE("batch_norm_backward matches a float64 reference in training and eval mode", "[norm][backward]") {
  const std::vector<Shape> shapes = {{6, 4},  {5, 3, 7},     {3, 4, 5, 6}, {2, 3, 20}, {1, 3, 4},
                                     {4, 1, 1, 1}, {0, 3, 5}, {512, 96},    {8, 16, 32, 16}};
  uint64_t seed = 2000;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Shape& shape : shapes)
      for (bool training : {true, false})
        for (bool has_w : {false, true})
          for (int variant = 0; variant < 3; ++variant) {
            INFO(dtype_name(dt) << shape_str(shape) << " training " << training << " weight " << has_w << " layout "
                                << variant);
            const int64_t c = shape[1];
            Tensor x = random_tensor(shape, dt, seed++), g = random_tensor(shape, dt, seed++);
            Tensor w = has_w ? random_tensor({c}, dt, seed++) : Tensor();
            Tensor rm = random_tensor({c}, dt, seed++), rv = random_tensor({c}, dt, seed++, 0.5, 2);
            auto got = call("batch_norm_backward",
                            {layout(g, variant), layout(x, variant), layout(w, variant), training ? Tensor() : rm,
                             training ? Tensor() : layout(rv, variant)},
                            {{"training", training}, {"eps", 1e-5}});
            check_grads(got, ref_batch_norm(values(x), values(g), shape, w, rm, rv, training, 1e-5), shape, {c}, dt);
          }
}

TEST_CASE("normalization backward ops check their operands", "[norm][backward][errors]") {
  Tensor x = random_tensor({2, 3}, DType::Float32, 1);
  Tensor g = random_tensor({3, 2}, DType::Float32, 2);
  require_error([&] { call("layer_norm_backward", {g, x}, {{"normalized_shape", {3}}}); }, ErrorKind::Runtime,
                {"layer_norm_backward", "grad_output of shape [3, 2] does not match input of shape [2, 3]"});
  require_error([&] { call("layer_norm_backward", {x, x}, {{"normalized_shape", {4}}}); }, ErrorKind::Runtime,
                {"layer_norm_backward", "Given normalized_shape=[4]"});
  require_error([&] { call("group_norm_backward", {x, x}, {{"num_groups", 2}}); }, ErrorKind::Runtime,
                {"group_norm_backward", "divisible by num_groups"});
  require_error([&] { call("batch_norm_backward", {x, x}, {{"training", false}, {"eps", 1e-5}}); }, ErrorKind::Runtime,
                {"batch_norm_backward", "running_mean must be defined in evaluation mode"});
  require_error([&] { call("batch_norm_backward", {x, x, random_tensor({4}, DType::Float32, 3)}, {{"training", true}, {"eps", 1e-5}}); },
                ErrorKind::Runtime, {"batch_norm_backward", "weight should contain 3 elements not 4"});
}
