// The backward ops of pooling, upsampling and padding against float64 references
// written out from each forward op's definition (which input positions every output reads, with
// what weight): overlapping windows, padding, ceil_mode, count_include_pad, divisor_override,
// uneven resampling, negative pads, unbatched and non-contiguous gradients, float32 and float64;
// then their argument errors.
#include <algorithm>
#include <functional>
#include <string>
#include <tuple>

#include "helpers.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("max_pool2d_backward", "avg_pool2d_backward", "adaptive_avg_pool2d_backward",
             "upsample_nearest2d_backward", "pad_backward");

namespace {

// The input positions (flat in the h x w plane) output (plane, oh, ow) reads, each with its weight.
using Reads = std::function<std::vector<std::pair<int64_t, double>>(int64_t plane, int64_t oh, int64_t ow)>;

// dx[plane, i] = sum over the outputs reading i of g * weight.
std::vector<double> spread(const Tensor& g, int64_t h, int64_t w, const Reads& reads) {
  const int64_t oh = g.size(-2), ow = g.size(-1), planes = g.numel() / (oh * ow);
  const std::vector<double> gv = values(g);
  std::vector<double> dx(planes * h * w, 0.0);
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j)
        for (const auto& [at, weight] : reads(p, i, j)) dx[p * h * w + at] += gv[(p * oh + i) * ow + j] * weight;
  return dx;
}

enum class Layout { Dense, Strided, Unbatched };

Tensor laid_out(const Tensor& t, Layout layout) {
  if (layout == Layout::Strided) return transposed_copy(t);
  if (layout == Layout::Unbatched) return call1("select", {t}, {{"dim", 0}, {"index", 0}});
  return t;
}

// Runs a backward op on a random gradient of shape grad_shape and compares it with spread().
// Circular padding takes batched inputs only: `unbatched` false leaves that layout out.
void check(const char* op, const Shape& grad_shape, const Shape& input, NamedAttrs attrs, const Reads& reads,
           uint64_t seed, const TensorList& extra = {}, bool unbatched = true) {
  for (DType dt : {DType::Float32, DType::Float64})
    for (Layout layout : {Layout::Dense, Layout::Strided, Layout::Unbatched}) {
      if (layout == Layout::Unbatched && !unbatched) continue;
      INFO(op << " " << shape_str(grad_shape) << " -> " << shape_str(input) << " " << dtype_name(dt) << " layout "
              << static_cast<int>(layout));
      const Tensor g = random_tensor(grad_shape, dt, seed);
      Tensor sliced = laid_out(g, layout);
      std::vector<double> expected = spread(g, input[input.size() - 2], input[input.size() - 1], reads);
      Shape size = input;
      TensorList inputs{sliced};
      for (const Tensor& t : extra) inputs.push_back(laid_out(t, layout));
      if (layout == Layout::Unbatched) {
        size.erase(size.begin());
        expected.resize(shape_numel(size));
      }
      NamedAttrs a = attrs;
      a.push_back({"input_size", std::vector<int64_t>(size.begin(), size.end())});
      Tensor dx = call1(op, inputs, a);
      CHECK(dx.shape() == size);
      CHECK(dx.dtype() == dt);
      check_values(dx, expected, rtol_for(dt), 4 * atol_for(dt));
    }
}

}  // namespace

TEST_CASE("max_pool2d_backward sends each gradient to its index", "[pool]") {
  struct Case {
    Shape input;
    NamedAttrs attrs;
  };
  const Case cases[] = {
      {{2, 3, 7, 8}, {{"kernel_size", 3}, {"stride", 2}, {"padding", 1}}},  // overlapping windows
      {{2, 2, 9, 10}, {{"kernel_size", {3, 2}}, {"stride", {2, 3}}, {"dilation", {2, 1}}, {"ceil_mode", true}}},
      {{3, 2, 4, 4}, {{"kernel_size", 2}}},
  };
  uint64_t seed = 100;
  for (const Case& c : cases) {
    const Tensor indices = call("max_pool2d", {random_tensor(c.input, DType::Float64, seed++)}, c.attrs)[1];
    const std::vector<double> idx = values(indices);
    const int64_t oh = indices.size(-2), ow = indices.size(-1);
    check("max_pool2d_backward", indices.shape(), c.input, {}, [&](int64_t p, int64_t i, int64_t j) {
      return std::vector<std::pair<int64_t, double>>{{static_cast<int64_t>(idx[(p * oh + i) * ow + j]), 1.0}};
    }, seed++, {indices});
  }
}

