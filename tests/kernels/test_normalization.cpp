// Normalization ops against naive float64 two-pass references: every output, saved statistic and
// updated running statistic, for float32 and float64, with and without weight and bias, strided
// inputs and parameters, empty batches and size-1 dims; and each shape, dtype and argument error
// with PyTorch's wording, the op's name and the inputs' shapes.
#include <limits>

#include "helpers.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("layer_norm", "batch_norm", "group_norm");

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// Outputs of a normalization op: the normalized values and two statistics.
struct Ref {
  std::vector<double> y, mean, rstd;
};

// Mean and biased variance of x[idx(0)], ..., x[idx(n - 1)], by two passes.
template <class Index>
std::pair<double, double> ref_moments(const std::vector<double>& x, int64_t n, Index idx) {
  double s = 0, q = 0;
  for (int64_t i = 0; i < n; ++i) s += x[idx(i)];
  const double mean = s / n;
  for (int64_t i = 0; i < n; ++i) q += (x[idx(i)] - mean) * (x[idx(i)] - mean);
  return {mean, q / n};
}

// w[i] or 1 when absent; b[i] or 0.
double at_or(const std::vector<double>& v, int64_t i, double absent) { return v.empty() ? absent : v[i]; }

Ref ref_layer_norm(const std::vector<double>& x, int64_t rows, int64_t cols, const std::vector<double>& w,
                   const std::vector<double>& b, double eps) {
  Ref r{std::vector<double>(x.size()), std::vector<double>(rows), std::vector<double>(rows)};
  for (int64_t i = 0; i < rows; ++i) {
    auto [mean, var] = ref_moments(x, cols, [&](int64_t k) { return i * cols + k; });
    r.mean[i] = cols ? mean : 0.0;  // PyTorch: an empty row has mean 0 and rstd NaN
    r.rstd[i] = cols ? 1 / std::sqrt(var + eps) : kNaN;
    for (int64_t k = 0; k < cols; ++k)
      r.y[i * cols + k] = (x[i * cols + k] - mean) * r.rstd[i] * at_or(w, k, 1) + at_or(b, k, 0);
  }
  return r;
}

Ref ref_group_norm(const std::vector<double>& x, int64_t n, int64_t c, int64_t hw, int64_t groups,
                   const std::vector<double>& w, const std::vector<double>& b, double eps) {
  Ref r{std::vector<double>(x.size()), std::vector<double>(n * groups), std::vector<double>(n * groups)};
  const int64_t per = c / groups;
  for (int64_t s = 0; s < n; ++s)
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t base = (s * c + g * per) * hw;
      auto [mean, var] = ref_moments(x, per * hw, [&](int64_t k) { return base + k; });
      const int64_t o = s * groups + g;
      r.mean[o] = per * hw != 0 ? mean : 0.0;
      r.rstd[o] = per * hw != 0 ? 1 / std::sqrt(var + eps) : kNaN;
      for (int64_t k = 0; k < per * hw; ++k) {
        const int64_t ch = g * per + k / hw;
        r.y[base + k] = (x[base + k] - mean) * r.rstd[o] * at_or(w, ch, 1) + at_or(b, ch, 0);
      }
    }
  return r;
}

struct BatchNormRef {
  Ref out;
  std::vector<double> running_mean, running_var;  // after the call
};

BatchNormRef ref_batch_norm(const std::vector<double>& x, int64_t n, int64_t c, int64_t hw,
                            const std::vector<double>& w, const std::vector<double>& b, std::vector<double> rm,
                            std::vector<double> rv, bool training, double momentum, double eps) {
  BatchNormRef r;
  r.out.y.resize(x.size());
  const int64_t count = n * hw;
  for (int64_t ch = 0; ch < c; ++ch) {
    auto idx = [&](int64_t k) { return ((k / hw) * c + ch) * hw + k % hw; };
    double mean, invstd;
    if (training) {
      auto [m, var] = ref_moments(x, count, idx);
      mean = count ? m : 0.0;
      invstd = count ? 1 / std::sqrt(var + eps) : kNaN;
      r.out.mean.push_back(mean);
      r.out.rstd.push_back(invstd);
      if (count > 0) {
        if (!rm.empty()) rm[ch] = (1 - momentum) * rm[ch] + momentum * mean;
        if (!rv.empty()) rv[ch] = (1 - momentum) * rv[ch] + momentum * var * count / (count - 1);
      }
    } else {
      mean = rm[ch];
      invstd = 1 / std::sqrt(rv[ch] + eps);
    }
    for (int64_t k = 0; k < count; ++k)
      r.out.y[idx(k)] = (x[idx(k)] - mean) * invstd * at_or(w, ch, 1) + at_or(b, ch, 0);
  }
  r.running_mean = rm;
  r.running_var = rv;
  return r;
}

