// CUDA kernels of softmax and log_softmax and of their backward ops, and the log-sum-exp and
// scaled-softmax routines the fused cross-entropy kernels share (kernels/cuda/softmax.hpp). The
// passes and formulas are the CPU's (kernels/cpu/softmax.cpp): the max (NaN-ignoring, so a row
// holding NaN or +inf comes out all NaN, as there), exp(x - max) with its sum, then a scale
// (softmax) or a shift (log_softmax), accumulating in the element type.
//
// A line is the C elements of one (outer, inner) position, `inner` apart. With inner == 1 the
// lines are contiguous rows: a block takes a row, its threads striding over it and combining in
// shared memory. Otherwise a thread takes a line: neighbouring threads read neighbouring
// positions, so every pass over c reads whole coalesced runs.
#include <limits>

#include "kernels/common/softmax_kernels.hpp"
#include "kernels/cuda/contiguous.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/softmax.hpp"

namespace terra::cuda {
namespace {

constexpr int kThreads = 256;

template <class T>
struct Plus {
  using Acc = T;
  __device__ T combine(T a, T b) const { return a + b; }
};
// The CPU's max_of: a NaN never replaces the running max.
template <class T>
struct MaxOf {
  using Acc = T;
  __device__ T combine(T a, T b) const { return b > a ? b : a; }
};

// The lines this thread works on: a block's with Row, else the thread's own.
template <bool Row>
__device__ __forceinline__ int64_t first_line() {
  return Row ? blockIdx.x : static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
template <bool Row>
__device__ __forceinline__ int64_t line_step() {
  return Row ? gridDim.x : static_cast<int64_t>(gridDim.x) * blockDim.x;
}

// f(c) for the positions c of a line this thread handles.
template <bool Row, class F>
__device__ __forceinline__ void for_each_c(int64_t C, const F& f) {
  for (int64_t c = Row ? threadIdx.x : 0; c < C; c += Row ? blockDim.x : 1) f(c);
}

// op.combine over f(c) for every c of the line; with Row every thread of the block gets the total.
template <bool Row, class Op, class F>
__device__ typename Op::Acc fold_line(const Op& op, typename Op::Acc init, int64_t C, const F& f,
                                      typename Op::Acc* shared) {
  typename Op::Acc a = init;
  for_each_c<Row>(C, [&](int64_t c) { a = op.combine(a, f(c)); });
  if constexpr (Row) a = block_combine(op, a, shared);
  return a;
}

template <class T>
__device__ __forceinline__ T* shared_scratch() {
  __shared__ alignas(16) unsigned char raw[kThreads * sizeof(double)];
  return reinterpret_cast<T*>(raw);
}

// Line l is position (l / inner, l % inner); its element c is at line_base + c * inner.
__device__ __forceinline__ int64_t line_base(int64_t l, int64_t C, int64_t inner) {
  return (l / inner) * C * inner + l % inner;
}

template <bool Row, class T>
__global__ void softmax_lines(const T* x, T* y, int64_t lines, int64_t C, int64_t inner, bool log, const T* scale) {
  T* shared = shared_scratch<T>();
  for (int64_t l = first_line<Row>(); l < lines; l += line_step<Row>()) {
    const T* xl = x + line_base(l, C, inner);
    T* yl = y + line_base(l, C, inner);
    const T m = fold_line<Row>(MaxOf<T>{}, -std::numeric_limits<T>::infinity(), C,
                               [&](int64_t c) { return xl[c * inner]; }, shared);
    const T s = fold_line<Row>(Plus<T>{}, T(0), C, [&](int64_t c) { return std::exp(xl[c * inner] - m); }, shared);
    if (log) {
      // (x - m) is exact near the max; folding m into the shift would round it away.
      const T log_s = std::log(s);
      for_each_c<Row>(C, [&](int64_t c) { yl[c * inner] = (xl[c * inner] - m) - log_s; });
    } else {
      const T inv = (scale ? scale[l] : T(1)) / s;
      for_each_c<Row>(C, [&](int64_t c) { yl[c * inner] = std::exp(xl[c * inner] - m) * inv; });
    }
  }
}

// dx = y (g - sum(g y)) for softmax; dx = g - exp(y) sum(g) for log_softmax.
template <bool Row, class T>
__global__ void softmax_backward_lines(const T* g, const T* y, T* dx, int64_t lines, int64_t C, int64_t inner,
                                       bool log) {
  T* shared = shared_scratch<T>();
  for (int64_t l = first_line<Row>(); l < lines; l += line_step<Row>()) {
    const int64_t base = line_base(l, C, inner);
    const T *gl = g + base, *yl = y + base;
    T* dl = dx + base;
    const T s = fold_line<Row>(Plus<T>{}, T(0), C,
                               [&](int64_t c) { return log ? gl[c * inner] : gl[c * inner] * yl[c * inner]; }, shared);
    for_each_c<Row>(C, [&](int64_t c) {
      const int64_t i = c * inner;
      dl[i] = log ? gl[i] - std::exp(yl[i]) * s : yl[i] * (gl[i] - s);
    });
  }
}

template <bool Row, class T>
__global__ void logsumexp_lines(const T* x, T* lse, int64_t lines, int64_t C, int64_t inner) {
  T* shared = shared_scratch<T>();
  for (int64_t l = first_line<Row>(); l < lines; l += line_step<Row>()) {
    const T* xl = x + line_base(l, C, inner);
    const T m = fold_line<Row>(MaxOf<T>{}, -std::numeric_limits<T>::infinity(), C,
                               [&](int64_t c) { return xl[c * inner]; }, shared);
    const T s = fold_line<Row>(Plus<T>{}, T(0), C, [&](int64_t c) { return std::exp(xl[c * inner] - m); }, shared);
    if (!Row || threadIdx.x == 0) lse[l] = m + std::log(s);
  }
}

// Launches kernel<Row> over the lines of [outer, C, inner]: a block per row when inner == 1 (as
// many threads as the row needs, a power of two up to kThreads), else a thread per line.
template <class Launch>
void launch_lines(int64_t outer, int64_t C, int64_t inner, const Launch& launch) {
  const int64_t lines = outer * inner;
  if (lines == 0 || C == 0) return;
  if (inner == 1) {
    int threads = 32;
    while (threads < kThreads && threads < C) threads *= 2;
    launch(std::true_type{}, grid_for(lines), threads, lines);
  } else {
    launch(std::false_type{}, grid_for((lines + kThreads - 1) / kThreads), kThreads, lines);
  }
  TERRA_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

template <class T>
void softmax_dim(const T* x, T* y, int64_t outer, int64_t C, int64_t inner, bool log, const T* scale) {
  launch_lines(outer, C, inner, [&](auto row, unsigned blocks, int threads, int64_t lines) {
    softmax_lines<decltype(row)::value><<<blocks, threads, 0, current_stream()>>>(x, y, lines, C, inner, log, scale);
  });
}

template <class T>
void logsumexp_dim(const T* x, T* lse, int64_t outer, int64_t C, int64_t inner) {
  launch_lines(outer, C, inner, [&](auto row, unsigned blocks, int threads, int64_t lines) {
    logsumexp_lines<decltype(row)::value><<<blocks, threads, 0, current_stream()>>>(x, lse, lines, C, inner);
  });
}

template <class T>
void softmax_backward_dim(const T* g, const T* y, T* dx, int64_t outer, int64_t C, int64_t inner, bool log) {
  launch_lines(outer, C, inner, [&](auto row, unsigned blocks, int threads, int64_t lines) {
    softmax_backward_lines<decltype(row)::value>
        <<<blocks, threads, 0, current_stream()>>>(g, y, dx, lines, C, inner, log);
  });
}

template void softmax_dim(const float*, float*, int64_t, int64_t, int64_t, bool, const float*);
template void softmax_dim(const double*, double*, int64_t, int64_t, int64_t, bool, const double*);
template void logsumexp_dim(const float*, float*, int64_t, int64_t, int64_t);
template void logsumexp_dim(const double*, double*, int64_t, int64_t, int64_t);

namespace {

// The CUDA engine of the shared softmax kernels (kernels/common/softmax_kernels.hpp).
struct CudaSoftmax {
  static Tensor as_contiguous(const Tensor& t) { return cuda::as_contiguous(t); }
  template <class T>
  static void softmax_dim(const T* x, T* y, int64_t outer, int64_t C, int64_t inner, bool log) {
    cuda::softmax_dim(x, y, outer, C, inner, log);
  }
  template <class T>
  static void softmax_backward_dim(const T* g, const T* y, T* dx, int64_t outer, int64_t C, int64_t inner, bool log) {
    cuda::softmax_backward_dim(g, y, dx, outer, C, inner, log);
  }
};

}  // namespace

TERRA_SOFTMAX_KERNELS(CUDA, CudaSoftmax);
}  // namespace terra::cuda
