// CUDA kernels of layer_norm and group_norm and their backward ops (batch_norm goes through
// cuDNN elsewhere). A block takes a row (layer_norm) or a (sample, group) block (group_norm) of
// the contiguous input: its threads take the shifted sums in float64 (Note [Shifted sums] in
// kernels/cpu/normalization.cpp), combine them in shared memory, and normalize; the statistics
// and backward coefficients are the CPU's (kernels/common/norm_math.hpp). grad_weight and
// grad_bias are summed by a second kernel, a thread per column or channel walking the rows or
// samples in order. The CPU sums in the element type between float64 folds, so results differ
// from it in rounding only.
#include <cmath>

#include "kernels/common/norm_math.hpp"
#include "kernels/cuda/contiguous.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/kernel.hpp"

namespace terra::cuda {
namespace {

using norm_math::GradSums;
using norm_math::Sums;

constexpr int kThreads = 256;

struct AddSums {
  using Acc = Sums;
  __device__ Sums combine(Sums a, Sums b) const {
    a += b;
    return a;
  }
};
struct AddGradSums {
  using Acc = GradSums;
  __device__ GradSums combine(GradSums a, GradSums b) const {
    a += b;
    return a;
  }
};

template <class Acc>
__device__ __forceinline__ Acc* shared_accumulators() {
  __shared__ alignas(16) unsigned char raw[kThreads * sizeof(GradSums)];
  return reinterpret_cast<Acc*>(raw);
}

// An optional parameter's value (weight 1, bias 0 when absent).
template <class T>
__device__ __forceinline__ T param(const T* p, int64_t i, T absent) {
  return p ? p[i] : absent;
}

template <class T>
struct NormArgs {
  const T* x;
  T* y;
  T* mean;
  T* rstd;
  const T* w;  // null when absent
  const T* b;  // null when absent
  double eps;
};

// The block's shifted sums of n contiguous values (every thread gets them).
template <class T>
__device__ Sums block_sums(const T* x, int64_t n, double shift, Sums* shared) {
  Sums a;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const double d = static_cast<double>(x[i]) - shift;
    a.s += d;
    a.q += d * d;
  }
  return block_combine(AddSums{}, a, shared);
}

template <class T>
__global__ void layer_norm_rows(NormArgs<T> d, int64_t rows, int64_t cols) {
  Sums* shared = shared_accumulators<Sums>();
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* x = d.x + r * cols;
    T* y = d.y + r * cols;
    const double shift = cols ? static_cast<double>(x[0]) : 0.0;
    const norm_math::Moments m = norm_math::moments(block_sums(x, cols, shift, shared), cols, shift);
    const T mean = static_cast<T>(m.mean), rstd = static_cast<T>(1.0 / std::sqrt(m.var + d.eps));
    if (threadIdx.x == 0) {
      d.mean[r] = mean;
      d.rstd[r] = rstd;
    }
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x)
      y[i] = (x[i] - mean) * rstd * param(d.w, i, T(1)) + param(d.b, i, T(0));
  }
}

// (sample, group) blocks of per_group channels of hw values each.
struct GroupLayout {
  int64_t groups, per_group, hw;
  __host__ __device__ int64_t block() const { return per_group * hw; }
};

template <class T>
__global__ void group_norm_blocks(NormArgs<T> d, GroupLayout l, int64_t blocks) {
  Sums* shared = shared_accumulators<Sums>();
  const int64_t block = l.block();
  for (int64_t ng = blockIdx.x; ng < blocks; ng += gridDim.x) {
    const T* x = d.x + ng * block;
    T* y = d.y + ng * block;
    const double shift = block ? static_cast<double>(x[0]) : 0.0;
    const norm_math::Moments m = norm_math::moments(block_sums(x, block, shift, shared), block, shift);
    const double rstd = 1.0 / std::sqrt(m.var + d.eps);
    const T mean = static_cast<T>(m.mean);
    if (threadIdx.x == 0) {
      d.mean[ng] = mean;
      d.rstd[ng] = static_cast<T>(rstd);
    }
    const int64_t c0 = (ng % l.groups) * l.per_group;
    for (int64_t i = threadIdx.x; i < block; i += blockDim.x) {
      const int64_t ch = c0 + i / l.hw;
      y[i] = (x[i] - mean) * static_cast<T>(rstd * param(d.w, ch, T(1))) + param(d.b, ch, T(0));
    }
  }
}