// Tolerances against the float64 reference (computed from the same, already rounded, inputs).
double tol(DType dt) { return dt == DType::Float32 ? 2e-5 : 1e-11; }

// An optional parameter: absent, or random non-zero values (strided when asked).
Tensor param(bool present, const Shape& shape, DType dt, uint64_t seed, bool strided, double lo = -2, double hi = 2) {
  if (!present) return Tensor();
  Tensor t = random_tensor(shape, dt, seed, lo, hi);
  return strided ? strided_copy(t) : t;
}
std::vector<double> values_or_empty(const Tensor& t) { return t.defined() ? values(t) : std::vector<double>{}; }

// The input as given, or the same values in a transposed or strided layout.
Tensor layout(const Tensor& t, int variant) {
  if (variant == 0) return t;
  return variant == 1 ? transposed_copy(t) : strided_copy(t);
}

void check_outputs(const std::vector<Tensor>& got, const Ref& want, const Shape& stat_shape, DType dt) {
  REQUIRE(got.size() == 3);
  for (const Tensor& t : got) CHECK(t.dtype() == dt);
  CHECK(got[1].shape() == stat_shape);
  CHECK(got[2].shape() == stat_shape);
  check_values(got[0], want.y, tol(dt), tol(dt));
  check_values(got[1], want.mean, tol(dt), tol(dt));
  check_values(got[2], want.rstd, tol(dt), tol(dt));
}

}  // namespace

TEST_CASE("layer_norm matches a float64 reference", "[norm]") {
  struct Case {
    Shape shape, normalized;
  };
  const std::vector<Case> cases = {{{4, 7}, {7}},       {{2, 3, 5}, {3, 5}}, {{3, 43}, {43}}, {{5}, {5}},
                                   {{2, 1, 9}, {1, 9}}, {{1, 1}, {1}},       {{0, 5}, {5}},   {{3, 0}, {0}},
                                   {{64, 1024}, {1024}}};  // the last is big enough to use both threads
  uint64_t seed = 1;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Case& k : cases)
      for (int params = 0; params < 4; ++params)
        for (int variant = 0; variant < 3; ++variant) {
          const bool has_w = params & 1, has_b = params & 2;
          INFO(dtype_name(dt) << shape_str(k.shape) << " normalized " << shape_str(k.normalized) << " weight "
                              << has_w << " bias " << has_b << " layout " << variant);
          Tensor x = random_tensor(k.shape, dt, seed++);
          Tensor w = param(has_w, k.normalized, dt, seed++, variant == 2);
          Tensor b = param(has_b, k.normalized, dt, seed++, variant == 2);
          const double eps = variant == 1 ? 1e-3 : 1e-5;
          const int64_t cols = shape_numel(k.normalized);
          const int64_t rows = cols ? shape_numel(k.shape) / cols : k.shape[0];
          Ref want = ref_layer_norm(values(x), rows, cols, values_or_empty(w), values_or_empty(b), eps);
          auto got = call("layer_norm", {layout(x, variant), w, b}, {{"normalized_shape", k.normalized}, {"eps", eps}});
          Shape stat_shape(k.shape.begin(), k.shape.end() - k.normalized.size());
          stat_shape.resize(k.shape.size(), 1);
          CHECK(got[0].shape() == k.shape);
          check_outputs(got, want, stat_shape, dt);
        }
}

