// CUDA kernels of batch_norm (training and eval) and batch_norm_backward, plain kernels computing
// what the CPU kernels compute (kernels/cpu/normalization.cpp, the reference): per-channel sums
// relative to a shift (the channel's first value in training, the running mean in eval; Note
// [Shifted sums] there) accumulated in float64, one block per channel; the statistics,
// running-statistics update and per-channel coefficients from the shared math
// (kernels/common/norm_math.hpp) by the block's first thread; then one elementwise pass. The sums
// add in another order than the CPU's, so results agree within rounding, not bit for bit.
// Running statistics are written in place through their strides (and their version bumped), as
// on the CPU.
#include <cmath>

#include "kernels/common/norm_math.hpp"
#include "kernels/cuda/contiguous.cuh"
#include "kernels/kernel.hpp"
#include "tensor/cuda/check.hpp"
#include "tensor/cuda/stream.hpp"

namespace terra::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = int64_t(1) << 16;

// Dense (N, C, HW) data.
struct ChannelLayout {
  int64_t n, channels, hw;
  TERRA_HD int64_t count() const { return n * hw; }  // values per channel
  TERRA_HD int64_t at(int64_t ch, int64_t j) const { return ((j / hw) * channels + ch) * hw + j % hw; }
};

ChannelLayout channel_layout(const Tensor& x) {
  int64_t hw = 1;
  for (size_t d = 2; d < x.shape().size(); ++d) hw *= x.shape()[d];
  return {x.shape()[0], x.shape()[1], hw};
}

// A 1-D per-channel tensor read and written through its stride; absent when data is null.
template <class T>
struct ChannelParam {
  T* data = nullptr;
  int64_t stride = 1;
  __device__ T get(int64_t ch, T absent) const { return data ? data[ch * stride] : absent; }
};

template <class T>
ChannelParam<T> channel_param(const Tensor& t) {
  if (!t.defined()) return {};
  TERRA_CHECK(t.dim() == 1 || t.is_contiguous(), NotImplemented, "batch_norm on CUDA with a strided ", t.dim(),
              "-d parameter");
  return {t.data<T>(), t.dim() == 1 ? t.stride(0) : 1};
}

// Products that must not fuse with a following add (the CPU kernels round each step, no FMA).
__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }

// Sums N doubles over the block into shared[k][0]; every thread must call it.
template <int N>
__device__ void block_sum(const double (&v)[N], double (*shared)[kThreads]) {
  const int t = threadIdx.x;
#pragma unroll
  for (int k = 0; k < N; ++k) shared[k][t] = v[k];
  __syncthreads();
  for (int width = kThreads / 2; width > 0; width /= 2) {
    if (t < width) {
#pragma unroll
      for (int k = 0; k < N; ++k) shared[k][t] += shared[k][t + width];
    }
    __syncthreads();
  }
}

template <class T>
struct ForwardArgs {
  const T* x;
  ChannelParam<T> weight, bias, running_mean, running_var;
  T* save_mean;    // training only
  T* save_invstd;  // training only
  T* mean;         // per channel: y = (x - mean) * scale + shift
  T* scale;
  T* shift;
  bool training;
  double momentum, eps;
  ChannelLayout l;
};

// One block per channel: its statistics (batch or running), the running update, the
// normalizing coefficients.
template <class T>
__global__ void batch_norm_stats_kernel(ForwardArgs<T> a) {
  __shared__ double shared[2][kThreads];
  const ChannelLayout l = a.l;
  for (int64_t ch = blockIdx.x; ch < l.channels; ch += gridDim.x) {
    const double first = l.count() ? static_cast<double>(a.x[ch * l.hw]) : 0.0;
    double sums[2] = {0.0, 0.0};
    if (a.training)
      for (int64_t j = threadIdx.x; j < l.count(); j += blockDim.x) {
        const double d = static_cast<double>(a.x[l.at(ch, j)]) - first;
        sums[0] += d;
        sums[1] += d * d;
      }
    block_sum<2>(sums, shared);
    if (threadIdx.x == 0) {
      double mean, invstd;
      if (a.training) {
        const norm_math::Moments m = norm_math::moments(norm_math::Sums{shared[0][0], shared[1][0]}, l.count(), first);
        mean = m.mean;
        invstd = 1.0 / std::sqrt(m.var + a.eps);
        a.save_mean[ch] = static_cast<T>(mean);
        a.save_invstd[ch] = static_cast<T>(invstd);
        // The unbiased variance is blended in, as PyTorch; an empty batch leaves them alone.
        if (l.count() > 0) {
          const double unbias = static_cast<double>(l.count()) / static_cast<double>(l.count() - 1);
          const double keep = 1 - a.momentum;
          if (T* rm = a.running_mean.data)
            rm[ch * a.running_mean.stride] = static_cast<T>(
                __dadd_rn(__dmul_rn(keep, static_cast<double>(rm[ch * a.running_mean.stride])), __dmul_rn(a.momentum, mean)));
          if (T* rv = a.running_var.data)
            rv[ch * a.running_var.stride] = static_cast<T>(__dadd_rn(
                __dmul_rn(keep, static_cast<double>(rv[ch * a.running_var.stride])), __dmul_rn(a.momentum, __dmul_rn(m.var, unbias))));
        }
      } else {
        mean = static_cast<double>(a.running_mean.get(ch, T(0)));
        invstd = 1.0 / std::sqrt(static_cast<double>(a.running_var.get(ch, T(0))) + a.eps);
      }
      a.mean[ch] = static_cast<T>(mean);
      a.scale[ch] = static_cast<T>(invstd * static_cast<double>(a.weight.get(ch, T(1))));
      a.shift[ch] = a.bias.get(ch, T(0));
    }
    __syncthreads();  // shared is reused by the next channel
  }
}

