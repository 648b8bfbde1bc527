// Registry entries of 2-D pooling and resampling over the last two dims of (N, C, H, W) or
// unbatched (C, H, W) inputs: max_pool2d (values and flat per-plane indices), avg_pool2d,
// adaptive_avg_pool2d and upsample_nearest2d. The rules follow aten's pooling_output_shape and
// pool2d_shape_check in order and wording; only float32 and float64 are accepted, as PyTorch's
// CPU does for these ops (it also takes int64 in avg_pool2d).
#include <array>

#include "engine/registry/registry.hpp"

namespace terra {
namespace {

Shape with_plane(const Tensor& t, int64_t h, int64_t w) {
  Shape s = t.shape();
  s[s.size() - 2] = h;
  s[s.size() - 1] = w;
  return s;
}

void require_floating(const Tensor& t, const char* op) {
  TERRA_CHECK(is_floating(t.dtype()), Runtime, "\"", op, "\" not implemented for '", dtype_name(t.dtype()), "'");
}

// Division rounding towards negative infinity (aten's div_rtn).
int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b, r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? q - 1 : q;
}

// aten's pooling_output_shape: with ceil_mode the last window must still start inside the
// input or its left padding.
int64_t pooled_size(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dilation, bool ceil_mode) {
  TERRA_CHECK(stride != 0, Runtime, "stride should not be zero");
  TERRA_CHECK(pad >= 0, Runtime, "pad must be non-negative, but got pad: ", pad);
  TERRA_CHECK(pad <= k / 2, Runtime, "pad should be at most half of kernel size, but got pad=", pad,
              " and kernel_size=", k);
  int64_t out = floor_div(in + 2 * pad - dilation * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0), stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

// One int[2] pooling argument: a single value stands for both dims.
std::array<int64_t, 2> pair_param(const std::vector<int64_t>& v, const char* op, const char* name, const char* must) {
  TERRA_CHECK(v.size() == 1 || v.size() == 2, Runtime, op, ": ", name, " must ", must);
  return {v[0], v.back()};
}

// The pooled output shape of a max or average pool, with every aten check on the way.
Shape pool_shape(const Tensor& self, const Attrs& attrs, const char* op, bool has_dilation) {
  auto param = [&](const char* name, const char* must) {
    return pair_param(attrs.get<std::vector<int64_t>>(name), op, name, must);
  };
  const auto k = param("kernel_size", "either be a single int, or a tuple of two ints");
  // An omitted stride (PyTorch's default []) is the kernel size.
  const bool no_stride = attrs.get<std::vector<int64_t>>("stride").empty();
  const auto s = no_stride ? k : param("stride", "either be omitted, a single int, or a tuple of two ints");
  const auto p = param("padding", "either be a single int, or a tuple of two ints");
  const auto d = has_dilation ? param("dilation", "either be a single int, or a tuple of two ints")
                              : std::array<int64_t, 2>{1, 1};
  const int64_t rank = self.dim();
  TERRA_CHECK(rank == 3 || rank == 4, Runtime, "non-empty 3D or 4D (batch mode) tensor expected for input");
  const bool ceil_mode = attrs.get<bool>("ceil_mode");
  const int64_t planes = self.size(-3), h = self.size(-2), w = self.size(-1);
  const int64_t oh = pooled_size(h, k[0], p[0], s[0], d[0], ceil_mode);
  const int64_t ow = pooled_size(w, k[1], p[1], s[1], d[1], ceil_mode);
  // aten's pool2d_shape_check.
  TERRA_CHECK(k[0] > 0 && k[1] > 0, Runtime, "kernel size should be greater than zero, but got kH: ", k[0],
              " kW: ", k[1]);
  TERRA_CHECK(s[0] > 0 && s[1] > 0, Runtime, "stride should be greater than zero, but got dH: ", s[0], " dW: ", s[1]);
  TERRA_CHECK(d[0] > 0 && d[1] > 0, Runtime, "dilation should be greater than zero, but got dilationH: ", d[0],
              " dilationW: ", d[1]);
  TERRA_CHECK(planes != 0 && h != 0 && w != 0, Runtime,
              "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:",
              shape_str(self.shape()));
  TERRA_CHECK(oh >= 1 && ow >= 1, Runtime, "Given input size: (", planes, "x", h, "x", w,
              "). Calculated output size: (", planes, "x", oh, "x", ow, "). Output size is too small");
  require_floating(self, op);
  return with_plane(self, oh, ow);
}

Inferred max_pool2d_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Shape out = pool_shape(in[0], attrs, "max_pool2d", true);
  Inferred inf;
  inf.outputs.push_back(TensorMeta{out, in[0].dtype(), in[0].device()});
  inf.outputs.push_back(TensorMeta{out, DType::Int64, in[0].device()});
  return inf;
}

Inferred avg_pool2d_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  auto divisor = attrs.opt<int64_t>("divisor_override");
  TERRA_CHECK(!divisor || *divisor != 0, Runtime, "divisor must be not zero");
  Inferred inf;
  inf.outputs.push_back(TensorMeta{pool_shape(in[0], attrs, "avg_pool2d", false), in[0].dtype(), in[0].device()});
  return inf;
}

