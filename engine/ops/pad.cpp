// Registry entry of pad (F.pad): pads are (left, right) pairs from the last dim backwards.
// "constant" pads any dims of any dtype (negative pads crop, as aten's constant_pad_nd);
// "reflect" pads the last dim of a 2-D/3-D input or the last two of a 3-D/4-D one, floating point
// only, each pad smaller than its dim (aten's reflection_pad1d/2d). The checks follow aten's
// pad() in order and wording; "replicate", "circular" and 3-D reflection are not implemented.
// Gradients: constant padding is its own adjoint with the pads negated (what was added is cropped,
// what was cropped comes back as zeros), a view of the gradient when nothing was cropped; a
// reflection's gradient sums the mirrored positions back onto the ones they copy, which is the
// backward op reflection_pad_backward (whose own gradient is the reflection again).
#include <string>

#include "engine/autograd/grad_helpers.hpp"
#include "engine/registry/registry.hpp"

namespace terra {
namespace {

Shape constant_pad_shape(const Tensor& self, const std::vector<int64_t>& pad) {
  Shape out = self.shape();
  const int64_t rank = self.dim(), dims = static_cast<int64_t>(pad.size() / 2);
  bool all_non_positive = true;
  for (int64_t v : pad) all_non_positive = all_non_positive && v <= 0;
  for (int64_t i = 0; i < dims; ++i) {
    const int64_t d = rank - 1 - i, left = pad[2 * i], right = pad[2 * i + 1];
    out[d] = self.size(d) + left + right;
    // aten crops (narrows) when no pad is positive, which may leave an empty dim.
    TERRA_CHECK(all_non_positive ? out[d] >= 0 : out[d] > 0, Runtime, "The input size ", self.size(d),
                ", plus negative padding ", left, " and ", right,
                " resulted in a negative output size, which is invalid. Check dimension ", d, " of your input.");
  }
  return out;
}

// The reflection of an input of shape `self` (2-D/3-D for one padded dim, 3-D/4-D for two).
Shape reflect_pad_shape(const Shape& self, DType dtype, const std::vector<int64_t>& pad) {
  const int64_t rank = static_cast<int64_t>(self.size()), dims = static_cast<int64_t>(pad.size() / 2);
  const char* op = dims == 1 ? "reflection_pad1d" : "reflection_pad2d";
  bool sizes_ok = true;
  for (int64_t d = 1; d < rank; ++d) sizes_ok = sizes_ok && self[d] != 0;  // only dim 0 may be empty
  TERRA_CHECK(sizes_ok, Runtime, dims == 1 ? "2D or 3D" : "3D or 4D",
              " (batch mode) tensor expected for input, but got: ", shape_str(self));
  Shape out = self;
  for (int64_t i = 0; i < dims; ++i) {
    const int64_t d = rank - 1 - i, left = pad[2 * i], right = pad[2 * i + 1];
    TERRA_CHECK(left < self[d] && right < self[d], Runtime, "Argument #", 4 + 2 * i,
                ": Padding size should be less than the corresponding input dimension, but got: padding (", left, ", ",
                right, ") at dimension ", d, " of input ", shape_str(self));
    out[d] = self[d] + left + right;
  }
  const int64_t w = self[rank - 1], ow = out[rank - 1];
  if (dims == 1) {
    TERRA_CHECK(ow >= 1, Runtime, "input (W: ", w, ") is too small. Calculated output W: ", ow);
  } else {
    const int64_t h = self[rank - 2], oh = out[rank - 2];
    TERRA_CHECK(oh >= 1 && ow >= 1, Runtime, "input (H: ", h, ", W: ", w, ") is too small. Calculated output H: ", oh,
                " W: ", ow);
  }
  TERRA_CHECK(is_floating(dtype), Runtime, "\"", op, "\" not implemented for '", dtype_name(dtype), "'");
  return out;
}

// The ranks reflect padding takes: the last dim of a 2-D/3-D input, the last two of a 3-D/4-D one.
void check_reflect_rank(int64_t rank, int64_t n) {
  const bool supported = (n == 2 && (rank == 2 || rank == 3)) || (n == 4 && (rank == 3 || rank == 4));
  TERRA_CHECK(n != 6 || !(rank == 4 || rank == 5), NotImplemented,
              "reflect padding of 3 dims is not implemented in Terra");
  TERRA_CHECK(supported, NotImplemented, "Only 2D, 3D, 4D, 5D padding with non-constant padding are supported for now");
}

Inferred pad_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& self = in[0];
  const auto& pad = attrs.get<std::vector<int64_t>>("pad");
  const std::string& mode = attrs.get<std::string>("mode");
  const int64_t rank = self.dim(), n = static_cast<int64_t>(pad.size());
  TERRA_CHECK(n % 2 == 0, Runtime, "Padding length must be divisible by 2");
  TERRA_CHECK(n <= 2 * rank, Runtime, "Padding length too large");
  Inferred inf;
  if (mode == "constant") {
    inf.outputs.push_back(TensorMeta{constant_pad_shape(self, pad), self.dtype(), self.device()});
    return inf;
  }
  TERRA_CHECK(mode == "reflect" || mode == "replicate" || mode == "circular", NotImplemented,
              "Unrecognised padding mode ", mode);
  const auto value = attrs.opt<double>("value");
  TERRA_CHECK(!value || *value == 0, Runtime, "Padding mode \"", mode, "\" doesn't take in value argument");
  TERRA_CHECK(mode == "reflect", NotImplemented, "padding mode \"", mode, "\" is not implemented in Terra");
  check_reflect_rank(rank, n);
  inf.outputs.push_back(TensorMeta{reflect_pad_shape(self.shape(), self.dtype(), pad), self.dtype(), self.device()});
  return inf;
}

Inferred reflection_pad_backward_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& grad = in[0];
  const auto& size = attrs.get<std::vector<int64_t>>("input_size");
  const auto& pad = attrs.get<std::vector<int64_t>>("pad");
  const int64_t rank = static_cast<int64_t>(size.size()), n = static_cast<int64_t>(pad.size());
  TERRA_CHECK(n == 2 || n == 4, Runtime, "expected 2 or 4 pads, but got ", n);
  check_reflect_rank(rank, n);
  const Shape input(size.begin(), size.end());
  const Shape padded = reflect_pad_shape(input, grad.dtype(), pad);
  TERRA_CHECK(grad.shape() == padded, Runtime, "expected grad_output of shape ",
              shape_str(padded), " for input_size ", shape_str(input), ", but got ", shape_str(grad.shape()));
  Inferred inf;
  inf.outputs.push_back(TensorMeta{input, grad.dtype(), grad.device()});
  return inf;
}

