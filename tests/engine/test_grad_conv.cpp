// Gradients of the convolutions (conv1d, conv2d, conv_transpose2d) and of their backward op
// conv2d_backward_weight: central differences in float64 over every geometry that changes the
// math (stride, padding, dilation, groups, output_padding, bias or none, 1x1 windows, unbatched,
// non-contiguous and empty inputs), double backward, and a small case against sums written out.
#include "gradgradcheck.hpp"

using namespace terra;
using namespace terra::test;

namespace {

// n, c (input channels), h, w, o (output channels), kh, kw, sh, sw, ph, pw, dh, dw, oph, opw, groups
struct Geometry {
  int64_t n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, oph, opw, groups;
};

Tensor rnd(const Shape& s, uint64_t seed) { return random_tensor(s, DType::Float64, seed); }

NamedAttrs conv2d_attrs(const Geometry& g) {
  return {{"stride", {g.sh, g.sw}}, {"padding", {g.ph, g.pw}}, {"dilation", {g.dh, g.dw}}, {"groups", g.groups}};
}

NamedAttrs conv_transpose2d_attrs(const Geometry& g) {
  return {{"stride", {g.sh, g.sw}}, {"padding", {g.ph, g.pw}}, {"output_padding", {g.oph, g.opw}},
          {"groups", g.groups}, {"dilation", {g.dh, g.dw}}};
}

Function conv2d_fn(const Geometry& g) {
  return [g](const TensorList& x) { return call1("conv2d", {x[0], x[1], x[2]}, conv2d_attrs(g)); };
}

Function conv_transpose2d_fn(const Geometry& g) {
  return [g](const TensorList& x) { return call1("conv_transpose2d", {x[0], x[1], x[2]}, conv_transpose2d_attrs(g)); };
}

std::string describe(const Geometry& g) {
  std::ostringstream os;
  os << "n=" << g.n << " c=" << g.c << " " << g.h << "x" << g.w << " o=" << g.o << " k=" << g.kh << "x" << g.kw
     << " s=" << g.sh << "," << g.sw << " p=" << g.ph << "," << g.pw << " d=" << g.dh << "," << g.dw
     << " op=" << g.oph << "," << g.opw << " groups=" << g.groups;
  return os.str();
}

const std::vector<Geometry>& conv2d_cases() {
  static const std::vector<Geometry> cases = {
      {2, 3, 5, 4, 2, 3, 3, 1, 1, 0, 0, 1, 1, 0, 0, 1},  // plain 3x3
      {1, 2, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 1},  // "same" padding
      {2, 2, 7, 6, 2, 2, 3, 2, 3, 1, 0, 1, 1, 0, 0, 1},  // non-square kernel, unequal strides, rows left over
      {1, 2, 7, 8, 2, 3, 2, 1, 2, 2, 1, 2, 3, 0, 0, 1},  // dilation, padding > 1
      {2, 4, 5, 4, 6, 3, 2, 2, 1, 1, 1, 1, 1, 0, 0, 2},  // groups
      {1, 3, 4, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 3},  // depthwise
      {2, 3, 4, 3, 4, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1},  // 1x1: the direct product
      {1, 4, 3, 4, 2, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 2},  // 1x1 with groups
      {1, 2, 5, 6, 3, 1, 1, 2, 2, 1, 0, 1, 1, 0, 0, 1},  // 1x1 strided and padded
      {1, 2, 3, 3, 2, 4, 3, 1, 1, 2, 1, 1, 1, 0, 0, 1},  // kernel larger than the input
  };
  return cases;
}

const std::vector<Geometry>& conv_transpose2d_cases() {
  static const std::vector<Geometry> cases = {
      {2, 3, 3, 4, 2, 3, 3, 1, 1, 0, 0, 1, 1, 0, 0, 1},  // plain
      {1, 2, 3, 3, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},  // stride, padding, output_padding
      {1, 2, 2, 3, 2, 2, 3, 3, 2, 0, 1, 1, 1, 2, 0, 1},  // output_padding 2 < stride 3
      {2, 4, 3, 2, 6, 3, 2, 1, 2, 1, 0, 2, 1, 1, 1, 2},  // groups; output_padding 1 >= stride 1, < dilation 2
      {1, 3, 3, 3, 3, 3, 3, 2, 1, 1, 1, 1, 1, 0, 0, 3},  // depthwise
      {2, 3, 3, 3, 2, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1},  // 1x1: the direct product
      {1, 2, 3, 2, 2, 4, 2, 2, 3, 2, 1, 1, 2, 1, 2, 1},  // everything at once
  };
  return cases;
}

TensorList conv_inputs(const Geometry& g, bool transposed, bool bias, uint64_t seed) {
  const Shape w = transposed ? Shape{g.c, g.o / g.groups, g.kh, g.kw} : Shape{g.o, g.c / g.groups, g.kh, g.kw};
  return {rnd({g.n, g.c, g.h, g.w}, seed), rnd(w, seed + 1), bias ? rnd({g.o}, seed + 2) : Tensor()};
}

// gradcheck of every case, with and without a bias.
void check_cases(const std::vector<Geometry>& cases, bool transposed, uint64_t seed) {
  for (const Geometry& g : cases)
    for (bool bias : {true, false}) {
      INFO(describe(g) << " bias=" << bias);
      gradcheck(transposed ? "conv_transpose2d" : "conv2d", transposed ? conv_transpose2d_fn(g) : conv2d_fn(g),
                conv_inputs(g, transposed, bias, seed += 3));
    }
}

}  // namespace

