// CUDA kernels of the shape ops that move elements: cat, repeat, flip and roll are the CPU's own
// view-and-copy kernels (kernels/common/shape_kernels.hpp) over the CUDA copy; tril/triu, pad
// (constant and reflect, what the CPU supports) and upsample_nearest2d are gather_map launches
// whose maps use the CPU's per-element formulas (kernels/common/index_math.hpp). The gradients
// reflection_pad_backward and upsample_nearest2d_backward scatter each gradient element onto the
// input position it was read from, with atomic adds (float sums in an unspecified order).
#include "kernels/common/shape_kernels.hpp"
#include "kernels/cuda/movement.cuh"
#include "kernels/kernel.hpp"

namespace terra::cuda {
namespace {

struct CudaCopy {
  static void copy(const Tensor& dst, const Tensor& src) { copy_elements(dst, src); }
};

// tril/triu: element i of a [..., rows, cols] tensor is kept (read from the same index) or zeroed.
struct TriangleMap {
  bool lower;
  int64_t rows, cols, diagonal;
  __device__ int64_t operator()(int64_t i) const {
    return math::triangle_keeps(lower, (i / cols) % rows, i % cols, diagonal) ? i : -1;
  }
};

template <bool Lower>
void triangle_kernel(KernelCall& c) {
  const Tensor& x = c.inputs[0];
  const TriangleMap map{Lower, x.size(-2), x.size(-1), c.attrs.get<int64_t>("diagonal")};
  cpu::dispatch_bits(x.itemsize(), [&](auto tag) { gather_map<decltype(tag)>(c.outputs[0], x, map); });
}

// Constant padding: each padded dim (the last pad.size() / 2) shifts by its left pad; positions
// outside the input take the fill value, and negative pads crop.
struct ConstantPadMap {
  int ndim;
  int64_t out_shape[cpu::kMaxLoopDims], in_shape[cpu::kMaxLoopDims], left[cpu::kMaxLoopDims];
  __device__ int64_t operator()(int64_t i) const {
    int64_t j = 0, scale = 1;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t k = i % out_shape[d] - left[d];
      i /= out_shape[d];
      if (k < 0 || k >= in_shape[d]) return -1;
      j += k * scale;
      scale *= in_shape[d];
    }
    return j;
  }
};

void constant_pad(const Tensor& in, const Tensor& out, const std::vector<int64_t>& pad, double value) {
  ConstantPadMap map{};
  map.ndim = static_cast<int>(in.dim());
  TERRA_CHECK(map.ndim <= cpu::kMaxLoopDims, NotImplemented, "tensors with more than ", cpu::kMaxLoopDims, " dims");
  for (int d = 0; d < map.ndim; ++d) {
    map.out_shape[d] = out.shape()[d];
    map.in_shape[d] = in.shape()[d];
  }
  for (size_t i = 0; i < pad.size() / 2; ++i) map.left[map.ndim - 1 - i] = pad[2 * i];
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    gather_map<T>(out, in, map, static_cast<T>(value));
  });
}

// The (H, W) planes of a reflection or a nearest upsampling: output position (p, r, c) of an
// [n, oh, ow] view reads input position (p, rows(r), cols(c)) of an [n, h, w] view. A 1-D
// reflection has planes of height 1.
struct PlaneMap {
  bool reflect;  // else nearest
  int64_t h, w, oh, ow, top, left;
  __device__ int64_t source(int64_t o, int64_t in, int64_t out, int64_t pad) const {
    return reflect ? math::reflect_source(o, in, pad) : math::nearest_source(o, in, out);
  }
  __device__ int64_t operator()(int64_t i) const {
    const int64_t plane = i / (oh * ow), r = (i / ow) % oh, c = i % ow;
    return (plane * h + source(r, h, oh, top)) * w + source(c, w, ow, left);
  }
};

PlaneMap reflection(const Tensor& in, const Tensor& out, const std::vector<int64_t>& pad) {
  if (pad.size() == 4) return {true, in.size(-2), in.size(-1), out.size(-2), out.size(-1), pad[2], pad[0]};
  return {true, 1, in.size(-1), 1, out.size(-1), 0, pad[0]};
}

PlaneMap nearest(const Tensor& in, const Tensor& out) {
  return {false, in.size(-2), in.size(-1), out.size(-2), out.size(-1), 0, 0};
}

void pad_kernel(KernelCall& c) {
  const auto& pad = c.attrs.get<std::vector<int64_t>>("pad");
  const Tensor& in = c.inputs[0];
  const Tensor& out = c.outputs[0];
  if (c.attrs.get<std::string>("mode") == "constant") {
    constant_pad(in, out, pad, c.attrs.opt<double>("value").value_or(0.0));
    return;
  }
  cpu::dispatch_bits(in.itemsize(), [&](auto tag) { gather_map<decltype(tag)>(out, in, reflection(in, out, pad)); });
}

void upsample_nearest2d_kernel(KernelCall& c) {
  const Tensor& in = c.inputs[0];
  const Tensor& out = c.outputs[0];
  cpu::dispatch_bits(in.itemsize(), [&](auto tag) { gather_map<decltype(tag)>(out, in, nearest(in, out)); });
}

// The adjoint of a gather_map: image[map(i)] += grad[i] for a dense image, cleared first.
template <class T, class Map>
struct ScatterAddMap {
  T* image;
  const T* grad;
  Layout grad_layout;
  Map map;
  __device__ void operator()(int64_t i) const { atomic_add(image + map(i), grad[grad_layout.offset(i)]); }
};

template <class Map>
void scatter_add_map(const Tensor& grad, const Tensor& image, const Map& map) {
  Tensor dense = image.is_contiguous() ? image : Tensor::empty(image.shape(), image.dtype(), image.device());
  if (dense.numel() > 0)
    TERRA_CUDA_CHECK(cudaMemsetAsync(dense.raw_data(), 0, dense.numel() * dense.itemsize(), current_stream()));
  dispatch_floating(grad.dtype(), [&](auto tag) {
    using T = decltype(tag);
    for_each_index(grad.numel(), ScatterAddMap<T, Map>{dense.data<T>(), grad.data<T>(), layout_of(grad), map});
  });
  if (!dense.is_same(image)) copy_elements(image, dense);
}

// inputs: the gradient of the padded output; output: the gradient of the input.
void reflection_pad_backward_kernel(KernelCall& c) {
  const Tensor& grad = c.inputs[0];
  const Tensor& out = c.outputs[0];
  scatter_add_map(grad, out, reflection(out, grad, c.attrs.get<std::vector<int64_t>>("pad")));
}

void upsample_nearest2d_backward_kernel(KernelCall& c) {
  const Tensor& grad = c.inputs[0];
  const Tensor& out = c.outputs[0];
  scatter_add_map(grad, out, nearest(out, grad));
}

}  // namespace

TERRA_SHAPE_KERNELS(CUDA, CudaCopy);
TERRA_KERNEL(tril, CUDA, triangle_kernel<true>);
TERRA_KERNEL(triu, CUDA, triangle_kernel<false>);
TERRA_KERNEL(pad, CUDA, pad_kernel);
TERRA_KERNEL(reflection_pad_backward, CUDA, reflection_pad_backward_kernel);
TERRA_KERNEL(upsample_nearest2d, CUDA, upsample_nearest2d_kernel);
TERRA_KERNEL(upsample_nearest2d_backward, CUDA, upsample_nearest2d_backward_kernel);

}  // namespace terra::cuda
