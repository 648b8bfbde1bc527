// The shape ops that are one or a few strided copies between views built for the purpose, written
// once over a device's copy primitive and registered for each device:
//   Impl::copy(dst, src)  -- dst = src for two views of one dtype and shape (src may broadcast)
// cat copies each input into its slice of the output, repeat reads its input through stride-0
// dims, flip through negated strides, roll copies two blocks per rolled dim.
#pragma once
#include <vector>

#include "kernels/kernel.hpp"

namespace terra::shape_kernels {

inline Tensor narrow_view(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  Shape shape = t.shape();
  shape[dim] = length;
  return t.as_strided(shape, t.strides(), t.offset() + start * t.strides()[dim]);
}

template <class Impl>
struct Kernels {
  static void cat(KernelCall& c) {
    const Tensor& out = c.outputs[0];
    if (out.numel() == 0) return;
    const int64_t dim = normalize_dim(c.attrs.get<int64_t>("dim"), out.dim());
    int64_t at = 0;
    for (const Tensor& t : c.inputs) {
      if (t.dim() == 1 && t.numel() == 0) continue;  // PyTorch's legacy empty tensor: skipped
      Impl::copy(narrow_view(out, dim, at, t.shape()[dim]), t);
      at += t.shape()[dim];
    }
  }

  // The output, dim by dim, is (repeat, size) blocks: view it as [r0, s0, r1, s1, ...] and read the
  // input through stride 0 on the repeat dims. Size-1 dims are left out of the views.
  static void repeat(KernelCall& c) {
    const Tensor& x = c.inputs[0];
    const Tensor& out = c.outputs[0];
    const auto& repeats = c.attrs.get<std::vector<int64_t>>("repeats");
    const int64_t pad = static_cast<int64_t>(repeats.size()) - x.dim();
    Shape shape;
    Strides out_strides, x_strides;
    for (int64_t d = 0; d < static_cast<int64_t>(repeats.size()); ++d) {
      const int64_t size = d < pad ? 1 : x.shape()[d - pad];
      if (repeats[d] != 1) {
        shape.push_back(repeats[d]);
        out_strides.push_back(size * out.strides()[d]);
        x_strides.push_back(0);
      }
      if (size != 1) {
        shape.push_back(size);
        out_strides.push_back(out.strides()[d]);
        x_strides.push_back(x.strides()[d - pad]);
      }
    }
    Impl::copy(out.as_strided(shape, out_strides, out.offset()), x.as_strided(shape, x_strides, x.offset()));
  }

  static void flip(KernelCall& c) {
    const Tensor& x = c.inputs[0];
    const auto& dims = c.attrs.get<std::vector<int64_t>>("dims");
    Strides strides = x.strides();
    int64_t offset = x.offset();
    if (!dims.empty()) {
      for (int64_t d : normalize_dims(dims, x.dim())) {
        if (x.shape()[d] > 0) offset += (x.shape()[d] - 1) * strides[d];
        strides[d] = -strides[d];
      }
    }
    Impl::copy(c.outputs[0], x.as_strided(x.shape(), strides, offset));
  }

  // Copies src into dst rolled by shift[d] (in [0, size)) along every dim from `d` on: a rolled dim
  // splits into two blocks, so this makes at most two copies per rolled dim.
  static void roll_blocks(const Tensor& dst, const Tensor& src, const std::vector<int64_t>& shift, size_t d) {
    if (d == shift.size()) return Impl::copy(dst, src);
    const int64_t n = dst.shape()[d], s = shift[d];
    if (s == 0) return roll_blocks(dst, src, shift, d + 1);
    roll_blocks(narrow_view(dst, d, s, n - s), narrow_view(src, d, 0, n - s), shift, d + 1);
    roll_blocks(narrow_view(dst, d, 0, s), narrow_view(src, d, n - s, s), shift, d + 1);
  }

  static int64_t wrap_shift(int64_t shift, int64_t size) { return size == 0 ? 0 : ((shift % size) + size) % size; }

  static void roll(KernelCall& c) {
    const Tensor& x = c.inputs[0];
    const Tensor& out = c.outputs[0];
    const auto& shifts = c.attrs.get<std::vector<int64_t>>("shifts");
    const auto& dims = c.attrs.get<std::vector<int64_t>>("dims");
    if (dims.empty()) {  // roll the flattened tensor (row-major order), then view it back
      Tensor flat = x;
      if (!x.is_contiguous()) {
        flat = Tensor::empty(x.shape(), x.dtype(), x.device());
        Impl::copy(flat, x);
      }
      const int64_t n = x.numel();
      roll_blocks(out.as_strided({n}, {1}, out.offset()), flat.as_strided({n}, {1}, flat.offset()),
                  {wrap_shift(shifts[0], n)}, 0);
      return;
    }
    // Shifts of a dim named more than once add up.
    std::vector<int64_t> shift(x.dim(), 0);
    for (size_t i = 0; i < dims.size(); ++i) shift[normalize_dim(dims[i], x.dim())] += shifts[i];
    for (int64_t d = 0; d < x.dim(); ++d) shift[d] = wrap_shift(shift[d], x.shape()[d]);
    roll_blocks(out, x, shift, 0);
  }
};

}  // namespace terra::shape_kernels

#define TERRA_SHAPE_KERNELS(DEVICE, Impl)                                   \
  TERRA_KERNEL(cat, DEVICE, ::terra::shape_kernels::Kernels<Impl>::cat);       \
  TERRA_KERNEL(repeat, DEVICE, ::terra::shape_kernels::Kernels<Impl>::repeat); \
  TERRA_KERNEL(flip, DEVICE, ::terra::shape_kernels::Kernels<Impl>::flip);     \
  TERRA_KERNEL(roll, DEVICE, ::terra::shape_kernels::Kernels<Impl>::roll)