TEST_CASE("conv2d gradients", "[grad][conv]") { check_cases(conv2d_cases(), false, 100); }

TEST_CASE("conv2d gradients: unbatched, non-contiguous, single-value arguments", "[grad][conv]") {
  const Geometry g = conv2d_cases()[4];
  TensorList in = conv_inputs(g, false, true, 200);
  gradcheck("conv2d unbatched", conv2d_fn(g), {call1("select", {in[0]}, {{"dim", 0}, {"index", 1}}), in[1], in[2]});
  gradcheck("conv2d non-contiguous", conv2d_fn(g), {transposed_copy(in[0]), strided_copy(in[1]), in[2]});
  gradcheck("conv2d scalar arguments", [](const TensorList& x) {
    return call1("conv2d", {x[0], x[1], x[2]}, {{"stride", 2}, {"padding", 1}, {"dilation", 2}});
  }, {rnd({1, 2, 6, 5}, 201), rnd({3, 2, 2, 2}, 202), rnd({3}, 203)});
}

TEST_CASE("conv1d gradients", "[grad][conv]") {
  struct Case {
    Shape x, w;
    int64_t stride, padding, dilation, groups;
  };
  const Case cases[] = {
      {{2, 3, 7}, {2, 3, 3}, 1, 0, 1, 1}, {{1, 4, 9}, {6, 2, 2}, 2, 1, 2, 2}, {{2, 2, 5}, {3, 2, 1}, 1, 0, 1, 1},
      {{3, 6}, {4, 3, 3}, 2, 1, 1, 1},  // unbatched
      {{1, 2, 3}, {2, 2, 5}, 1, 2, 1, 1},
  };
  uint64_t seed = 300;
  for (const Case& c : cases)
    for (bool bias : {true, false}) {
      INFO("conv1d x=" << shape_str(c.x) << " w=" << shape_str(c.w) << " bias=" << bias);
      gradcheck("conv1d", [&c](const TensorList& x) {
        return call1("conv1d", {x[0], x[1], x[2]},
                     {{"stride", {c.stride}}, {"padding", {c.padding}}, {"dilation", {c.dilation}}, {"groups", c.groups}});
      }, {rnd(c.x, seed += 3), rnd(c.w, seed + 1), bias ? rnd({c.w[0]}, seed + 2) : Tensor()});
    }
}

TEST_CASE("conv_transpose2d gradients", "[grad][conv]") {
  check_cases(conv_transpose2d_cases(), true, 400);
  const Geometry g = conv_transpose2d_cases()[3];
  TensorList in = conv_inputs(g, true, true, 450);
  gradcheck("conv_transpose2d unbatched", conv_transpose2d_fn(g),
            {call1("select", {in[0]}, {{"dim", 0}, {"index", 0}}), in[1], in[2]});
  gradcheck("conv_transpose2d non-contiguous", conv_transpose2d_fn(g), {strided_copy(in[0]), transposed_copy(in[1]), in[2]});
}

TEST_CASE("conv2d_backward_weight gradients", "[grad][conv]") {
  // As conv2d's weight gradient (grid = the conv's output) and as conv_transpose2d's (grid shorter).
  gradcheck("conv2d_backward_weight", [](const TensorList& x) {
    return call1("conv2d_backward_weight", {x[0], x[1]},
                 {{"weight_size", {6, 2, 3, 2}}, {"stride", {2, 1}}, {"padding", {1, 1}}, {"groups", 2}});
  }, {rnd({2, 6, 3, 5}, 500), rnd({2, 4, 5, 4}, 501)});
  gradcheck("conv2d_backward_weight short grid", [](const TensorList& x) {
    return call1("conv2d_backward_weight", {x[0], x[1]},
                 {{"weight_size", {2, 3, 2, 2}}, {"dilation", {2, 2}}});
  }, {rnd({1, 2, 3, 2}, 502), rnd({1, 3, 6, 5}, 503)});
}

TEST_CASE("convolution double backward", "[grad][conv]") {
  uint64_t seed = 600;
  for (size_t i : {0, 2, 4, 6}) {
    const Geometry& g = conv2d_cases()[i];
    INFO(describe(g));
    const TensorList in = conv_inputs(g, false, false, seed += 3);
    for (size_t which : {0, 1}) gradgradcheck("conv2d double backward", conv2d_fn(g), in, which);
  }
  for (size_t i : {1, 3, 5}) {
    const Geometry& g = conv_transpose2d_cases()[i];
    INFO(describe(g));
    const TensorList in = conv_inputs(g, true, false, seed += 3);
    for (size_t which : {0, 1}) gradgradcheck("conv_transpose2d double backward", conv_transpose2d_fn(g), in, which);
  }
  gradgradcheck("conv1d double backward", [](const TensorList& x) {
    return call1("conv1d", {x[0], x[1]}, {{"stride", {2}}, {"padding", {1}}});
  }, {rnd({2, 2, 6}, 651), rnd({3, 2, 3}, 652)}, 1);
}

