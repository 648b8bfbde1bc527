// Convolutions against direct float64 sums written out here (no im2col): stride, padding,
// dilation, groups (depthwise too), non-square kernels, non-contiguous operands, unbatched
// inputs, batch of one and empty batches, in float32 and float64, on both sides of the bounds of
// the kernels' padded-image path; then the argument errors, which must name the op and the
// inputs' shapes.
#include "helpers.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("conv1d", "conv2d", "conv_transpose2d");

namespace {

// One convolution in 2-D terms: conv1d is H = 1 with a trivial window along H.
struct Geometry {
  int64_t n, c, h, w;        // input
  int64_t o, kh, kw;         // output channels, kernel
  int64_t sh, sw, ph, pw, dh, dw, oph = 0, opw = 0;
  int64_t groups;
};

int64_t conv_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) { return (in + 2 * p - d * (k - 1) - 1) / s + 1; }

// y[n, o, i, j] = b[o] + sum over (c in o's group, a, b) of x[n, c, i*sh - ph + a*dh, j*sw - pw + b*dw] * w[o, c', a, b].
std::vector<double> conv_reference(const std::vector<double>& x, const std::vector<double>& w,
                                   const std::vector<double>* bias, const Geometry& g) {
  const int64_t oh = conv_out(g.h, g.kh, g.sh, g.ph, g.dh), ow = conv_out(g.w, g.kw, g.sw, g.pw, g.dw);
  const int64_t cg = g.c / g.groups, og = g.o / g.groups;
  std::vector<double> y(g.n * g.o * oh * ow);
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t o = 0; o < g.o; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double s = bias ? (*bias)[o] : 0.0;
          for (int64_t ci = 0; ci < cg; ++ci) {
            const int64_t c = (o / og) * cg + ci;
            for (int64_t a = 0; a < g.kh; ++a)
              for (int64_t b = 0; b < g.kw; ++b) {
                const int64_t ih = i * g.sh - g.ph + a * g.dh, iw = j * g.sw - g.pw + b * g.dw;
                if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) continue;
                s += x[((n * g.c + c) * g.h + ih) * g.w + iw] * w[((o * cg + ci) * g.kh + a) * g.kw + b];
              }
          }
          y[((n * g.o + o) * oh + i) * ow + j] = s;
        }
  return y;
}

// The transposed convolution as the scatter it is defined by: every input element adds
// x[n, c, i, j] * w[c, o', a, b] to y[n, o, i*sh - ph + a*dh, j*sw - pw + b*dw]. Here g.o is the
// number of output channels (w is [c, o / groups, kh, kw]).
std::vector<double> conv_transpose_reference(const std::vector<double>& x, const std::vector<double>& w,
                                             const std::vector<double>* bias, const Geometry& g, Shape& out_shape) {
  const int64_t oh = (g.h - 1) * g.sh - 2 * g.ph + g.dh * (g.kh - 1) + g.oph + 1;
  const int64_t ow = (g.w - 1) * g.sw - 2 * g.pw + g.dw * (g.kw - 1) + g.opw + 1;
  out_shape = {g.n, g.o, oh, ow};
  const int64_t cg = g.c / g.groups, og = g.o / g.groups;
  std::vector<double> y(g.n * g.o * oh * ow, 0.0);
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t o = 0; o < g.o; ++o)
      for (int64_t k = 0; k < oh * ow; ++k) y[(n * g.o + o) * oh * ow + k] = bias ? (*bias)[o] : 0.0;
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t c = 0; c < g.c; ++c)
      for (int64_t i = 0; i < g.h; ++i)
        for (int64_t j = 0; j < g.w; ++j)
          for (int64_t oi = 0; oi < og; ++oi) {
            const int64_t o = (c / cg) * og + oi;
            for (int64_t a = 0; a < g.kh; ++a)
              for (int64_t b = 0; b < g.kw; ++b) {
                const int64_t yh = i * g.sh - g.ph + a * g.dh, yw = j * g.sw - g.pw + b * g.dw;
                if (yh < 0 || yh >= oh || yw < 0 || yw >= ow) continue;
                y[((n * g.o + o) * oh + yh) * ow + yw] +=
                    x[((n * g.c + c) * g.h + i) * g.w + j] * w[((c * og + oi) * g.kh + a) * g.kw + b];
              }
          }
  return y;
}