TEST_CASE("layer_norm and group_norm keep their precision for a large mean", "[norm]") {
  // Plain sum / sum-of-squares statistics would lose every digit of the variance here.
  for (DType dt : {DType::Float32, DType::Float64}) {
    INFO(dtype_name(dt));
    const double center = dt == DType::Float32 ? 1e3 : 1e8;
    Tensor x = random_tensor({6, 200}, dt, 77, center - 1, center + 1);
    auto vx = values(x);
    Ref want = ref_layer_norm(vx, 6, 200, {}, {}, 1e-5);
    auto got = call("layer_norm", {x, Tensor(), Tensor()}, {{"normalized_shape", {200}}});
    // The float32 output is only as good as the float32 mean it subtracts (1e3 * 2^-24 ~ 6e-5).
    const double t = dt == DType::Float32 ? 3e-4 : 1e-7;
    check_values(got[0], want.y, t, t);
    check_values(got[1], want.mean, tol(dt), tol(dt));
    check_values(got[2], want.rstd, t, t);
    Ref gwant = ref_group_norm(vx, 6, 4, 50, 2, {}, {}, 1e-5);
    auto ggot = call("group_norm", {call1("view", {x}, {{"size", {6, 4, 50}}}), Tensor(), Tensor()}, {{"num_groups", 2}});
    check_values(ggot[0], gwant.y, t, t);
    check_values(ggot[2], gwant.rstd, t, t);
  }
}

TEST_CASE("a NaN poisons its own row's statistics and outputs only", "[norm]") {
  for (DType dt : {DType::Float32, DType::Float64}) {
    INFO(dtype_name(dt));
    std::vector<double> v = values(random_tensor({3, 70}, dt, 88));
    v[70 + 33] = kNaN;
    Tensor x = from_values(v, {3, 70}, dt);
    auto got = call("layer_norm", {x, Tensor(), Tensor()}, {{"normalized_shape", {70}}});
    Ref want = ref_layer_norm(v, 3, 70, {}, {}, 1e-5);
    for (int64_t k = 0; k < 70; ++k) want.y[70 + k] = kNaN;
    want.mean[1] = want.rstd[1] = kNaN;
    check_values(got[0], want.y, tol(dt), tol(dt));
    check_values(got[1], want.mean, tol(dt), tol(dt));
    check_values(got[2], want.rstd, tol(dt), tol(dt));
  }
}

TEST_CASE("group_norm matches a float64 reference", "[norm]") {
  struct Case {
    Shape shape;
    int64_t groups;
  };
  const std::vector<Case> cases = {{{2, 6, 4}, 2},    {{2, 6, 4}, 3},     {{2, 6, 4}, 6}, {{2, 6, 4}, 1},
                                   {{3, 4}, 2},       {{2, 4, 3, 3}, 4},  {{1, 1, 1}, 1}, {{0, 6, 4}, 3},
                                   {{2, 4, 0}, 2},    {{2, 8, 5, 7}, 2},  {{4, 32, 300}, 8}};
  uint64_t seed = 1000;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Case& k : cases)
      for (int params = 0; params < 4; ++params)
        for (int variant = 0; variant < 3; ++variant) {
          const bool has_w = params & 1, has_b = params & 2;
          INFO(dtype_name(dt) << shape_str(k.shape) << " groups " << k.groups << " weight " << has_w << " bias "
                              << has_b << " layout " << variant);
          const int64_t n = k.shape[0], c = k.shape[1];
          int64_t hw = 1;
          for (size_t d = 2; d < k.shape.size(); ++d) hw *= k.shape[d];
          Tensor x = random_tensor(k.shape, dt, seed++);
          Tensor w = param(has_w, {c}, dt, seed++, variant == 2);
          Tensor b = param(has_b, {c}, dt, seed++, variant == 2);
          Ref want = ref_group_norm(values(x), n, c, hw, k.groups, values_or_empty(w), values_or_empty(b), 1e-5);
          auto got = call("group_norm", {layout(x, variant), w, b}, {{"num_groups", k.groups}});
          CHECK(got[0].shape() == k.shape);
          check_outputs(got, want, {n, k.groups}, dt);
        }
}