// ---- backward ----

// The block's GradSums of n values: d = x - shift, and g * w (w null: g alone).
template <class T>
__device__ GradSums block_grad_sums(const T* x, const T* g, const T* w, int64_t n, T shift, GradSums* shared) {
  GradSums a;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const double d = static_cast<double>(x[i]) - static_cast<double>(shift);
    const double gv = static_cast<double>(w ? g[i] * w[i] : g[i]);
    a.s += d;
    a.q += d * d;
    a.g += gv;
    a.gd += gv * d;
  }
  return block_combine(AddGradSums{}, a, shared);
}

// dx of each row, and the row's mean and rstd (in T, as the CPU uses them) for grad_weight.
template <class T>
__global__ void layer_norm_backward_rows(const T* x, const T* g, const T* w, T* dx, T* row_mean, T* row_rstd,
                                         int64_t rows, int64_t cols, double eps) {
  GradSums* shared = shared_accumulators<GradSums>();
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T *xr = x + r * cols, *gr = g + r * cols;
    const T shift = xr[0];
    const GradSums t = block_grad_sums(xr, gr, w, cols, shift, shared);
    const norm_math::Moments m = norm_math::moments(Sums{t.s, t.q}, cols, shift);
    const double rstd = 1.0 / std::sqrt(m.var + eps);
    const norm_math::BackwardAffine c = norm_math::backward_affine(t, m, rstd, 1.0, cols);
    const T a = static_cast<T>(c.a), b = static_cast<T>(c.b), k = static_cast<T>(c.k);
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) dx[r * cols + i] = a * gr[i] * param(w, i, T(1)) + b * xr[i] + k;
    if (threadIdx.x == 0) {
      row_mean[r] = static_cast<T>(m.mean);
      row_rstd[r] = static_cast<T>(rstd);
    }
  }
}

// grad_weight[i] = sum over rows of g * xhat, grad_bias[i] = sum of g: a thread per column.
template <class T>
__global__ void layer_norm_backward_columns(const T* x, const T* g, const T* row_mean, const T* row_rstd, T* gw, T* gb,
                                            int64_t rows, int64_t cols) {
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < cols; i += step) {
    double sw = 0, sb = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const T gi = g[r * cols + i];
      sw += static_cast<double>(gi * ((x[r * cols + i] - row_mean[r]) * row_rstd[r]));
      sb += static_cast<double>(gi);
    }
    gw[i] = static_cast<T>(sw);
    gb[i] = static_cast<T>(sb);
  }
}

