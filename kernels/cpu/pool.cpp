// CPU kernels of 2-D pooling and nearest upsampling: max_pool2d, avg_pool2d,
// adaptive_avg_pool2d, upsample_nearest2d, and their backward ops. Each maps every (H, W) plane
// of the input to a plane of the output on its own (or back), so the work is split over planes
// and no two threads write the same element; window arithmetic follows aten's CPU kernels so
// results match PyTorch element for element (NaN propagation and ties included). A backward
// kernel visits the same windows as its forward kernel (one shared description of them) and
// spreads each output gradient over its window. The window arithmetic is shared with the CUDA
// kernels (kernels/common/pool_math.hpp).
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>
#include <vector>

#include "kernels/common/index_math.hpp"
#include "kernels/common/pool_math.hpp"
#include "kernels/cpu/parallel.hpp"
#include "kernels/cpu/window.hpp"

namespace terra::cpu {
namespace {

// The planes of a pooling call: the input and output viewed as [count, h, w] and
// [count, out_h, out_w] (count = N * C, or C when unbatched).
struct Planes {
  int64_t count, h, w, out_h, out_w;
  int64_t in_size() const { return h * w; }
  int64_t out_size() const { return out_h * out_w; }
};

Planes planes(const Tensor& in, const Tensor& out) {
  const int64_t h = in.size(-2), w = in.size(-1);
  return {h * w == 0 ? 0 : in.numel() / (h * w), h, w, out.size(-2), out.size(-1)};
}

// Calls body(plane) for every plane, on the thread pool when there is enough work.
template <class F>
void for_each_plane(const Planes& p, int64_t cost_per_plane, F&& body) {
  const int64_t grain = grain_for(cost_per_plane);
  parallel_for(0, p.count, grain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) body(i);
  });
}

using math::pool_window;
using math::PoolWindow;

// Note [Max pool fast paths]
// max_pool2d is a running best over each window's taps in row-major order (math::max_pool_taps,
// math::max_pool_takes), and a branch on whether a tap wins, which random data mispredicts, was
// most of its time. Two faster ways to the same result:
// - Most windows lie wholly in the image (all of them without padding or ceil_mode): they need
//   no clipping, so an output row of them runs a lean loop over a fixed kh x kw grid of taps.
//   A window's first tap replaces the initial -inf (or keeps it, with the same position), so it
//   starts the running best.
// - When the windows tile the rows (w == out_w * sw, no padding along W), a plane takes two
//   passes. The first folds the taps of every (input row, output column) pair: one flat loop over
//   the plane, since pair q = ih * out_w + ow reads src[q * sw + b * dw], which the compiler
//   vectorizes, its selects branch-free. The second folds, for each output, the first pass's
//   results of its window's rows in order. Folding each row and then the rows is the same fold:
//   the running best of some taps followed by that of the next ones, combined by max_pool_takes,
//   is the running best of them all (a later NaN wins; else a larger value; ties keep the first).
// Scalar selects through bit masks instead of the branches (GCC compiles `take ? v : best` to a
// branch) measured 2.7x slower on the 2-core EPYC host: their dependency chain costs more than
// the mispredictions.

// A tap (load, compare, a likely mispredicted branch) costs about as much as this many elements
// of cheap elementwise math, for the thread split (grain_for).
constexpr int64_t kTapCost = 4;

// One tap of a window: the running best takes v (at flat position `at`) as max_pool_takes says.
template <class T, class I>
inline void take_max(T v, I at, T& best, I& best_index) {
  if (math::max_pool_takes(v, best)) {
    best = v;
    best_index = at;
  }
}

// The output positions [lo, hi) along one axis whose windows lie wholly inside [0, in).
std::pair<int64_t, int64_t> windows_inside(int64_t kernel, int64_t stride, int64_t pad, int64_t dilation,
                                           int64_t in, int64_t out) {
  const int64_t lo = std::min(out, (pad + stride - 1) / stride);
  const int64_t last = in - 1 - (kernel - 1) * dilation + pad;  // the largest o * stride allowed
  const int64_t hi = last < 0 ? lo : std::clamp(last / stride + 1, lo, out);
  return {lo, hi};
}

