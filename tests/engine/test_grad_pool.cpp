// Gradients of pooling, upsampling and padding (max_pool2d, avg_pool2d, adaptive_avg_pool2d,
// upsample_nearest2d, pad) and of their backward ops: central differences in float64 over every
// argument that changes the windows (kernel, stride or none, padding, dilation, ceil_mode,
// count_include_pad, divisor_override, output sizes that do not divide the input, negative
// pads), unbatched and non-contiguous inputs, double backward, and hand-computed cases.
#include "gradgradcheck.hpp"

using namespace terra;
using namespace terra::test;

namespace {

Tensor rnd(const Shape& s, uint64_t seed) { return random_tensor(s, DType::Float64, seed); }

Tensor unbatched(const Tensor& t) { return call1("select", {t}, {{"dim", 0}, {"index", 0}}); }

// gradcheck of op(x) on x, on its unbatched form and on a non-contiguous copy, plus the double
// backward on x.
void check_layouts(const std::string& what, const Function& f, const Tensor& x) {
  gradcheck(what, f, {x});
  gradcheck(what + " unbatched", f, {unbatched(x)});
  gradcheck(what + " non-contiguous", f, {transposed_copy(x)});
  gradgradcheck(what + " double backward", f, {x}, 0);
}

Function op1(const char* op, NamedAttrs attrs) {
  return [op, attrs](const TensorList& x) { return call(op, {x[0]}, attrs)[0]; };
}

struct PoolCase {
  Shape input;
  NamedAttrs attrs;
};

}  // namespace

TEST_CASE("max_pool2d gradients", "[grad][pool]") {
  const PoolCase cases[] = {
      {{2, 3, 6, 7}, {{"kernel_size", {2, 2}}}},                                   // stride omitted: the kernel
      {{2, 2, 7, 8}, {{"kernel_size", {3, 2}}, {"stride", {2, 1}}, {"padding", {1, 0}}}},  // overlapping windows
      {{1, 2, 9, 10}, {{"kernel_size", 3}, {"stride", 2}, {"padding", 1}, {"dilation", 2}}},
      {{2, 2, 7, 7}, {{"kernel_size", 3}, {"stride", 2}, {"ceil_mode", true}}},
      {{1, 2, 6, 6}, {{"kernel_size", 2}, {"stride", 2}, {"padding", 1}, {"ceil_mode", true}}},
      {{1, 1, 5, 5}, {{"kernel_size", {2, 4}}, {"stride", {3, 1}}, {"padding", {1, 2}}, {"dilation", {2, 1}}, {"ceil_mode", true}}},
  };
  uint64_t seed = 100;
  for (const PoolCase& c : cases) check_layouts("max_pool2d", op1("max_pool2d", c.attrs), rnd(c.input, seed++));
}

TEST_CASE("max_pool2d sends each gradient to the first maximum of its window", "[grad][pool]") {
  // Windows 2x2, stride 1 over a 3x3 plane whose centre is the largest: it is the max of all four
  // windows and collects all four gradients; a tie in the top row goes to its first position.
  Tensor x = from_values({5, 5, 1, 2, 9, 3, 0, 4, 6}, {1, 1, 3, 3});
  autograd::set_requires_grad(x, true);
  Tensor y = call("max_pool2d", {x}, {{"kernel_size", 2}, {"stride", 1}})[0];
  autograd::backward({y}, {from_values({1, 2, 3, 4}, {1, 1, 2, 2})}, false, false);
  check_values(autograd::grad(x), {0, 0, 0, 0, 10, 0, 0, 0, 0}, 0, 0);
  Tensor x2 = from_values({7, 7, 1, 2}, {1, 1, 2, 2});
  autograd::set_requires_grad(x2, true);
  autograd::backward({call("max_pool2d", {x2}, {{"kernel_size", 2}})[0]}, {from_values({3}, {1, 1, 1, 1})}, false, false);
  check_values(autograd::grad(x2), {3, 0, 0, 0}, 0, 0);
}

