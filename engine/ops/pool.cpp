// Registry entries of 2-D pooling and resampling over the last two dims of (N, C, H, W) or
// unbatched (C, H, W) inputs: max_pool2d (values and flat per-plane indices), avg_pool2d,
// adaptive_avg_pool2d and upsample_nearest2d. The rules follow aten's pooling_output_shape and
// pool2d_shape_check in order and wording; only float32 and float64 are accepted, as PyTorch's
// CPU does for these ops (it also takes int64 in avg_pool2d).
// Each has a backward op that takes the output gradient and the input's size (not the input: none
// of them reads it) and spreads the gradient over the windows: max_pool2d_backward (onto the
// argmax positions), avg_pool2d_backward, adaptive_avg_pool2d_backward and
// upsample_nearest2d_backward. Each backward op is linear in grad_output, its adjoint being the
// forward op, which gives it its own gradient (double backward).
#include <array>

#include "engine/autograd/grad_helpers.hpp"
#include "engine/registry/registry.hpp"

namespace terra {
namespace {

Shape with_plane(Shape s, int64_t h, int64_t w) {
  s[s.size() - 2] = h;
  s[s.size() - 1] = w;
  return s;
}

void require_floating(DType dtype, const char* op) {
  TERRA_CHECK(is_floating(dtype), Runtime, "\"", op, "\" not implemented for '", dtype_name(dtype), "'");
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

// The pooled output shape of a max or average pool of an input of shape `self`, with every aten
// check on the way.
Shape pool_shape(const Shape& self, DType dtype, const Attrs& attrs, const char* op, bool has_dilation) {
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
  const size_t rank = self.size();
  TERRA_CHECK(rank == 3 || rank == 4, Runtime, "non-empty 3D or 4D (batch mode) tensor expected for input");
  const bool ceil_mode = attrs.get<bool>("ceil_mode");
  const int64_t planes = self[rank - 3], h = self[rank - 2], w = self[rank - 1];
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
              shape_str(self));
  TERRA_CHECK(oh >= 1 && ow >= 1, Runtime, "Given input size: (", planes, "x", h, "x", w,
              "). Calculated output size: (", planes, "x", oh, "x", ow, "). Output size is too small");
  require_floating(dtype, op);
  return with_plane(self, oh, ow);
}

Inferred max_pool2d_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Shape out = pool_shape(in[0].shape(), in[0].dtype(), attrs, "max_pool2d", true);
  Inferred inf;
  inf.outputs.push_back(TensorMeta{out, in[0].dtype(), in[0].device()});
  inf.outputs.push_back(TensorMeta{out, DType::Int64, in[0].device()});
  return inf;
}

Inferred avg_pool2d_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  auto divisor = attrs.opt<int64_t>("divisor_override");
  TERRA_CHECK(!divisor || *divisor != 0, Runtime, "divisor must be not zero");
  Inferred inf;
  inf.outputs.push_back(
      TensorMeta{pool_shape(in[0].shape(), in[0].dtype(), attrs, "avg_pool2d", false), in[0].dtype(), in[0].device()});
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
  require_floating(self.dtype(), "adaptive_avg_pool2d");
  Inferred inf;
  inf.outputs.push_back(TensorMeta{with_plane(self.shape(), v[0], v[1]), self.dtype(), self.device()});
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
  require_floating(self.dtype(), "upsample_nearest2d");
  Inferred inf;
  inf.outputs.push_back(TensorMeta{with_plane(self.shape(), size[0], size[1]), self.dtype(), self.device()});
  return inf;
}

// The backward ops: grad_output must be shaped like the forward op's output for an input of
// input_size (3-D or 4-D, same leading dims); the result has input_size.
Shape backward_input_size(const Tensor& grad, const Attrs& attrs, const char* op) {
  const auto& v = attrs.get<std::vector<int64_t>>("input_size");
  const Shape size(v.begin(), v.end());
  TERRA_CHECK((size.size() == 3 || size.size() == 4) && grad.dim() == static_cast<int64_t>(size.size()), Runtime,
              "expected a 3-D or 4-D input_size and a grad_output of the same rank, but got input_size ",
              shape_str(size), " and grad_output ", shape_str(grad.shape()));
  for (size_t d = 0; d < size.size(); ++d)
    TERRA_CHECK(size[d] >= 0 && (d + 2 >= size.size() || size[d] == grad.size(static_cast<int64_t>(d))), Runtime,
                "grad_output ", shape_str(grad.shape()), " does not match input_size ", shape_str(size));
  require_floating(grad.dtype(), op);
  return size;
}

Inferred like_input(const Tensor& grad, const Shape& size) {
  Inferred inf;
  inf.outputs.push_back(TensorMeta{size, grad.dtype(), grad.device()});
  return inf;
}

Inferred max_pool2d_backward_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Shape size = backward_input_size(in[0], attrs, "max_pool2d_backward");
  TERRA_CHECK(in[1].dtype() == DType::Int64 && in[1].shape() == in[0].shape(), Runtime,
              "expected int64 indices shaped like grad_output ", shape_str(in[0].shape()),
              ", but got ", dtype_name(in[1].dtype()), shape_str(in[1].shape()));
  return like_input(in[0], size);
}

Inferred avg_pool2d_backward_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Shape size = backward_input_size(in[0], attrs, "avg_pool2d_backward");
  const Shape pooled = pool_shape(size, in[0].dtype(), attrs, "avg_pool2d_backward", false);
  TERRA_CHECK(pooled == in[0].shape(), Runtime, "expected grad_output of shape ",
              shape_str(pooled), " for input_size ", shape_str(size), ", but got ", shape_str(in[0].shape()));
  return like_input(in[0], size);
}