TEST_CASE("batch_norm matches a float64 reference in training and eval mode", "[norm]") {
  // (N, C), short (N, C, L) and long (N, C, H, W) channels take different loops; the large cases
  // split work over both threads.
  const std::vector<Shape> shapes = {{6, 4},   {5, 3, 7},    {3, 4, 5, 6}, {2, 3, 20}, {1, 3, 4},
                                     {2, 1},   {4, 1, 1, 1}, {0, 3, 5},    {0, 2},     {512, 96},
                                     {8, 16, 32, 16}};
  uint64_t seed = 2000;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Shape& shape : shapes)
      for (bool training : {true, false})
        for (int params = 0; params < 8; ++params)
          for (int variant = 0; variant < 3; ++variant) {
            const bool has_w = params & 1, has_b = params & 2;
            const bool has_running = !training || (params & 4);
            if (!training && (params & 4)) continue;  // eval always has running stats
            INFO(dtype_name(dt) << shape_str(shape) << " training " << training << " weight " << has_w << " bias "
                                << has_b << " running " << has_running << " layout " << variant);
            const int64_t n = shape[0], c = shape[1];
            int64_t hw = 1;
            for (size_t d = 2; d < shape.size(); ++d) hw *= shape[d];
            Tensor x = random_tensor(shape, dt, seed++);
            Tensor w = param(has_w, {c}, dt, seed++, variant == 2);
            Tensor b = param(has_b, {c}, dt, seed++, variant == 2);
            Tensor rm = param(has_running, {c}, dt, seed++, variant == 2);
            Tensor rv = param(has_running, {c}, dt, seed++, variant == 2, 0.5, 2);
            const double momentum = variant == 1 ? 0.3 : 0.1, eps = 1e-5;
            BatchNormRef want = ref_batch_norm(values(x), n, c, hw, values_or_empty(w), values_or_empty(b),
                                               values_or_empty(rm), values_or_empty(rv), training, momentum, eps);
            const uint32_t version = has_running ? rm.version() : 0;
            auto got = call("batch_norm", {layout(x, variant), w, b, rm, rv},
                            {{"training", training}, {"momentum", momentum}, {"eps", eps}});
            CHECK(got[0].shape() == shape);
            check_outputs(got, want.out, {training ? c : 0}, dt);
            if (has_running) {
              check_values(rm, want.running_mean, tol(dt), tol(dt));
              check_values(rv, want.running_var, tol(dt), tol(dt));
              CHECK(rm.version() == version + (training && n > 0 ? 1 : 0));
            }
          }
}