// Float32 sums of k products of values in [-2, 2) drift with k; float64 stays near exact.
double conv_atol(DType dt, int64_t k) { return dt == DType::Float32 ? 2e-6 * static_cast<double>(k + 1) : 1e-12 * static_cast<double>(k + 1); }

enum class Layout { Dense, Strided, Transposed };

Tensor laid_out(const Tensor& t, Layout layout) {
  switch (layout) {
    case Layout::Dense: return t;
    case Layout::Strided: return strided_copy(t);
    case Layout::Transposed: return transposed_copy(t);
  }
  return t;
}

// Runs conv1d (h == 1 and one_d) or conv2d on random data and checks every output element.
void check_conv(const Geometry& g, bool one_d, bool with_bias, bool batched, DType dt, Layout layout, uint64_t seed) {
  INFO("conv n=" << g.n << " c=" << g.c << " h=" << g.h << " w=" << g.w << " o=" << g.o << " k=" << g.kh << "x" << g.kw
                 << " s=" << g.sh << "," << g.sw << " p=" << g.ph << "," << g.pw << " d=" << g.dh << "," << g.dw
                 << " groups=" << g.groups << " 1d=" << one_d << " bias=" << with_bias << " batched=" << batched
                 << " dtype=" << dtype_name(dt) << " layout=" << static_cast<int>(layout));
  const int64_t cg = g.c / g.groups;
  Shape xs = one_d ? Shape{g.n, g.c, g.w} : Shape{g.n, g.c, g.h, g.w};
  Shape ws = one_d ? Shape{g.o, cg, g.kw} : Shape{g.o, cg, g.kh, g.kw};
  Tensor x = random_tensor(xs, dt, seed), w = random_tensor(ws, dt, seed + 1), b = random_tensor({g.o}, dt, seed + 2);
  const auto xv = values(x), wv = values(w), bv = values(b);
  const auto expected = conv_reference(xv, wv, with_bias ? &bv : nullptr, g);
  Tensor xin = laid_out(batched ? x : call1("squeeze", {x}, {{"dim", std::vector<int64_t>{0}}}), layout);
  NamedAttrs attrs = one_d ? NamedAttrs{{"stride", {g.sw}}, {"padding", {g.pw}}, {"dilation", {g.dw}}, {"groups", g.groups}}
                           : NamedAttrs{{"stride", {g.sh, g.sw}}, {"padding", {g.ph, g.pw}}, {"dilation", {g.dh, g.dw}},
                                        {"groups", g.groups}};
  Tensor y = call1(one_d ? "conv1d" : "conv2d", {xin, laid_out(w, layout), with_bias ? laid_out(b, layout) : Tensor()}, attrs);
  Shape ys{g.n, g.o};
  if (!one_d) ys.push_back(conv_out(g.h, g.kh, g.sh, g.ph, g.dh));
  ys.push_back(conv_out(g.w, g.kw, g.sw, g.pw, g.dw));
  if (!batched) ys.erase(ys.begin());
  CHECK(y.shape() == ys);
  CHECK(y.dtype() == dt);
  check_values(y, expected, dt == DType::Float32 ? 1e-5 : 1e-12, conv_atol(dt, cg * g.kh * g.kw));
}

