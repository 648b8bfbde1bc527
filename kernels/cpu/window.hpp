// Helpers shared by the sliding-window CPU kernels (convolution, pooling, padding, upsampling):
// reading their int[N] arguments, getting operands into the dense layout the loops index, and
// the plane gather that both nearest upsampling and reflection padding are. The shape rules have
// already validated every argument, so nothing here checks.
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

// out[p, i, j] = in[p, rows[i], cols[j]] for every (H, W) plane p of a dense `in` (a 1-D op
// passes rows = {0} over planes of height 1).
inline void gather_planes(const Tensor& in, const Tensor& out, const std::vector<int64_t>& rows,
                          const std::vector<int64_t>& cols) {
  const int64_t in_plane = in.size(-2) * in.size(-1);
  const int64_t out_w = static_cast<int64_t>(cols.size()), out_plane = static_cast<int64_t>(rows.size()) * out_w;
  const int64_t count = in_plane == 0 ? 0 : in.numel() / in_plane;
  const int64_t in_w = in.size(-1);
  dispatch_dtype(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = in.data<T>();
    T* y = out.data<T>();
    const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, out_plane));
    parallel_for(0, count, grain, [&](int64_t b, int64_t e) {
      for (int64_t plane = b; plane < e; ++plane) {
        const T* src = x + plane * in_plane;
        T* dst = y + plane * out_plane;
        for (size_t i = 0; i < rows.size(); ++i, dst += out_w) {
          const T* row = src + rows[i] * in_w;
          for (int64_t j = 0; j < out_w; ++j) dst[j] = row[cols[j]];
        }
      }
    });
  });
}

}  // namespace terra::cpu