// adaptive_avg_pool2d_backward and upsample_nearest2d_backward: any grid over a non-empty plane.
Inferred resample_backward_rule(const std::vector<Tensor>& in, const Attrs& attrs, const char* op) {
  const Shape size = backward_input_size(in[0], attrs, op);
  TERRA_CHECK(size[size.size() - 1] > 0 && size[size.size() - 2] > 0, Runtime,
              "expected a non-empty plane in input_size, but got ", shape_str(size));
  return like_input(in[0], size);
}

NamedAttrs input_size_of(const GradContext& c) { return {{"input_size", grad::dims_of(c.input_shape(0))}}; }

// The attributes avg_pool2d and avg_pool2d_backward share.
NamedAttrs avg_pool_attrs(const Attrs& a) {
  return {{"kernel_size", a["kernel_size"]}, {"stride", a["stride"]},
          {"padding", a["padding"]},         {"ceil_mode", a["ceil_mode"]},
          {"count_include_pad", a["count_include_pad"]}, {"divisor_override", a["divisor_override"]}};
}

// The plane size of grad_output: the output_size of the forward op it came from.
std::vector<int64_t> grid_of(const GradContext& c) {
  const Shape& s = c.input_shape(0);
  return {s[s.size() - 2], s[s.size() - 1]};
}

TensorList max_pool2d_grad(const GradContext& c) {
  return {call1("max_pool2d_backward", {c.grad(0), c.output(1)}, input_size_of(c))};
}

// The adjoint of scattering onto the argmax positions: gathering from them.
TensorList max_pool2d_backward_grad(const GradContext& c) {
  const Tensor& indices = c.input(1);
  Tensor flat = call1("flatten", {c.grad()}, {{"start_dim", -2}});
  Tensor picked = call1("gather", {flat, call1("flatten", {indices}, {{"start_dim", -2}})}, {{"dim", -1}});
  return {call1("reshape", {picked}, {{"shape", grad::dims_of(indices.shape())}}), Tensor()};
}

TensorList avg_pool2d_grad(const GradContext& c) {
  NamedAttrs attrs = avg_pool_attrs(c.attrs);
  attrs.push_back({"input_size", grad::dims_of(c.input_shape(0))});
  return {call1("avg_pool2d_backward", {c.grad()}, attrs)};
}

TensorList avg_pool2d_backward_grad(const GradContext& c) {
  return {call1("avg_pool2d", {c.grad()}, avg_pool_attrs(c.attrs))};
}

TensorList adaptive_avg_pool2d_grad(const GradContext& c) {
  return {call1("adaptive_avg_pool2d_backward", {c.grad()}, input_size_of(c))};
}

TensorList adaptive_avg_pool2d_backward_grad(const GradContext& c) {
  return {call1("adaptive_avg_pool2d", {c.grad()}, {{"output_size", grid_of(c)}})};
}

TensorList upsample_nearest2d_grad(const GradContext& c) {
  return {call1("upsample_nearest2d_backward", {c.grad()}, input_size_of(c))};
}

TensorList upsample_nearest2d_backward_grad(const GradContext& c) {
  return {call1("upsample_nearest2d", {c.grad()}, {{"output_size", grid_of(c)}})};
}

}  // namespace

TERRA_OP("max_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=[0, 0], "
         "int[2] dilation=[1, 1], bool ceil_mode=False) -> (Tensor output, Tensor indices)")
    .infer(max_pool2d_rule)
    .differentiable_outputs({0})
    .grad(max_pool2d_grad, SaveSet::only_outputs());
TERRA_OP("avg_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=[0, 0], bool ceil_mode=False, "
         "bool count_include_pad=True, int? divisor_override=None) -> Tensor")
    .infer(avg_pool2d_rule)
    .grad(avg_pool2d_grad, SaveSet::none());
TERRA_OP("adaptive_avg_pool2d(Tensor self, int[2] output_size) -> Tensor")
    .infer(adaptive_avg_pool2d_rule)
    .grad(adaptive_avg_pool2d_grad, SaveSet::none());
TERRA_OP("upsample_nearest2d(Tensor self, int[2] output_size) -> Tensor")
    .infer(upsample_nearest2d_rule)
    .grad(upsample_nearest2d_grad, SaveSet::none());

TERRA_OP("max_pool2d_backward(Tensor grad_output, Tensor indices, int[] input_size) -> Tensor")
    .infer(max_pool2d_backward_rule)
    .grad(max_pool2d_backward_grad, SaveSet::only_inputs({1}));
TERRA_OP("avg_pool2d_backward(Tensor grad_output, int[] input_size, int[2] kernel_size, int[2] stride=[], "
         "int[2] padding=[0, 0], bool ceil_mode=False, bool count_include_pad=True, int? divisor_override=None) -> Tensor")
    .infer(avg_pool2d_backward_rule)
    .grad(avg_pool2d_backward_grad, SaveSet::none());
TERRA_OP("adaptive_avg_pool2d_backward(Tensor grad_output, int[] input_size) -> Tensor")
    .infer([](const std::vector<Tensor>& in, const Attrs& a) {
      return resample_backward_rule(in, a, "adaptive_avg_pool2d_backward");
    })
    .grad(adaptive_avg_pool2d_backward_grad, SaveSet::none());
TERRA_OP("upsample_nearest2d_backward(Tensor grad_output, int[] input_size) -> Tensor")
    .infer([](const std::vector<Tensor>& in, const Attrs& a) {
      return resample_backward_rule(in, a, "upsample_nearest2d_backward");
    })
    .grad(upsample_nearest2d_backward_grad, SaveSet::none());

}  // namespace terra