// Outputs [lo, hi) of one output row whose windows lie inside the plane `src` (w wide), tap (0, 0)
// of output ow at src[first + ow * win.sw] (Note [Max pool fast paths]).
template <class T>
void max_pool_row_inside(const T* src, int64_t w, const PoolWindow& win, int64_t first, int64_t lo, int64_t hi,
                         T* y, int64_t* indices) {
  for (int64_t ow = lo; ow < hi; ++ow) {
    const int64_t start = first + ow * win.sw;
    T best = src[start];
    int64_t best_index = start;
    for (int64_t a = 0; a < win.kh; ++a)
      for (int64_t b = a == 0 ? 1 : 0; b < win.kw; ++b) {
        const int64_t at = start + a * win.dh * w + b * win.dw;
        take_max(src[at], at, best, best_index);
      }
    y[ow] = best;
    indices[ow] = best_index;
  }
}

// Position type of the row pass: as wide as T, so that its loop vectorizes with as many lanes of
// positions as of values.
template <class T>
using RowPos = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;

// Whether the windows tile the rows, for the row pass (Note [Max pool fast paths]).
template <class T>
bool rows_tiled(const PoolWindow& win, const Planes& p) {
  return win.pw == 0 && p.w == p.out_w * win.sw && (win.kw - 1) * win.dw < win.sw &&
         p.in_size() <= std::numeric_limits<RowPos<T>>::max();
}

// The row pass over one plane: best[q], at[q] = running best and its position over the taps of
// output column ow in input row ih, q = ih * out_w + ow.
template <class T>
void max_pool_row_pass(const T* __restrict src, const PoolWindow& win, const Planes& p, T* __restrict best,
                       RowPos<T>* __restrict at) {
  using Pos = RowPos<T>;
  const int64_t n = p.h * p.out_w, sw = win.sw;
  for (int64_t q = 0; q < n; ++q) {
    best[q] = src[q * sw];
    at[q] = static_cast<Pos>(q * sw);
  }
  for (int64_t b = 1; b < win.kw; ++b) {
    const int64_t offset = b * win.dw;
    for (int64_t q = 0; q < n; ++q) {
      const T v = src[q * sw + offset];
      const bool take = math::max_pool_takes(v, best[q]);
      best[q] = take ? v : best[q];
      at[q] = take ? static_cast<Pos>(q * sw + offset) : at[q];
    }
  }
}

// Largest element of each window and its flat index in the (H, W) plane. As in aten, a NaN wins
// over everything (the last NaN seen), ties keep the first position, and a window of -inf
// reports its first in-range position.
void max_pool2d_kernel(KernelCall& c) {
  const Tensor in = as_contiguous(c.inputs[0]);
  const Planes p = planes(in, c.outputs[0]);
  const PoolWindow win = pool_window(c.attrs, true);
  const auto [col_lo, col_hi] = windows_inside(win.kw, win.sw, win.pw, win.dw, p.w, p.out_w);
  dispatch_floating(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using Pos = RowPos<T>;
    const T* x = in.data<T>();
    T* y = c.outputs[0].data<T>();
    int64_t* indices = c.outputs[1].data<int64_t>();
    const bool tiled = rows_tiled<T>(win, p);
    const int64_t grain = grain_for(kTapCost * p.out_size() * win.kh * win.kw);
    parallel_for(0, p.count, grain, [&](int64_t begin, int64_t end) {
      std::vector<T> row_best(tiled ? p.h * p.out_w : 0);
      std::vector<Pos> row_at(row_best.size());
      for (int64_t plane = begin; plane < end; ++plane) {
        const T* src = x + plane * p.in_size();
        T* dst = y + plane * p.out_size();
        int64_t* dst_index = indices + plane * p.out_size();
        if (tiled) max_pool_row_pass(src, win, p, row_best.data(), row_at.data());
        for (int64_t oh = 0; oh < p.out_h; ++oh, dst += p.out_w, dst_index += p.out_w) {
          const math::Taps rows = math::max_pool_taps(oh, win.kh, win.sh, win.ph, win.dh, p.h);
          const int64_t top = oh * win.sh - win.ph;
          const bool rows_inside = top >= 0 && top + (win.kh - 1) * win.dh < p.h;
          const int64_t lo = rows_inside ? col_lo : p.out_w, hi = rows_inside ? col_hi : p.out_w;
          if (lo < hi && tiled) {  // fold the row pass's results of rows top, top + dh, ...
            const T* row = row_best.data() + top * p.out_w;
            const Pos* row_pos = row_at.data() + top * p.out_w;
            const int64_t step = win.dh * p.out_w, kh = win.kh;
            for (int64_t ow = lo; ow < hi; ++ow) {
              T best = row[ow];
              Pos best_at = row_pos[ow];
              for (int64_t a = 1; a < kh; ++a) take_max(row[a * step + ow], row_pos[a * step + ow], best, best_at);
              dst[ow] = best;
              dst_index[ow] = best_at;
            }
          } else if (lo < hi) {
            max_pool_row_inside(src, p.w, win, top * p.w - win.pw, lo, hi, dst, dst_index);
          }
          auto clipped = [&](int64_t ow) {  // a window that may reach into the padding
            const math::Taps cols = math::max_pool_taps(ow, win.kw, win.sw, win.pw, win.dw, p.w);
            int64_t best_index = rows.begin * p.w + cols.begin;
            T best = -std::numeric_limits<T>::infinity();
            for (int64_t ih = rows.begin; ih < rows.end; ih += win.dh)
              for (int64_t iw = cols.begin; iw < cols.end; iw += win.dw)
                take_max(src[ih * p.w + iw], ih * p.w + iw, best, best_index);
            dst[ow] = best;
            dst_index[ow] = best_index;
          };
          for (int64_t ow = 0; ow < lo; ++ow) clipped(ow);
          for (int64_t ow = hi; ow < p.out_w; ++ow) clipped(ow);
        }
      }
    });
  });
}

