// Registry entries of the convolutions: conv1d, conv2d and conv_transpose2d. One shape rule
// serves all three; it follows aten's check_shape_forward (and the transposed output-size
// checks) in order and wording, with unbatched inputs checked as their batch-of-one form, as
// PyTorch does. Only float32 and float64 are accepted (PyTorch's CPU also takes int64).
#include <sstream>

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

}  // namespace

TERRA_OP("conv1d(Tensor input, Tensor weight, Tensor? bias=None, int[1] stride=[1], int[1] padding=[0], "
         "int[1] dilation=[1], int groups=1) -> Tensor")
    .infer(conv_rule<1, false>);
TERRA_OP("conv2d(Tensor input, Tensor weight, Tensor? bias=None, int[2] stride=[1, 1], int[2] padding=[0, 0], "
         "int[2] dilation=[1, 1], int groups=1) -> Tensor")
    .infer(conv_rule<2, false>);
TERRA_OP("conv_transpose2d(Tensor input, Tensor weight, Tensor? bias=None, int[2] stride=[1, 1], "
         "int[2] padding=[0, 0], int[2] output_padding=[0, 0], int groups=1, int[2] dilation=[1, 1]) -> Tensor")
    .infer(conv_rule<2, true>);

}  // namespace terra
