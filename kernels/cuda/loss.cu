// CUDA kernels of the losses and their backward ops. The pointwise losses are the shared kernels
// of kernels/common/loss_kernels.hpp on the GPU's elementwise loop and reduction engine. The
// class losses run the per-sample functors of kernels/common/class_loss_math.hpp (the CPU's
// math) a thread per sample; their 'mean'/'sum' totals are one block's float64 sums, and
// cross_entropy takes its log-sum-exp and its backward's scaled softmax from kernels/cuda/softmax.hpp
// (Note [Fused cross-entropy backward] in kernels/cpu/loss.cpp). Two data checks need the host to
// read device values (a synchronization): binary_cross_entropy's input range and the class
// targets' bounds, so the errors are the CPU's.
#include <algorithm>
#include <vector>

#include "kernels/common/class_loss_math.hpp"
#include "kernels/common/loss_kernels.hpp"
#include "kernels/cuda/contiguous.cuh"
#include "kernels/cuda/elementwise.cuh"
#include "kernels/cuda/read_back.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/softmax.hpp"

namespace terra::cuda {
namespace {

using math::Reduction;
using loss_kernels::reduction_of;
using math::class_layout;

constexpr int kThreads = 256;

std::vector<bool> every_dim(const Tensor& t) { return std::vector<bool>(t.dim(), true); }

template <class T>
struct DivideBy {
  double divisor;
  TERRA_HD T operator()(T g) const { return static_cast<T>(static_cast<double>(g) / divisor); }
};

// The GPU engine of the pointwise losses (kernels/common/loss_kernels.hpp).
struct CudaLoss : CudaLoops {
  static Tensor as_contiguous(const Tensor& t) { return cuda::as_contiguous(t); }
  template <class T>
  static void finish(const KernelCall& c, const Tensor& loss, Reduction r) {
    if (r == Reduction::None) return;
    const Tensor& out = c.outputs[0];
    if constexpr (std::is_floating_point_v<T>) {
      if (r == Reduction::Mean) reduce(loss, every_dim(loss), math::MeanOp<T>{{out.data<T>()}, double(loss.numel())});
      else reduce(loss, every_dim(loss), math::SumOp<T, T>{out.data<T>()});
    } else {
      reduce(loss, every_dim(loss), math::SumOp<T, int64_t>{out.data<int64_t>()});  // the rule allows only sum
    }
  }
  template <class T>
  static Tensor scaled_grad(const KernelCall& c, Reduction r) {
    const Tensor& g = c.inputs[0];
    if (r != Reduction::Mean) return g;
    Tensor scaled = Tensor::empty({}, g.dtype(), g.device());
    elementwise<T, T>(scaled, {g}, DivideBy<T>{static_cast<double>(c.outputs[0].numel())});
    return scaled;
  }
  template <class T>
  static bool any_outside_unit(const Tensor& x) {
    Tensor flags = Tensor::empty(x.shape(), DType::Bool, x.device());
    elementwise<bool, T>(flags, {x}, math::OutsideUnitInterval{});
    Tensor any = Tensor::empty({}, DType::Bool, x.device());
    reduce(flags, every_dim(flags), math::AllAnyOp<bool, false>{any.data<bool>()});
    bool result = false;
    read_back(&result, any.data<bool>(), 1);
    return result;
  }
};

// ---- class losses ----

struct ClassOperands : loss_kernels::ClassOperands<CudaLoss> {
  using loss_kernels::ClassOperands<CudaLoss>::ClassOperands;
  void check_targets(const math::ClassLayout& L, int64_t ignore) const {
    std::vector<int64_t> t(static_cast<size_t>(L.samples()));
    read_back(t.data(), target.data<int64_t>(), L.samples());
    math::check_targets(t.data(), L.samples(), L.classes, ignore);
  }
};

struct LossWeight {
  double loss = 0, weight = 0;
};
struct AddLossWeight {
  using Acc = LossWeight;
  __device__ LossWeight combine(LossWeight a, LossWeight b) const { return {a.loss + b.loss, a.weight + b.weight}; }
};

template <class M, class T>
__global__ void sample_losses(M m, int64_t n, T* out) {
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t s = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; s < n; s += step)
    out[s] = static_cast<T>(m.loss(s));
}

// One block: the sums of m.loss(s) (when `losses`) and m.weight(s) over every sample. Thread 0
// writes out[0] = total (or total / total weight when `mean`) and, if asked, *total_weight.
template <class M, class T>
__global__ void sample_totals(M m, int64_t n, bool losses, bool mean, T* out, double* total_weight) {
  __shared__ alignas(16) unsigned char raw[kThreads * sizeof(LossWeight)];
  LossWeight* shared = reinterpret_cast<LossWeight*>(raw);
  LossWeight a;
  for (int64_t s = threadIdx.x; s < n; s += blockDim.x) {
    if (losses) a.loss += m.loss(s);
    a.weight += m.weight(s);
  }
  a = block_combine(AddLossWeight{}, a, shared);
  if (threadIdx.x != 0) return;
  if (out) out[0] = static_cast<T>(mean ? a.loss / a.weight : a.loss);
  if (total_weight) *total_weight = a.weight;
}

// Per-sample losses into the output for 'none'; else their sum, divided for 'mean' by the sum of
// the samples' weights (0/0 gives NaN, as in PyTorch).
template <class T, class M>
void reduce_samples(const KernelCall& c, Reduction r, int64_t n, const M& m) {
  T* out = c.outputs[0].data<T>();
  if (r == Reduction::None) {
    if (n == 0) return;
    sample_losses<<<grid_for((n + kThreads - 1) / kThreads), kThreads, 0, current_stream()>>>(m, n, out);
  } else {
    sample_totals<<<1, kThreads, 0, current_stream()>>>(m, n, true, r == Reduction::Mean, out,
                                                        static_cast<double*>(nullptr));
  }
  TERRA_CUDA_CHECK(cudaGetLastError());
}

void nll_loss_kernel(KernelCall& c) {
  const Reduction r = reduction_of(c);
  const int64_t ignore = c.attrs.get<int64_t>("ignore_index");
  const ClassOperands in(c);
  const math::ClassLayout L = class_layout(in.x);
  in.check_targets(L, ignore);
  dispatch_floating(in.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const math::NllSamples<T> m{in.x.data<T>(), in.target.data<int64_t>(), in.weight_data<T>(), ignore, L};
    reduce_samples<T>(c, r, L.samples(), m);
  });
}

