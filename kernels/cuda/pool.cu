// CUDA kernels of 2-D pooling: max_pool2d, avg_pool2d, adaptive_avg_pool2d and their backward
// ops (nearest upsampling is in shape_ops.cu). Plain kernels rather than cuDNN:
// cuDNN's max pooling reports no indices, and these visit exactly the CPU kernels' windows
// (kernels/common/pool_math.hpp) in the CPU's order, so results match the CPU bit for bit
// (indices, NaN and ties included). Forward ops run a thread per output element; the backward
// ops of average pooling gather, a thread per input element, the outputs whose
// windows hold it, in the order the CPU adds them. max_pool2d_backward has only the indices, so a
// thread walks one whole plane in order (deterministic, no atomics).
#include <limits>

#include "kernels/common/pool_math.hpp"
#include "kernels/cuda/contiguous.cuh"
#include "kernels/kernel.hpp"
#include "tensor/cuda/check.hpp"
#include "tensor/cuda/stream.hpp"

namespace terra::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = int64_t(1) << 16;

unsigned blocks_for(int64_t n) { return static_cast<unsigned>(std::min((n + kThreads - 1) / kThreads, kMaxBlocks)); }

#define TERRA_GRID_STRIDE(i, n)                                                                   \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);        \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

// Dense planes: input [count, h, w], output [count, out_h, out_w].
struct Planes {
  int64_t count, h, w, out_h, out_w;
  TERRA_HD int64_t in_size() const { return h * w; }
  TERRA_HD int64_t out_size() const { return out_h * out_w; }
};

Planes planes(const Tensor& in, const Tensor& out) {
  const int64_t h = in.size(-2), w = in.size(-1);
  return {h * w == 0 ? 0 : in.numel() / (h * w), h, w, out.size(-2), out.size(-1)};
}

template <class T>
__global__ void max_pool_kernel(const T* x, T* y, int64_t* indices, Planes p, math::PoolWindow win) {
  TERRA_GRID_STRIDE(o, p.count * p.out_size()) {
    const int64_t plane = o / p.out_size(), oh = (o / p.out_w) % p.out_h, ow = o % p.out_w;
    const math::Taps rows = math::max_pool_taps(oh, win.kh, win.sh, win.ph, win.dh, p.h);
    const math::Taps cols = math::max_pool_taps(ow, win.kw, win.sw, win.pw, win.dw, p.w);
    const T* src = x + plane * p.in_size();
    int64_t best_index = rows.begin * p.w + cols.begin;
    T best = -std::numeric_limits<T>::infinity();
    for (int64_t ih = rows.begin; ih < rows.end; ih += win.dh)
      for (int64_t iw = cols.begin; iw < cols.end; iw += win.dw) {
        const T v = src[ih * p.w + iw];
        if (math::max_pool_takes(v, best)) {
          best = v;
          best_index = ih * p.w + iw;
        }
      }
    y[o] = best;
    indices[o] = best_index;
  }
}

// An index outside the plane is skipped: the CPU raises IndexError for it, which a kernel cannot
// (indices come from max_pool2d, so it does not happen in practice).
template <class T>
__global__ void max_pool_backward_kernel(const T* g, const int64_t* indices, T* dx, Planes p) {
  TERRA_GRID_STRIDE(plane, p.count) {
    T* dst = dx + plane * p.in_size();
    for (int64_t i = 0; i < p.in_size(); ++i) dst[i] = T(0);
    for (int64_t o = plane * p.out_size(); o < (plane + 1) * p.out_size(); ++o) {
      const int64_t i = indices[o];
      if (i >= 0 && i < p.in_size()) dst[i] += g[o];
    }
  }
}

template <class T>
__global__ void avg_pool_kernel(const T* x, T* y, Planes p, math::AvgPoolWindows win) {
  TERRA_GRID_STRIDE(o, p.count * p.out_size()) {
    const int64_t plane = o / p.out_size(), oh = (o / p.out_w) % p.out_h, ow = o % p.out_w;
    const math::Span r = win.span(0, oh, p.h, p.out_h), c = win.span(1, ow, p.w, p.out_w);
    const T* src = x + plane * p.in_size();
    T sum = 0;
    for (int64_t ih = r.begin; ih < r.end; ++ih)
      for (int64_t iw = c.begin; iw < c.end; ++iw) sum += src[ih * p.w + iw];
    y[o] = r.empty() || c.empty() ? T(0) : sum / static_cast<T>(win.divisor(r, c));
  }
}