void check_conv_transpose(const Geometry& g, bool with_bias, bool batched, DType dt, Layout layout, uint64_t seed) {
  INFO("conv_transpose2d n=" << g.n << " c=" << g.c << " h=" << g.h << " w=" << g.w << " o=" << g.o << " k=" << g.kh
                             << "x" << g.kw << " s=" << g.sh << "," << g.sw << " p=" << g.ph << "," << g.pw
                             << " d=" << g.dh << "," << g.dw << " op=" << g.oph << "," << g.opw << " groups=" << g.groups
                             << " bias=" << with_bias << " batched=" << batched << " dtype=" << dtype_name(dt)
                             << " layout=" << static_cast<int>(layout));
  Tensor x = random_tensor({g.n, g.c, g.h, g.w}, dt, seed);
  Tensor w = random_tensor({g.c, g.o / g.groups, g.kh, g.kw}, dt, seed + 1);
  Tensor b = random_tensor({g.o}, dt, seed + 2);
  const auto xv = values(x), wv = values(w), bv = values(b);
  Shape ys;
  const auto expected = conv_transpose_reference(xv, wv, with_bias ? &bv : nullptr, g, ys);
  Tensor xin = laid_out(batched ? x : call1("squeeze", {x}, {{"dim", std::vector<int64_t>{0}}}), layout);
  Tensor y = call1("conv_transpose2d", {xin, laid_out(w, layout), with_bias ? laid_out(b, layout) : Tensor()},
                   {{"stride", {g.sh, g.sw}},
                    {"padding", {g.ph, g.pw}},
                    {"output_padding", {g.oph, g.opw}},
                    {"groups", g.groups},
                    {"dilation", {g.dh, g.dw}}});
  if (!batched) ys.erase(ys.begin());
  CHECK(y.shape() == ys);
  check_values(y, expected, dt == DType::Float32 ? 1e-5 : 1e-12, conv_atol(dt, g.c / g.groups * g.kh * g.kw));
}

// n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, oph, opw, groups
const std::vector<Geometry>& conv2d_cases() {
  static const std::vector<Geometry> cases = {
      {2, 3, 7, 6, 4, 3, 3, 1, 1, 0, 0, 1, 1, 0, 0, 1},   // plain 3x3
      {2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 1},   // "same" padding
      {1, 2, 9, 8, 3, 2, 3, 2, 3, 1, 0, 1, 1, 0, 0, 1},   // non-square kernel, unequal strides
      {2, 3, 9, 10, 2, 3, 2, 1, 2, 2, 1, 2, 3, 0, 0, 1},  // dilation, padding > 1
      {2, 4, 6, 7, 6, 3, 2, 2, 1, 1, 1, 1, 1, 0, 0, 2},   // groups
      {1, 6, 5, 6, 9, 2, 2, 1, 1, 1, 0, 1, 1, 0, 0, 3},   // groups, even kernel
      {2, 4, 5, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 4},   // depthwise
      {1, 3, 6, 5, 6, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 3},   // depthwise, channel multiplier 2, stride 2
      {3, 5, 4, 4, 7, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1},   // 1x1: the direct product
      {2, 6, 4, 3, 4, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 2},   // 1x1 with groups
      {2, 5, 7, 6, 3, 1, 1, 2, 2, 0, 0, 1, 1, 0, 0, 1},   // 1x1 strided
      {1, 2, 5, 5, 3, 1, 1, 1, 1, 1, 2, 1, 1, 0, 0, 1},   // 1x1 padded
      {2, 2, 3, 3, 2, 5, 4, 1, 1, 2, 1, 1, 1, 0, 0, 1},   // kernel larger than the input, covered by padding
      {1, 2, 6, 7, 3, 6, 7, 1, 1, 0, 0, 1, 1, 0, 0, 1},   // kernel as large as the input
      {2, 1, 8, 8, 2, 3, 3, 3, 3, 2, 2, 2, 2, 0, 0, 1},   // everything at once
  };
  return cases;
}

}  // namespace

TEST_CASE("conv2d matches a direct float64 sum", "[conv]") {
  uint64_t seed = 1000;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Geometry& g : conv2d_cases())
      for (bool bias : {true, false}) check_conv(g, false, bias, true, dt, Layout::Dense, seed += 3);
}

TEST_CASE("conv2d with non-contiguous operands", "[conv]") {
  uint64_t seed = 2000;
  for (DType dt : {DType::Float32, DType::Float64})
    for (Layout layout : {Layout::Strided, Layout::Transposed})
      for (size_t i : {0, 3, 4, 6, 8}) check_conv(conv2d_cases()[i], false, true, true, dt, layout, seed += 3);
}

