// Pooling, nearest upsampling and padding against float64 references written out here, with
// output sizes taken from PyTorch 1.13 (ceil_mode included): stride, padding, dilation,
// non-square windows, NaN propagation, non-contiguous, unbatched and empty-batch inputs, in
// float32 and float64; then the argument errors, which must name the op and the input's shape.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "helpers.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "upsample_nearest2d", "pad");

namespace {

struct PoolCase {
  Shape input;
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;
  bool ceil_mode;
  int64_t oh, ow;  // from PyTorch
  bool omit_stride = false;
};

const std::vector<PoolCase>& max_pool_cases() {
  static const std::vector<PoolCase> cases = {
      {{2, 3, 6, 7}, 2, 2, 2, 2, 0, 0, 1, 1, false, 3, 3, true},
      {{2, 2, 7, 8}, 3, 2, 2, 1, 1, 0, 1, 1, false, 4, 7},
      {{1, 3, 9, 10}, 3, 3, 2, 2, 1, 1, 2, 2, false, 4, 4},
      {{2, 2, 7, 7}, 3, 3, 2, 2, 0, 0, 1, 1, true, 3, 3},
      {{1, 2, 6, 6}, 2, 2, 2, 2, 1, 1, 1, 1, true, 4, 4},
      {{1, 1, 5, 5}, 2, 4, 3, 1, 1, 2, 2, 1, true, 2, 6},
      {{1, 2, 5, 6}, 3, 3, 2, 2, 1, 1, 1, 1, true, 3, 4},
      // Windows that tile the rows (Note [Max pool fast paths] in kernels/cpu/pool.cpp): the
      // digits CNN's, rows long enough to vectorize, padding and ceil_mode along H only,
      // dilation, windows narrower than the stride.
      {{3, 4, 8, 8}, 2, 2, 2, 2, 0, 0, 1, 1, false, 4, 4},
      {{2, 2, 4, 4}, 2, 2, 2, 2, 0, 0, 1, 1, false, 2, 2},
      {{1, 2, 28, 28}, 2, 2, 2, 2, 0, 0, 1, 1, false, 14, 14},
      {{2, 2, 7, 9}, 3, 2, 2, 3, 1, 0, 1, 2, true, 4, 3},
      {{1, 3, 6, 10}, 2, 1, 2, 2, 0, 0, 2, 1, false, 2, 5},
      {{2, 1, 9, 9}, 3, 3, 3, 3, 0, 0, 1, 1, true, 3, 3},
      {{1, 2, 9, 8}, 2, 2, 2, 2, 0, 0, 1, 1, false, 4, 4},
      {{1, 2, 8, 8}, 2, 2, 2, 2, 1, 0, 1, 1, true, 5, 4},
      // Just past them: a column left over, padding along W, windows overlapping.
      {{1, 2, 8, 9}, 2, 2, 2, 2, 0, 0, 1, 1, false, 4, 4},
      {{1, 2, 8, 8}, 2, 2, 2, 2, 0, 1, 1, 1, false, 4, 5},
      {{1, 2, 8, 8}, 3, 3, 2, 2, 0, 0, 1, 1, false, 3, 3},
  };
  return cases;
}

// Plane p, row i, column j of a dense [planes, h, w] value vector; NaN outside.
struct Planes {
  const std::vector<double>& v;
  int64_t h, w;
  bool inside(int64_t i, int64_t j) const { return i >= 0 && i < h && j >= 0 && j < w; }
  double at(int64_t p, int64_t i, int64_t j) const { return v[(p * h + i) * w + j]; }
};

// Max of each window and the flat index of the first maximum; a NaN anywhere wins (PyTorch
// reports the last NaN); an all -inf window reports its first in-range position.
void max_pool_reference(const Planes& x, int64_t planes, const PoolCase& c, std::vector<double>& out,
                        std::vector<double>& idx) {
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oi = 0; oi < c.oh; ++oi)
      for (int64_t oj = 0; oj < c.ow; ++oj) {
        double best = -std::numeric_limits<double>::infinity();
        int64_t best_index = -1, nan_index = -1;
        for (int64_t a = 0; a < c.kh; ++a)
          for (int64_t b = 0; b < c.kw; ++b) {
            const int64_t i = oi * c.sh - c.ph + a * c.dh, j = oj * c.sw - c.pw + b * c.dw;
            if (!x.inside(i, j)) continue;
            const double v = x.at(p, i, j);
            if (best_index < 0) best_index = i * x.w + j;
            if (std::isnan(v)) nan_index = i * x.w + j;
            else if (v > best) best = v, best_index = i * x.w + j;
          }
        out.push_back(nan_index >= 0 ? std::nan("") : best);
        idx.push_back(static_cast<double>(nan_index >= 0 ? nan_index : best_index));
      }
}

