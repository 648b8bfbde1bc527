// CPU kernels of pad and pad_backward. Constant mode fills the output with the value and copies
// the part of the input that survives (negative pads crop), for any dtype and strides. Reflect,
// replicate and circular modes gather through per-dim index maps (math::pad_source, negative pads
// included); their gradient scatters back through the same maps.
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

// The input position (math::pad_source) of every output position of a padded dim.
std::vector<int64_t> pad_sources(math::PadMode mode, int64_t in, int64_t left, int64_t out) {
  std::vector<int64_t> src(out);
  for (int64_t j = 0; j < out; ++j) src[j] = math::pad_source(mode, j, in, left, out);
  return src;
}

// A reflect, replicate or circular padding as a plane gather (window.hpp) of dense tensors
// viewed as [planes, rows, cols]: the last padded dim is the columns; the padded dims before it
// (none, one or two) flatten into the rows, whose map combines theirs (output row (a, b) reads
// input row (src_a[a], src_b[b])), so one to three padded dims share one loop.
struct PadGather {
  Tensor input, output;
  std::vector<int64_t> rows, cols;
};

PadGather pad_gather(const Tensor& in, const Tensor& out, const std::vector<int64_t>& pad, math::PadMode mode) {
  const int64_t rank = in.dim(), dims = static_cast<int64_t>(pad.size() / 2);
  std::vector<int64_t> rows{0};
  int64_t h = 1, oh = 1, planes = 1;
  for (int64_t d = 0; d < rank - dims; ++d) planes *= in.size(d);
  for (int64_t d = rank - dims; d < rank - 1; ++d) {
    const int64_t i = rank - 1 - d;  // the pad pair of dim d
    const std::vector<int64_t> src = pad_sources(mode, in.size(d), pad[2 * i], out.size(d));
    std::vector<int64_t> combined;
    combined.reserve(rows.size() * src.size());
    for (int64_t r : rows)
      for (int64_t k : src) combined.push_back(r * in.size(d) + k);
    rows = std::move(combined);
    h *= in.size(d);
    oh *= out.size(d);
  }
  const int64_t w = in.size(-1), ow = out.size(-1);
  return {in.as_strided({planes, h, w}, {h * w, w, 1}, in.offset()),
          out.as_strided({planes, oh, ow}, {oh * ow, ow, 1}, out.offset()), std::move(rows),
          pad_sources(mode, w, pad[0], ow)};
}

void gather_pad(const Tensor& input, const Tensor& out, const std::vector<int64_t>& pad, math::PadMode mode) {
  const PadGather g = pad_gather(as_contiguous(input), out, pad, mode);
  gather_planes(g.input, g.output, g.rows, g.cols);
}

// Each input element's gradient sums the gradients of the output elements copied from it.
void pad_backward_kernel(KernelCall& c) {
  const PadGather g = pad_gather(c.outputs[0], as_contiguous(c.inputs[0]), c.attrs.get<std::vector<int64_t>>("pad"),
                                 math::pad_mode(c.attrs.get<std::string>("mode")));
  scatter_add_planes(g.output, g.input, g.rows, g.cols);
}

void pad_kernel(KernelCall& c) {
  const auto& pad = c.attrs.get<std::vector<int64_t>>("pad");
  const std::string& mode = c.attrs.get<std::string>("mode");
  if (mode == "constant") {
    constant_pad(c.inputs[0], c.outputs[0], pad, c.attrs.opt<double>("value").value_or(0.0));
  } else {
    gather_pad(c.inputs[0], c.outputs[0], pad, math::pad_mode(mode));
  }
}

}  // namespace

TERRA_KERNEL(pad, CPU, pad_kernel);
TERRA_KERNEL(pad_backward, CPU, pad_backward_kernel);

}  // namespace terra::cpu