TEST_CASE("conv2d unbatched, batch of one and empty batches", "[conv]") {
  uint64_t seed = 3000;
  for (DType dt : {DType::Float32, DType::Float64}) {
    check_conv({1, 3, 6, 5, 4, 3, 2, 1, 2, 1, 0, 1, 1, 0, 0, 1}, false, true, false, dt, Layout::Dense, seed += 3);
    check_conv({1, 4, 6, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 2}, false, true, false, dt, Layout::Strided, seed += 3);
    check_conv({1, 3, 5, 5, 2, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 1}, false, true, true, dt, Layout::Dense, seed += 3);
    check_conv({0, 3, 5, 5, 2, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 1}, false, true, true, dt, Layout::Dense, seed += 3);
    check_conv({0, 3, 5, 5, 2, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1}, false, false, true, dt, Layout::Dense, seed += 3);
    // No input channels: every output is the bias (PyTorch allows it).
    check_conv({2, 0, 4, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 1}, false, true, true, dt, Layout::Dense, seed += 3);
    // An empty image, all padding.
    check_conv({2, 2, 0, 3, 3, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 1}, false, true, true, dt, Layout::Dense, seed += 3);
  }
}

TEST_CASE("conv2d and conv_transpose2d on both sides of the padded-image path", "[conv]") {
  // Images whose output rows are at most 32 wide go through a padded copy of the image (Note
  // [Padded images] in kernels/cpu/conv.cpp), rows of 4 and 8 with stride 1 through copies of a
  // fixed length; wider rows, and strided windows whose padded image outgrows the column matrix,
  // take the bounds-checked runs. Batches of 32 split over threads and pack several images per GEMM.
  // n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, oph, opw, groups
  const std::vector<Geometry> cases = {
      {32, 3, 4, 4, 5, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 1},     // the digits CNN's 4x4 planes: runs of 4
      {32, 1, 8, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 1},     // and its 8x8 ones: runs of 8
      {1, 3, 4, 4, 5, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 1},      // batch of one
      {3, 2, 8, 8, 3, 3, 3, 1, 1, 0, 0, 1, 1, 0, 0, 1},      // unpadded: rows of 8 in, runs of 6
      {3, 2, 6, 10, 3, 3, 3, 1, 1, 1, 3, 1, 1, 0, 0, 1},     // runs of 14 from rows of 10
      {2, 3, 7, 9, 4, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 1},      // stride 2, odd sizes
      {2, 2, 8, 8, 3, 3, 3, 1, 1, 2, 2, 2, 2, 0, 0, 1},      // dilation: runs of 8 a step of 2 apart
      {2, 4, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 2},      // groups, runs of 8
      {2, 4, 4, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 4},      // depthwise, runs of 4
      {2, 3, 4, 4, 5, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1},      // 1x1 padded
      {2, 3, 12, 11, 2, 1, 1, 3, 3, 0, 0, 1, 1, 0, 0, 1},    // 1x1 strided: the padded image would outgrow the columns
      {2, 2, 5, 32, 3, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 1},     // runs of 32, the longest padded
      {2, 2, 5, 33, 3, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 1},     // runs of 33: bounds-checked
      {1, 2, 40, 37, 3, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 1},    // a large image, one GEMM of its own
      {2, 3, 35, 70, 2, 3, 5, 2, 2, 1, 2, 1, 1, 0, 0, 1},    // large, strided: runs of 35
  };
  uint64_t seed = 6000;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Geometry& g : cases) {
      check_conv(g, false, true, true, dt, Layout::Dense, seed += 3);
      if (g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1) check_conv(g, false, false, true, dt, Layout::Dense, seed += 3);
      // The same window transposed: the image is the output, the grid the input.
      Geometry t = g;
      t.c = g.o;
      t.o = g.c;
      t.h = conv_out(g.h, g.kh, g.sh, g.ph, g.dh);
      t.w = conv_out(g.w, g.kw, g.sw, g.pw, g.dw);
      check_conv_transpose(t, true, true, dt, Layout::Dense, seed += 3);
    }
}