TEST_CASE("conv2d gradients against sums written out", "[grad][conv]") {
  // y[o, i, j] = b[o] + sum_c,a,b x[c, i + a, j + b] w[o, c, a, b] (stride 1, no padding): with
  // dy = G, dw[o, c, a, b] = sum_ij G[o, i, j] x[c, i + a, j + b], dx[c, p, q] = sum G[o, i, j] w[o, c, p - i, q - j].
  Tensor x = rnd({2, 4, 5}, 700), w = rnd({3, 2, 2, 3}, 701), b = rnd({3}, 702);
  for (Tensor* t : {&x, &w, &b}) autograd::set_requires_grad(*t, true);
  Tensor y = call1("conv2d", {x, w, b});
  REQUIRE(y.shape() == Shape{3, 3, 3});
  Tensor gy = rnd(y.shape(), 703);
  autograd::backward({y}, {gy}, false, false);
  auto X = [&](int64_t c, int64_t i, int64_t j) { return get(x, (c * 4 + i) * 5 + j); };
  auto W = [&](int64_t o, int64_t c, int64_t a, int64_t bb) { return get(w, ((o * 2 + c) * 2 + a) * 3 + bb); };
  auto G = [&](int64_t o, int64_t i, int64_t j) { return get(gy, (o * 3 + i) * 3 + j); };
  std::vector<double> dw, dx, db;
  for (int64_t o = 0; o < 3; ++o) {
    double s = 0;
    for (int64_t i = 0; i < 9; ++i) s += get(gy, o * 9 + i);
    db.push_back(s);
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t a = 0; a < 2; ++a)
        for (int64_t bb = 0; bb < 3; ++bb) {
          double t = 0;
          for (int64_t i = 0; i < 3; ++i)
            for (int64_t j = 0; j < 3; ++j) t += G(o, i, j) * X(c, i + a, j + bb);
          dw.push_back(t);
        }
  }
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t p = 0; p < 4; ++p)
      for (int64_t q = 0; q < 5; ++q) {
        double t = 0;
        for (int64_t o = 0; o < 3; ++o)
          for (int64_t i = 0; i < 3; ++i)
            for (int64_t j = 0; j < 3; ++j)
              if (p - i >= 0 && p - i < 2 && q - j >= 0 && q - j < 3) t += G(o, i, j) * W(o, c, p - i, q - j);
        dx.push_back(t);
      }
  check_values(autograd::grad(x), dx, 1e-12, 1e-12);
  check_values(autograd::grad(w), dw, 1e-12, 1e-12);
  check_values(autograd::grad(b), db, 1e-12, 1e-12);
}

TEST_CASE("convolution gradients of empty inputs and float32", "[grad][conv]") {
  for (const Shape& xs : {Shape{0, 2, 5, 5}, Shape{2, 2, 0, 5}}) {
    INFO(shape_str(xs));
    Tensor x = rnd(xs, 800), w = rnd({3, 2, 1, 3}, 801), b = rnd({3}, 802);
    for (Tensor* t : {&x, &w, &b}) autograd::set_requires_grad(*t, true);
    Tensor y = call1("conv2d", {x, w, b}, {{"padding", {1, 1}}});
    autograd::backward({y}, {rnd(y.shape(), 803)}, false, false);
    CHECK(autograd::grad(x).shape() == xs);
    CHECK(autograd::grad(w).shape() == w.shape());
    CHECK(autograd::grad(b).shape() == b.shape());
    if (xs[0] == 0) check_values(autograd::grad(w), std::vector<double>(w.numel(), 0.0), 0, 0);
  }
  // float32 agrees with float64.
  const Geometry g = conv2d_cases()[4];
  TensorList in64 = conv_inputs(g, false, true, 810);
  TensorList grads[2];
  for (DType dt : {DType::Float64, DType::Float32}) {
    TensorList in;
    for (const Tensor& t : in64) in.push_back(call1("to_dtype", {t}, {{"dtype", dt}}));
    for (Tensor& t : in) autograd::set_requires_grad(t, true);
    Tensor y = conv2d_fn(g)(in);
    grads[dt == DType::Float32] = autograd::grad({y}, in, {call1("to_dtype", {rnd(y.shape(), 811)}, {{"dtype", dt}})}, false, false, false);
  }
  for (size_t i = 0; i < 3; ++i) {
    CHECK(grads[1][i].dtype() == DType::Float32);
    check_values(grads[1][i], values(grads[0][i]), 1e-4, 1e-4);
  }
}
