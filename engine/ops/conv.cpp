// Registry entries of the convolutions: conv1d, conv2d and conv_transpose2d. One shape rule
// serves all three; it follows aten's check_shape_forward (and the transposed output-size
// checks) in order and wording, with unbatched inputs checked as their batch-of-one form, as
// PyTorch does. Only float32 and float64 are accepted (PyTorch's CPU also takes int64).
// Their gradients, and conv2d_backward_weight, the one backward op they need: see
// Note [Convolution gradients].
#include <sstream>

#include "engine/autograd/grad_helpers.hpp"
#include "engine/registry/registry.hpp"

namespace terra {
namespace {

// An int[N] argument given as one value or N values, as PyTorch's expand_param_if_needed.
std::vector<int64_t> expand_param(const Attrs& attrs, const char* name, size_t n) {
  const auto& v = attrs.get<std::vector<int64_t>>(name);
  if (v.size() == n) return v;
  TERRA_CHECK(v.size() == 1, Runtime, "expected ", name, " to be a single integer value or a list of ", n,
              " values to match the convolution dimensions, but got ", name, "=", shape_str(v));
  return std::vector<int64_t>(n, v[0]);
}

// "5 x 5" or "5": how aten prints per-channel sizes.
std::string sizes_str(const std::vector<int64_t>& v) {
  std::ostringstream os;
  for (size_t i = 0; i < v.size(); ++i) os << (i ? " x " : "") << v[i];
  return os.str();
}

template <int Dims, bool Transposed>
Inferred conv_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& input = in[0];
  const Tensor& weight = in[1];
  const Tensor& bias = in[2];
  const char* op = Transposed ? "conv_transpose2d" : (Dims == 1 ? "conv1d" : "conv2d");
  const int64_t rank = input.dim();
  TERRA_CHECK(rank == Dims + 1 || rank == Dims + 2, Runtime, "Expected ", Dims + 1, "D (unbatched) or ", Dims + 2,
              "D (batched) input to ", op, ", but got input of size: ", shape_str(input.shape()));
  TERRA_CHECK(is_floating(input.dtype()), Runtime, "\"", op, "\" not implemented for '", dtype_name(input.dtype()),
              "'");
  TERRA_CHECK(weight.dtype() == input.dtype(), Runtime, "Input type (", dtype_name(input.dtype()),
              ") and weight type (", dtype_name(weight.dtype()), ") should be the same");
  TERRA_CHECK(!bias.defined() || bias.dtype() == input.dtype(), Runtime, "Input type (", dtype_name(input.dtype()),
              ") and bias type (", dtype_name(bias.dtype()), ") should be the same");

  const auto stride = expand_param(attrs, "stride", Dims);
  const auto padding = expand_param(attrs, "padding", Dims);
  const auto dilation = expand_param(attrs, "dilation", Dims);
  const std::vector<int64_t> output_padding =
      Transposed ? expand_param(attrs, "output_padding", Dims) : std::vector<int64_t>(Dims, 0);
  const int64_t groups = attrs.get<int64_t>("groups");
  for (int d = 0; d < Dims; ++d) {
    TERRA_CHECK(padding[d] >= 0, Runtime, "negative padding is not supported");
    TERRA_CHECK(output_padding[d] >= 0, Runtime, "negative output_padding is not supported");
    TERRA_CHECK(stride[d] > 0, Runtime, "non-positive stride is not supported");
    TERRA_CHECK(dilation[d] > 0, Runtime, "non-positive dilation is not supported");
  }
  TERRA_CHECK(groups > 0, Runtime, "non-positive groups is not supported");

  // Checked as the batched form, so messages show the shape aten sees after unsqueezing.
  Shape x = input.shape();
  if (rank == Dims + 1) x.insert(x.begin(), 1);
  const Shape& w = weight.shape();
  const int64_t k = static_cast<int64_t>(x.size());
  TERRA_CHECK(weight.dim() == k, Runtime, "Expected ", weight.dim(), "-dimensional input for ", weight.dim(),
              "-dimensional weight ", shape_str(w), ", but got ", k, "-dimensional input of size ", shape_str(x),
              " instead");
  TERRA_CHECK(w[0] >= groups, Runtime, "Given groups=", groups, ", expected weight to be at least ", groups,
              " at dimension 0, but got weight of size ", shape_str(w), " instead");
  TERRA_CHECK(w[0] % groups == 0, Runtime, "Given groups=", groups, ", expected weight to be divisible by ", groups,
              " at dimension 0, but got weight of size ", shape_str(w), " instead");