TEST_CASE("conv1d matches a direct float64 sum", "[conv]") {
  // h = kh = 1; the H parameters are ignored by the 1-D case.
  const std::vector<Geometry> cases = {
      {2, 3, 1, 9, 4, 1, 3, 1, 1, 0, 0, 1, 1, 0, 0, 1},  {1, 4, 1, 11, 6, 1, 4, 1, 2, 0, 3, 1, 2, 0, 0, 2},
      {2, 4, 1, 8, 4, 1, 3, 1, 1, 0, 1, 1, 1, 0, 0, 4},  {3, 5, 1, 6, 2, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1},
      {2, 2, 1, 3, 3, 1, 5, 1, 3, 0, 2, 1, 1, 0, 0, 1},  {0, 2, 1, 5, 3, 1, 3, 1, 1, 0, 1, 1, 1, 0, 0, 1},
  };
  uint64_t seed = 4000;
  for (DType dt : {DType::Float32, DType::Float64}) {
    for (const Geometry& g : cases)
      for (bool bias : {true, false}) check_conv(g, true, bias, true, dt, Layout::Dense, seed += 3);
    check_conv(cases[1], true, true, true, dt, Layout::Strided, seed += 3);
    check_conv(cases[2], true, true, true, dt, Layout::Transposed, seed += 3);
    check_conv({1, 3, 1, 7, 2, 1, 3, 1, 2, 0, 1, 1, 1, 0, 0, 1}, true, true, false, dt, Layout::Dense, seed += 3);
  }
}

