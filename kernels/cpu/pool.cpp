// CPU kernels of 2-D pooling and nearest upsampling: max_pool2d, avg_pool2d,
// adaptive_avg_pool2d, upsample_nearest2d, and their backward ops. Each maps every (H, W) plane
// of the input to a plane of the output on its own (or back), so the work is split over planes
// and no two threads write the same element; window arithmetic follows aten's CPU kernels so
// results match PyTorch element for element (NaN propagation and ties included). A backward
// kernel visits the same windows as its forward kernel (one shared description of them) and
// spreads each output gradient over its window.
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "kernels/common/index_math.hpp"
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
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, cost_per_plane));
  parallel_for(0, p.count, grain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) body(i);
  });
}

struct PoolWindow {
  int64_t kh, kw, sh, sw, ph, pw, dh = 1, dw = 1;
};

PoolWindow pool_window(const Attrs& a, bool has_dilation) {
  const auto& k = a.get<std::vector<int64_t>>("kernel_size");
  const auto& s_attr = a.get<std::vector<int64_t>>("stride");
  const auto& s = s_attr.empty() ? k : s_attr;  // an omitted stride is the kernel size
  const auto& p = a.get<std::vector<int64_t>>("padding");
  PoolWindow w{window_param(k, 0), window_param(k, 1), window_param(s, 0), window_param(s, 1),
               window_param(p, 0), window_param(p, 1)};
  if (has_dilation) {
    const auto& d = a.get<std::vector<int64_t>>("dilation");
    w.dh = window_param(d, 0);
    w.dw = window_param(d, 1);
  }
  return w;
}

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
        int64_t h0 = oh * win.sh - win.ph;
        const int64_t h1 = std::min(h0 + (win.kh - 1) * win.dh + 1, p.h);
        while (h0 < 0) h0 += win.dh;
        for (int64_t ow = 0; ow < p.out_w; ++ow) {
          int64_t w0 = ow * win.sw - win.pw;
          const int64_t w1 = std::min(w0 + (win.kw - 1) * win.dw + 1, p.w);
          while (w0 < 0) w0 += win.dw;
          int64_t best_index = h0 * p.w + w0;
          T best = -std::numeric_limits<T>::infinity();
          for (int64_t ih = h0; ih < h1; ih += win.dh) {
            for (int64_t iw = w0; iw < w1; iw += win.dw) {
              const T v = src[ih * p.w + iw];
              if (v > best || std::isnan(v)) {
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

// The windows of an average pool along one axis: output position o averages the input
// positions [begin, end), and the window spans `padded` positions of the padded input. Shared
// by avg_pool2d (aten's windows, clipped to the padding) and adaptive_avg_pool2d.
struct Span {
  int64_t begin, end, padded;
};

std::vector<Span> avg_pool_spans(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad) {
  std::vector<Span> spans(out);
  for (int64_t o = 0; o < out; ++o) {
    const int64_t begin = o * stride - pad, end = std::min(begin + k, in + pad);
    spans[o] = {std::max<int64_t>(begin, 0), std::min(end, in), end - begin};
  }
  return spans;
}

// aten's adaptive windows: begin = floor(o * in / out), end = ceil((o + 1) * in / out).
std::vector<Span> adaptive_spans(int64_t in, int64_t out) {
  std::vector<Span> spans(out);
  for (int64_t o = 0; o < out; ++o) {
    const int64_t begin = o * in / out, end = ((o + 1) * in + out - 1) / out;
    spans[o] = {begin, end, end - begin};
  }
  return spans;
}

// Every window of an average pool over one plane: rows x cols, and what it is divided by:
// divisor_override when given, else the window's size clipped to the padded input
// (count_include_pad) or to the input itself.
struct AvgWindows {
  std::vector<Span> rows, cols;
  bool include_pad = true;
  std::optional<int64_t> divisor_override;

  int64_t divisor(const Span& r, const Span& c) const {
    if (divisor_override) return *divisor_override;
    return include_pad ? r.padded * c.padded : (r.end - r.begin) * (c.end - c.begin);
  }
};

AvgWindows avg_pool_windows(const Attrs& a, const Planes& p) {
  const PoolWindow win = pool_window(a, false);
  return {avg_pool_spans(p.h, p.out_h, win.kh, win.sh, win.ph), avg_pool_spans(p.w, p.out_w, win.kw, win.sw, win.pw),
          a.get<bool>("count_include_pad"), a.opt<int64_t>("divisor_override")};
}

AvgWindows adaptive_windows(const Planes& p) {
  return {adaptive_spans(p.h, p.out_h), adaptive_spans(p.w, p.out_w), true, std::nullopt};
}

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
        const Span& r = win.rows[oh];
        for (int64_t ow = 0; ow < p.out_w; ++ow) {
          const Span& c = win.cols[ow];
          T sum = 0;
          for (int64_t ih = r.begin; ih < r.end; ++ih)
            for (int64_t iw = c.begin; iw < c.end; ++iw) sum += src[ih * p.w + iw];
          const bool empty = r.begin >= r.end || c.begin >= c.end;
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
        const Span& r = win.rows[oh];
        for (int64_t ow = 0; ow < p.out_w; ++ow) {
          const Span& c = win.cols[ow];
          if (r.begin >= r.end || c.begin >= c.end) continue;
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