Inferred adaptive_avg_pool2d_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& self = in[0];
  const auto& v = attrs.get<std::vector<int64_t>>("output_size");
  TERRA_CHECK(v.size() == 2, Runtime, "adaptive_avg_pool2d: output_size must be 2");
  TERRA_CHECK(v[0] >= 0 && v[1] >= 0, Runtime,
              "adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but received {", v[0],
              ", ", v[1], "}");
  const int64_t rank = self.dim();
  TERRA_CHECK(rank == 3 || rank == 4, Runtime, "adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got ",
              shape_str(self.shape()));
  for (int64_t d : {rank - 2, rank - 1})
    TERRA_CHECK(self.size(d) > 0, Runtime,
                "adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch dimensions, but input has "
                "sizes ",
                shape_str(self.shape()), " with dimension ", d, " being empty");
  require_floating(self, "adaptive_avg_pool2d");
  Inferred inf;
  inf.outputs.push_back(TensorMeta{with_plane(self, v[0], v[1]), self.dtype(), self.device()});
  return inf;
}

// aten's upsample_nearest2d takes only 4-D input; Terra also takes an unbatched (C, H, W) one, as
// every other op of this family does.
Inferred upsample_nearest2d_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& self = in[0];
  const auto& size = attrs.get<std::vector<int64_t>>("output_size");
  TERRA_CHECK(size.size() == 2, Runtime, "It is expected output_size equals to 2, but got size ", size.size());
  const int64_t rank = self.dim();
  TERRA_CHECK(rank == 3 || rank == 4, Runtime,
              "Expected 3D (unbatched) or 4D (batched) input to upsample_nearest2d, but got input of size: ",
              shape_str(self.shape()));
  const int64_t h = self.size(-2), w = self.size(-1);
  TERRA_CHECK(h > 0 && w > 0 && size[0] > 0 && size[1] > 0, Runtime,
              "Input and output sizes should be greater than 0, but got input (H: ", h, ", W: ", w, ") output (H: ",
              size[0], ", W: ", size[1], ")");
  TERRA_CHECK(self.size(-3) > 0, Runtime, "Non-empty 4D data tensor expected but got a tensor with sizes ",
              shape_str(self.shape()));
  require_floating(self, "upsample_nearest2d");
  Inferred inf;
  inf.outputs.push_back(TensorMeta{with_plane(self, size[0], size[1]), self.dtype(), self.device()});
  return inf;
}

}  // namespace

TERRA_OP("max_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=[0, 0], "
         "int[2] dilation=[1, 1], bool ceil_mode=False) -> (Tensor output, Tensor indices)")
    .infer(max_pool2d_rule);
TERRA_OP("avg_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=[0, 0], bool ceil_mode=False, "
         "bool count_include_pad=True, int? divisor_override=None) -> Tensor")
    .infer(avg_pool2d_rule);
TERRA_OP("adaptive_avg_pool2d(Tensor self, int[2] output_size) -> Tensor").infer(adaptive_avg_pool2d_rule);
TERRA_OP("upsample_nearest2d(Tensor self, int[2] output_size) -> Tensor").infer(upsample_nearest2d_rule);

}  // namespace terra