// Mean over the window's in-range elements, divided by the override, by the window clipped to
// the padded input, or by the in-range count.
std::vector<double> avg_pool_reference(const Planes& x, int64_t planes, const PoolCase& c, bool include_pad,
                                       int64_t divisor_override) {
  std::vector<double> out;
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oi = 0; oi < c.oh; ++oi)
      for (int64_t oj = 0; oj < c.ow; ++oj) {
        double sum = 0;
        int64_t inside = 0, padded = 0;
        for (int64_t a = 0; a < c.kh; ++a)
          for (int64_t b = 0; b < c.kw; ++b) {
            const int64_t i = oi * c.sh - c.ph + a, j = oj * c.sw - c.pw + b;
            if (i < x.h + c.ph && j < x.w + c.pw) ++padded;
            if (!x.inside(i, j)) continue;
            sum += x.at(p, i, j);
            ++inside;
          }
        const int64_t divisor = divisor_override ? divisor_override : include_pad ? padded : inside;
        out.push_back(inside == 0 ? 0.0 : sum / static_cast<double>(divisor));
      }
  return out;
}

NamedAttrs pool_attrs(const PoolCase& c, bool dilation) {
  NamedAttrs a{{"kernel_size", {c.kh, c.kw}}, {"padding", {c.ph, c.pw}}, {"ceil_mode", c.ceil_mode}};
  if (!c.omit_stride) a.push_back({"stride", {c.sh, c.sw}});
  if (dilation) a.push_back({"dilation", {c.dh, c.dw}});
  return a;
}

Shape pooled_shape(const Shape& in, int64_t h, int64_t w) {
  Shape s = in;
  s[s.size() - 2] = h;
  s[s.size() - 1] = w;
  return s;
}

Tensor unbatch(const Tensor& t) { return call1("squeeze", {t}, {{"dim", std::vector<int64_t>{0}}}); }

enum class Layout { Dense, Strided, Transposed, Unbatched };
const Layout kLayouts[] = {Layout::Dense, Layout::Strided, Layout::Transposed};

Tensor laid_out(const Tensor& t, Layout layout) {
  switch (layout) {
    case Layout::Dense: return t;
    case Layout::Strided: return strided_copy(t);
    case Layout::Transposed: return transposed_copy(t);
    case Layout::Unbatched: return unbatch(t);
  }
  return t;
}

}  // namespace

TEST_CASE("max_pool2d values and indices", "[pool]") {
  uint64_t seed = 100;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const PoolCase& c : max_pool_cases())
      for (Layout layout : kLayouts) {
        INFO("input " << shape_str(c.input) << " case k=" << c.kh << "x" << c.kw << " layout " << static_cast<int>(layout)
                      << " " << dtype_name(dt));
        Tensor x = random_tensor(c.input, dt, ++seed);
        const auto xv = values(x);
        const int64_t planes = c.input[0] * c.input[1];
        std::vector<double> out, idx;
        max_pool_reference({xv, c.input[2], c.input[3]}, planes, c, out, idx);
        auto r = call("max_pool2d", {laid_out(x, layout)}, pool_attrs(c, true));
        REQUIRE(r.size() == 2);
        CHECK(r[0].shape() == pooled_shape(c.input, c.oh, c.ow));
        CHECK(r[1].dtype() == DType::Int64);
        check_values(r[0], out, 0, 0);
        check_values(r[1], idx, 0, 0);
      }
}

TEST_CASE("max_pool2d propagates NaN and handles -inf windows", "[pool]") {
  for (DType dt : {DType::Float32, DType::Float64}) {
    const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
    // One 4x4 plane, 2x2 windows: a NaN among numbers, two NaNs (the last one's index), all -inf,
    // and ties (the first one's index).
    Tensor x = from_values({1, nan, -inf, -inf,   //
                            3, 2, -inf, -inf,     //
                            nan, 5, 7, 7,         //
                            4, nan, 7, 7},
                           {1, 4, 4}, dt);
    auto r = call("max_pool2d", {x}, {{"kernel_size", 2}});
    check_values(r[0], {nan, -inf, nan, 7}, 0, 0);
    check_values(r[1], {1, 2, 13, 10}, 0, 0);
  }
}

TEST_CASE("max_pool2d: NaNs, infinities, signed zeros and ties in every window shape", "[pool]") {
  // Values from a small set, so windows hold many ties and NaNs, on every path of the kernel.
  const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
  const double pool[] = {-inf, -1, -0.0, 0.0, 1, 1, 2, inf, nan};
  uint64_t state = 7;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const PoolCase& c : max_pool_cases()) {
      INFO("input " << shape_str(c.input) << " case k=" << c.kh << "x" << c.kw << " " << dtype_name(dt));
      std::vector<double> xv(static_cast<size_t>(c.input[0] * c.input[1] * c.input[2] * c.input[3]));
      for (double& v : xv) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        v = pool[(state >> 33) % (sizeof pool / sizeof pool[0])];
      }
      std::vector<double> out, idx;
      max_pool_reference({xv, c.input[2], c.input[3]}, c.input[0] * c.input[1], c, out, idx);
      auto r = call("max_pool2d", {from_values(xv, c.input, dt)}, pool_attrs(c, true));
      check_values(r[0], out, 0, 0);
      check_values(r[1], idx, 0, 0);  // the index tells which of equal values (-0 or 0) won
    }
}