TEST_CASE("avg_pool2d gradients", "[grad][pool]") {
  const PoolCase cases[] = {
      {{2, 3, 6, 7}, {{"kernel_size", {2, 2}}}},
      {{2, 2, 7, 8}, {{"kernel_size", {3, 2}}, {"stride", {2, 1}}, {"padding", {1, 1}}}},
      {{2, 2, 7, 8}, {{"kernel_size", {3, 2}}, {"stride", {2, 1}}, {"padding", {1, 1}}, {"count_include_pad", false}}},
      {{1, 2, 7, 7}, {{"kernel_size", 3}, {"stride", 2}, {"padding", 1}, {"ceil_mode", true}}},
      {{1, 2, 7, 7}, {{"kernel_size", 3}, {"stride", 2}, {"padding", 1}, {"ceil_mode", true}, {"count_include_pad", false}}},
      {{1, 2, 6, 5}, {{"kernel_size", 2}, {"stride", 2}, {"padding", 1}, {"divisor_override", 3}}},
      {{1, 1, 5, 6}, {{"kernel_size", {4, 2}}, {"stride", {3, 1}}, {"padding", {2, 1}}, {"ceil_mode", true}}},
  };
  uint64_t seed = 200;
  for (const PoolCase& c : cases) check_layouts("avg_pool2d", op1("avg_pool2d", c.attrs), rnd(c.input, seed++));
}

TEST_CASE("avg_pool2d gradients by hand", "[grad][pool]") {
  // 2x2 windows, stride 2, padding 1 over a 2x3 plane: windows of 1, 2, 1, 1, 2, 1 elements; with
  // count_include_pad each divides by 4, without by its element count.
  for (bool include_pad : {true, false}) {
    Tensor x = rnd({1, 1, 2, 3}, 250);
    autograd::set_requires_grad(x, true);
    Tensor y = call1("avg_pool2d", {x}, {{"kernel_size", 2}, {"stride", 2}, {"padding", 1}, {"count_include_pad", include_pad}});
    REQUIRE(y.shape() == Shape{1, 1, 2, 2});
    autograd::backward({y}, {from_values({1, 2, 3, 4}, {1, 1, 2, 2})}, false, false);
    // Input (0, 0) is alone in window (0, 0); (0, 1) and (0, 2) share window (0, 1); row 1 likewise.
    const std::vector<double> expected = include_pad ? std::vector<double>{0.25, 0.5, 0.5, 0.75, 1, 1}
                                                     : std::vector<double>{1, 1, 1, 3, 2, 2};
    check_values(autograd::grad(x), expected, 1e-15, 0);
  }
}

TEST_CASE("adaptive_avg_pool2d gradients", "[grad][pool]") {
  const std::pair<Shape, std::vector<int64_t>> cases[] = {
      {{2, 3, 6, 6}, {3, 2}},  // windows that tile the input
      {{2, 2, 7, 5}, {3, 4}},  // overlapping windows
      {{1, 2, 3, 4}, {5, 7}},  // more outputs than inputs
      {{2, 3, 5, 4}, {1, 1}},  // global average
  };
  uint64_t seed = 300;
  for (const auto& [shape, size] : cases)
    check_layouts("adaptive_avg_pool2d", op1("adaptive_avg_pool2d", {{"output_size", size}}), rnd(shape, seed++));
}

TEST_CASE("upsample_nearest2d gradients", "[grad][pool]") {
  const std::pair<Shape, std::vector<int64_t>> cases[] = {
      {{2, 3, 3, 4}, {6, 8}},  // doubling
      {{1, 2, 3, 4}, {7, 5}},  // uneven scales
      {{2, 2, 5, 6}, {3, 4}},  // downsampling skips inputs
  };
  uint64_t seed = 400;
  for (const auto& [shape, size] : cases)
    check_layouts("upsample_nearest2d", op1("upsample_nearest2d", {{"output_size", size}}), rnd(shape, seed++));
  // Each input of a 2x upsample collects the four gradients copied from it.
  Tensor x = rnd({1, 1, 1, 2}, 450);
  autograd::set_requires_grad(x, true);
  autograd::backward({call1("upsample_nearest2d", {x}, {{"output_size", {2, 4}}})},
                     {from_values({1, 2, 3, 4, 5, 6, 7, 8}, {1, 1, 2, 4})}, false, false);
  check_values(autograd::grad(x), {14, 22}, 0, 0);
}

