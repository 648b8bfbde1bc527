// conv2d_backward_weight, the weight gradient of the convolutions, against the float64 sum it is
// defined by: batches split over threads or not, stride, padding, dilation, groups, 1x1 windows,
// grids shorter than the conv's output, unbatched, non-contiguous and empty operands, both sides
// of the padded-image path's bounds, float32 and float64; then its argument errors. Last, all
// three convolution kernels against themselves: several images per GEMM and any number of
// threads give what one image at a time gives.
#include "helpers.hpp"
#include "kernels/cpu/parallel.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("conv2d_backward_weight");

namespace {

// weight [o, c / groups, kh, kw]; input [n, c, h, w]; grad_output [n, o, gh, gw].
struct Case {
  int64_t n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups;
  int64_t gh = -1, gw = -1;  // the grid; -1: the conv's output size
};

int64_t conv_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) { return (in + 2 * p - d * (k - 1) - 1) / s + 1; }

// dw[o, ci, a, b] = sum over n, i, j of g[n, o, i, j] * x[n, c, i*sh - ph + a*dh, j*sw - pw + b*dw], c the
// input channel ci of o's group.
std::vector<double> reference(const std::vector<double>& g, const std::vector<double>& x, const Case& k, int64_t gh,
                              int64_t gw) {
  const int64_t cg = k.c / k.groups, og = k.o / k.groups;
  std::vector<double> dw;
  for (int64_t o = 0; o < k.o; ++o)
    for (int64_t ci = 0; ci < cg; ++ci)
      for (int64_t a = 0; a < k.kh; ++a)
        for (int64_t b = 0; b < k.kw; ++b) {
          double s = 0;
          const int64_t c = (o / og) * cg + ci;
          for (int64_t n = 0; n < k.n; ++n)
            for (int64_t i = 0; i < gh; ++i)
              for (int64_t j = 0; j < gw; ++j) {
                const int64_t ih = i * k.sh - k.ph + a * k.dh, iw = j * k.sw - k.pw + b * k.dw;
                if (ih < 0 || ih >= k.h || iw < 0 || iw >= k.w) continue;
                s += g[((n * k.o + o) * gh + i) * gw + j] * x[((n * k.c + c) * k.h + ih) * k.w + iw];
              }
          dw.push_back(s);
        }
  return dw;
}

enum class Layout { Dense, Strided, Unbatched };

void check(const Case& k, DType dt, Layout layout, uint64_t seed) {
  const int64_t gh = k.gh >= 0 ? k.gh : conv_out(k.h, k.kh, k.sh, k.ph, k.dh);
  const int64_t gw = k.gw >= 0 ? k.gw : conv_out(k.w, k.kw, k.sw, k.pw, k.dw);
  INFO("n=" << k.n << " c=" << k.c << " " << k.h << "x" << k.w << " o=" << k.o << " k=" << k.kh << "x" << k.kw
            << " s=" << k.sh << "," << k.sw << " p=" << k.ph << "," << k.pw << " d=" << k.dh << "," << k.dw
            << " groups=" << k.groups << " grid=" << gh << "x" << gw << " " << dtype_name(dt)
            << " layout=" << static_cast<int>(layout));
  Tensor g = random_tensor({k.n, k.o, gh, gw}, dt, seed), x = random_tensor({k.n, k.c, k.h, k.w}, dt, seed + 1);
  const auto expected = reference(values(g), values(x), k, gh, gw);
  if (layout == Layout::Strided) {
    g = strided_copy(g);
    x = transposed_copy(x);
  } else if (layout == Layout::Unbatched) {
    g = call1("select", {g}, {{"dim", 0}, {"index", 0}});
    x = call1("select", {x}, {{"dim", 0}, {"index", 0}});
  }
  Tensor dw = call1("conv2d_backward_weight", {g, x},
                    {{"weight_size", {k.o, k.c / k.groups, k.kh, k.kw}},
                     {"stride", {k.sh, k.sw}},
                     {"padding", {k.ph, k.pw}},
                     {"dilation", {k.dh, k.dw}},
                     {"groups", k.groups}});
  CHECK(dw.shape() == Shape{k.o, k.c / k.groups, k.kh, k.kw});
  CHECK(dw.dtype() == dt);
  const double terms = static_cast<double>(k.n * gh * gw + 1);
  check_values(dw, expected, dt == DType::Float32 ? 1e-5 : 1e-12, (dt == DType::Float32 ? 4e-6 : 1e-13) * terms);
}

}  // namespace