  Shape out{x[0]};
  if (!Transposed) {
    TERRA_CHECK(x[1] == w[1] * groups, Runtime, "Given groups=", groups, ", weight of size ", shape_str(w),
                ", expected input", shape_str(x), " to have ", w[1] * groups, " channels, but got ", x[1],
                " channels instead");
    TERRA_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == w[0]), Runtime, "Given weight of size ",
                shape_str(w), ", expected bias to be 1-dimensional with ", w[0], " elements, but got bias of size ",
                shape_str(bias.shape()), " instead");
    std::vector<int64_t> padded, kernel;
    bool fits = true;
    for (int d = 0; d < Dims; ++d) {
      padded.push_back(x[2 + d] + 2 * padding[d]);
      kernel.push_back(dilation[d] * (w[2 + d] - 1) + 1);
      fits = fits && padded.back() >= kernel.back();
    }
    TERRA_CHECK(fits, Runtime, "Calculated padded input size per channel: (", sizes_str(padded), "). Kernel size: (",
                sizes_str(kernel), "). Kernel size can't be greater than actual input size");
    out.push_back(w[0]);
    for (int d = 0; d < Dims; ++d) out.push_back((padded[d] - kernel[d]) / stride[d] + 1);
  } else {
    TERRA_CHECK(x[1] == w[0], Runtime, "Given transposed=1, weight of size ", shape_str(w), ", expected input",
                shape_str(x), " to have ", w[0], " channels, but got ", x[1], " channels instead");
    TERRA_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == w[1] * groups), Runtime,
                "Given transposed=1, weight of size ", shape_str(w), ", expected bias to be 1-dimensional with ",
                w[1] * groups, " elements, but got bias of size ", shape_str(bias.shape()), " instead");
    bool small_enough = true;
    for (int d = 0; d < Dims; ++d)
      small_enough = small_enough && (output_padding[d] < stride[d] || output_padding[d] < dilation[d]);
    TERRA_CHECK(small_enough, Runtime,
                "output padding must be smaller than either stride or dilation, but got output_padding_height: ",
                output_padding[0], " output_padding_width: ", output_padding[1], " stride_height: ", stride[0],
                " stride_width: ", stride[1], " dilation_height: ", dilation[0], " dilation_width: ", dilation[1]);
    std::vector<int64_t> in_sizes, out_sizes;
    bool positive = true;
    for (int d = 0; d < Dims; ++d) {
      in_sizes.push_back(x[2 + d]);
      out_sizes.push_back((x[2 + d] - 1) * stride[d] - 2 * padding[d] + dilation[d] * (w[2 + d] - 1) +
                          output_padding[d] + 1);
      positive = positive && out_sizes.back() > 0;
    }
    TERRA_CHECK(positive, Runtime, "Given input size per channel: (", sizes_str(in_sizes),
                "). Calculated output size per channel: (", sizes_str(out_sizes), "). Output size is too small");
    out.push_back(w[1] * groups);
    out.insert(out.end(), out_sizes.begin(), out_sizes.end());
  }
  if (rank == Dims + 1) out.erase(out.begin());
  Inferred inf;
  inf.outputs.push_back(TensorMeta{out, input.dtype(), input.device()});
  return inf;
}

// Note [Convolution gradients]
// A convolution is linear in its input and in its weight, and its two adjoints are convolutions
// already registered, so every gradient is a call of conv2d, conv_transpose2d or one backward op:
//   conv2d(x, w):            dx = conv_transpose2d(g, w), with the output padding that gives back
//                            x's size (the rows a stride skips at the end); dw =
//                            conv2d_backward_weight(g, x), one GEMM of g with im2col(x) per image;
//                            db = g summed over all but the channel dim.
//   conv_transpose2d(x, w):  dx = conv2d(g, w), cropped to x's size (when output_padding is at
//                            least the stride, g holds positions no input reaches); dw =
//                            conv2d_backward_weight(x, g): the same product with the roles of image
//                            and output swapped, since the transposed convolution is col2im(w^T x).
//   conv1d:                  the 2-d formulas on views with H = 1.
// conv2d_backward_weight(g, x) is bilinear, so its own gradients (double backward) are the same two
// convolutions with the incoming gradient in the weight's place: d/dg = conv2d(x, gw) and d/dx =
// conv_transpose2d(g, gw).

// The 2-d geometry of a conv1d or conv2d call (conv1d: a trivial window along H).
struct ConvParams {
  std::vector<int64_t> stride, padding, dilation;
  int64_t groups;
};

ConvParams conv_params(const Attrs& attrs, int dims) {
  ConvParams p{expand_param(attrs, "stride", dims), expand_param(attrs, "padding", dims),
               expand_param(attrs, "dilation", dims), attrs.get<int64_t>("groups")};
  if (dims == 1) {
    p.stride.insert(p.stride.begin(), 1);
    p.padding.insert(p.padding.begin(), 0);
    p.dilation.insert(p.dilation.begin(), 1);
  }
  return p;
}