template <class T>
__global__ void avg_pool_backward_kernel(const T* g, T* dx, Planes p, math::AvgPoolWindows win) {
  TERRA_GRID_STRIDE(i, p.count * p.in_size()) {
    const int64_t plane = i / p.in_size(), ih = (i / p.w) % p.h, iw = i % p.w;
    int64_t oh0, oh1, ow0, ow1;
    win.windows_containing(0, ih, p.h, p.out_h, oh0, oh1);
    win.windows_containing(1, iw, p.w, p.out_w, ow0, ow1);
    const T* src = g + plane * p.out_size();
    T acc = 0;
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      const math::Span r = win.span(0, oh, p.h, p.out_h);
      if (!r.contains(ih)) continue;
      for (int64_t ow = ow0; ow < ow1; ++ow) {
        const math::Span c = win.span(1, ow, p.w, p.out_w);
        if (c.contains(iw)) acc += src[oh * p.out_w + ow] / static_cast<T>(win.divisor(r, c));
      }
    }
    dx[i] = acc;
  }
}

// Launches kernel over n threads' worth of work on the current stream.
template <class Kernel, class... Args>
void launch(Kernel kernel, int64_t n, Args... args) {
  if (n == 0) return;
  kernel<<<blocks_for(n), kThreads, 0, current_stream()>>>(args...);
  TERRA_CUDA_CHECK(cudaGetLastError());
}

void max_pool2d_kernel(KernelCall& c) {
  const Tensor in = as_contiguous(c.inputs[0]);
  const Planes p = planes(in, c.outputs[0]);
  const math::PoolWindow win = math::pool_window(c.attrs, true);
  dispatch_floating(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    launch(max_pool_kernel<T>, p.count * p.out_size(), in.data<T>(), c.outputs[0].data<T>(),
           c.outputs[1].data<int64_t>(), p, win);
  });
}

void max_pool2d_backward_kernel(KernelCall& c) {
  const Tensor grad = as_contiguous(c.inputs[0]), indices = as_contiguous(c.inputs[1]);
  const Tensor& out = c.outputs[0];
  const Planes p = planes(out, grad);
  dispatch_floating(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    launch(max_pool_backward_kernel<T>, p.count, grad.data<T>(), indices.data<int64_t>(), out.data<T>(), p);
  });
}

void average(const Tensor& input, const Tensor& out, const math::AvgPoolWindows& win) {
  const Tensor in = as_contiguous(input);
  const Planes p = planes(in, out);
  dispatch_floating(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    launch(avg_pool_kernel<T>, p.count * p.out_size(), in.data<T>(), out.data<T>(), p, win);
  });
}

void average_backward(const Tensor& grad_output, const Tensor& out, const math::AvgPoolWindows& win) {
  const Tensor grad = as_contiguous(grad_output);
  const Planes p = planes(out, grad);
  dispatch_floating(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    launch(avg_pool_backward_kernel<T>, p.count * p.in_size(), grad.data<T>(), out.data<T>(), p, win);
  });
}

void avg_pool2d_kernel(KernelCall& c) { average(c.inputs[0], c.outputs[0], math::avg_pool_windows(c.attrs)); }
void avg_pool2d_backward_kernel(KernelCall& c) {
  average_backward(c.inputs[0], c.outputs[0], math::avg_pool_windows(c.attrs));
}
void adaptive_avg_pool2d_kernel(KernelCall& c) { average(c.inputs[0], c.outputs[0], math::adaptive_pool_windows()); }
void adaptive_avg_pool2d_backward_kernel(KernelCall& c) {
  average_backward(c.inputs[0], c.outputs[0], math::adaptive_pool_windows());
}

}  // namespace

TERRA_KERNEL(max_pool2d, CUDA, max_pool2d_kernel);
TERRA_KERNEL(avg_pool2d, CUDA, avg_pool2d_kernel);
TERRA_KERNEL(adaptive_avg_pool2d, CUDA, adaptive_avg_pool2d_kernel);
TERRA_KERNEL(max_pool2d_backward, CUDA, max_pool2d_backward_kernel);
TERRA_KERNEL(avg_pool2d_backward, CUDA, avg_pool2d_backward_kernel);
TERRA_KERNEL(adaptive_avg_pool2d_backward, CUDA, adaptive_avg_pool2d_backward_kernel);

}  // namespace terra::cuda