TEST_CASE("pad gradients", "[grad][pool]") {
  const std::pair<Shape, NamedAttrs> cases[] = {
      {{2, 3, 4}, {{"pad", {1, 2}}}},
      {{2, 3, 4}, {{"pad", {1, 2, 0, 1}}, {"value", 1.5}}},
      {{2, 3, 4}, {{"pad", {2, 1, 1, 0, 1, 1}}}},  // every dim
      {{2, 3, 5}, {{"pad", {-1, -2}}}},            // cropping only
      {{2, 3, 5}, {{"pad", {-1, 2, 1, -1}}}},      // cropping and padding
      {{5}, {{"pad", {0, -3}}}},
      {{2, 3, 5}, {{"pad", {2, 1}}, {"mode", "reflect"}}},
      {{2, 4, 5}, {{"pad", {2, 1, 3, 0}}, {"mode", "reflect"}}},
      {{1, 2, 4, 5}, {{"pad", {-1, 2, 1, -2}}, {"mode", "reflect"}}},
      {{1, 2, 3, 4, 3}, {{"pad", {1, 2, 0, 3, 2, 1}}, {"mode", "reflect"}}},
      {{2, 3, 5}, {{"pad", {4, 1}}, {"mode", "replicate"}}},
      {{2, 4, 5}, {{"pad", {-1, 2, 3, -2}}, {"mode", "replicate"}}},
      {{2, 2, 3, 4}, {{"pad", {1, 1, 2, 0, 1, 2}}, {"mode", "replicate"}}},
      {{2, 3, 5}, {{"pad", {5, 2}}, {"mode", "circular"}}},
      {{1, 2, 4, 5}, {{"pad", {-1, 2, 1, -2}}, {"mode", "circular"}}},
      {{1, 2, 2, 3, 4}, {{"pad", {2, 1, 0, 3, 1, 1}}, {"mode", "circular"}}},
  };
  uint64_t seed = 500;
  for (const auto& [shape, attrs] : cases) {
    INFO(shape_str(shape));
    const Tensor x = rnd(shape, seed++);
    gradcheck("pad", op1("pad", attrs), {x});
    gradcheck("pad non-contiguous", op1("pad", attrs), {transposed_copy(x)});
    gradgradcheck("pad double backward", op1("pad", attrs), {x}, 0);
  }
}

TEST_CASE("gradients of the pooling backward ops", "[grad][pool]") {
  // Called directly, the backward ops differentiate in grad_output (indices carry none).
  Tensor x = rnd({2, 2, 6, 5}, 600);
  TensorList pooled = call("max_pool2d", {x}, {{"kernel_size", 3}, {"stride", 2}, {"padding", 1}});
  const Tensor indices = pooled[1];
  gradcheck("max_pool2d_backward", [indices](const TensorList& g) {
    return call1("max_pool2d_backward", {g[0], indices}, {{"input_size", {2, 2, 6, 5}}});
  }, {rnd(indices.shape(), 601)});
  gradcheck("avg_pool2d_backward", [](const TensorList& g) {
    return call1("avg_pool2d_backward", {g[0]},
                 {{"input_size", {2, 2, 6, 5}}, {"kernel_size", 3}, {"stride", 2}, {"padding", 1}, {"ceil_mode", true}});
  }, {rnd({2, 2, 4, 3}, 602)});
  gradcheck("adaptive_avg_pool2d_backward", [](const TensorList& g) {
    return call1("adaptive_avg_pool2d_backward", {g[0]}, {{"input_size", {2, 5, 4}}});
  }, {rnd({2, 3, 3}, 603)});
  gradcheck("upsample_nearest2d_backward", [](const TensorList& g) {
    return call1("upsample_nearest2d_backward", {g[0]}, {{"input_size", {2, 3, 4}}});
  }, {rnd({2, 7, 5}, 604)});
  for (const char* mode : {"reflect", "replicate", "circular"})
    gradcheck("pad_backward", [mode](const TensorList& g) {
      return call1("pad_backward", {g[0]}, {{"input_size", {1, 2, 3, 4}}, {"pad", {1, 2, 2, 0}}, {"mode", mode}});
    }, {rnd({1, 2, 5, 7}, 605)});
}