template <class T>
__global__ void batch_norm_apply_kernel(const T* x, T* y, const T* mean, const T* scale, const T* shift,
                                        ChannelLayout l, int64_t n) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t ch = (i / l.hw) % l.channels;
    y[i] = mul_rn(x[i] - mean[ch], scale[ch]) + shift[ch];
  }
}

unsigned blocks_for(int64_t n) { return static_cast<unsigned>(std::min((n + kThreads - 1) / kThreads, kMaxBlocks)); }
unsigned channel_blocks(int64_t channels) { return static_cast<unsigned>(std::min(channels, kMaxBlocks)); }

template <class T>
void batch_norm_typed(KernelCall& c) {
  const Tensor x = as_contiguous(c.inputs[0]);
  const ChannelLayout l = channel_layout(x);
  if (l.channels == 0) return;
  const bool training = c.attrs.get<bool>("training");
  const Tensor coef = Tensor::empty({3 * l.channels}, x.dtype(), x.device());
  T* co = coef.data<T>();
  const Tensor weight = as_contiguous(c.inputs[1]), bias = as_contiguous(c.inputs[2]);
  ForwardArgs<T> a{x.data<T>(), channel_param<T>(weight), channel_param<T>(bias),
                   channel_param<T>(c.inputs[3]), channel_param<T>(c.inputs[4]),
                   training ? c.outputs[1].data<T>() : nullptr, training ? c.outputs[2].data<T>() : nullptr,
                   co, co + l.channels, co + 2 * l.channels, training, c.attrs.get<double>("momentum"),
                   c.attrs.get<double>("eps"), l};
  batch_norm_stats_kernel<T><<<channel_blocks(l.channels), kThreads, 0, current_stream()>>>(a);
  TERRA_CUDA_CHECK(cudaGetLastError());
  if (training && l.count() > 0)
    for (const Tensor& r : {c.inputs[3], c.inputs[4]})
      if (r.defined()) r.bump_version();
  const int64_t n = x.numel();
  if (n == 0) return;
  batch_norm_apply_kernel<T><<<blocks_for(n), kThreads, 0, current_stream()>>>(
      x.data<T>(), c.outputs[0].data<T>(), a.mean, a.scale, a.shift, l, n);
  TERRA_CUDA_CHECK(cudaGetLastError());
}

void batch_norm_kernel(KernelCall& c) {
  dispatch_floating(c.inputs[0].dtype(), [&](auto tag) { batch_norm_typed<decltype(tag)>(c); });
}

template <class T>
struct BackwardArgs {
  const T* g;
  const T* x;
  ChannelParam<T> weight, running_mean, running_var;
  T* grad_weight;
  T* grad_bias;
  T* a;  // per channel: dx = a * g + b * x + k
  T* b;
  T* k;
  bool training;
  double eps;
  ChannelLayout l;
};

