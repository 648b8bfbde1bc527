// Registry entry of pad (F.pad): pads are (left, right) pairs from the last dim backwards.
// "constant" pads any dims of any dtype (negative pads crop, as aten's constant_pad_nd);
// "reflect" pads the last dim of a 2-D/3-D input or the last two of a 3-D/4-D one, floating point
// only, each pad smaller than its dim (aten's reflection_pad1d/2d). The checks follow aten's
// pad() in order and wording; "replicate", "circular" and 3-D reflection are not implemented.
#include <string>

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

Shape reflect_pad_shape(const Tensor& self, const std::vector<int64_t>& pad) {
  const int64_t rank = self.dim(), dims = static_cast<int64_t>(pad.size() / 2);
  const char* op = dims == 1 ? "reflection_pad1d" : "reflection_pad2d";
  bool sizes_ok = true;
  for (int64_t d = 1; d < rank; ++d) sizes_ok = sizes_ok && self.size(d) != 0;  // only dim 0 may be empty
  TERRA_CHECK(sizes_ok, Runtime, dims == 1 ? "2D or 3D" : "3D or 4D",
              " (batch mode) tensor expected for input, but got: ", shape_str(self.shape()));
  Shape out = self.shape();
  for (int64_t i = 0; i < dims; ++i) {
    const int64_t d = rank - 1 - i, left = pad[2 * i], right = pad[2 * i + 1];
    TERRA_CHECK(left < self.size(d) && right < self.size(d), Runtime, "Argument #", 4 + 2 * i,
                ": Padding size should be less than the corresponding input dimension, but got: padding (", left, ", ",
                right, ") at dimension ", d, " of input ", shape_str(self.shape()));
    out[d] = self.size(d) + left + right;
  }
  const int64_t w = self.size(-1), ow = out[rank - 1];
  if (dims == 1) {
    TERRA_CHECK(ow >= 1, Runtime, "input (W: ", w, ") is too small. Calculated output W: ", ow);
  } else {
    const int64_t h = self.size(-2), oh = out[rank - 2];
    TERRA_CHECK(oh >= 1 && ow >= 1, Runtime, "input (H: ", h, ", W: ", w, ") is too small. Calculated output H: ", oh,
                " W: ", ow);
  }
  TERRA_CHECK(is_floating(self.dtype()), Runtime, "\"", op, "\" not implemented for '", dtype_name(self.dtype()), "'");
  return out;
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
  const bool supported = (n == 2 && (rank == 2 || rank == 3)) || (n == 4 && (rank == 3 || rank == 4));
  TERRA_CHECK(n != 6 || !(rank == 4 || rank == 5), NotImplemented,
              "reflect padding of 3 dims is not implemented in Terra");
  TERRA_CHECK(supported, NotImplemented, "Only 2D, 3D, 4D, 5D padding with non-constant padding are supported for now");
  inf.outputs.push_back(TensorMeta{reflect_pad_shape(self, pad), self.dtype(), self.device()});
  return inf;
}

}  // namespace

TERRA_OP("pad(Tensor self, int[] pad, str mode=\"constant\", float? value=None) -> Tensor").infer(pad_rule);

}  // namespace terra
