// The CUDA convolutions (cuDNN, kernels/cuda/conv.cu), pooling (kernels/cuda/pool.cu) and batch
// normalization (kernels/cuda/batch_norm.cu) against the CPU kernels. Convolution rows allow 10x the harness's tolerance (cuDNN sums in another order;
// TF32 is off); pooling visits the CPU's windows in the CPU's order and must match
// exactly up to the default tolerance (indices exactly); batch_norm sums per channel in another
// order, in float64. Without a device, the window arithmetic the CUDA pooling kernels gather
// with, and the convolution geometry and algorithm-cache key, are checked here.
#include "cuda_cases.hpp"
#include "kernels/common/pool_math.hpp"
#include "kernels/cuda/conv_geometry.hpp"
#include "terra_config.hpp"

using namespace terra;
using namespace terra::test;

namespace {

constexpr double kConvRtolScale = 10;
const DType kFloating[] = {DType::Float32, DType::Float64};

std::vector<Case> conv_cases() {
  std::vector<Case> cases;
  if (!TERRA_WITH_CUDNN) return cases;  // without cuDNN the convolutions have no CUDA kernel
  uint64_t seed = 8000;
  auto add = [&](Case c) {
    c.rtol_scale = kConvRtolScale;
    cases.push_back(std::move(c));
  };
  for (DType dt : kFloating) {
    auto x = [&](const Shape& s) { return contiguous(s, dt, seed++); };
    add({"conv2d", {x({2, 3, 9, 8}), x({4, 3, 3, 3}), x({4})}});
    add({"conv2d", {strided({2, 3, 9, 8}, dt, seed++), x({4, 3, 3, 2})}, {{"stride", {2, 1}}, {"padding", {1, 2}}}});
    add({"conv2d", {x({2, 4, 10, 9}), transposed({6, 2, 3, 3}, dt, seed++), x({6})},
         {{"stride", {2}}, {"padding", {1}}, {"dilation", {2, 1}}, {"groups", 2}}});
    add({"conv2d", {x({3, 7, 6}), x({5, 3, 1, 1}), x({5})}});  // unbatched, 1x1
    add({"conv2d", {x({0, 3, 7, 6}), x({5, 3, 3, 3}), x({5})}});
    add({"conv2d", {x({2, 3, 9, 8}), x({4, 2, 3, 3})}});  // error: channels
    add({"conv1d", {x({2, 4, 17}), x({6, 2, 5}), x({6})}, {{"stride", {2}}, {"padding", {2}}, {"groups", 2}}});
    add({"conv1d", {transposed({2, 4, 17}, dt, seed++), x({3, 4, 3})}, {{"dilation", {3}}}});
    add({"conv1d", {x({4, 11}), x({3, 4, 3}), x({3})}});  // unbatched
    add({"conv_transpose2d", {x({2, 4, 5, 6}), x({4, 3, 3, 3}), x({3})}, {{"stride", {2, 2}}, {"padding", {1, 1}}}});
    add({"conv_transpose2d", {x({2, 4, 5, 6}), x({4, 2, 3, 2}), x({4})},
         {{"stride", {2, 3}}, {"padding", {1, 0}}, {"output_padding", {1, 2}}, {"groups", 2}, {"dilation", {1, 2}}}});
    add({"conv_transpose2d", {x({4, 5, 6}), x({4, 3, 1, 1})}});
    // The weight gradient: the grid of conv2d(x, w), and a shorter one (a transposed
    // convolution's weight gradient, Note [Convolution gradients]).
    add({"conv2d_backward_weight", {x({2, 4, 4, 3}), x({2, 3, 9, 8})},
         {{"weight_size", {4, 3, 3, 3}}, {"stride", {2, 3}}, {"padding", {1, 1}}}});
    add({"conv2d_backward_weight", {x({2, 6, 8, 5}), x({2, 4, 10, 9})},
         {{"weight_size", {6, 2, 3, 3}}, {"dilation", {1, 2}}, {"groups", 2}}});
    add({"conv2d_backward_weight", {x({2, 4, 3, 3}), x({2, 3, 9, 8})},
         {{"weight_size", {4, 3, 3, 3}}, {"stride", {2, 2}}}});
    add({"conv2d_backward_weight", {x({4, 7, 6}), x({3, 9, 8})}, {{"weight_size", {4, 3, 3, 3}}}});
  }
  return cases;
}

// The shape pooling gives on the CPU, for the backward rows' grad_output.
Shape pooled(const char* op, const Shape& input, const NamedAttrs& attrs) {
  return call(op, {random_tensor(input, DType::Float32, 1)}, attrs)[0].shape();
}

std::vector<int64_t> dims(const Shape& s) { return std::vector<int64_t>(s.begin(), s.end()); }

// Whole numbers in [-3, 3] of a floating dtype: windows with ties.
Input whole_numbers(const Shape& shape, DType dt, uint64_t seed) {
  const Tensor ints = random_tensor(shape, DType::Int64, seed, -3, 3, false);
  std::vector<double> v(static_cast<size_t>(ints.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(ints.data<int64_t>()[i]);
  return {from_values(v, shape, dt), nullptr, "whole numbers"};
}

std::vector<Case> pool_cases() {
  std::vector<Case> cases;
  uint64_t seed = 8500;
  const std::vector<NamedAttrs> max_windows = {
      {{"kernel_size", {2, 2}}},
      {{"kernel_size", {3, 2}}, {"stride", {2, 1}}, {"padding", {1, 1}}},
      {{"kernel_size", {3}}, {"stride", {2}}, {"padding", {1}}, {"dilation", {2, 1}}, {"ceil_mode", true}},
  };
  const std::vector<NamedAttrs> avg_windows = {
      {{"kernel_size", {2, 2}}},
      {{"kernel_size", {3, 3}}, {"stride", {2, 2}}, {"padding", {1, 1}}, {"count_include_pad", false}},
      {{"kernel_size", {3, 2}}, {"stride", {2, 2}}, {"padding", {1, 1}}, {"ceil_mode", true}},
      {{"kernel_size", {2}}, {"padding", {1}}, {"ceil_mode", true}, {"count_include_pad", false}},
      {{"kernel_size", {3, 3}}, {"stride", {1, 2}}, {"divisor_override", 4}},
  };
  const Shape image{2, 3, 9, 7};
  for (DType dt : kFloating) {
    for (const NamedAttrs& w : max_windows) {
      for (Input& in : layouts(image, dt, seed)) cases.push_back({"max_pool2d", {in}, w});
      cases.push_back({"max_pool2d", {contiguous({3, 9, 7}, dt, seed++)}, w});
      const Shape out = pooled("max_pool2d", image, w);
      // Any in-plane positions are valid indices; random ones make several outputs share one.
      cases.push_back({"max_pool2d_backward", {contiguous(out, dt, seed++), indices(out, 9 * 7, seed++)},
                       {{"input_size", dims(image)}}});
    }
    // Ties (integer values) keep the first position; a window of -inf reports its first.
    cases.push_back({"max_pool2d", {whole_numbers({2, 2, 8, 8}, dt, seed++)}, {{"kernel_size", {3, 3}}, {"stride", {1, 1}}}});
    cases.push_back({"max_pool2d", {{from_values(std::vector<double>(16, -INFINITY), {1, 1, 4, 4}, dt), nullptr}},
                     {{"kernel_size", {2, 2}}}});
    for (const NamedAttrs& w : avg_windows) {
      for (Input& in : layouts(image, dt, seed)) cases.push_back({"avg_pool2d", {in}, w});
      NamedAttrs back = w;
      back.push_back({"input_size", dims(image)});
      for (Input& g : layouts(pooled("avg_pool2d", image, w), dt, seed)) cases.push_back({"avg_pool2d_backward", {g}, back});
    }
    for (const std::vector<int64_t>& size : {std::vector<int64_t>{3, 4}, {1, 1}, {12, 10}, {9, 7}}) {
      for (Input& in : layouts(image, dt, seed)) cases.push_back({"adaptive_avg_pool2d", {in}, {{"output_size", size}}});
      cases.push_back({"adaptive_avg_pool2d_backward", {contiguous({2, 3, size[0], size[1]}, dt, seed++)},
                       {{"input_size", dims(image)}}});
    }
  }
  cases.push_back({"max_pool2d", {contiguous({0, 3, 9, 7}, DType::Float32, seed++)}, {{"kernel_size", {2, 2}}}});
  cases.push_back({"avg_pool2d", {contiguous({2, 3, 9, 7}, DType::Int64, seed++)}, {{"kernel_size", {2, 2}}}});  // error
  return cases;
}

std::vector<Case> batch_norm_cases() {
  std::vector<Case> cases;
  uint64_t seed = 9000;
  for (DType dt : kFloating) {
    auto x = [&](const Shape& s) { return contiguous(s, dt, seed++); };
    auto positive = [&](const Shape& s) { return contiguous(s, dt, seed++, 0.5, 2); };
    for (bool training : {true, false}) {
      const NamedAttrs attrs{{"training", training}, {"momentum", 0.1}, {"eps", 1e-5}};
      for (const Shape& s : {Shape{4, 3, 5, 6}, Shape{6, 5}, Shape{3, 4, 20}, Shape{2, 3, 2, 2, 2}}) {
        const Shape c{s[1]};
        cases.push_back({"batch_norm", {x(s), x(c), x(c), x(c), positive(c)}, attrs});
        cases.push_back({"batch_norm_backward", {x(s), x(s), x(c), x(c), positive(c)},
                         {{"training", training}, {"eps", 1e-5}}});
      }
      // Strided input, no affine parameters, strided running statistics.
      cases.push_back({"batch_norm", {transposed({4, 3, 6, 5}, dt, seed++), none(), none(),
                                      strided({3}, dt, seed++), strided({3}, dt, seed++, 0.5, 2)}, attrs});
      cases.push_back({"batch_norm_backward", {transposed({4, 3, 5, 6}, dt, seed++), x({4, 3, 5, 6}), none(),
                                               x({3}), positive({3})}, {{"training", training}, {"eps", 1e-3}}});
      // A large mean against the spread (the shifted sums' case).
      cases.push_back({"batch_norm", {contiguous({8, 2, 7}, dt, seed++, 1000, 1001), x({2}), x({2}), x({2}),
                                      positive({2})}, attrs});
    }
    // Training without running statistics; an empty batch; a single value per channel (error).
    cases.push_back({"batch_norm", {x({5, 4, 3}), x({4}), x({4})}, {{"training", true}, {"momentum", 0.3}, {"eps", 1e-5}}});
    cases.push_back({"batch_norm", {x({0, 4, 3}), x({4}), x({4}), x({4}), positive({4})},
                     {{"training", true}, {"momentum", 0.1}, {"eps", 1e-5}}});
    cases.push_back({"batch_norm", {x({1, 4}), x({4}), x({4})}, {{"training", true}, {"momentum", 0.1}, {"eps", 1e-5}}});
  }
  return cases;
}

}  // namespace

TERRA_CUDA_CASES(conv, conv_cases);
TERRA_CUDA_CASES(pool, pool_cases);
TERRA_CUDA_CASES(batch_norm, batch_norm_cases);

// ---- Without a device ----

// The CUDA backward kernels gather, for each input position, the windows that hold it from the
// candidate range the window math gives: that range must hold every one of them.
TEST_CASE("pooling windows: every window holding a position lies in its candidate range", "[cuda][pool]") {
  for (int64_t in = 1; in <= 13; ++in)
    for (int64_t out = 1; out <= 29; ++out) {
      INFO("in " << in << ", out " << out);
      const math::AvgPoolWindows adaptive = math::adaptive_pool_windows();
      for (int64_t i = 0; i < in; ++i) {
        int64_t lo = 0, hi = 0;
        adaptive.windows_containing(0, i, in, out, lo, hi);
        for (int64_t o = 0; o < out; ++o)
          if (adaptive.span(0, o, in, out).contains(i)) CHECK((lo <= o && o < hi));
      }
    }
  for (int64_t k = 1; k <= 4; ++k)
    for (int64_t stride = 1; stride <= 3; ++stride)
      for (int64_t pad = 0; pad <= k / 2; ++pad)
        for (int64_t in = 1; in <= 9; ++in) {
          math::AvgPoolWindows w;
          w.kernel[1] = k;
          w.stride[1] = stride;
          w.pad[1] = pad;
          const int64_t out = (in + 2 * pad - k + stride - 1) / stride + 1;  // ceil_mode's count, an upper bound
          for (int64_t i = 0; i < in; ++i) {
            int64_t lo = 0, hi = 0;
            w.windows_containing(1, i, in, out, lo, hi);
            for (int64_t o = 0; o < out; ++o)
              if (w.span(1, o, in, out).contains(i)) CHECK((lo <= o && o < hi));
          }
        }
}

TEST_CASE("convolution geometry as cuDNN sees it", "[cuda][conv]") {
  const NamedAttrs conv1d_attrs{{"stride", {2}}, {"padding", {1}}, {"dilation", {3}}, {"groups", 2}};
  const cuda::ConvGeometry g1 = cuda::conv_geometry({5, 4, 17}, {6, 2, 3}, {5, 6, 7},
                                                    make_attrs(*Registry::instance().find("conv1d"), conv1d_attrs), 1);
  CHECK(g1.image == cuda::Dims4{5, 4, 1, 17});
  CHECK(g1.filter == cuda::Dims4{6, 2, 1, 3});
  CHECK(g1.grid == cuda::Dims4{5, 6, 1, 7});
  CHECK(g1.stride == std::array<int64_t, 2>{1, 2});
  CHECK(g1.padding == std::array<int64_t, 2>{0, 1});
  CHECK(g1.dilation == std::array<int64_t, 2>{1, 3});
  CHECK(g1.groups == 2);
  CHECK(g1.full_grid() == g1.grid);
  // Unbatched conv2d, one value for both axes; a grid shorter than the full one.
  const cuda::ConvGeometry g2 =
      cuda::conv_geometry({3, 9, 8}, {4, 3, 3, 3}, {4, 3, 3},
                          make_attrs(*Registry::instance().find("conv2d_backward_weight"),
                                     {{"weight_size", {4, 3, 3, 3}}, {"stride", {2}}}), 2);
  CHECK(g2.image == cuda::Dims4{1, 3, 9, 8});
  CHECK(g2.grid == cuda::Dims4{1, 4, 3, 3});
  CHECK(g2.full_grid() == cuda::Dims4{1, 4, 4, 3});
}

TEST_CASE("convolution algorithm cache key", "[cuda][conv]") {
  cuda::ConvKey a;
  a.g.image = {2, 3, 9, 8};
  a.g.filter = {4, 3, 3, 3};
  a.g.grid = {2, 4, 7, 6};
  a.g.stride = {1, 1};
  a.g.dilation = {1, 1};
  const cuda::ConvKeyHash hash;
  cuda::ConvKey b = a;
  CHECK(a == b);
  CHECK(hash(a) == hash(b));
  // Every field tells keys apart.
  std::vector<cuda::ConvKey> variants(10, a);
  variants[0].pass = cuda::ConvPass::BackwardData;
  variants[1].dtype = 1;
  variants[2].tf32 = true;
  variants[3].device = 1;
  variants[4].g.image[0] = 3;
  variants[5].g.filter[2] = 5;
  variants[6].g.grid[3] = 5;
  variants[7].g.padding[1] = 1;
  variants[8].g.stride[0] = 2;
  variants[9].g.groups = 3;
  for (const cuda::ConvKey& v : variants) {
    CHECK_FALSE(v == a);
    CHECK(hash(v) != hash(a));
  }
}

#if TERRA_WITH_CUDA
#include "kernels/cuda/conv_fused.hpp"

// The fused convolution the graph compiler will call (no op runs it yet): against conv2d and the
// activation on the CPU, where cuDNN has an engine for the graph (it may have none for float32
// NCHW data: then the call declines, visibly).
TEST_CASE("cuDNN graph: conv2d + bias + relu / gelu(tanh)", "[cuda][conv][kernels]") {
  if (!have_device("the fused cuDNN convolution")) return;
  const Tensor x = random_tensor({2, 4, 9, 8}, DType::Float32, 21), w = random_tensor({6, 2, 3, 3}, DType::Float32, 22),
               b = random_tensor({6}, DType::Float32, 23);
  const Tensor conv = call1("conv2d", {x, w, b}, {{"stride", {2, 1}}, {"padding", {1, 1}}, {"groups", 2}});
  const std::pair<cuda::ConvActivation, Tensor> expected[] = {
      {cuda::ConvActivation::Identity, conv},
      {cuda::ConvActivation::Relu, call1("relu", {conv})},
      {cuda::ConvActivation::GeluTanh, call1("gelu", {conv}, {{"approximate", "tanh"}})},
  };
  for (const auto& [activation, want] : expected) {
    INFO("activation " << static_cast<int>(activation));
    const Tensor out = call1("empty", {}, {{"size", dims(conv.shape())}, {"device", kCuda}});
    if (!cuda::conv2d_bias_activation(out, to(x, kCuda), to(w, kCuda), to(b, kCuda), {2, 1}, {1, 1}, {1, 1}, 2,
                                      activation)) {
      WARN("cuDNN has no engine for the fused float32 graph (activation " << static_cast<int>(activation) << ")");
      continue;
    }
    check_values(to(out, kCpu), values(want), 1e-4, 1e-5);
  }
}
#endif