TensorList pad_grad(const GradContext& c) {
  const auto& pad = c.attrs.get<std::vector<int64_t>>("pad");
  const Tensor& g = c.grad();
  if (c.attrs.get<std::string>("mode") == "reflect")
    return {call1("reflection_pad_backward", {g}, {{"input_size", grad::dims_of(c.input_shape(0))}, {"pad", pad}})};
  bool cropped = false;
  for (int64_t p : pad) cropped = cropped || p < 0;
  if (cropped) {
    std::vector<int64_t> negated(pad.size());
    for (size_t i = 0; i < pad.size(); ++i) negated[i] = -pad[i];
    return {call1("pad", {g}, {{"pad", negated}})};
  }
  // Only padding was added: the input's gradient is the middle of g.
  Tensor r = g;
  for (size_t i = 0; i < pad.size() / 2; ++i) {
    const int64_t d = g.dim() - 1 - static_cast<int64_t>(i);
    r = call1("narrow", {r}, {{"dim", d}, {"start", pad[2 * i]}, {"length", c.input_shape(0)[d]}});
  }
  return {r};
}

}  // namespace

TERRA_OP("pad(Tensor self, int[] pad, str mode=\"constant\", float? value=None) -> Tensor")
    .infer(pad_rule)
    .grad(pad_grad, SaveSet::none());
TERRA_OP("reflection_pad_backward(Tensor grad_output, int[] input_size, int[] pad) -> Tensor")
    .infer(reflection_pad_backward_rule)
    .grad(
        [](const GradContext& c) -> TensorList {
          return {call1("pad", {c.grad()}, {{"pad", c.attrs["pad"]}, {"mode", "reflect"}})};
        },
        SaveSet::none());

}  // namespace terra
