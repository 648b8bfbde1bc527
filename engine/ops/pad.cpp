// Registry entry of pad (F.pad): pads are (left, right) pairs from the last dim backwards.
// "constant" pads any dims of any dtype (negative pads crop, as aten's constant_pad_nd). "reflect",
// "replicate" and "circular" pad the last 1, 2 or 3 dims of an input with one or two more dims
// (circular: exactly two more), with the checks of aten's reflection_padNd, replication_padNd and
// 1.13's _pad_circular in order and wording: reflect and replicate take floating point only,
// circular any dtype. Negative pads crop in every mode; circular then wraps around what is left.
// Gradients: constant padding is its own adjoint with the pads negated (what was added is cropped,
// what was cropped comes back as zeros), a view of the gradient when nothing was cropped; the
// other modes' gradient sums each copy back onto the position it copies, which is the backward op
// pad_backward (whose own gradient is the padding again).
#include <algorithm>
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

// The padded dims and ranks the modes other than "constant" take: the last dim of a 2-D/3-D
// input, the last two of a 3-D/4-D one, the last three of a 4-D/5-D one.
void check_pad_rank(int64_t rank, int64_t n) {
  const int64_t dims = n / 2;
  TERRA_CHECK((n == 2 || n == 4 || n == 6) && (rank == dims + 1 || rank == dims + 2), NotImplemented,
              "Only 2D, 3D, 4D, 5D padding with non-constant padding are supported for now");
}

// aten's wording: "input (D: 3 H: 3, W: 3) is too small. Calculated output D: 0 H: 0 W: 0".
std::string too_small(const Shape& self, const Shape& out, int64_t dims) {
  static const char* const names[] = {"W", "H", "D"};
  std::string in_sizes, out_sizes;
  for (int64_t i = dims - 1; i >= 0; --i) {
    const size_t d = self.size() - 1 - static_cast<size_t>(i);
    in_sizes += std::string(names[i]) + ": " + std::to_string(self[d]) + (i == 2 ? " " : i == 1 ? ", " : "");
    out_sizes += std::string(" ") + names[i] + ": " + std::to_string(out[d]);
  }
  return "input (" + in_sizes + ") is too small. Calculated output" + out_sizes;
}

// The reflection or replication of an input of shape `self` (aten's reflection_padNd and
// replication_padNd): no empty dim but a batch dim, some padded dim left non-empty, floating point
// only; a reflection's pads must be smaller than their dims.
Shape edge_pad_shape(const Shape& self, DType dtype, const std::vector<int64_t>& pad, bool reflect) {
  const int64_t rank = static_cast<int64_t>(self.size()), dims = static_cast<int64_t>(pad.size() / 2);
  // aten's older reflection_pad1d/2d let dim 0 be empty at either rank and word the error apart.
  const bool legacy = reflect && dims < 3;
  bool sizes_ok = true;
  for (int64_t d = legacy || rank == dims + 2 ? 1 : 0; d < rank; ++d) sizes_ok = sizes_ok && self[d] != 0;
  TERRA_CHECK(sizes_ok || !legacy, Runtime, dims + 1, "D or ", dims + 2,
              "D (batch mode) tensor expected for input, but got: ", shape_str(self));
  TERRA_CHECK(sizes_ok, Runtime, "Expected ", dims + 1, "D or ", dims + 2,
              "D (batch mode) tensor with possibly 0 batch size and other non-zero dimensions for input, but got: ",
              shape_str(self));
  Shape out = self;
  bool some_non_empty = false, none_negative = true;
  for (int64_t i = 0; i < dims; ++i) {
    const int64_t d = rank - 1 - i, left = pad[2 * i], right = pad[2 * i + 1];
    TERRA_CHECK(!reflect || (left < self[d] && right < self[d]), Runtime, "Argument #", 4 + 2 * i,
                ": Padding size should be less than the corresponding input dimension, but got: padding (", left, ", ",
                right, ") at dimension ", d, " of input ", shape_str(self));
    out[d] = self[d] + left + right;
    some_non_empty = some_non_empty || out[d] >= 1;
    none_negative = none_negative && out[d] >= 0;
  }
  // aten asks for one non-empty padded dim only (then fails allocating a negative one).
  TERRA_CHECK(some_non_empty && none_negative, Runtime, too_small(self, out, dims));
  TERRA_CHECK(is_floating(dtype), Runtime, "\"", reflect ? "reflection" : "replication", "_pad", dims,
              "d\" not implemented for '", dtype_name(dtype), "'");
  return out;
}