// grad_input[plane, indices[o]] += grad_output[o]: each output's gradient goes to the position
// max_pool2d reported for it (as aten, indices are trusted to come from max_pool2d; one outside
// the plane is an error rather than a stray write).
void max_pool2d_backward_kernel(KernelCall& c) {
  const Tensor grad = as_contiguous(c.inputs[0]), indices = as_contiguous(c.inputs[1]);
  const Tensor& out = c.outputs[0];
  const Planes p = planes(out, grad);
  dispatch_floating(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* g = grad.data<T>();
    const int64_t* index = indices.data<int64_t>();
    T* dx = out.data<T>();
    for_each_plane(p, p.in_size() + p.out_size(), [&](int64_t plane) {
      T* dst = dx + plane * p.in_size();
      std::fill(dst, dst + p.in_size(), T(0));
      const int64_t first = plane * p.out_size();
      for (int64_t o = first; o < first + p.out_size(); ++o) {
        const int64_t i = index[o];
        TERRA_CHECK(i >= 0 && i < p.in_size(), Index, "index ", i,
                    " is outside a plane of ", p.in_size(), " elements");
        dst[i] += g[o];
      }
    });
  });
}

// Every window of an average pool over one plane (rows x cols) and how each is divided.
struct AvgWindows {
  std::vector<math::Span> rows, cols;
  math::AvgPoolWindows params;

  AvgWindows(const math::AvgPoolWindows& w, const Planes& p) : params(w) {
    for (int64_t o = 0; o < p.out_h; ++o) rows.push_back(w.span(0, o, p.h, p.out_h));
    for (int64_t o = 0; o < p.out_w; ++o) cols.push_back(w.span(1, o, p.w, p.out_w));
  }
  int64_t divisor(const math::Span& r, const math::Span& c) const { return params.divisor(r, c); }
};

AvgWindows avg_pool_windows(const Attrs& a, const Planes& p) { return AvgWindows(math::avg_pool_windows(a), p); }

AvgWindows adaptive_windows(const Planes& p) { return AvgWindows(math::adaptive_pool_windows(), p); }

// y[plane, oh, ow] = mean of x over window (oh, ow); a window entirely in the padding averages
// nothing and gives 0.
void average_windows(const Tensor& input, const Tensor& out, const AvgWindows& win) {
  const Tensor in = as_contiguous(input);
  const Planes p = planes(in, out);
  dispatch_floating(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = in.data<T>();
    T* y = out.data<T>();
    for_each_plane(p, std::max(p.in_size(), p.out_size()), [&](int64_t plane) {
      const T* src = x + plane * p.in_size();
      T* dst = y + plane * p.out_size();
      for (int64_t oh = 0; oh < p.out_h; ++oh) {
        const math::Span& r = win.rows[oh];
        for (int64_t ow = 0; ow < p.out_w; ++ow) {
          const math::Span& c = win.cols[ow];
          T sum = 0;
          for (int64_t ih = r.begin; ih < r.end; ++ih)
            for (int64_t iw = c.begin; iw < c.end; ++iw) sum += src[ih * p.w + iw];
          const bool empty = r.empty() || c.empty();
          dst[oh * p.out_w + ow] = empty ? T(0) : sum / static_cast<T>(win.divisor(r, c));
        }
      }
    });
  });
}