NamedAttrs conv2d_attrs(const ConvParams& p) {
  return {{"stride", p.stride}, {"padding", p.padding}, {"dilation", p.dilation}, {"groups", p.groups}};
}

// The gradient reaching conv2d's input x (of shape x_shape) from g through the weight w.
Tensor conv2d_input_grad(const Tensor& g, const Tensor& w, const Shape& x_shape, const ConvParams& p) {
  if (shape_numel(x_shape) == 0) return grad::zeros(x_shape, g);
  std::vector<int64_t> output_padding(2);
  for (int d = 0; d < 2; ++d) {
    const int64_t in = x_shape[x_shape.size() - 2 + d], out = g.size(d - 2), k = w.size(2 + d);
    output_padding[d] = in - ((out - 1) * p.stride[d] - 2 * p.padding[d] + p.dilation[d] * (k - 1) + 1);
  }
  return call1("conv_transpose2d", {g, w, Tensor()},
               {{"stride", p.stride}, {"padding", p.padding}, {"output_padding", output_padding},
                {"groups", p.groups}, {"dilation", p.dilation}});
}

// conv2d(x, w) cropped to out_shape: the gradient reaching conv_transpose2d's input.
Tensor conv2d_cropped(const Tensor& x, const Tensor& w, const Shape& out_shape, const ConvParams& p) {
  if (shape_numel(out_shape) == 0) return grad::zeros(out_shape, x);
  Tensor y = call1("conv2d", {x, w, Tensor()}, conv2d_attrs(p));
  for (int64_t d : {-2, -1}) {
    const int64_t want = out_shape[out_shape.size() + d];
    if (y.size(d) != want) y = call1("narrow", {y}, {{"dim", d}, {"start", 0}, {"length", want}});
  }
  return y;
}

Tensor conv2d_weight_grad(const Tensor& g, const Tensor& x, const Shape& w_shape, const ConvParams& p) {
  if (shape_numel(w_shape) == 0) return grad::zeros(w_shape, g);
  NamedAttrs attrs = conv2d_attrs(p);
  attrs.push_back({"weight_size", grad::dims_of(w_shape)});
  return call1("conv2d_backward_weight", {g, x}, attrs);
}

// conv1d runs the 2-d formulas on tensors with an H of 1 inserted before the last dim.
Shape with_unit_h(Shape s) {
  s.insert(s.end() - 1, 1);
  return s;
}

template <int Dims, bool Transposed>
TensorList conv_grad(const GradContext& c) {
  const ConvParams p = conv_params(c.attrs, Dims);
  auto as_2d = [](const Tensor& t) { return Dims == 1 ? call1("unsqueeze", {t}, {{"dim", -2}}) : t; };
  auto shape_2d = [](const Shape& s) { return Dims == 1 ? with_unit_h(s) : s; };
  auto back_to = [&](const Tensor& t, size_t i) {
    return Dims == 1 ? call1("reshape", {t}, {{"shape", grad::dims_of(c.input_shape(i))}}) : t;
  };
  const Tensor g = as_2d(c.grad());
  TensorList r(3);
  if (c.needs(0)) {
    const Shape x_shape = shape_2d(c.input_shape(0));
    const Tensor w = as_2d(c.input(1));
    r[0] = back_to(Transposed ? conv2d_cropped(g, w, x_shape, p) : conv2d_input_grad(g, w, x_shape, p), 0);
  }
  if (c.needs(1)) {
    const Shape w_shape = shape_2d(c.input_shape(1));
    const Tensor x = as_2d(c.input(0));
    r[1] = back_to(Transposed ? conv2d_weight_grad(x, g, w_shape, p) : conv2d_weight_grad(g, x, w_shape, p), 1);
  }
  if (c.needs(2)) {
    const Tensor& g0 = c.grad();
    const bool batched = g0.dim() == Dims + 2;
    std::vector<int64_t> dims = batched ? std::vector<int64_t>{0} : std::vector<int64_t>{};
    for (int64_t d = batched ? 2 : 1; d < g0.dim(); ++d) dims.push_back(d);
    r[2] = call1("sum", {g0}, {{"dim", dims}});
  }
  return r;
}