TEST_CASE("max_pool2d unbatched and empty batches", "[pool]") {
  uint64_t seed = 200;
  for (DType dt : {DType::Float32, DType::Float64}) {
    const PoolCase& c = max_pool_cases()[2];
    Tensor x = random_tensor(c.input, dt, ++seed);
    const auto xv = values(x);
    std::vector<double> out, idx;
    max_pool_reference({xv, c.input[2], c.input[3]}, c.input[1], c, out, idx);
    auto r = call("max_pool2d", {unbatch(x)}, pool_attrs(c, true));
    CHECK(r[0].shape() == Shape{3, 4, 4});
    check_values(r[0], out, 0, 0);
    check_values(r[1], idx, 0, 0);
    auto e = call("max_pool2d", {random_tensor({0, 3, 9, 10}, dt, ++seed)}, pool_attrs(c, true));
    CHECK(e[0].shape() == Shape{0, 3, 4, 4});
    CHECK(e[1].shape() == Shape{0, 3, 4, 4});
  }
}

TEST_CASE("avg_pool2d with and without padding counted, and divisor_override", "[pool]") {
  uint64_t seed = 300;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const PoolCase& c : max_pool_cases()) {
      if (c.dh != 1 || c.dw != 1) continue;  // avg_pool2d has no dilation
      for (bool include_pad : {true, false})
        for (int64_t divisor : {0, 3})
          for (Layout layout : kLayouts) {
            INFO("input " << shape_str(c.input) << " k=" << c.kh << "x" << c.kw << " include_pad " << include_pad
                          << " divisor " << divisor << " layout " << static_cast<int>(layout) << " " << dtype_name(dt));
            Tensor x = random_tensor(c.input, dt, ++seed);
            const auto expected =
                avg_pool_reference({values(x), c.input[2], c.input[3]}, c.input[0] * c.input[1], c, include_pad, divisor);
            NamedAttrs attrs = pool_attrs(c, false);
            attrs.push_back({"count_include_pad", include_pad});
            if (divisor) attrs.push_back({"divisor_override", divisor});
            Tensor y = call1("avg_pool2d", {laid_out(x, layout)}, attrs);
            CHECK(y.shape() == pooled_shape(c.input, c.oh, c.ow));
            check_values(y, expected, rtol_for(dt), atol_for(dt));
          }
    }
  for (DType dt : {DType::Float32, DType::Float64}) {
    const PoolCase& c = max_pool_cases()[1];
    Tensor x = random_tensor(c.input, dt, ++seed);
    const auto expected = avg_pool_reference({values(x), c.input[2], c.input[3]}, c.input[1] * 2, c, true, 0);
    Tensor y = call1("avg_pool2d", {x}, pool_attrs(c, false));
    check_values(y, expected, rtol_for(dt), atol_for(dt));
    // The second image alone, unbatched.
    Tensor second = call1("select", {x}, {{"dim", 0}, {"index", 1}});
    Tensor y1 = call1("avg_pool2d", {second}, pool_attrs(c, false));
    CHECK(y1.shape() == Shape{2, 4, 7});
    check_values(y1, std::vector<double>(expected.begin() + 56, expected.end()), rtol_for(dt), atol_for(dt));
    CHECK(call1("avg_pool2d", {random_tensor({0, 2, 7, 8}, dt, 1)}, pool_attrs(c, false)).shape() == Shape{0, 2, 4, 7});
  }
}

TEST_CASE("adaptive_avg_pool2d uses PyTorch's floor/ceil windows", "[pool]") {
  // (input, output size): shrinking, growing, equal, uneven overlapping windows, to 1x1.
  const std::vector<std::pair<Shape, std::pair<int64_t, int64_t>>> cases = {
      {{2, 3, 7, 9}, {3, 4}}, {{1, 2, 5, 5}, {7, 3}}, {{2, 2, 6, 4}, {6, 4}},
      {{1, 3, 10, 7}, {4, 5}}, {{2, 4, 5, 6}, {1, 1}}, {{1, 1, 3, 8}, {2, 0}},
  };
  uint64_t seed = 400;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const auto& [shape, size] : cases)
      for (Layout layout : {Layout::Dense, Layout::Strided, Layout::Transposed, Layout::Unbatched}) {
        if (layout == Layout::Unbatched && shape[0] != 1) continue;
        INFO(shape_str(shape) << " -> " << size.first << "x" << size.second << " layout " << static_cast<int>(layout));
        Tensor x = random_tensor(shape, dt, ++seed);
        const auto xv = values(x);
        const int64_t h = shape[2], w = shape[3], oh = size.first, ow = size.second;
        std::vector<double> expected;
        for (int64_t p = 0; p < shape[0] * shape[1]; ++p)
          for (int64_t i = 0; i < oh; ++i)
            for (int64_t j = 0; j < ow; ++j) {
              const auto h0 = static_cast<int64_t>(std::floor(double(i * h) / oh));
              const auto h1 = static_cast<int64_t>(std::ceil(double((i + 1) * h) / oh));
              const auto w0 = static_cast<int64_t>(std::floor(double(j * w) / ow));
              const auto w1 = static_cast<int64_t>(std::ceil(double((j + 1) * w) / ow));
              double sum = 0;
              for (int64_t a = h0; a < h1; ++a)
                for (int64_t b = w0; b < w1; ++b) sum += xv[(p * h + a) * w + b];
              expected.push_back(sum / static_cast<double>((h1 - h0) * (w1 - w0)));
            }
        Tensor y = call1("adaptive_avg_pool2d", {laid_out(x, layout)}, {{"output_size", {oh, ow}}});
        Shape ys = pooled_shape(shape, oh, ow);
        if (layout == Layout::Unbatched) ys.erase(ys.begin());
        CHECK(y.shape() == ys);
        check_values(y, expected, rtol_for(dt), atol_for(dt));
      }
  CHECK(call1("adaptive_avg_pool2d", {random_tensor({0, 3, 5, 5}, DType::Float32, 1)}, {{"output_size", {2, 3}}}).shape() ==
        Shape{0, 3, 2, 3});
  CHECK(call1("adaptive_avg_pool2d", {random_tensor({2, 0, 5, 5}, DType::Float32, 1)}, {{"output_size", {2, 3}}}).shape() ==
        Shape{2, 0, 2, 3});
}

