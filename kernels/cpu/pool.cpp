// CPU kernels of 2-D pooling and nearest upsampling: max_pool2d, avg_pool2d,
// adaptive_avg_pool2d, upsample_nearest2d. Each maps every (H, W) plane of the input to a plane of
// the output on its own, so the work is split over planes; window arithmetic follows aten's CPU
// kernels so results match PyTorch element for element (NaN propagation and ties included).
#include <cmath>
#include <limits>
#include <vector>

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
  return {in.numel() / (h * w), h, w, out.size(-2), out.size(-1)};
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

// Mean of each window. The divisor is divisor_override when given, else the window's size
// clipped to the padded input (count_include_pad) or to the input itself.
void avg_pool2d_kernel(KernelCall& c) {
  const Tensor in = as_contiguous(c.inputs[0]);
  const Planes p = planes(in, c.outputs[0]);
  const PoolWindow win = pool_window(c.attrs, false);
  const bool include_pad = c.attrs.get<bool>("count_include_pad");
  const auto divisor_override = c.attrs.opt<int64_t>("divisor_override");
  dispatch_floating(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = in.data<T>();
    T* y = c.outputs[0].data<T>();
    for_each_plane(p, p.out_size() * win.kh * win.kw, [&](int64_t plane) {
      const T* src = x + plane * p.in_size();
      T* dst = y + plane * p.out_size();
      for (int64_t oh = 0; oh < p.out_h; ++oh) {
        const int64_t h_begin = oh * win.sh - win.ph, h_end = std::min(h_begin + win.kh, p.h + win.ph);
        const int64_t h0 = std::max<int64_t>(h_begin, 0), h1 = std::min(h_end, p.h);
        for (int64_t ow = 0; ow < p.out_w; ++ow) {
          const int64_t w_begin = ow * win.sw - win.pw, w_end = std::min(w_begin + win.kw, p.w + win.pw);
          const int64_t w0 = std::max<int64_t>(w_begin, 0), w1 = std::min(w_end, p.w);
          T& out = dst[oh * p.out_w + ow];
          if (h0 >= h1 || w0 >= w1) {  // a window entirely in the padding averages nothing
            out = T(0);
            continue;
          }
          T sum = 0;
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw) sum += src[ih * p.w + iw];
          const int64_t divisor = divisor_override ? *divisor_override
                                  : include_pad    ? (h_end - h_begin) * (w_end - w_begin)
                                                   : (h1 - h0) * (w1 - w0);
          out = sum / static_cast<T>(divisor);
        }
      }
    });
  });
}

// The input rows (or columns) [begin, end) averaged into each output row (or column):
// begin = floor(o * in / out), end = ceil((o + 1) * in / out), aten's adaptive windows.
std::vector<std::pair<int64_t, int64_t>> adaptive_ranges(int64_t in, int64_t out) {
  std::vector<std::pair<int64_t, int64_t>> r(out);
  for (int64_t o = 0; o < out; ++o) r[o] = {o * in / out, ((o + 1) * in + out - 1) / out};
  return r;
}

void adaptive_avg_pool2d_kernel(KernelCall& c) {
  const Tensor in = as_contiguous(c.inputs[0]);
  const Planes p = planes(in, c.outputs[0]);
  const auto rows = adaptive_ranges(p.h, p.out_h), cols = adaptive_ranges(p.w, p.out_w);
  dispatch_floating(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = in.data<T>();
    T* y = c.outputs[0].data<T>();
    for_each_plane(p, std::max(p.in_size(), p.out_size()), [&](int64_t plane) {
      const T* src = x + plane * p.in_size();
      T* dst = y + plane * p.out_size();
      for (int64_t oh = 0; oh < p.out_h; ++oh) {
        const auto [h0, h1] = rows[oh];
        for (int64_t ow = 0; ow < p.out_w; ++ow) {
          const auto [w0, w1] = cols[ow];
          T sum = 0;
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw) sum += src[ih * p.w + iw];
          dst[oh * p.out_w + ow] = sum / static_cast<T>((h1 - h0) * (w1 - w0));
        }
      }
    });
  });
}

// aten's nearest_idx: exact for equal sizes and for doubling, otherwise floor(o * scale) with the
// scale in float32, as PyTorch computes it (so indices match PyTorch's, rounding included).
std::vector<int64_t> nearest_sources(int64_t in, int64_t out) {
  std::vector<int64_t> src(out);
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (int64_t o = 0; o < out; ++o) {
    if (out == in) src[o] = o;
    else if (out == 2 * in) src[o] = o >> 1;
    else src[o] = std::min(static_cast<int64_t>(std::floor(static_cast<float>(o) * scale)), in - 1);
  }
  return src;
}

void upsample_nearest2d_kernel(KernelCall& c) {
  const Tensor in = as_contiguous(c.inputs[0]);
  const Tensor& out = c.outputs[0];
  gather_planes(in, out, nearest_sources(in.size(-2), out.size(-2)), nearest_sources(in.size(-1), out.size(-1)));
}

}  // namespace

TERRA_KERNEL(max_pool2d, CPU, max_pool2d_kernel);
TERRA_KERNEL(avg_pool2d, CPU, avg_pool2d_kernel);
TERRA_KERNEL(adaptive_avg_pool2d, CPU, adaptive_avg_pool2d_kernel);
TERRA_KERNEL(upsample_nearest2d, CPU, upsample_nearest2d_kernel);

}  // namespace terra::cpu