TEST_CASE("avg_pool2d_backward spreads each gradient over its window", "[pool]") {
  struct Case {
    Shape input;
    int64_t kh, kw, sh, sw, ph, pw;
    bool ceil_mode;
    int64_t oh, ow;  // from PyTorch
  };
  const Case cases[] = {
      {{2, 3, 6, 7}, 2, 2, 2, 2, 0, 0, false, 3, 3},
      {{2, 2, 7, 8}, 3, 2, 2, 1, 1, 1, false, 4, 9},
      {{1, 2, 7, 7}, 3, 3, 2, 2, 1, 1, true, 4, 4},
      {{2, 1, 5, 6}, 4, 2, 3, 1, 2, 1, true, 3, 7},
  };
  uint64_t seed = 200;
  for (const Case& c : cases)
    for (bool include_pad : {true, false})
      for (int64_t divisor_override : {0, 5}) {
        const int64_t h = c.input[2], w = c.input[3];
        NamedAttrs attrs{{"kernel_size", {c.kh, c.kw}}, {"stride", {c.sh, c.sw}}, {"padding", {c.ph, c.pw}},
                         {"ceil_mode", c.ceil_mode}, {"count_include_pad", include_pad}};
        if (divisor_override) attrs.push_back({"divisor_override", divisor_override});
        check("avg_pool2d_backward", {c.input[0], c.input[1], c.oh, c.ow}, c.input, attrs, [&](int64_t, int64_t oi, int64_t oj) {
          std::vector<std::pair<int64_t, double>> reads;
          int64_t padded = 0;
          for (int64_t a = 0; a < c.kh; ++a)
            for (int64_t b = 0; b < c.kw; ++b) {
              const int64_t i = oi * c.sh - c.ph + a, j = oj * c.sw - c.pw + b;
              if (i < h + c.ph && j < w + c.pw) ++padded;
              if (i >= 0 && i < h && j >= 0 && j < w) reads.push_back({i * w + j, 0.0});
            }
          const double divisor = static_cast<double>(divisor_override ? divisor_override
                                                     : include_pad   ? padded
                                                                     : static_cast<int64_t>(reads.size()));
          for (auto& r : reads) r.second = 1.0 / divisor;
          return reads;
        }, seed++);
      }
}

TEST_CASE("adaptive_avg_pool2d_backward spreads over floor/ceil windows", "[pool]") {
  const std::pair<Shape, std::pair<int64_t, int64_t>> cases[] = {
      {{2, 3, 6, 6}, {3, 2}}, {{2, 2, 7, 5}, {3, 4}}, {{1, 2, 3, 4}, {5, 7}}, {{2, 3, 5, 4}, {1, 1}}};
  uint64_t seed = 300;
  for (const auto& [input, out] : cases) {
    const int64_t h = input[2], w = input[3];
    const auto [oh, ow] = out;
    check("adaptive_avg_pool2d_backward", {input[0], input[1], oh, ow}, input, {}, [&](int64_t, int64_t i, int64_t j) {
      const int64_t h0 = i * h / oh, h1 = ((i + 1) * h + oh - 1) / oh, w0 = j * w / ow, w1 = ((j + 1) * w + ow - 1) / ow;
      std::vector<std::pair<int64_t, double>> reads;
      for (int64_t a = h0; a < h1; ++a)
        for (int64_t b = w0; b < w1; ++b) reads.push_back({a * w + b, 1.0 / static_cast<double>((h1 - h0) * (w1 - w0))});
      return reads;
    }, seed++);
  }
}