// dx of each (sample, group) block, and per (sample, channel) the sums of g * xhat (dw) and g
// (db). `ch` holds each channel's GradSums between the block's two passes.
template <class T>
__global__ void group_norm_backward_blocks(const T* x, const T* g, const T* w, T* dx, GradSums* ch, double* dw,
                                           double* db, GroupLayout l, int64_t blocks, double eps) {
  GradSums* shared = shared_accumulators<GradSums>();
  const int64_t block = l.block();
  for (int64_t ng = blockIdx.x; ng < blocks; ng += gridDim.x) {
    const T *xb = x + ng * block, *gb = g + ng * block;
    const int64_t c0 = (ng % l.groups) * l.per_group, nc0 = ng * l.per_group;  // nc0: (sample, c0) in [N, C]
    const T shift = xb[0];
    // The group's sums, with g weighted per channel: w * sum(g) and w * sum(g * d).
    GradSums t;
    for (int64_t k = 0; k < l.per_group; ++k) {
      const GradSums s = block_grad_sums(xb + k * l.hw, gb + k * l.hw, static_cast<const T*>(nullptr), l.hw, shift, shared);
      if (threadIdx.x == 0) ch[nc0 + k] = s;
      const double wk = static_cast<double>(param(w, c0 + k, T(1)));
      t += GradSums{s.s, s.q, wk * s.g, wk * s.gd};
    }
    const norm_math::Moments m = norm_math::moments(Sums{t.s, t.q}, block, static_cast<double>(shift));
    const double rstd = 1.0 / std::sqrt(m.var + eps);
    const double mean_d = t.s / static_cast<double>(block);
    for (int64_t k = 0; k < l.per_group; ++k) {
      const norm_math::BackwardAffine c =
          norm_math::backward_affine(t, m, rstd, static_cast<double>(param(w, c0 + k, T(1))), block);
      const T a = static_cast<T>(c.a), b = static_cast<T>(c.b), kk = static_cast<T>(c.k);
      for (int64_t i = threadIdx.x; i < l.hw; i += blockDim.x) {
        const int64_t at = ng * block + k * l.hw + i;
        dx[at] = a * g[at] + b * x[at] + kk;
      }
      if (threadIdx.x == 0) {
        const GradSums s = ch[nc0 + k];
        dw[nc0 + k] = rstd * (s.gd - mean_d * s.g);
        db[nc0 + k] = s.g;
      }
    }
  }
}

// out[ch] = sum over samples of v[n, ch], in sample order: a thread per channel.
template <class T>
__global__ void sum_over_samples(const double* v, int64_t n, int64_t channels, T* out) {
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t ch = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; ch < channels; ch += step) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += v[i * channels + ch];
    out[ch] = static_cast<T>(s);
  }
}

unsigned blocks_of_threads(int64_t n) { return grid_for((n + kThreads - 1) / kThreads); }

int64_t trailing_numel(const Shape& shape, size_t first) {
  int64_t n = 1;
  for (size_t d = first; d < shape.size(); ++d) n *= shape[d];
  return n;
}

GroupLayout group_layout(const Tensor& x, const KernelCall& c) {
  const int64_t groups = c.attrs.get<int64_t>("num_groups");
  return {groups, x.shape()[1] / groups, trailing_numel(x.shape(), 2)};
}

void layer_norm_kernel(KernelCall& c) {
  const Tensor x = as_contiguous(c.inputs[0]), w = as_contiguous(c.inputs[1]), b = as_contiguous(c.inputs[2]);
  const int64_t cols = shape_numel(c.attrs.get<std::vector<int64_t>>("normalized_shape"));
  const int64_t rows = c.outputs[1].numel();
  if (rows == 0) return;
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const NormArgs<T> d{x.data<T>(), c.outputs[0].data<T>(), c.outputs[1].data<T>(), c.outputs[2].data<T>(),
                        data_or_null<T>(w), data_or_null<T>(b), c.attrs.get<double>("eps")};
    layer_norm_rows<<<grid_for(rows), kThreads, 0, current_stream()>>>(d, rows, cols);
    TERRA_CUDA_CHECK(cudaGetLastError());
  });
}

void group_norm_kernel(KernelCall& c) {
  const Tensor x = as_contiguous(c.inputs[0]), w = as_contiguous(c.inputs[1]), b = as_contiguous(c.inputs[2]);
  const GroupLayout l = group_layout(x, c);
  const int64_t blocks = x.shape()[0] * l.groups;
  if (blocks == 0) return;
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const NormArgs<T> d{x.data<T>(), c.outputs[0].data<T>(), c.outputs[1].data<T>(), c.outputs[2].data<T>(),
                        data_or_null<T>(w), data_or_null<T>(b), c.attrs.get<double>("eps")};
    group_norm_blocks<<<grid_for(blocks), kThreads, 0, current_stream()>>>(d, l, blocks);
    TERRA_CUDA_CHECK(cudaGetLastError());
  });
}