TEST_CASE("upsample_nearest2d picks floor(dst * in / out)", "[pool]") {
  // Sizes chosen across the exact paths (equal, doubling) and the scaled one, up and down.
  const std::vector<std::pair<Shape, std::pair<int64_t, int64_t>>> cases = {
      {{2, 3, 4, 5}, {8, 10}}, {{1, 2, 5, 7}, {7, 3}}, {{2, 2, 3, 4}, {9, 4}}, {{1, 3, 10, 13}, {4, 31}},
      {{1, 1, 6, 7}, {14, 16}},
  };
  uint64_t seed = 500;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const auto& [shape, size] : cases)
      for (Layout layout : {Layout::Dense, Layout::Strided, Layout::Transposed, Layout::Unbatched}) {
        if (layout == Layout::Unbatched && shape[0] != 1) continue;
        Tensor x = random_tensor(shape, dt, ++seed);
        const auto xv = values(x);
        const int64_t h = shape[2], w = shape[3], oh = size.first, ow = size.second;
        std::vector<double> expected;
        for (int64_t p = 0; p < shape[0] * shape[1]; ++p)
          for (int64_t i = 0; i < oh; ++i)
            for (int64_t j = 0; j < ow; ++j) {
              const int64_t a = std::min(static_cast<int64_t>(std::floor(double(i) * h / oh)), h - 1);
              const int64_t b = std::min(static_cast<int64_t>(std::floor(double(j) * w / ow)), w - 1);
              expected.push_back(xv[(p * h + a) * w + b]);
            }
        Tensor y = call1("upsample_nearest2d", {laid_out(x, layout)}, {{"output_size", {oh, ow}}});
        Shape ys = pooled_shape(shape, oh, ow);
        if (layout == Layout::Unbatched) ys.erase(ys.begin());
        CHECK(y.shape() == ys);
        check_values(y, expected, 0, 0);
      }
  CHECK(call1("upsample_nearest2d", {random_tensor({0, 3, 5, 5}, DType::Float32, 1)}, {{"output_size", {7, 2}}}).shape() ==
        Shape{0, 3, 7, 2});
}

namespace {

// Source index along a dim of `size` padded by (left, right) for output position j, each mode as
// PyTorch 1.13 describes it. Reflection in two steps: mirror the positive pads about the edge
// elements, then crop the negative ones. Replication and circular padding the other way round:
// crop the negative pads, then repeat the edge elements or wrap around what is left.
int64_t pad_source_reference(const std::string& mode, int64_t j, int64_t size, int64_t left, int64_t right) {
  if (mode == "constant") return j - left;
  if (mode == "reflect") {
    int64_t m = j + std::max<int64_t>(-left, 0) - std::max<int64_t>(left, 0);
    if (m < 0) m = -m;
    if (m >= size) m = 2 * (size - 1) - m;
    return m;
  }
  const int64_t start = std::max<int64_t>(-left, 0), kept = size - start - std::max<int64_t>(-right, 0);
  const int64_t m = j - std::max<int64_t>(left, 0);  // position in the kept part
  if (mode == "replicate") return start + std::min(std::max<int64_t>(m, 0), kept - 1);
  return start + (m % kept + kept) % kept;
}

// Pads any-rank `x` (values xv, shape xs) in any mode; constant mode fills with `value`.
std::vector<double> pad_reference(const std::vector<double>& xv, const Shape& xs, const std::vector<int64_t>& pad,
                                  const std::string& mode, double value, Shape& out_shape) {
  const int64_t rank = static_cast<int64_t>(xs.size());
  std::vector<int64_t> left(rank, 0), right(rank, 0);
  for (size_t i = 0; i < pad.size() / 2; ++i) {
    left[rank - 1 - i] = pad[2 * i];
    right[rank - 1 - i] = pad[2 * i + 1];
  }
  out_shape = xs;
  for (int64_t d = 0; d < rank; ++d) out_shape[d] += left[d] + right[d];
  std::vector<double> out(shape_numel(out_shape));
  for (int64_t o = 0; o < static_cast<int64_t>(out.size()); ++o) {
    int64_t rem = o, src = 0, mul = 1;
    bool inside = true;
    for (int64_t d = rank - 1; d >= 0; --d) {
      const int64_t j = rem % out_shape[d];
      rem /= out_shape[d];
      const int64_t i = pad_source_reference(mode, j, xs[d], left[d], right[d]);
      inside = inside && i >= 0 && i < xs[d];
      src += i * mul;
      mul *= xs[d];
    }
    out[o] = inside ? xv[src] : value;
  }
  return out;
}

void check_pad(const Shape& shape, const std::vector<int64_t>& pad, const std::string& mode, double value, DType dt,
               Layout layout, uint64_t seed) {
  INFO(mode << " pad " << shape_str(pad) << " of " << shape_str(shape) << " " << dtype_name(dt) << " layout "
            << static_cast<int>(layout));
  Tensor x = random_tensor(shape, dt, seed, -5, 5);
  Shape ys;
  const bool constant = mode == "constant";
  const double fill = dt == DType::Bool ? double(value != 0) : is_integral(dt, false) ? std::trunc(value) : value;
  const auto expected = pad_reference(values(x), shape, pad, mode, fill, ys);
  NamedAttrs attrs{{"pad", pad}, {"mode", mode}};
  if (constant) attrs.push_back({"value", value});
  Tensor y = call1("pad", {laid_out(x, layout)}, attrs);
  CHECK(y.shape() == ys);
  CHECK(y.dtype() == dt);
  check_values(y, expected, 0, 0);
}

}  // namespace