TEST_CASE("upsample_nearest2d_backward sums the copies of each input", "[pool]") {
  const std::pair<Shape, std::pair<int64_t, int64_t>> cases[] = {
      {{2, 3, 3, 4}, {6, 8}}, {{1, 2, 3, 4}, {7, 5}}, {{2, 2, 5, 6}, {3, 4}}, {{2, 1, 4, 3}, {4, 3}}};
  uint64_t seed = 400;
  for (const auto& [input, out] : cases) {
    const int64_t h = input[2], w = input[3];
    const auto [oh, ow] = out;
    check("upsample_nearest2d_backward", {input[0], input[1], oh, ow}, input, {}, [&](int64_t, int64_t i, int64_t j) {
      return std::vector<std::pair<int64_t, double>>{{(i * h / oh) * w + j * w / ow, 1.0}};
    }, seed++);
  }
}

TEST_CASE("pad_backward sums the copies of each input: reflect, replicate, circular", "[pool]") {
  // The input position output position o of a dim of `in` padded by (left, right) copies.
  auto reflect = [](int64_t o, int64_t left, int64_t, int64_t in) {
    int64_t t = o - left;
    if (t < 0) t = -t;
    if (t >= in) t = 2 * (in - 1) - t;
    return t;
  };
  // Negative pads crop first; positive ones repeat the edge elements or wrap around what is left.
  auto replicate = [](int64_t o, int64_t left, int64_t right, int64_t in) {
    const int64_t start = std::max<int64_t>(-left, 0), kept = in - start - std::max<int64_t>(-right, 0);
    return start + std::min(std::max<int64_t>(o - std::max<int64_t>(left, 0), 0), kept - 1);
  };
  auto circular = [](int64_t o, int64_t left, int64_t right, int64_t in) {
    const int64_t start = std::max<int64_t>(-left, 0), kept = in - start - std::max<int64_t>(-right, 0);
    return start + ((o - std::max<int64_t>(left, 0)) % kept + kept) % kept;
  };
  using Source = std::function<int64_t(int64_t, int64_t, int64_t, int64_t)>;
  const std::tuple<const char*, Source, Shape, std::vector<int64_t>> cases[] = {
      {"reflect", reflect, {2, 3, 4, 5}, {2, 1, 3, 0}},    {"reflect", reflect, {2, 2, 4, 5}, {-1, 2, 1, -2}},
      {"reflect", reflect, {2, 3, 6}, {3, 4}},             {"reflect", reflect, {2, 3, 6}, {-2, 1}},
      {"replicate", replicate, {2, 3, 4, 5}, {6, 1, 3, 0}}, {"replicate", replicate, {2, 2, 4, 5}, {-1, 2, 1, -3}},
      {"replicate", replicate, {2, 3, 6}, {7, 4}},         {"circular", circular, {2, 3, 4, 5}, {5, 1, 3, 4}},
      {"circular", circular, {2, 2, 4, 5}, {-1, 2, 1, -2}}, {"circular", circular, {2, 3, 6}, {-2, 3}},
  };
  uint64_t seed = 500;
  for (const auto& [mode, source, input, pad] : cases) {
    const int64_t h = input[input.size() - 2], w = input[input.size() - 1];
    const bool two = pad.size() == 4;
    Shape grad_shape = input;
    grad_shape.back() += pad[0] + pad[1];
    if (two) grad_shape[grad_shape.size() - 2] += pad[2] + pad[3];
    check("pad_backward", grad_shape, input, {{"pad", pad}, {"mode", mode}}, [&](int64_t, int64_t i, int64_t j) {
      const int64_t row = two ? source(i, pad[2], pad[3], h) : i;
      return std::vector<std::pair<int64_t, double>>{{row * w + source(j, pad[0], pad[1], w), 1.0}};
    }, seed++, {}, std::string(mode) != "circular");
  }
}