void cross_entropy_kernel(KernelCall& c) {
  const Reduction r = reduction_of(c);
  const ClassOperands in(c);
  const math::ClassLayout L = class_layout(in.x);
  const int64_t n = L.samples(), C = L.classes;
  const double smoothing = std::max(0.0, c.attrs.get<double>("label_smoothing"));  // only e > 0 applies
  const bool probabilities = is_floating(in.target.dtype());
  const int64_t ignore = c.attrs.get<int64_t>("ignore_index");
  if (!probabilities) in.check_targets(L, ignore);
  dispatch_floating(in.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* xp = in.x.data<T>();
    const Tensor lse = Tensor::empty({C > 0 ? n : 0}, in.x.dtype(), in.x.device());
    if (C > 0 && n > 0) logsumexp_dim(xp, lse.data<T>(), L.outer, C, L.inner);
    const math::CrossEntropyCommon<T> common{xp, lse.data<T>(), in.weight_data<T>(), smoothing, L};
    if (probabilities) {
      reduce_samples<T>(c, r, n, math::CrossEntropyProbSamples<T>{common, in.target.data<T>()});
    } else {
      reduce_samples<T>(c, r, n, math::CrossEntropyIndexSamples<T>{common, in.target.data<int64_t>(), ignore});
    }
  });
}

// ---- class losses' backward ----

// Sample s's share of the incoming gradient g: g[s] for 'none', g for 'sum', g / total for
// 'mean' with total the forward's divisor (the sum of the samples' weights).
template <class T>
struct SampleFactor {
  const T* g;  // contiguous; 0-d unless 'none'
  Reduction r;
  const double* total;
  __device__ double operator()(int64_t s) const {
    if (r == Reduction::None) return static_cast<double>(g[s]);
    const double v = static_cast<double>(g[0]);
    return r == Reduction::Mean ? v / *total : v;
  }
};