TEST_CASE("conv2d_backward_weight matches a direct float64 sum", "[conv]") {
  // n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups[, gh, gw]
  const std::vector<Case> cases = {
      {1, 3, 6, 5, 4, 3, 3, 1, 1, 0, 0, 1, 1, 1},           // one image: threaded GEMMs
      {3, 3, 6, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1},           // images split over threads
      {5, 2, 9, 8, 3, 2, 3, 2, 3, 1, 0, 1, 1, 1},           // unequal strides, rows left over
      {2, 3, 9, 10, 2, 3, 2, 1, 2, 2, 1, 2, 3, 1},          // dilation, padding > 1
      {4, 4, 6, 7, 6, 3, 2, 2, 1, 1, 1, 1, 1, 2},           // groups
      {3, 4, 5, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 4},           // depthwise
      {3, 5, 4, 4, 7, 1, 1, 1, 1, 0, 0, 1, 1, 1},           // 1x1: the image is the column matrix
      {2, 6, 4, 3, 4, 1, 1, 1, 1, 0, 0, 1, 1, 2},           // 1x1 with groups
      {2, 5, 7, 6, 3, 1, 1, 2, 2, 0, 0, 1, 1, 1},           // 1x1 strided
      {2, 2, 3, 3, 2, 5, 4, 1, 1, 2, 1, 1, 1, 1},           // kernel larger than the input
      {3, 3, 6, 5, 2, 3, 2, 1, 1, 0, 0, 2, 1, 1, 1, 3},     // grid shorter than the conv's output
      {2, 2, 7, 7, 4, 3, 3, 2, 2, 1, 1, 1, 1, 2, 3, 2},     // short grid, strided, groups
  };
  uint64_t seed = 100;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Case& k : cases) check(k, dt, Layout::Dense, seed += 2);
  for (DType dt : {DType::Float32, DType::Float64})
    for (size_t i : {1, 4, 6}) {
      check(cases[i], dt, Layout::Strided, seed += 2);
      Case one = cases[i];
      one.n = 1;
      check(one, dt, Layout::Unbatched, seed += 2);
    }
}

TEST_CASE("conv2d_backward_weight on both sides of the padded-image path", "[conv]") {
  // As in test_conv.cpp: grids at most 32 wide take the padded image (runs of 4 and 8 their
  // fixed-length copies), wider ones and strided 1x1 windows over large images the bounds checks.
  // n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups[, gh, gw]
  const std::vector<Case> cases = {
      {32, 16, 4, 4, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1},       // the digits CNN's conv2 (fewer outputs)
      {32, 1, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1},       // and its conv1
      {1, 3, 4, 4, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1},         // batch of one
      {3, 2, 8, 8, 3, 3, 3, 1, 1, 0, 0, 1, 1, 1},         // unpadded: runs of 6
      {2, 3, 7, 9, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1},         // stride 2, odd sizes
      {2, 2, 8, 8, 3, 3, 3, 1, 1, 2, 2, 2, 2, 1},         // dilation
      {2, 4, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2},         // groups
      {2, 3, 12, 11, 2, 1, 1, 3, 3, 0, 0, 1, 1, 1},       // 1x1 strided: no padded image
      {2, 2, 5, 32, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1},        // grid 32 wide, the widest padded
      {2, 2, 5, 33, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1},        // 33 wide: bounds-checked
      {1, 2, 40, 37, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1},       // a large image
      {3, 2, 8, 8, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 7, 4},   // a grid shorter than the conv's output: runs of 4
  };
  uint64_t seed = 400;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Case& k : cases) check(k, dt, Layout::Dense, seed += 2);
}

TEST_CASE("conv2d_backward_weight of empty operands is zero", "[conv]") {
  for (DType dt : {DType::Float32, DType::Float64}) {
    check({0, 3, 5, 5, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1}, dt, Layout::Dense, 300);  // no images
    check({2, 2, 0, 3, 3, 1, 1, 1, 1, 1, 0, 1, 1, 1}, dt, Layout::Dense, 302);  // an empty image, all padding
  }
}

