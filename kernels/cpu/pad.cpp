// CPU kernels of pad and reflection_pad_backward. Constant mode fills the output with the value
// and copies the part of the input that survives (negative pads crop), for any dtype and strides.
// Reflect mode gathers each (H, W) plane through per-axis index maps (aten's reflection formula,
// negative pads included); its gradient scatters back through the same maps.
#include <string>

#include "kernels/common/index_math.hpp"
#include "kernels/cpu/loops.hpp"
#include "kernels/cpu/window.hpp"

namespace terra::cpu {
namespace {

void constant_pad(const Tensor& in, const Tensor& out, const std::vector<int64_t>& pad, double value) {
  // The overlap of input and output: per padded dim, the input loses max(-pad, 0) on each side
  // and lands max(left, 0) into the output.
  Shape overlap = in.shape();
  int64_t in_offset = in.offset(), out_offset = out.offset();
  const Strides out_strides = out.strides();
  for (size_t i = 0; i < pad.size() / 2; ++i) {
    const size_t d = overlap.size() - 1 - i;
    const int64_t left = pad[2 * i], right = pad[2 * i + 1];
    overlap[d] -= std::max<int64_t>(-left, 0) + std::max<int64_t>(-right, 0);
    in_offset += std::max<int64_t>(-left, 0) * in.strides()[d];
    out_offset += std::max<int64_t>(left, 0) * out_strides[d];
  }
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = static_cast<T>(value);
    elementwise<T>(out, {}, [v]() { return v; });
    for (int64_t s : overlap)
      if (s <= 0) return;
    const Tensor src = in.as_strided(overlap, in.strides(), in_offset);
    elementwise<T, T>(out.as_strided(overlap, out_strides, out_offset), {src}, [](T x) { return x; });
  });
}

// The reflection source (math::reflect_source) of every output position of a padded dim.
std::vector<int64_t> reflect_sources(int64_t in, int64_t left, int64_t out) {
  std::vector<int64_t> src(out);
  for (int64_t j = 0; j < out; ++j) src[j] = math::reflect_source(j, in, left);
  return src;
}

// A reflection as a plane gather: the dense input and output as planes, and the per-axis maps
// from output to input positions. One padded dim makes every row a plane of height 1.
struct Reflection {
  Tensor input, output;
  std::vector<int64_t> rows, cols;
};

Reflection reflection(const Tensor& in, const Tensor& out, const std::vector<int64_t>& pad) {
  const int64_t w = in.size(-1), ow = out.size(-1);
  auto cols = reflect_sources(w, pad[0], ow);
  if (pad.size() == 4) return {in, out, reflect_sources(in.size(-2), pad[2], out.size(-2)), std::move(cols)};
  const int64_t rows = ow == 0 ? 0 : out.numel() / ow;
  return {in.as_strided({rows, 1, w}, {w, w, 1}, in.offset()), out.as_strided({rows, 1, ow}, {ow, ow, 1}, out.offset()),
          {0}, std::move(cols)};
}

void reflect_pad(const Tensor& input, const Tensor& out, const std::vector<int64_t>& pad) {
  const Reflection r = reflection(as_contiguous(input), out, pad);
  gather_planes(r.input, r.output, r.rows, r.cols);
}

// Each input element's gradient sums the gradients of the output elements copied from it.
void reflection_pad_backward_kernel(KernelCall& c) {
  const Reflection r = reflection(c.outputs[0], as_contiguous(c.inputs[0]), c.attrs.get<std::vector<int64_t>>("pad"));
  scatter_add_planes(r.output, r.input, r.rows, r.cols);
}

void pad_kernel(KernelCall& c) {
  const auto& pad = c.attrs.get<std::vector<int64_t>>("pad");
  if (c.attrs.get<std::string>("mode") == "constant") {
    constant_pad(c.inputs[0], c.outputs[0], pad, c.attrs.opt<double>("value").value_or(0.0));
  } else {
    reflect_pad(c.inputs[0], c.outputs[0], pad);
  }
}

}  // namespace

TERRA_KERNEL(pad, CPU, pad_kernel);
TERRA_KERNEL(reflection_pad_backward, CPU, reflection_pad_backward_kernel);

}  // namespace terra::cpu
