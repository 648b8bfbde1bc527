// Helpers shared by the sliding-window CPU kernels (convolution, pooling, padding, upsampling):
// reading their int[N] arguments, getting operands into the dense layout the loops index, and
// the plane gather that both nearest upsampling and padding (reflect, replicate, circular) are,
// with its adjoint, their gradient. The shape rules have already validated every argument, so
// nothing here checks.
#pragma once
#include <algorithm>
#include <vector>

#include "kernels/cpu/contiguous.hpp"
#include "kernels/cpu/parallel.hpp"
#include "kernels/kernel.hpp"

namespace terra::cpu {

// Element i of an int[N] argument that the caller may have given as a single value ([3] means
// [3, 3]), as PyTorch's int[2] arguments accept.
inline int64_t window_param(const std::vector<int64_t>& values, size_t i) {
  return values.size() == 1 ? values[0] : values[i];
}

// Visits every (H, W) plane p of a dense `image` and the same plane of a dense `grid` of
// rows.size() x cols.size(), calling f(image[p, rows[i], cols[j]], grid[p, i, j]) for every (i, j);
// planes are split over threads, the image plane first cleared to zero when `clear_image`.
template <class T, class F>
void pair_planes(const Tensor& image, const Tensor& grid, const std::vector<int64_t>& rows,
                 const std::vector<int64_t>& cols, bool clear_image, F&& f) {
  const int64_t in_w = image.size(-1), in_plane = image.size(-2) * in_w;
  const int64_t out_w = static_cast<int64_t>(cols.size()), out_plane = static_cast<int64_t>(rows.size()) * out_w;
  const int64_t count = in_plane == 0 ? 0 : image.numel() / in_plane;
  T* x = image.data<T>();
  T* y = grid.data<T>();
  const int64_t grain = grain_for(std::max(in_plane, out_plane));
  parallel_for(0, count, grain, [&](int64_t b, int64_t e) {
    for (int64_t plane = b; plane < e; ++plane) {
      T* src = x + plane * in_plane;
      T* dst = y + plane * out_plane;
      if (clear_image) std::fill(src, src + in_plane, T(0));
      for (size_t i = 0; i < rows.size(); ++i, dst += out_w) {
        T* row = src + rows[i] * in_w;
        for (int64_t j = 0; j < out_w; ++j) f(row[cols[j]], dst[j]);
      }
    }
  });
}

// out[p, i, j] = in[p, rows[i], cols[j]] for every (H, W) plane p of a dense `in` (a 1-D op
// passes rows = {0} over planes of height 1).
inline void gather_planes(const Tensor& in, const Tensor& out, const std::vector<int64_t>& rows,
                          const std::vector<int64_t>& cols) {
  dispatch_dtype(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    pair_planes<T>(in, out, rows, cols, false, [](const T& image, T& grid) { grid = image; });
  });
}

// The adjoint of gather_planes, the gradient of a gather: in[p, rows[i], cols[j]] += out[p, i, j]
// summed onto zeros, for a dense floating `out` (the gradient) into a dense `in`.
inline void scatter_add_planes(const Tensor& out, const Tensor& in, const std::vector<int64_t>& rows,
                               const std::vector<int64_t>& cols) {
  dispatch_floating(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    pair_planes<T>(in, out, rows, cols, true, [](T& image, const T& grid) { image += grid; });
  });
}

}  // namespace terra::cpu
