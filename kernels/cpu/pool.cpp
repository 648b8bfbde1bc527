// CPU kernels of 2-D pooling and nearest upsampling: max_pool2d, avg_pool2d,
// adaptive_avg_pool2d, upsample_nearest2d, and their backward ops. Each maps every (H, W) plane
// of the input to a plane of the output on its own (or back), so the work is split over planes
// and no two threads write the same element; window arithmetic follows aten's CPU kernels so
// results match PyTorch element for element (NaN propagation and ties included). A backward
// kernel visits the same windows as its forward kernel (one shared description of them) and
// spreads each output gradient over its window. The window arithmetic is shared with the CUDA
// kernels (kernels/common/pool_math.hpp).
#include <cmath>
#include <limits>
#include <optional>
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

// Largest element of each window and its flat index in the (H, W) plane. As in aten, a NaN wins
// over everything (the last NaN seen), ties keep the first position, and a window of -inf
// reports its first in-range position.
void max_pool2d_kernel(KernelCall& c) {
  const Tensor in = as_contiguous(c.inputs[0]);
  const Planes p = planes(in, c.outputs[0]);
  const PoolWindow win = pool_window(c.attrs, true);
  dispatch_floating(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = in.data<T>();
    T* y = c.outputs[0].data<T>();
    int64_t* indices = c.outputs[1].data<int64_t>();
    for_each_plane(p, p.out_size() * win.kh * win.kw, [&](int64_t plane) {
      const T* src = x + plane * p.in_size();
      for (int64_t oh = 0; oh < p.out_h; ++oh) {
        const math::Taps rows = math::max_pool_taps(oh, win.kh, win.sh, win.ph, win.dh, p.h);
        for (int64_t ow = 0; ow < p.out_w; ++ow) {
          const math::Taps cols = math::max_pool_taps(ow, win.kw, win.sw, win.pw, win.dw, p.w);
          int64_t best_index = rows.begin * p.w + cols.begin;
          T best = -std::numeric_limits<T>::infinity();
          for (int64_t ih = rows.begin; ih < rows.end; ih += win.dh) {
            for (int64_t iw = cols.begin; iw < cols.end; iw += win.dw) {
              const T v = src[ih * p.w + iw];
              if (math::max_pool_takes(v, best)) {
                best = v;
                best_index = ih * p.w + iw;
              }
            }
          }
          const int64_t o = plane * p.out_size() + oh * p.out_w + ow;
          y[o] = best;
          indices[o] = best_index;
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