TEST_CASE("pad constant: any dims, negative pads crop, any dtype", "[pool]") {
  const std::vector<std::pair<Shape, std::vector<int64_t>>> cases = {
      {{2, 3, 4, 5}, {1, 2}},          {{2, 3, 4, 5}, {1, 2, 0, 3}},   {{2, 3, 4, 5}, {2, 1, 1, 0, 1, 2, 0, 1}},
      {{2, 3, 4, 5}, {-1, 2, 3, -2}}, {{3, 7}, {-2, -3}},             {{3, 7}, {-2, -4, 1, 1}},
      {{6}, {0, 0}},                   {{2, 3, 4, 5}, {}},             {{0, 3, 4}, {1, 1, 2, 2}},
      {{2, 3, 5, 0}, {1, 1}},
  };
  uint64_t seed = 600;
  for (DType dt : {DType::Float32, DType::Float64, DType::Int64, DType::Int32, DType::Bool})
    for (const auto& [shape, pad] : cases)
      for (Layout layout : kLayouts) check_pad(shape, pad, "constant", -2.75, dt, layout, ++seed);
  // The default fill is 0; value=NaN fills NaN.
  Tensor x = random_tensor({2, 3}, DType::Float32, 1);
  Tensor y = call1("pad", {x}, {{"pad", {1, 1}}});
  auto v = values(y);
  CHECK(v[0] == 0);
  CHECK(v[4] == 0);
  Tensor z = call1("pad", {x}, {{"pad", {1, 0}}, {"value", std::nan("")}});
  CHECK(std::isnan(values(z)[0]));
}

TEST_CASE("pad reflect: last one, two or three dims, negative pads", "[pool]") {
  const std::vector<std::pair<Shape, std::vector<int64_t>>> cases = {
      {{3, 7}, {2, 3}},          {{2, 3, 7}, {6, 6}},          {{2, 3, 7}, {-2, 3}},       {{2, 7}, {-6, 4}},
      {{2, 3, 5, 6}, {1, 2, 3, 4}}, {{3, 5, 6}, {5, 0, 0, 4}}, {{2, 3, 5, 6}, {-1, 2, 4, -3}}, {{1, 2, 4, 4}, {3, 3, 3, 3}},
      {{0, 3, 5, 6}, {1, 1, 2, 2}}, {{0, 7}, {2, 2}},          {{2, 3, 5, 6}, {-3, -2, 1, 1}},  // an empty padded dim
      {{2, 3, 4, 5, 6}, {1, 2, 3, 0, 3, 3}}, {{3, 4, 5, 6}, {-1, 4, 1, -2, 2, 2}}, {{0, 2, 3, 4, 5}, {1, 1, 1, 1, 1, 1}},
  };
  uint64_t seed = 700;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const auto& [shape, pad] : cases)
      for (Layout layout : kLayouts) check_pad(shape, pad, "reflect", 0, dt, layout, ++seed);
}

TEST_CASE("pad replicate: last one, two or three dims, pads past the input, negative pads", "[pool]") {
  const std::vector<std::pair<Shape, std::vector<int64_t>>> cases = {
      {{3, 7}, {2, 3}},           {{2, 3, 7}, {9, 9}},           {{2, 3, 7}, {-2, 3}},          {{2, 7}, {7, -4}},
      {{2, 3, 5, 6}, {1, 2, 3, 4}}, {{3, 5, 6}, {-1, 2, 4, -3}},   {{2, 3, 5, 6}, {-3, -3, 1, 1}}, {{0, 3, 5, 6}, {1, 1, 2, 2}},
      {{2, 3, 4, 5, 6}, {1, 2, 2, 1, 3, 0}}, {{3, 4, 5, 6}, {-1, 2, 1, -2, 2, 2}}, {{0, 2, 3, 4, 5}, {1, 1, 1, 1, 1, 1}},
  };
  uint64_t seed = 800;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const auto& [shape, pad] : cases)
      for (Layout layout : kLayouts) check_pad(shape, pad, "replicate", 0, dt, layout, ++seed);
}