TEST_CASE("conv_transpose2d matches the scatter it is defined by", "[conv]") {
  // n, c (input channels), h, w, o (output channels), kh, kw, sh, sw, ph, pw, dh, dw, oph, opw, groups
  const std::vector<Geometry> cases = {
      {2, 3, 4, 5, 2, 3, 3, 1, 1, 0, 0, 1, 1, 0, 0, 1},  {2, 3, 4, 5, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
      {1, 2, 3, 4, 3, 2, 3, 3, 2, 0, 1, 1, 1, 2, 0, 1},  {2, 4, 3, 3, 6, 3, 2, 1, 2, 1, 0, 2, 1, 1, 1, 2},
      {1, 4, 5, 4, 4, 3, 3, 2, 1, 1, 1, 1, 1, 0, 0, 4},  {3, 5, 3, 3, 2, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1},
      {2, 2, 4, 3, 2, 4, 2, 2, 3, 2, 1, 1, 2, 1, 2, 1},
  };
  uint64_t seed = 5000;
  for (DType dt : {DType::Float32, DType::Float64}) {
    for (const Geometry& g : cases)
      for (bool bias : {true, false}) check_conv_transpose(g, bias, true, dt, Layout::Dense, seed += 3);
    check_conv_transpose(cases[1], true, true, dt, Layout::Strided, seed += 3);
    check_conv_transpose(cases[3], true, true, dt, Layout::Transposed, seed += 3);
    check_conv_transpose({1, 3, 4, 4, 2, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1}, true, false, dt, Layout::Dense, seed += 3);
    check_conv_transpose({0, 3, 4, 4, 2, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1}, true, true, dt, Layout::Dense, seed += 3);
    check_conv_transpose({2, 3, 0, 4, 2, 3, 3, 1, 1, 0, 0, 1, 1, 0, 0, 1}, true, true, dt, Layout::Dense, seed += 3);
  }
}

TEST_CASE("conv argument errors name the op and the shapes", "[conv]") {
  Tensor x = random_tensor({2, 4, 5, 5}, DType::Float32, 1);
  Tensor w = random_tensor({3, 4, 3, 3}, DType::Float32, 2);
  auto conv2d = [](std::vector<Tensor> in, const NamedAttrs& attrs = {}) {
    if (in.size() == 2) in.push_back(Tensor());
    return call1("conv2d", in, attrs);
  };
  require_error([&] { conv2d({x, random_tensor({3, 3, 3, 3}, DType::Float32, 3)}); }, ErrorKind::Runtime,
                {"conv2d", "Given groups=1, weight of size [3, 3, 3, 3], expected input[2, 4, 5, 5] to have 3 channels",
                 "float32[2, 4, 5, 5], float32[3, 3, 3, 3]"});
  require_error([&] { conv2d({random_tensor({2, 3, 5, 5}, DType::Float32, 3), random_tensor({4, 1, 3, 3}, DType::Float32, 4)}, {{"groups", 2}}); },
                ErrorKind::Runtime, {"conv2d", "expected input[2, 3, 5, 5] to have 2 channels", "float32[2, 3, 5, 5]"});
  require_error([&] { conv2d({x, random_tensor({3, 2, 3, 3}, DType::Float32, 3)}, {{"groups", 2}}); }, ErrorKind::Runtime,
                {"conv2d", "expected weight to be divisible by 2 at dimension 0", "float32[3, 2, 3, 3]"});
  require_error([&] { conv2d({x, random_tensor({3, 4, 7, 3}, DType::Float32, 3)}); }, ErrorKind::Runtime,
                {"conv2d", "Calculated padded input size per channel: (5 x 5). Kernel size: (7 x 3). Kernel size can't be greater than actual input size",
                 "float32[2, 4, 5, 5], float32[3, 4, 7, 3]"});
  require_error([&] { conv2d({x, w}, {{"padding", {1, 1}}, {"dilation", {4, 4}}}); }, ErrorKind::Runtime,
                {"conv2d", "(7 x 7). Kernel size: (9 x 9)"});
  CHECK(conv2d({x, w}, {{"padding", {1, 1}}, {"dilation", {3, 3}}}).shape() == Shape{2, 3, 1, 1});  // fits exactly
  require_error([&] { conv2d({random_tensor({4, 5}, DType::Float32, 3), w}); }, ErrorKind::Runtime,
                {"conv2d", "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [4, 5]",
                 "float32[4, 5]"});
  require_error([&] { conv2d({random_tensor({1, 2, 4, 5, 5}, DType::Float32, 3), w}); }, ErrorKind::Runtime,
                {"conv2d", "input of size: [1, 2, 4, 5, 5]"});
  require_error([&] { conv2d({random_tensor({2, 4, 5, 5}, DType::Int64, 3), random_tensor({3, 4, 3, 3}, DType::Int64, 4)}); },
                ErrorKind::Runtime, {"conv2d", "\"conv2d\" not implemented for 'int64'", "int64[2, 4, 5, 5]"});
  require_error([&] { conv2d({x, random_tensor({3, 4, 3, 3}, DType::Float64, 3)}); }, ErrorKind::Runtime,
                {"conv2d", "Input type (float32) and weight type (float64) should be the same", "float64[3, 4, 3, 3]"});
  require_error([&] { conv2d({x, w, random_tensor({4}, DType::Float32, 3)}); }, ErrorKind::Runtime,
                {"conv2d", "expected bias to be 1-dimensional with 3 elements, but got bias of size [4]", "float32[4]"});
  require_error([&] { conv2d({x, w, random_tensor({3}, DType::Float64, 3)}); }, ErrorKind::Runtime,
                {"conv2d", "Input type (float32) and bias type (float64) should be the same"});
  require_error([&] { conv2d({x, random_tensor({3, 4, 3}, DType::Float32, 3)}); }, ErrorKind::Runtime,
                {"conv2d", "Expected 3-dimensional input for 3-dimensional weight [3, 4, 3], but got 4-dimensional input of size [2, 4, 5, 5]"});
  require_error([&] { conv2d({x, random_tensor({0, 4, 3, 3}, DType::Float32, 3)}); }, ErrorKind::Runtime,
                {"conv2d", "expected weight to be at least 1 at dimension 0"});
  require_error([&] { conv2d({x, w}, {{"stride", {1, 0}}}); }, ErrorKind::Runtime, {"conv2d", "non-positive stride"});
  require_error([&] { conv2d({x, w}, {{"padding", -1}}); }, ErrorKind::Runtime, {"conv2d", "negative padding"});
  require_error([&] { conv2d({x, w}, {{"dilation", 0}}); }, ErrorKind::Runtime, {"conv2d", "non-positive dilation"});
  require_error([&] { conv2d({x, w}, {{"groups", 0}}); }, ErrorKind::Runtime, {"conv2d", "non-positive groups"});
  require_error([&] { conv2d({x, w}, {{"stride", {1, 2, 3}}}); }, ErrorKind::Runtime,
                {"conv2d", "expected stride to be a single integer value or a list of 2 values to match the convolution dimensions, but got stride=[1, 2, 3]"});
  // A single value stands for both dims, as in PyTorch.
  CHECK(conv2d({x, w}, {{"stride", 2}, {"padding", 1}}).shape() == Shape{2, 3, 3, 3});

  Tensor x1 = random_tensor({1, 2, 5}, DType::Float32, 5);
  require_error([&] { call1("conv1d", {random_tensor({1, 2, 4, 5}, DType::Float32, 3), random_tensor({3, 2, 3}, DType::Float32, 4), Tensor()}); },
                ErrorKind::Runtime, {"conv1d", "Expected 2D (unbatched) or 3D (batched) input to conv1d", "float32[1, 2, 4, 5]"});
  require_error([&] { call1("conv1d", {x1, random_tensor({3, 2, 3, 3}, DType::Float32, 4), Tensor()}); }, ErrorKind::Runtime,
                {"conv1d", "Expected 4-dimensional input for 4-dimensional weight [3, 2, 3, 3], but got 3-dimensional input of size [1, 2, 5]"});
  require_error([&] { call1("conv1d", {x1, random_tensor({3, 2, 7}, DType::Float32, 4), Tensor()}); }, ErrorKind::Runtime,
                {"conv1d", "Calculated padded input size per channel: (5). Kernel size: (7)", "float32[1, 2, 5]"});
  require_error([&] { call1("conv1d", {random_tensor({1, 2, 5}, DType::Int32, 3), random_tensor({3, 2, 3}, DType::Int32, 4), Tensor()}); },
                ErrorKind::Runtime, {"conv1d", "not implemented for 'int32'"});

  Tensor wt = random_tensor({4, 2, 3, 3}, DType::Float32, 6);
  auto conv_t = [](std::vector<Tensor> in, const NamedAttrs& attrs = {}) {
    if (in.size() == 2) in.push_back(Tensor());
    return call1("conv_transpose2d", in, attrs);
  };
  require_error([&] { conv_t({x, w}); }, ErrorKind::Runtime,
                {"conv_transpose2d", "Given transposed=1, weight of size [3, 4, 3, 3], expected input[2, 4, 5, 5] to have 3 channels, but got 4 channels instead",
                 "float32[2, 4, 5, 5], float32[3, 4, 3, 3]"});
  require_error([&] { conv_t({random_tensor({2, 3, 5, 5}, DType::Float32, 3), random_tensor({3, 2, 3, 3}, DType::Float32, 4)}, {{"groups", 2}}); },
                ErrorKind::Runtime, {"conv_transpose2d", "expected weight to be divisible by 2 at dimension 0"});
  require_error([&] { conv_t({x, wt}, {{"output_padding", 1}}); }, ErrorKind::Runtime,
                {"conv_transpose2d", "output padding must be smaller than either stride or dilation, but got output_padding_height: 1 output_padding_width: 1 stride_height: 1 stride_width: 1 dilation_height: 1 dilation_width: 1"});
  CHECK(conv_t({x, wt}, {{"output_padding", 1}, {"dilation", 2}}).shape() == Shape{2, 2, 10, 10});
  require_error([&] { conv_t({x, wt}, {{"padding", 4}}); }, ErrorKind::Runtime,
                {"conv_transpose2d", "Given input size per channel: (5 x 5). Calculated output size per channel: (-1 x -1). Output size is too small",
                 "float32[2, 4, 5, 5], float32[4, 2, 3, 3]"});
  require_error([&] { conv_t({x, wt, random_tensor({4}, DType::Float32, 3)}); }, ErrorKind::Runtime,
                {"conv_transpose2d", "expected bias to be 1-dimensional with 2 elements, but got bias of size [4]"});
  require_error([&] { conv_t({random_tensor({5, 5}, DType::Float32, 3), wt}); }, ErrorKind::Runtime,
                {"conv_transpose2d", "Expected 3D (unbatched) or 4D (batched) input to conv_transpose2d, but got input of size: [5, 5]"});
  require_error([&] { conv_t({random_tensor({2, 4, 5, 5}, DType::Int64, 3), random_tensor({4, 2, 3, 3}, DType::Int64, 4)}); },
                ErrorKind::Runtime, {"conv_transpose2d", "not implemented for 'int64'", "int64[2, 4, 5, 5]"});
}