void layer_norm_backward_kernel(KernelCall& c) {
  const Tensor g = as_contiguous(c.inputs[0]), x = as_contiguous(c.inputs[1]), w = as_contiguous(c.inputs[2]);
  const int64_t cols = shape_numel(c.attrs.get<std::vector<int64_t>>("normalized_shape"));
  const int64_t rows = cols == 0 ? 0 : x.numel() / cols;
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Tensor mean = Tensor::empty({rows}, x.dtype(), x.device()), rstd = Tensor::empty({rows}, x.dtype(), x.device());
    if (rows > 0) {
      layer_norm_backward_rows<<<grid_for(rows), kThreads, 0, current_stream()>>>(
          x.data<T>(), g.data<T>(), data_or_null<T>(w), c.outputs[0].data<T>(), mean.data<T>(), rstd.data<T>(), rows, cols,
          c.attrs.get<double>("eps"));
      TERRA_CUDA_CHECK(cudaGetLastError());
    }
    if (cols > 0) {
      layer_norm_backward_columns<<<blocks_of_threads(cols), kThreads, 0, current_stream()>>>(
          x.data<T>(), g.data<T>(), mean.data<T>(), rstd.data<T>(), c.outputs[1].data<T>(), c.outputs[2].data<T>(), rows,
          cols);
      TERRA_CUDA_CHECK(cudaGetLastError());
    }
  });
}

void group_norm_backward_kernel(KernelCall& c) {
  const Tensor g = as_contiguous(c.inputs[0]), x = as_contiguous(c.inputs[1]), w = as_contiguous(c.inputs[2]);
  const GroupLayout l = group_layout(x, c);
  const int64_t n = x.shape()[0], channels = x.shape()[1], blocks = n * l.groups;
  const Tensor dw = Tensor::empty({n * channels}, DType::Float64, x.device());
  const Tensor db = Tensor::empty({n * channels}, DType::Float64, x.device());
  const Tensor ch = Tensor::empty({n * channels * int64_t(sizeof(GradSums) / sizeof(double))}, DType::Float64, x.device());
  dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (l.block() > 0 && blocks > 0) {
      group_norm_backward_blocks<<<grid_for(blocks), kThreads, 0, current_stream()>>>(
          x.data<T>(), g.data<T>(), data_or_null<T>(w), c.outputs[0].data<T>(), static_cast<GradSums*>(ch.raw_data()),
          dw.data<double>(), db.data<double>(), l, blocks, c.attrs.get<double>("eps"));
      TERRA_CUDA_CHECK(cudaGetLastError());
    } else if (n * channels > 0) {  // nothing to normalize: the sums are 0, as on the CPU
      TERRA_CUDA_CHECK(cudaMemsetAsync(dw.raw_data(), 0, n * channels * sizeof(double), current_stream()));
      TERRA_CUDA_CHECK(cudaMemsetAsync(db.raw_data(), 0, n * channels * sizeof(double), current_stream()));
    }
    if (channels > 0) {
      sum_over_samples<<<blocks_of_threads(channels), kThreads, 0, current_stream()>>>(dw.data<double>(), n, channels,
                                                                                       c.outputs[1].data<T>());
      sum_over_samples<<<blocks_of_threads(channels), kThreads, 0, current_stream()>>>(db.data<double>(), n, channels,
                                                                                       c.outputs[2].data<T>());
      TERRA_CUDA_CHECK(cudaGetLastError());
    }
  });
}

}  // namespace

TERRA_KERNEL(layer_norm, CUDA, layer_norm_kernel);
TERRA_KERNEL(group_norm, CUDA, group_norm_kernel);
TERRA_KERNEL(layer_norm_backward, CUDA, layer_norm_backward_kernel);
TERRA_KERNEL(group_norm_backward, CUDA, group_norm_backward_kernel);

}  // namespace terra::cuda