// The factors of a backward op over the contiguous grad_output, for 'mean' with the total weight
// computed on the device into `total` (one double). Both must outlive the kernels reading them.
template <class T, class M>
SampleFactor<T> sample_factor(const Tensor& grad, Reduction r, const M& m, int64_t n, const Tensor& total) {
  if (r == Reduction::Mean) {
    sample_totals<<<1, kThreads, 0, current_stream()>>>(m, n, false, false, static_cast<T*>(nullptr),
                                                        total.data<double>());
    TERRA_CUDA_CHECK(cudaGetLastError());
  }
  return {grad.data<T>(), r, total.data<double>()};
}

// -w[t] times the sample's factor at the target class (the output is zeroed first).
template <class T>
__global__ void nll_backward_scatter(math::NllSamples<T> m, SampleFactor<T> f, int64_t n, T* out) {
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t s = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; s < n; s += step)
    if (m.t[s] != m.ignore) out[m.L.base(s) + m.t[s] * m.L.inner] = static_cast<T>(-m.weight(s) * f(s));
}

void nll_loss_backward_kernel(KernelCall& c) {
  const Reduction r = reduction_of(c);
  const int64_t ignore = c.attrs.get<int64_t>("ignore_index");
  const ClassOperands in(c, 1);
  const math::ClassLayout L = class_layout(in.x);
  const int64_t n = L.samples();
  in.check_targets(L, ignore);
  const Tensor& out = c.outputs[0];
  if (out.numel() > 0)
    TERRA_CUDA_CHECK(cudaMemsetAsync(out.raw_data(), 0, out.numel() * out.itemsize(), current_stream()));
  if (n == 0) return;
  dispatch_floating(in.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const math::NllSamples<T> m{in.x.data<T>(), in.target.data<int64_t>(), in.weight_data<T>(), ignore, L};
    const Tensor total = Tensor::empty({}, DType::Float64, out.device());
    const Tensor grad = as_contiguous(c.inputs[0]);
    const SampleFactor<T> f = sample_factor<T>(grad, r, m, n, total);
    nll_backward_scatter<<<grid_for((n + kThreads - 1) / kThreads), kThreads, 0, current_stream()>>>(m, f, n,
                                                                                                   out.data<T>());
    TERRA_CUDA_CHECK(cudaGetLastError());
  });
}

// Note [Fused cross-entropy backward], per sample: the factor f (0 for ignored samples) and the
// softmax scale f * R, R the sum of the sample's coefficients r[k].
template <class T, bool Probabilities>
struct CrossEntropyGradSetup {
  math::CrossEntropyCommon<T> m;
  const int64_t* t;  // indices
  const T* q;        // probabilities
  int64_t ignore;
  __device__ bool ignored(int64_t s) const { return !Probabilities && t[s] == ignore; }
  __device__ double scale(int64_t s, double f) const {
    const int64_t C = m.L.classes;
    const double e = m.smoothing;
    if constexpr (Probabilities) {
      double total = 0;
      for (int64_t k = 0; k < C; ++k)
        total += m.class_weight(k) * (double(q[m.L.base(s) + k * m.L.inner]) * (1 - e) + e / double(C));
      return f * total;
    } else {
      double w_total = 0;
      for (int64_t k = 0; k < C; ++k) w_total += m.class_weight(k);
      return f * ((1 - e) * m.class_weight(t[s]) + e / double(C) * w_total);
    }
  }
};

template <class T, bool P>
__global__ void cross_entropy_grad_setup(CrossEntropyGradSetup<T, P> g, SampleFactor<T> factor, int64_t n, double* f,
                                         T* row_scale) {
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t s = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; s < n; s += step) {
    const double fs = g.ignored(s) ? 0.0 : factor(s);  // also when all are ignored and the 'mean' factor is inf
    f[s] = fs;
    row_scale[s] = g.ignored(s) ? T(0) : static_cast<T>(g.scale(s, fs));
  }
}