// conv2d_backward_weight(grad_output, input): grad_output's and input's spatial sizes are the
// window grid and the image of conv2d(input, weight), the grid possibly shorter than the conv's
// output (see Note [Convolution gradients]: the transposed convolution's weight gradient).
Inferred conv2d_backward_weight_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& g = in[0];
  const Tensor& x = in[1];
  const char* op = "conv2d_backward_weight";
  TERRA_CHECK(is_floating(g.dtype()), Runtime, "\"", op, "\" not implemented for '", dtype_name(g.dtype()), "'");
  TERRA_CHECK(x.dtype() == g.dtype(), Runtime, "grad_output (", dtype_name(g.dtype()), ") and input (",
              dtype_name(x.dtype()), ") should have the same dtype");
  TERRA_CHECK((g.dim() == 3 || g.dim() == 4) && x.dim() == g.dim(), Runtime,
              "expected grad_output and input both 3-D (unbatched) or both 4-D, but got ", shape_str(g.shape()),
              " and ", shape_str(x.shape()));
  const auto& w = attrs.get<std::vector<int64_t>>("weight_size");
  TERRA_CHECK(w.size() == 4, Runtime, "expected a 4-element weight_size, but got ", shape_str(w));
  const ConvParams p = conv_params(attrs, 2);
  for (int d = 0; d < 2; ++d)
    TERRA_CHECK(p.stride[d] > 0 && p.dilation[d] > 0 && p.padding[d] >= 0, Runtime,
                "expected positive stride and dilation and non-negative padding");
  TERRA_CHECK(p.groups > 0 && w[0] % p.groups == 0, Runtime, "weight_size ", shape_str(w),
              " does not split into groups=", p.groups);
  const int64_t lead = g.dim() - 3;
  TERRA_CHECK(lead == 0 || g.size(0) == x.size(0), Runtime, "grad_output ", shape_str(g.shape()),
              " and input ", shape_str(x.shape()), " have different batch sizes");
  TERRA_CHECK(g.size(lead) == w[0] && x.size(lead) == w[1] * p.groups, Runtime, "weight_size ", shape_str(w),
              " with groups=", p.groups, " expects grad_output with ", w[0], " and input with ", w[1] * p.groups,
              " channels, but got ", shape_str(g.shape()), " and ", shape_str(x.shape()));
  for (int d = 0; d < 2; ++d) {
    const int64_t image = x.size(d - 2), grid = g.size(d - 2);
    const int64_t reach = image + 2 * p.padding[d] - p.dilation[d] * (w[2 + d] - 1) - 1;
    TERRA_CHECK(w[2 + d] > 0 && reach >= 0 && grid <= reach / p.stride[d] + 1, Runtime, "grad_output ",
                shape_str(g.shape()), " does not fit the windows of a ", w[2], "x", w[3], " kernel over input ",
                shape_str(x.shape()));
  }
  Inferred inf;
  inf.outputs.push_back(TensorMeta{Shape(w.begin(), w.end()), g.dtype(), g.device()});
  return inf;
}

TensorList conv2d_backward_weight_grad(const GradContext& c) {
  const ConvParams p = conv_params(c.attrs, 2);
  const Tensor& gw = c.grad();
  return {c.needs(0) ? conv2d_cropped(c.input(1), gw, c.input_shape(0), p) : Tensor(),
          c.needs(1) ? conv2d_input_grad(c.input(0), gw, c.input_shape(1), p) : Tensor()};
}

const SaveSet kInputAndWeight = SaveSet::only_inputs({0, 1});

}  // namespace

TERRA_OP("conv1d(Tensor input, Tensor weight, Tensor? bias=None, int[1] stride=[1], int[1] padding=[0], "
         "int[1] dilation=[1], int groups=1) -> Tensor")
    .infer(conv_rule<1, false>)
    .grad(conv_grad<1, false>, kInputAndWeight);
TERRA_OP("conv2d(Tensor input, Tensor weight, Tensor? bias=None, int[2] stride=[1, 1], int[2] padding=[0, 0], "
         "int[2] dilation=[1, 1], int groups=1) -> Tensor")
    .infer(conv_rule<2, false>)
    .grad(conv_grad<2, false>, kInputAndWeight);
TERRA_OP("conv_transpose2d(Tensor input, Tensor weight, Tensor? bias=None, int[2] stride=[1, 1], "
         "int[2] padding=[0, 0], int[2] output_padding=[0, 0], int groups=1, int[2] dilation=[1, 1]) -> Tensor")
    .infer(conv_rule<2, true>)
    .grad(conv_grad<2, true>, kInputAndWeight);
TERRA_OP("conv2d_backward_weight(Tensor grad_output, Tensor input, int[4] weight_size, int[2] stride=[1, 1], "
         "int[2] padding=[0, 0], int[2] dilation=[1, 1], int groups=1) -> Tensor")
    .infer(conv2d_backward_weight_rule)
    .grad(conv2d_backward_weight_grad);

}  // namespace terra
