// Elementwise loops over strided, broadcast operands on the GPU: the CUDA side of
// kernels/cpu/loops.hpp, built on the same host-side plan (make_loop_plan: size-1 dims dropped,
// dims merged wherever every operand allows, byte strides innermost first). Operand 0 is the
// output. A plan of one dim (contiguous, a broadcast scalar, a simple stride) runs a kernel whose
// offsets are i * stride; anything else runs a kernel that turns the linear index into per-operand
// offsets from the shape and strides passed by value in a small struct. Both are grid-stride loops.
// An input that lives on the CPU can only be a wrapped Python number (the dispatcher puts every
// other input on the kernel's device); its value travels by value in the kernel's parameters.
// Launches go on the current stream and never synchronize.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <type_traits>
#include <utility>

#include "kernels/cpu/loops.hpp"
#include "kernels/cuda/launch.cuh"
#include "tensor/cuda/check.hpp"
#include "tensor/cuda/stream.hpp"
#include "tensor/macros.hpp"

namespace terra::cuda {

using cpu::kMaxLoopDims;

// A CPU-resident (wrapped number) input, already converted to the kernel's input type.
union ScalarArg {
  bool b;
  int32_t i32;
  int64_t i64;
  float f32;
  double f64;
};

template <class T>
__host__ __device__ __forceinline__ T& scalar_slot(ScalarArg& s) {
  if constexpr (std::is_same_v<T, bool>) return s.b;
  else if constexpr (std::is_same_v<T, int32_t>) return s.i32;
  else if constexpr (std::is_same_v<T, int64_t>) return s.i64;
  else if constexpr (std::is_same_v<T, float>) return s.f32;
  else return s.f64;
}
template <class T>
__device__ __forceinline__ T scalar_value(const ScalarArg& s) {
  if constexpr (std::is_same_v<T, bool>) return s.b;
  else if constexpr (std::is_same_v<T, int32_t>) return s.i32;
  else if constexpr (std::is_same_v<T, int64_t>) return s.i64;
  else if constexpr (std::is_same_v<T, float>) return s.f32;
  else return s.f64;
}

// Operands of a launch: data == nullptr means "the value in scalars[k]".
template <int N>
struct Operands {
  char* data[N];
  ScalarArg scalars[N];
};
template <int N>
struct Strides1d {
  int64_t bytes[N];
};
template <int N>
struct StridesNd {
  int ndim;
  int64_t shape[kMaxLoopDims];           // innermost first
  int64_t bytes[N][kMaxLoopDims];
};

namespace detail {


template <class T, int N>
__device__ __forceinline__ T load(const Operands<N>& ops, int k, int64_t offset) {
  return ops.data[k] ? *reinterpret_cast<const T*>(ops.data[k] + offset) : scalar_value<T>(ops.scalars[k]);
}

template <class Out, class... In, class F, size_t... K>
__device__ __forceinline__ void apply(const Operands<sizeof...(In) + 1>& ops, const int64_t* offsets, const F& f,
                                      std::index_sequence<K...>) {
  *reinterpret_cast<Out*>(ops.data[0] + offsets[0]) = f(load<In>(ops, K + 1, offsets[K + 1])...);
}

// (nvcc wants a __global__ template's pack last, so F comes first.)
template <class F, class Out, class... In>
__global__ void elementwise_1d(Operands<sizeof...(In) + 1> ops, Strides1d<sizeof...(In) + 1> st, int64_t n, F f) {
  constexpr int N = sizeof...(In) + 1;
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t offsets[N];
#pragma unroll
    for (int k = 0; k < N; ++k) offsets[k] = i * st.bytes[k];
    apply<Out, In...>(ops, offsets, f, std::index_sequence_for<In...>{});
  }
}

template <class F, class Out, class... In>
__global__ void elementwise_nd(Operands<sizeof...(In) + 1> ops, StridesNd<sizeof...(In) + 1> st, int64_t n, F f) {
  constexpr int N = sizeof...(In) + 1;
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t offsets[N] = {};
    int64_t rem = i;
    for (int d = 0; d < st.ndim; ++d) {
      const int64_t idx = rem % st.shape[d];
      rem /= st.shape[d];
#pragma unroll
      for (int k = 0; k < N; ++k) offsets[k] += idx * st.bytes[k][d];
    }
    apply<Out, In...>(ops, offsets, f, std::index_sequence_for<In...>{});
  }
}

// A CPU input becomes a by-value scalar (its 0-d value, already of the kernel's input type).
template <class T, int N>
void take_scalar_if_host(const Tensor& t, Operands<N>& ops, int k) {
  if (!t.device().is_cpu()) return;
  TERRA_ASSERT(t.numel() == 1);
  scalar_slot<T>(ops.scalars[k]) = *t.data<T>();
  ops.data[k] = nullptr;
}

template <class... In, int N, size_t... K>
void take_scalars(const std::array<Tensor, sizeof...(In)>& ins, Operands<N>& ops, std::index_sequence<K...>) {
  (take_scalar_if_host<In>(ins[K], ops, static_cast<int>(K) + 1), ...);
}

}  // namespace detail

// out[i] = f(in_0[i], ..., in_k[i]), In... the inputs' element types; inputs broadcast to out.
template <class Out, class... In, class F>
void elementwise(const Tensor& out, const std::array<Tensor, sizeof...(In)>& ins, const F& f) {
  constexpr int N = sizeof...(In) + 1;
  // A GPU with HMM would even write host memory without a fault: a wrong output device must not
  // go unnoticed.
  TERRA_ASSERT(out.device().is_cuda());
  std::array<const Tensor*, N> tensors{&out};
  for (int k = 1; k < N; ++k) tensors[k] = &ins[k - 1];
  cpu::LoopPlan<N> plan = cpu::make_loop_plan(tensors);
  if (plan.numel == 0) return;

  Operands<N> ops{};
  for (int k = 0; k < N; ++k) ops.data[k] = plan.data[k];
  detail::take_scalars<In...>(ins, ops, std::index_sequence_for<In...>{});

  const unsigned blocks = loop_blocks(plan.numel);
  cudaStream_t stream = current_stream();
  if (plan.ndim == 1) {
    Strides1d<N> st{};
    for (int k = 0; k < N; ++k) st.bytes[k] = plan.strides[k][0];
    detail::elementwise_1d<F, Out, In...><<<blocks, kLoopThreads, 0, stream>>>(ops, st, plan.numel, f);
  } else {
    StridesNd<N> st{};
    st.ndim = plan.ndim;
    for (int d = 0; d < plan.ndim; ++d) {
      st.shape[d] = plan.shape[d];
      for (int k = 0; k < N; ++k) st.bytes[k][d] = plan.strides[k][d];
    }
    detail::elementwise_nd<F, Out, In...><<<blocks, kLoopThreads, 0, stream>>>(ops, st, plan.numel, f);
  }
  TERRA_CUDA_CHECK(cudaGetLastError());
}

}  // namespace terra::cuda