// out -= f r, element by element: the target class's (1 - e) w[t] term for indices, then the
// dense e / C w[k] (+ (1 - e) w[k] q[k] for probabilities) terms, in the CPU's types.
template <class T, bool P>
__global__ void cross_entropy_grad_correct(CrossEntropyGradSetup<T, P> g, const double* f, int64_t numel, T* out) {
  const math::ClassLayout& L = g.m.L;
  const int64_t C = L.classes;
  const double e = g.m.smoothing;
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < numel; i += step) {
    const int64_t j = i % L.inner, k = (i / L.inner) % C, s = (i / (C * L.inner)) * L.inner + j;
    T v = out[i];
    if (!P && !g.ignored(s) && k == g.t[s]) v -= static_cast<T>(f[s] * (1 - e) * g.m.class_weight(k));
    if (P || e > 0) {
      const T spread = static_cast<T>(g.m.class_weight(k) * e / double(C));
      const T share = static_cast<T>(g.m.class_weight(k) * (1 - e));
      v -= static_cast<T>(f[s]) * (P ? spread + share * g.q[i] : spread);
    }
    out[i] = v;
  }
}

void cross_entropy_backward_kernel(KernelCall& c) {
  const Reduction r = reduction_of(c);
  const ClassOperands in(c, 1);
  const math::ClassLayout L = class_layout(in.x);
  const int64_t n = L.samples(), C = L.classes;
  const double e = std::max(0.0, c.attrs.get<double>("label_smoothing"));
  const bool probabilities = is_floating(in.target.dtype());
  const int64_t ignore = c.attrs.get<int64_t>("ignore_index");
  if (!probabilities) in.check_targets(L, ignore);
  const Tensor& out = c.outputs[0];
  if (out.numel() == 0) return;
  dispatch_floating(in.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const math::CrossEntropyCommon<T> common{in.x.data<T>(), nullptr, in.weight_data<T>(), e, L};
    const Tensor total = Tensor::empty({}, DType::Float64, out.device());
    const Tensor f = Tensor::empty({n}, DType::Float64, out.device());
    const Tensor row_scale = Tensor::empty({n}, in.x.dtype(), out.device());
    const Tensor grad = as_contiguous(c.inputs[0]);
    auto run = [&](auto probs, const auto& samples) {
      constexpr bool P = decltype(probs)::value;
      const CrossEntropyGradSetup<T, P> g{common, P ? nullptr : in.target.data<int64_t>(),
                                          P ? in.target.data<T>() : nullptr, ignore};
      const SampleFactor<T> factor = sample_factor<T>(grad, r, samples, n, total);
      cross_entropy_grad_setup<<<grid_for((n + kThreads - 1) / kThreads), kThreads, 0, current_stream()>>>(
          g, factor, n, f.data<double>(), row_scale.data<T>());
      TERRA_CUDA_CHECK(cudaGetLastError());
      softmax_dim(in.x.data<T>(), out.data<T>(), L.outer, C, L.inner, false, row_scale.data<T>());
      cross_entropy_grad_correct<<<grid_for((out.numel() + kThreads - 1) / kThreads), kThreads, 0, current_stream()>>>(
          g, f.data<double>(), out.numel(), out.data<T>());
      TERRA_CUDA_CHECK(cudaGetLastError());
    };
    if (probabilities) {
      run(std::true_type{}, math::CrossEntropyProbSamples<T>{common, in.target.data<T>()});
    } else {
      run(std::false_type{}, math::CrossEntropyIndexSamples<T>{common, in.target.data<int64_t>(), ignore});
    }
  });
}

}  // namespace

TERRA_POINTWISE_LOSS_KERNELS(CUDA, CudaLoss);
TERRA_KERNEL(nll_loss, CUDA, nll_loss_kernel);
TERRA_KERNEL(cross_entropy, CUDA, cross_entropy_kernel);
TERRA_KERNEL(nll_loss_backward, CUDA, nll_loss_backward_kernel);
TERRA_KERNEL(cross_entropy_backward, CUDA, cross_entropy_backward_kernel);

}  // namespace terra::cuda