TEST_CASE("conv2d_backward_weight argument errors", "[conv]") {
  Tensor g = random_tensor({2, 4, 3, 3}, DType::Float32, 1), x = random_tensor({2, 3, 5, 5}, DType::Float32, 2);
  auto call = [](const Tensor& a, const Tensor& b, std::vector<int64_t> w, NamedAttrs attrs = {}) {
    attrs.push_back({"weight_size", w});
    return call1("conv2d_backward_weight", {a, b}, attrs);
  };
  CHECK(call(g, x, {4, 3, 3, 3}).shape() == Shape{4, 3, 3, 3});
  require_error([&] { call(g, x, {4, 2, 3, 3}); }, ErrorKind::Runtime,
                {"conv2d_backward_weight", "expects grad_output with 4 and input with 2 channels"});
  require_error([&] { call(g, x, {4, 3, 3}); }, ErrorKind::Runtime, {"4-element weight_size"});
  require_error([&] { call(g, random_tensor({1, 3, 5, 5}, DType::Float32, 3), {4, 3, 3, 3}); }, ErrorKind::Runtime,
                {"different batch sizes"});
  require_error([&] { call(g, x, {4, 3, 4, 4}); }, ErrorKind::Runtime, {"does not fit the windows of a 4x4 kernel"});
  require_error([&] { call(g, call1("to_dtype", {x}, {{"dtype", DType::Float64}}), {4, 3, 3, 3}); }, ErrorKind::Runtime,
                {"should have the same dtype"});
  require_error([&] { call(g, x, {4, 1, 3, 3}, {{"groups", 3}}); }, ErrorKind::Runtime, {"does not split into groups=3"});
}

TEST_CASE("convolution kernels agree with themselves image by image, on any number of threads", "[conv]") {
  // 10x10 grids take two images per GEMM (a chunk and a remainder of 7), 4x4 ones all seven.
  const int saved = cpu::num_threads();
  for (int64_t side : {10, 4}) {
    INFO("side " << side);
    const Tensor x = random_tensor({7, 4, side, side}, DType::Float64, 700);
    const Tensor w = random_tensor({6, 2, 3, 3}, DType::Float64, 701), b = random_tensor({6}, DType::Float64, 702);
    const Tensor wt = random_tensor({4, 3, 3, 3}, DType::Float64, 703), bt = random_tensor({6}, DType::Float64, 704);
    const NamedAttrs conv{{"padding", {1, 1}}, {"groups", 2}};
    const NamedAttrs transposed{{"padding", {1, 1}}, {"groups", 2}};
    const Tensor g = random_tensor({7, 6, side, side}, DType::Float64, 705);
    const NamedAttrs weight_grad{{"weight_size", {6, 2, 3, 3}}, {"padding", {1, 1}}, {"groups", 2}};
    // One image at a time.
    std::vector<double> y1, t1, dw1(6 * 2 * 9, 0.0);
    for (int64_t n = 0; n < 7; ++n) {
      auto image = [n](const Tensor& t) { return call1("select", {t}, {{"dim", 0}, {"index", n}}); };
      for (double v : values(call1("conv2d", {image(x), w, b}, conv))) y1.push_back(v);
      for (double v : values(call1("conv_transpose2d", {image(x), wt, bt}, transposed))) t1.push_back(v);
      const auto dw = values(call1("conv2d_backward_weight", {image(g), image(x)}, weight_grad));
      for (size_t i = 0; i < dw.size(); ++i) dw1[i] += dw[i];
    }
    for (int threads : {1, 2, 3}) {
      INFO("threads " << threads);
      cpu::set_num_threads(threads);
      check_values(call1("conv2d", {x, w, b}, conv), y1, 1e-12, 1e-12);
      check_values(call1("conv_transpose2d", {x, wt, bt}, transposed), t1, 1e-12, 1e-12);
      check_values(call1("conv2d_backward_weight", {g, x}, weight_grad), dw1, 1e-12, 1e-12);
    }
  }
  cpu::set_num_threads(saved);
}
