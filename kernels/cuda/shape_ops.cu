// CUDA kernels of the shape ops that move elements: cat, repeat, flip and roll are the CPU's own
// view-and-copy kernels (kernels/common/shape_kernels.hpp) over the CUDA copy; tril/triu, pad
// (every mode) and upsample_nearest2d are gather_map launches whose maps use the CPU's
// per-element formulas (kernels/common/index_math.hpp). The gradients pad_backward and
// upsample_nearest2d_backward scatter each gradient element onto the input position it was read
// from, with atomic adds (float sums in an unspecified order).
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

// A map that moves each of the last `dims` dims on its own (padding, nearest upsampling): output
// position o of a dim of in[d] input and out[d] output positions reads input position
// source(o, in[d], left[d], out[d]); d counts from the last dim, the leading dims are kept.
template <class Source>
struct SeparableMap {
  Source source;
  int dims;
  int64_t in[3], out[3], left[3];
  __device__ int64_t operator()(int64_t i) const {
    int64_t j = 0, scale = 1;
    for (int d = 0; d < dims; ++d) {
      j += source(i % out[d], in[d], left[d], out[d]) * scale;
      i /= out[d];
      scale *= in[d];
    }
    return j + i * scale;
  }
};

struct PadSource {
  math::PadMode mode;
  __device__ int64_t operator()(int64_t o, int64_t in, int64_t left, int64_t out) const {
    return math::pad_source(mode, o, in, left, out);
  }
};

struct NearestSource {
  __device__ int64_t operator()(int64_t o, int64_t in, int64_t, int64_t out) const {
    return math::nearest_source(o, in, out);
  }
};

// `in` is the unpadded side, `out` the padded one (of the forward op).
SeparableMap<PadSource> padding(const Tensor& in, const Tensor& out, const std::vector<int64_t>& pad,
                                const std::string& mode) {
  SeparableMap<PadSource> map{{math::pad_mode(mode)}, static_cast<int>(pad.size() / 2), {}, {}, {}};
  for (int d = 0; d < map.dims; ++d) {
    map.in[d] = in.size(-1 - d);
    map.out[d] = out.size(-1 - d);
    map.left[d] = pad[2 * d];
  }
  return map;
}

SeparableMap<NearestSource> nearest(const Tensor& in, const Tensor& out) {
  return {{}, 2, {in.size(-1), in.size(-2)}, {out.size(-1), out.size(-2)}, {0, 0}};
}

void pad_kernel(KernelCall& c) {
  const auto& pad = c.attrs.get<std::vector<int64_t>>("pad");
  const std::string& mode = c.attrs.get<std::string>("mode");
  const Tensor& in = c.inputs[0];
  const Tensor& out = c.outputs[0];
  if (mode == "constant") {
    constant_pad(in, out, pad, c.attrs.opt<double>("value").value_or(0.0));
    return;
  }
  cpu::dispatch_bits(in.itemsize(), [&](auto tag) { gather_map<decltype(tag)>(out, in, padding(in, out, pad, mode)); });
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
void pad_backward_kernel(KernelCall& c) {
  const Tensor& grad = c.inputs[0];
  const Tensor& out = c.outputs[0];
  const auto& pad = c.attrs.get<std::vector<int64_t>>("pad");
  scatter_add_map(grad, out, padding(out, grad, pad, c.attrs.get<std::string>("mode")));
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
TERRA_KERNEL(pad_backward, CUDA, pad_backward_kernel);
TERRA_KERNEL(upsample_nearest2d, CUDA, upsample_nearest2d_kernel);
TERRA_KERNEL(upsample_nearest2d_backward, CUDA, upsample_nearest2d_backward_kernel);

}  // namespace terra::cuda