TEST_CASE("pooling backward argument errors", "[pool]") {
  const Tensor g = random_tensor({2, 3, 3, 3}, DType::Float32, 1);
  const Tensor indices = call("max_pool2d", {random_tensor({2, 3, 6, 6}, DType::Float32, 2)}, {{"kernel_size", 2}})[1];
  require_error([&] { call1("max_pool2d_backward", {g, indices}, {{"input_size", {2, 3, 6}}}); }, ErrorKind::Runtime,
                {"max_pool2d_backward", "expected a 3-D or 4-D input_size and a grad_output of the same rank"});
  require_error([&] { call1("max_pool2d_backward", {g, indices}, {{"input_size", {2, 4, 6, 6}}}); }, ErrorKind::Runtime,
                {"does not match input_size [2, 4, 6, 6]"});
  require_error([&] { call1("max_pool2d_backward", {g, call1("to_dtype", {indices}, {{"dtype", DType::Int32}})}, {{"input_size", {2, 3, 6, 6}}}); },
                ErrorKind::Runtime, {"expected int64 indices shaped like grad_output [2, 3, 3, 3]"});
  // Indices outside the plane are refused, not written through.
  Tensor bad = call1("clone", {indices});
  static_cast<int64_t*>(bad.storage()->data())[5] = 36;
  require_error([&] { call1("max_pool2d_backward", {g, bad}, {{"input_size", {2, 3, 6, 6}}}); }, ErrorKind::Index,
                {"index 36 is outside a plane of 36 elements"});
  require_error([&] { call1("avg_pool2d_backward", {g}, {{"input_size", {2, 3, 8, 6}}, {"kernel_size", 2}}); },
                ErrorKind::Runtime, {"avg_pool2d_backward", "expected grad_output of shape [2, 3, 4, 3] for input_size [2, 3, 8, 6]"});
  require_error([&] { call1("avg_pool2d_backward", {g}, {{"input_size", {2, 3, 7, 6}}, {"kernel_size", 2}, {"ceil_mode", true}}); },
                ErrorKind::Runtime, {"expected grad_output of shape [2, 3, 4, 3]"});
  CHECK(call1("avg_pool2d_backward", {g}, {{"input_size", {2, 3, 7, 6}}, {"kernel_size", 2}}).shape() == Shape{2, 3, 7, 6});
  require_error([&] { call1("adaptive_avg_pool2d_backward", {g}, {{"input_size", {2, 3, 0, 4}}}); }, ErrorKind::Runtime,
                {"adaptive_avg_pool2d_backward", "expected a non-empty plane"});
  require_error([&] { call1("upsample_nearest2d_backward", {call1("to_dtype", {g}, {{"dtype", DType::Int64}})}, {{"input_size", {2, 3, 2, 2}}}); },
                ErrorKind::Runtime, {"\"upsample_nearest2d_backward\" not implemented for 'int64'"});
  require_error([&] { call1("pad_backward", {g}, {{"input_size", {2, 3, 2, 2}}, {"pad", {1, 1, 1, 1}}, {"mode", "reflect"}}); },
                ErrorKind::Runtime, {"pad_backward", "expected grad_output of shape [2, 3, 4, 4]"});
  require_error([&] { call1("pad_backward", {g}, {{"input_size", {2, 3, 3, 1}}, {"pad", {1, 1}}, {"mode", "replicate"}}); },
                ErrorKind::NotImplemented, {"Only 2D, 3D, 4D, 5D padding"});
  require_error([&] { call1("pad_backward", {g}, {{"input_size", {2, 3, 1}}, {"pad", {1, 1, 1, 1}}, {"mode", "circular"}}); },
                ErrorKind::Runtime, {"pad_backward", "Invalid padding size, expected 2 but got 4"});
  require_error([&] { call1("pad_backward", {g}, {{"input_size", {2, 3, 1, 1}}, {"pad", {1, 1, 1, 1}}, {"mode", "constant"}}); },
                ErrorKind::Runtime, {"pad_backward", "expected mode \"reflect\", \"replicate\" or \"circular\", but got \"constant\""});
  require_error([&] { call1("pad_backward", {call1("to_dtype", {g}, {{"dtype", DType::Int64}})}, {{"input_size", {2, 3, 1, 1}}, {"pad", {1, 1, 1, 1}}, {"mode", "circular"}}); },
                ErrorKind::Runtime, {"\"pad_backward\" not implemented for 'int64'"});
}