// The adjoint of average_windows: dx[plane, window (oh, ow)] += dy[plane, oh, ow] / divisor.
void spread_over_windows(const Tensor& grad_output, const Tensor& out, const AvgWindows& win) {
  const Tensor grad = as_contiguous(grad_output);
  const Planes p = planes(out, grad);
  dispatch_floating(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* g = grad.data<T>();
    T* dx = out.data<T>();
    for_each_plane(p, std::max(p.in_size(), p.out_size()), [&](int64_t plane) {
      const T* src = g + plane * p.out_size();
      T* dst = dx + plane * p.in_size();
      std::fill(dst, dst + p.in_size(), T(0));
      for (int64_t oh = 0; oh < p.out_h; ++oh) {
        const math::Span& r = win.rows[oh];
        for (int64_t ow = 0; ow < p.out_w; ++ow) {
          const math::Span& c = win.cols[ow];
          if (r.empty() || c.empty()) continue;
          const T v = src[oh * p.out_w + ow] / static_cast<T>(win.divisor(r, c));
          for (int64_t ih = r.begin; ih < r.end; ++ih)
            for (int64_t iw = c.begin; iw < c.end; ++iw) dst[ih * p.w + iw] += v;
        }
      }
    });
  });
}

void avg_pool2d_kernel(KernelCall& c) {
  average_windows(c.inputs[0], c.outputs[0], avg_pool_windows(c.attrs, planes(c.inputs[0], c.outputs[0])));
}

void avg_pool2d_backward_kernel(KernelCall& c) {
  spread_over_windows(c.inputs[0], c.outputs[0], avg_pool_windows(c.attrs, planes(c.outputs[0], c.inputs[0])));
}

void adaptive_avg_pool2d_kernel(KernelCall& c) {
  average_windows(c.inputs[0], c.outputs[0], adaptive_windows(planes(c.inputs[0], c.outputs[0])));
}

void adaptive_avg_pool2d_backward_kernel(KernelCall& c) {
  spread_over_windows(c.inputs[0], c.outputs[0], adaptive_windows(planes(c.outputs[0], c.inputs[0])));
}

// The nearest source (math::nearest_source) of every output position of an upsampled dim.
std::vector<int64_t> nearest_sources(int64_t in, int64_t out) {
  std::vector<int64_t> src(out);
  for (int64_t o = 0; o < out; ++o) src[o] = math::nearest_source(o, in, out);
  return src;
}

void upsample_nearest2d_kernel(KernelCall& c) {
  const Tensor in = as_contiguous(c.inputs[0]);
  const Tensor& out = c.outputs[0];
  gather_planes(in, out, nearest_sources(in.size(-2), out.size(-2)), nearest_sources(in.size(-1), out.size(-1)));
}

// Each input element's gradient is the sum over the output elements copied from it.
void upsample_nearest2d_backward_kernel(KernelCall& c) {
  const Tensor grad = as_contiguous(c.inputs[0]);
  const Tensor& out = c.outputs[0];
  scatter_add_planes(grad, out, nearest_sources(out.size(-2), grad.size(-2)),
                     nearest_sources(out.size(-1), grad.size(-1)));
}

}  // namespace

TERRA_KERNEL(max_pool2d, CPU, max_pool2d_kernel);
TERRA_KERNEL(avg_pool2d, CPU, avg_pool2d_kernel);
TERRA_KERNEL(adaptive_avg_pool2d, CPU, adaptive_avg_pool2d_kernel);
TERRA_KERNEL(upsample_nearest2d, CPU, upsample_nearest2d_kernel);
TERRA_KERNEL(max_pool2d_backward, CPU, max_pool2d_backward_kernel);
TERRA_KERNEL(avg_pool2d_backward, CPU, avg_pool2d_backward_kernel);
TERRA_KERNEL(adaptive_avg_pool2d_backward, CPU, adaptive_avg_pool2d_backward_kernel);
TERRA_KERNEL(upsample_nearest2d_backward, CPU, upsample_nearest2d_backward_kernel);

}  // namespace terra::cpu