// The circular padding of an input of shape `self` (1.13's _pad_circular): a batched input, any
// dtype, each pad at most its dim (wrapping around once).
Shape circular_pad_shape(const Shape& self, const std::vector<int64_t>& pad) {
  const int64_t rank = static_cast<int64_t>(self.size()), n = static_cast<int64_t>(pad.size());
  TERRA_CHECK(2 * rank - 4 == n, Runtime, "Invalid padding size, expected ", 2 * rank - 4, " but got ", n);
  Shape out = self;
  for (int64_t d = 2; d < rank; ++d) {
    const int64_t i = rank - 1 - d, left = pad[2 * i], right = pad[2 * i + 1];
    TERRA_CHECK(left <= self[d] && right <= self[d], Runtime, "Padding value causes wrapping around more than once.");
    out[d] = self[d] + left + right;
    TERRA_CHECK(out[d] >= 0, Runtime, "Negative padding value is resulting in an empty dimension");
    // 1.13 crops the negative pad first and copies the positive one from what is left, reading
    // memory it never wrote where what is left is shorter than the pad.
    const int64_t kept = self[d] - std::max<int64_t>(-left, 0) - std::max<int64_t>(-right, 0);
    TERRA_CHECK(std::max(left, right) <= kept, NotImplemented, "circular padding (", left, ", ", right,
                ") of dimension ", d, " of input ", shape_str(self), " would wrap more than once around the ", kept,
                " elements left after its negative pad; PyTorch 1.13 leaves this undefined");
  }
  return out;
}

// The output shape of a "reflect", "replicate" or "circular" padding, after aten's checks.
Shape mode_pad_shape(const Shape& self, DType dtype, const std::vector<int64_t>& pad, const std::string& mode) {
  check_pad_rank(static_cast<int64_t>(self.size()), static_cast<int64_t>(pad.size()));
  return mode == "circular" ? circular_pad_shape(self, pad) : edge_pad_shape(self, dtype, pad, mode == "reflect");
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
  inf.outputs.push_back(TensorMeta{mode_pad_shape(self.shape(), self.dtype(), pad, mode), self.dtype(), self.device()});
  return inf;
}

Inferred pad_backward_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& grad = in[0];
  const auto& size = attrs.get<std::vector<int64_t>>("input_size");
  const auto& pad = attrs.get<std::vector<int64_t>>("pad");
  const std::string& mode = attrs.get<std::string>("mode");
  TERRA_CHECK(mode == "reflect" || mode == "replicate" || mode == "circular", Runtime,
              "expected mode \"reflect\", \"replicate\" or \"circular\", but got \"", mode, "\"");
  TERRA_CHECK(is_floating(grad.dtype()), Runtime, "\"pad_backward\" not implemented for '", dtype_name(grad.dtype()),
              "'");
  const Shape input(size.begin(), size.end());
  const Shape padded = mode_pad_shape(input, grad.dtype(), pad, mode);
  TERRA_CHECK(grad.shape() == padded, Runtime, "expected grad_output of shape ", shape_str(padded), " for input_size ",
              shape_str(input), ", but got ", shape_str(grad.shape()));
  Inferred inf;
  inf.outputs.push_back(TensorMeta{input, grad.dtype(), grad.device()});
  return inf;
}

TensorList pad_grad(const GradContext& c) {
  const auto& pad = c.attrs.get<std::vector<int64_t>>("pad");
  const Tensor& g = c.grad();
  const std::string& mode = c.attrs.get<std::string>("mode");
  if (mode != "constant") {
    const NamedAttrs attrs{{"input_size", grad::dims_of(c.input_shape(0))}, {"pad", pad}, {"mode", mode}};
    return {call1("pad_backward", {g}, attrs)};
  }
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
TERRA_OP("pad_backward(Tensor grad_output, int[] input_size, int[] pad, str mode) -> Tensor")
    .infer(pad_backward_rule)
    .grad(
        [](const GradContext& c) -> TensorList {
          return {call1("pad", {c.grad()}, {{"pad", c.attrs["pad"]}, {"mode", c.attrs["mode"]}})};
        },
        SaveSet::none());

}  // namespace terra