// One block per channel: the sums of x and g (relative to the shift the forward used), then the
// coefficients of dx and the parameter gradients, as the CPU's batch_norm_backward.
template <class T>
__global__ void batch_norm_backward_sums_kernel(BackwardArgs<T> a) {
  __shared__ double shared[4][kThreads];
  const ChannelLayout l = a.l;
  for (int64_t ch = blockIdx.x; ch < l.channels; ch += gridDim.x) {
    const double shift = a.training ? (l.count() ? static_cast<double>(a.x[ch * l.hw]) : 0.0)
                                    : static_cast<double>(a.running_mean.get(ch, T(0)));
    const T shift_t = static_cast<T>(shift);
    double sums[4] = {0.0, 0.0, 0.0, 0.0};
    for (int64_t j = threadIdx.x; j < l.count(); j += blockDim.x) {
      const int64_t i = l.at(ch, j);
      const double d = static_cast<double>(a.x[i] - shift_t), gv = static_cast<double>(a.g[i]);
      sums[0] += d;
      sums[1] += d * d;
      sums[2] += gv;
      sums[3] += gv * d;
    }
    block_sum<4>(sums, shared);
    if (threadIdx.x == 0) {
      const norm_math::GradSums t{shared[0][0], shared[1][0], shared[2][0], shared[3][0]};
      const double w = static_cast<double>(a.weight.get(ch, T(1)));
      norm_math::BackwardAffine c{0.0, 0.0, 0.0};
      if (l.count() == 0) {
        a.grad_weight[ch] = a.grad_bias[ch] = T(0);
      } else {
        if (a.training) {
          const norm_math::Moments m = norm_math::moments(norm_math::Sums{t.s, t.q}, l.count(), shift);
          const double invstd = 1.0 / std::sqrt(m.var + a.eps);
          c = norm_math::backward_affine(norm_math::GradSums{t.s, t.q, w * t.g, w * t.gd}, m, invstd, w, l.count());
          a.grad_weight[ch] = static_cast<T>(invstd * (t.gd - t.s / static_cast<double>(l.count()) * t.g));
        } else {
          const double invstd = 1.0 / std::sqrt(static_cast<double>(a.running_var.get(ch, T(0))) + a.eps);
          c = {w * invstd, 0.0, 0.0};
          a.grad_weight[ch] = static_cast<T>(invstd * t.gd);
        }
        a.grad_bias[ch] = static_cast<T>(t.g);
      }
      a.a[ch] = static_cast<T>(c.a);
      a.b[ch] = static_cast<T>(c.b);
      a.k[ch] = static_cast<T>(c.k);
    }
    __syncthreads();
  }
}

template <class T>
__global__ void batch_norm_backward_apply_kernel(const T* g, const T* x, T* dx, const T* ca, const T* cb,
                                                 const T* ck, ChannelLayout l, int64_t n) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t ch = (i / l.hw) % l.channels;
    dx[i] = mul_rn(ca[ch], g[i]) + mul_rn(cb[ch], x[i]) + ck[ch];
  }
}

template <class T>
void batch_norm_backward_typed(KernelCall& c) {
  const Tensor g = as_contiguous(c.inputs[0]), x = as_contiguous(c.inputs[1]);
  const ChannelLayout l = channel_layout(x);
  if (l.channels == 0) return;
  const bool training = c.attrs.get<bool>("training");
  const Tensor coef = Tensor::empty({3 * l.channels}, x.dtype(), x.device());
  T* co = coef.data<T>();
  const Tensor weight = as_contiguous(c.inputs[2]);
  BackwardArgs<T> a{g.data<T>(), x.data<T>(), channel_param<T>(weight),
                    channel_param<T>(training ? Tensor() : c.inputs[3]),
                    channel_param<T>(training ? Tensor() : c.inputs[4]), c.outputs[1].data<T>(), c.outputs[2].data<T>(),
                    co, co + l.channels, co + 2 * l.channels, training, c.attrs.get<double>("eps"), l};
  batch_norm_backward_sums_kernel<T><<<channel_blocks(l.channels), kThreads, 0, current_stream()>>>(a);
  TERRA_CUDA_CHECK(cudaGetLastError());
  const int64_t n = x.numel();
  if (n == 0) return;
  batch_norm_backward_apply_kernel<T><<<blocks_for(n), kThreads, 0, current_stream()>>>(
      g.data<T>(), x.data<T>(), c.outputs[0].data<T>(), a.a, a.b, a.k, l, n);
  TERRA_CUDA_CHECK(cudaGetLastError());
}

void batch_norm_backward_kernel(KernelCall& c) {
  dispatch_floating(c.inputs[1].dtype(), [&](auto tag) { batch_norm_backward_typed<decltype(tag)>(c); });
}

}  // namespace

TERRA_KERNEL(batch_norm, CUDA, batch_norm_kernel);
TERRA_KERNEL(batch_norm_backward, CUDA, batch_norm_backward_kernel);

}  // namespace terra::cuda