TEST_CASE("normalization ops reject bad shapes, dtypes and arguments", "[norm][errors]") {
  Tensor x = random_tensor({2, 3}, DType::Float32, 1);
  Tensor w4 = random_tensor({4}, DType::Float32, 2);
  Tensor w3 = random_tensor({3}, DType::Float32, 3);
  Tensor xi = random_tensor({2, 3}, DType::Int64, 4, -5, 5);
  const Tensor none;
  auto ln = [&](const Tensor& in, const Tensor& w, const Tensor& b, std::vector<int64_t> ns) {
    return call("layer_norm", {in, w, b}, {{"normalized_shape", ns}});
  };
  require_error([&] { ln(x, none, none, {4}); }, ErrorKind::Runtime,
                {"layer_norm", "float32[2, 3]",
                 "Given normalized_shape=[4], expected input with shape [*, 4], but got input of size[2, 3]"});
  require_error([&] { ln(x, none, none, {2, 3, 4}); }, ErrorKind::Runtime,
                {"layer_norm", "float32[2, 3]", "expected input with shape [*, 2, 3, 4]"});
  require_error([&] { ln(x, none, none, {}); }, ErrorKind::Runtime,
                {"layer_norm", "float32[2, 3]", "Expected normalized_shape to be at least 1-dimensional"});
  require_error([&] { ln(x, w4, none, {3}); }, ErrorKind::Runtime,
                {"layer_norm", "float32[2, 3], float32[4]",
                 "Expected weight to be of same shape as normalized_shape, but got weight of shape [4] and "
                 "normalized_shape = [3]"});
  require_error([&] { ln(x, w3, w4, {3}); }, ErrorKind::Runtime,
                {"layer_norm", "float32[2, 3], float32[3], float32[4]", "bias of shape [4]"});
  require_error([&] { ln(xi, none, none, {3}); }, ErrorKind::Runtime,
                {"layer_norm", "int64[2, 3]", "\"layer_norm\" not implemented for 'int64'"});
  require_error([&] { ln(x, random_tensor({3}, DType::Float64, 5), none, {3}); }, ErrorKind::Runtime,
                {"layer_norm", "float64[3]", "expected scalar type float32 but found float64"});

  auto bn = [&](const Tensor& in, const Tensor& w, const Tensor& rm, const Tensor& rv, bool training) {
    return call("batch_norm", {in, w, none, rm, rv}, {{"training", training}, {"momentum", 0.1}, {"eps", 1e-5}});
  };
  require_error([&] { bn(x, w4, none, none, true); }, ErrorKind::Runtime,
                {"batch_norm", "float32[2, 3], float32[4]", "weight should contain 3 elements not 4"});
  require_error([&] { bn(x, none, w4, w3, true); }, ErrorKind::Runtime,
                {"batch_norm", "float32[2, 3]", "running_mean should contain 3 elements not 4"});
  require_error([&] { bn(x, none, w3, w4, false); }, ErrorKind::Runtime,
                {"batch_norm", "running_var should contain 3 elements not 4"});
  require_error([&] { bn(x, none, none, none, false); }, ErrorKind::Runtime,
                {"batch_norm", "float32[2, 3]", "running_mean must be defined in evaluation mode"});
  require_error([&] { bn(random_tensor({1, 3}, DType::Float32, 6), none, none, none, true); }, ErrorKind::Value,
                {"batch_norm", "float32[1, 3]", "Expected more than 1 value per channel when training, got input size [1, 3]"});
  require_error([&] { bn(random_tensor({3}, DType::Float32, 7), none, none, none, true); }, ErrorKind::Index,
                {"batch_norm", "float32[3]", "Dimension out of range"});
  require_error([&] { bn(xi, none, none, none, true); }, ErrorKind::Runtime,
                {"batch_norm", "int64[2, 3]", "\"batch_norm\" not implemented for 'int64'"});
  require_error([&] { bn(x, none, w3, random_tensor({3}, DType::Float64, 8, 0.5, 1), false); }, ErrorKind::Runtime,
                {"batch_norm", "float64[3]", "expected scalar type float32 but found float64"});

  Tensor x3 = random_tensor({2, 6, 4}, DType::Float32, 9);
  auto gn = [&](const Tensor& in, int64_t groups, const Tensor& w, const Tensor& b) {
    return call("group_norm", {in, w, b}, {{"num_groups", groups}});
  };
  require_error([&] { gn(x3, 4, none, none); }, ErrorKind::Runtime,
                {"group_norm", "float32[2, 6, 4]",
                 "Expected number of channels in input to be divisible by num_groups, but got input of shape [2, 6, "
                 "4] and num_groups=4"});
  require_error([&] { gn(x3, 0, none, none); }, ErrorKind::Runtime,
                {"group_norm", "Expected num groups to be greater than 0, got 0"});
  require_error([&] { gn(x3, 2, w4, none); }, ErrorKind::Runtime,
                {"group_norm", "float32[2, 6, 4], float32[4]",
                 "Expected weight to be a vector of size equal to the number of channels in input, but got weight of "
                 "shape [4] and input of shape [2, 6, 4]"});
  require_error([&] { gn(x3, 2, none, random_tensor({1, 6}, DType::Float32, 10)); }, ErrorKind::Runtime,
                {"group_norm", "bias of shape [1, 6] and input of shape [2, 6, 4]"});
  require_error([&] { gn(random_tensor({6}, DType::Float32, 11), 2, none, none); }, ErrorKind::Index,
                {"group_norm", "float32[6]", "Dimension out of range"});
  require_error([&] { gn(random_tensor({2, 6, 4}, DType::Int32, 12, -5, 5), 2, none, none); }, ErrorKind::Runtime,
                {"group_norm", "int32[2, 6, 4]", "\"group_norm\" not implemented for 'int32'"});
}