TEST_CASE("pad circular: batched inputs, any dtype, negative pads crop before wrapping", "[pool]") {
  const std::vector<std::pair<Shape, std::vector<int64_t>>> cases = {
      {{2, 3, 7}, {2, 3}},           {{2, 3, 7}, {7, 7}},          {{2, 3, 7}, {-2, 3}},       {{2, 3, 7}, {3, -2}},
      {{1, 2, 7}, {-3, -3}},         {{1, 2, 7}, {-4, -3}},        {{2, 3, 5, 6}, {1, -1, -1, 2}},
      {{2, 3, 5, 6}, {5, 6, 5, 0}},  {{1, 2, 3, 4, 5}, {1, 2, -1, 2, 3, 0}}, {{0, 3, 5}, {1, 1}},
      {{2, 0, 5}, {2, 2}},           {{2, 3, 0}, {0, 0}},
  };
  uint64_t seed = 900;
  for (DType dt : {DType::Float32, DType::Float64, DType::Int64, DType::Int32, DType::Bool})
    for (const auto& [shape, pad] : cases)
      for (Layout layout : kLayouts) check_pad(shape, pad, "circular", 0, dt, layout, ++seed);
}

TEST_CASE("pooling and padding argument errors name the op and the shape", "[pool]") {
  Tensor x = random_tensor({2, 3, 5, 5}, DType::Float32, 1);
  auto max_pool = [&](const Tensor& t, const NamedAttrs& a) { return call("max_pool2d", {t}, a); };
  require_error([&] { max_pool(x, {{"kernel_size", 2}, {"padding", 2}}); }, ErrorKind::Runtime,
                {"max_pool2d", "pad should be at most half of kernel size, but got pad=2 and kernel_size=2", "float32[2, 3, 5, 5]"});
  require_error([&] { max_pool(x, {{"kernel_size", {3, 2}}, {"padding", {1, 2}}}); }, ErrorKind::Runtime,
                {"max_pool2d", "pad=2 and kernel_size=2"});
  require_error([&] { max_pool(x, {{"kernel_size", 2}, {"stride", 0}}); }, ErrorKind::Runtime,
                {"max_pool2d", "stride should not be zero"});
  require_error([&] { max_pool(x, {{"kernel_size", 2}, {"dilation", 0}}); }, ErrorKind::Runtime,
                {"max_pool2d", "dilation should be greater than zero, but got dilationH: 0 dilationW: 0"});
  require_error([&] { max_pool(x, {{"kernel_size", 2}, {"padding", -1}}); }, ErrorKind::Runtime,
                {"max_pool2d", "pad must be non-negative, but got pad: -1"});
  require_error([&] { max_pool(x, {{"kernel_size", {2, 2, 2}}}); }, ErrorKind::Runtime,
                {"max_pool2d", "max_pool2d: kernel_size must either be a single int, or a tuple of two ints"});
  require_error([&] { max_pool(random_tensor({5, 5}, DType::Float32, 2), {{"kernel_size", 2}}); }, ErrorKind::Runtime,
                {"max_pool2d", "non-empty 3D or 4D (batch mode) tensor expected for input", "float32[5, 5]"});
  require_error([&] { max_pool(x, {{"kernel_size", 6}}); }, ErrorKind::Runtime,
                {"max_pool2d", "Given input size: (3x5x5). Calculated output size: (3x0x0). Output size is too small"});
  require_error([&] { max_pool(random_tensor({2, 0, 5, 5}, DType::Float32, 2), {{"kernel_size", 2}}); }, ErrorKind::Runtime,
                {"max_pool2d", "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:[2, 0, 5, 5]"});
  require_error([&] { max_pool(random_tensor({2, 3, 5, 5}, DType::Int64, 2), {{"kernel_size", 2}}); }, ErrorKind::Runtime,
                {"max_pool2d", "\"max_pool2d\" not implemented for 'int64'", "int64[2, 3, 5, 5]"});

  require_error([&] { call1("avg_pool2d", {x}, {{"kernel_size", 2}, {"padding", 2}}); }, ErrorKind::Runtime,
                {"avg_pool2d", "pad should be at most half of kernel size", "float32[2, 3, 5, 5]"});
  require_error([&] { call1("avg_pool2d", {x}, {{"kernel_size", 2}, {"divisor_override", 0}}); }, ErrorKind::Runtime,
                {"avg_pool2d", "divisor must be not zero"});
  require_error([&] { call1("avg_pool2d", {x}, {{"kernel_size", 0}, {"stride", 1}}); }, ErrorKind::Runtime,
                {"avg_pool2d", "kernel size should be greater than zero, but got kH: 0 kW: 0"});
  require_error([&] { call1("avg_pool2d", {random_tensor({2, 3, 5, 5}, DType::Int32, 2)}, {{"kernel_size", 2}}); },
                ErrorKind::Runtime, {"avg_pool2d", "not implemented for 'int32'"});

  require_error([&] { call1("adaptive_avg_pool2d", {x}, {{"output_size", {-1, 2}}}); }, ErrorKind::Runtime,
                {"adaptive_avg_pool2d", "elements of output_size must be greater than or equal to 0 but received {-1, 2}"});
  require_error([&] { call1("adaptive_avg_pool2d", {x}, {{"output_size", {3}}}); }, ErrorKind::Runtime,
                {"adaptive_avg_pool2d", "output_size must be 2"});
  require_error([&] { call1("adaptive_avg_pool2d", {random_tensor({5, 5}, DType::Float32, 2)}, {{"output_size", {3, 2}}}); },
                ErrorKind::Runtime, {"adaptive_avg_pool2d", "Expected 3D or 4D tensor, but got [5, 5]"});
  require_error([&] { call1("adaptive_avg_pool2d", {random_tensor({2, 3, 0, 5}, DType::Float32, 2)}, {{"output_size", {3, 2}}}); },
                ErrorKind::Runtime, {"adaptive_avg_pool2d", "with dimension 2 being empty", "float32[2, 3, 0, 5]"});
  require_error([&] { call1("adaptive_avg_pool2d", {random_tensor({2, 3, 5, 5}, DType::Int64, 2)}, {{"output_size", {3, 2}}}); },
                ErrorKind::Runtime, {"adaptive_avg_pool2d", "not implemented for 'int64'"});

  require_error([&] { call1("upsample_nearest2d", {x}, {{"output_size", {0, 3}}}); }, ErrorKind::Runtime,
                {"upsample_nearest2d", "Input and output sizes should be greater than 0, but got input (H: 5, W: 5) output (H: 0, W: 3)"});
  require_error([&] { call1("upsample_nearest2d", {x}, {{"output_size", {3}}}); }, ErrorKind::Runtime,
                {"upsample_nearest2d", "It is expected output_size equals to 2, but got size 1"});
  require_error([&] { call1("upsample_nearest2d", {random_tensor({1, 2, 3, 5, 5}, DType::Float32, 2)}, {{"output_size", {3, 3}}}); },
                ErrorKind::Runtime, {"upsample_nearest2d", "float32[1, 2, 3, 5, 5]"});
  require_error([&] { call1("upsample_nearest2d", {random_tensor({2, 3, 5, 5}, DType::Int64, 2)}, {{"output_size", {3, 3}}}); },
                ErrorKind::Runtime, {"upsample_nearest2d", "not implemented for 'int64'"});

  require_error([&] { call1("pad", {x}, {{"pad", {1, 2, 3}}}); }, ErrorKind::Runtime,
                {"pad", "Padding length must be divisible by 2", "float32[2, 3, 5, 5]"});
  require_error([&] { call1("pad", {x}, {{"pad", std::vector<int64_t>(10, 1)}}); }, ErrorKind::Runtime,
                {"pad", "Padding length too large"});
  require_error([&] { call1("pad", {x}, {{"pad", {-3, -2, 1, 0}}}); }, ErrorKind::Runtime,
                {"pad", "The input size 5, plus negative padding -3 and -2 resulted in a negative output size, which is invalid. Check dimension 3 of your input."});
  require_error([&] { call1("pad", {x}, {{"pad", {5, 4, 1, 1}}, {"mode", "reflect"}}); }, ErrorKind::Runtime,
                {"pad", "Argument #4: Padding size should be less than the corresponding input dimension, but got: padding (5, 4) at dimension 3 of input [2, 3, 5, 5]"});
  require_error([&] { call1("pad", {x}, {{"pad", {1, 1, 1, 5}}, {"mode", "reflect"}}); }, ErrorKind::Runtime,
                {"pad", "Argument #6: Padding size should be less than the corresponding input dimension, but got: padding (1, 5) at dimension 2"});
  require_error([&] { call1("pad", {x}, {{"pad", {-3, -3, 1, 1}}, {"mode", "reflect"}}); }, ErrorKind::Runtime,
                {"pad", "input (H: 5, W: 5) is too small. Calculated output H: 7 W: -1"});
  require_error([&] { call1("pad", {x}, {{"pad", {1, 1}}, {"mode", "reflect"}}); }, ErrorKind::NotImplemented,
                {"pad", "Only 2D, 3D, 4D, 5D padding with non-constant padding are supported for now"});
  require_error([&] { call1("pad", {x}, {{"pad", {1, 1}}, {"mode", "foo"}}); }, ErrorKind::NotImplemented,
                {"pad", "Unrecognised padding mode foo"});
  require_error([&] { call1("pad", {x}, {{"pad", {1, 1, 1, 1}}, {"mode", "reflect"}, {"value", 2.0}}); }, ErrorKind::Runtime,
                {"pad", "Padding mode \"reflect\" doesn't take in value argument"});
  require_error([&] { call1("pad", {x}, {{"pad", {1, 1}}, {"mode", "circular"}}); }, ErrorKind::NotImplemented,
                {"pad", "Only 2D, 3D, 4D, 5D padding with non-constant padding are supported for now"});
  require_error([&] { call1("pad", {x}, {{"pad", {1, 1, 1, 1, 1, 1}}, {"mode", "circular"}}); }, ErrorKind::Runtime,
                {"pad", "Invalid padding size, expected 4 but got 6", "float32[2, 3, 5, 5]"});
  require_error([&] { call1("pad", {x}, {{"pad", {6, 1, 1, 1}}, {"mode", "circular"}}); }, ErrorKind::Runtime,
                {"pad", "Padding value causes wrapping around more than once."});
  require_error([&] { call1("pad", {x}, {{"pad", {-4, -2, 1, 1}}, {"mode", "circular"}}); }, ErrorKind::Runtime,
                {"pad", "Negative padding value is resulting in an empty dimension"});
  // 1.13 copies the positive pad out of the part the negative one leaves, into memory it never wrote.
  require_error([&] { call1("pad", {x}, {{"pad", {-3, 3, 0, 0}}, {"mode", "circular"}}); }, ErrorKind::NotImplemented,
                {"pad", "circular padding (-3, 3) of dimension 3 of input [2, 3, 5, 5] would wrap more than once around",
                 "the 2 elements left after its negative pad"});
  require_error([&] { call1("pad", {x}, {{"pad", {1, 1, 1, 1}}, {"mode", "replicate"}, {"value", 2.0}}); }, ErrorKind::Runtime,
                {"pad", "Padding mode \"replicate\" doesn't take in value argument"});
  require_error([&] { call1("pad", {random_tensor({2, 3, 5}, DType::Float32, 2)}, {{"pad", {1, 1, 1, 1, 1, 1}}, {"mode", "replicate"}}); },
                ErrorKind::NotImplemented, {"pad", "Only 2D, 3D, 4D, 5D padding with non-constant padding are supported for now"});
  require_error([&] { call1("pad", {random_tensor({0, 3}, DType::Float32, 2)}, {{"pad", {1, 1}}, {"mode", "replicate"}}); },
                ErrorKind::Runtime, {"pad", "Expected 2D or 3D (batch mode) tensor with possibly 0 batch size and other non-zero dimensions for input, but got: [0, 3]"});
  require_error([&] { call1("pad", {random_tensor({2, 0, 3, 3}, DType::Float32, 2)}, {{"pad", {1, 1, 1, 1, 1, 1}}, {"mode", "reflect"}}); },
                ErrorKind::Runtime, {"pad", "Expected 4D or 5D (batch mode) tensor with possibly 0 batch size and other non-zero dimensions for input, but got: [2, 0, 3, 3]"});
  require_error([&] { call1("pad", {x}, {{"pad", {-3, -2, -3, -2}}, {"mode", "replicate"}}); }, ErrorKind::Runtime,
                {"pad", "input (H: 5, W: 5) is too small. Calculated output H: 0 W: 0"});
  require_error([&] { call1("pad", {random_tensor({2, 3, 3, 3, 3}, DType::Float32, 2)}, {{"pad", {-2, -1, -2, -1, -3, 0}}, {"mode", "replicate"}}); },
                ErrorKind::Runtime, {"pad", "input (D: 3 H: 3, W: 3) is too small. Calculated output D: 0 H: 0 W: 0"});
  require_error([&] { call1("pad", {random_tensor({2, 3, 3, 3, 3}, DType::Float32, 2)}, {{"pad", {1, 1, 1, 1, 3, 0}}, {"mode", "reflect"}}); },
                ErrorKind::Runtime, {"pad", "Argument #8: Padding size should be less than the corresponding input dimension, but got: padding (3, 0) at dimension 2 of input [2, 3, 3, 3, 3]"});
  require_error([&] { call1("pad", {random_tensor({2, 3, 5}, DType::Int32, 2)}, {{"pad", {1, 1}}, {"mode", "replicate"}}); },
                ErrorKind::Runtime, {"pad", "\"replication_pad1d\" not implemented for 'int32'"});
  require_error([&] { call1("pad", {random_tensor({2, 3, 3, 3, 3}, DType::Int64, 2)}, {{"pad", {1, 1, 1, 1, 1, 1}}, {"mode", "reflect"}}); },
                ErrorKind::Runtime, {"pad", "\"reflection_pad3d\" not implemented for 'int64'"});
  require_error([&] { call1("pad", {random_tensor({2, 3, 5, 5}, DType::Int64, 2)}, {{"pad", {1, 1, 1, 1}}, {"mode", "reflect"}}); },
                ErrorKind::Runtime, {"pad", "\"reflection_pad2d\" not implemented for 'int64'"});
  require_error([&] { call1("pad", {random_tensor({2, 0, 5}, DType::Float32, 2)}, {{"pad", {1, 1}}, {"mode", "reflect"}}); },
                ErrorKind::Runtime, {"pad", "2D or 3D (batch mode) tensor expected for input, but got: [2, 0, 5]"});
}
