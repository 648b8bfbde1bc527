// Helpers for the CUDA kernels that move elements by computed positions (indexing, shape ops,
// padding, upsampling, ranges, random draws), the CUDA side of kernels/cpu/movement.hpp:
// copy_elements between views of one dtype; for_each_index runs a functor once per index
// i < n in a grid-stride loop, and a Layout turns a row-major index into a strided tensor's
// element offset. gather_map is the one gather they share: out[i] = src[map(i)] (or a fill value
// where map gives -1), map a TERRA_HD functor from an output row-major index to a source
// row-major index, with any strides on either side; atomic_add for the accumulating scatters.
// Launches go on the current stream and never synchronize.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>

#include "kernels/common/index_math.hpp"
#include "kernels/cpu/movement.hpp"
#include "kernels/cuda/loops.cuh"
#include "tensor/cuda/check.hpp"
#include "tensor/cuda/stream.hpp"
#include "tensor/macros.hpp"

namespace terra::cuda {

// A tensor's shape and strides (in elements), passed to kernels by value.
struct Layout {
  int ndim = 0;
  int64_t shape[cpu::kMaxLoopDims] = {};
  int64_t stride[cpu::kMaxLoopDims] = {};

  // The element offset of row-major index i.
  __device__ int64_t offset(int64_t i) const {
    int64_t off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t idx = i % shape[d];
      i /= shape[d];
      off += idx * stride[d];
    }
    return off;
  }
};

inline Layout layout_of(const Shape& shape, const Strides& strides) {
  TERRA_CHECK(shape.size() <= static_cast<size_t>(cpu::kMaxLoopDims), NotImplemented, "tensors with more than ",
              cpu::kMaxLoopDims, " dims");
  Layout l;
  l.ndim = static_cast<int>(shape.size());
  for (int d = 0; d < l.ndim; ++d) {
    l.shape[d] = shape[d];
    l.stride[d] = strides[d];
  }
  return l;
}
inline Layout layout_of(const Tensor& t) { return layout_of(t.shape(), t.strides()); }

namespace detail {


template <class F>
__global__ void for_each_index_kernel(int64_t n, F f) {
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) f(i);
}

}  // namespace detail

// Calls f(i) on the device for every i in [0, n); f is a functor with a __device__ operator().
template <class F>
void for_each_index(int64_t n, const F& f) {
  if (n <= 0) return;
  detail::for_each_index_kernel<F><<<loop_blocks(n), kLoopThreads, 0, current_stream()>>>(n, f);
  TERRA_CUDA_CHECK(cudaGetLastError());
}

namespace detail {

template <class U, class Map>
struct GatherMap {
  U* out;
  Layout out_layout;
  const U* src;
  Layout src_layout;
  Map map;
  U fill;
  __device__ void operator()(int64_t i) const {
    const int64_t j = map(i);
    out[out_layout.offset(i)] = j < 0 ? fill : src[src_layout.offset(j)];
  }
};

}  // namespace detail

// out[i] = src[map(i)], or `fill` where map(i) < 0, over row-major indices of out and src. U is
// an unsigned integer as wide as one element (moving needs no more) or the element type itself.
template <class U, class Map>
void gather_map(const Tensor& out, const Tensor& src, const Map& map, U fill = U(0)) {
  for_each_index(out.numel(), detail::GatherMap<U, Map>{static_cast<U*>(out.raw_data()), layout_of(out),
                                                       static_cast<const U*>(src.raw_data()), layout_of(src), map,
                                                       fill});
}

namespace detail {

template <class U>
struct Identity {
  TERRA_HD U operator()(U x) const { return x; }
};

}  // namespace detail

// dst = src for two views of the same dtype and shape (src may broadcast), any strides. (Over the
// dtype, not its bits as on the CPU: cuda::elementwise's operands are dtypes.)
inline void copy_elements(const Tensor& dst, const Tensor& src) {
  TERRA_ASSERT(dst.dtype() == src.dtype());
  dispatch_dtype(dst.dtype(), [&](auto tag) {
    using T = decltype(tag);
    elementwise<T, T>(dst, {src}, detail::Identity<T>{});
  });
}

// *p = math::add_values(*p, v), atomically: duplicate indices of index_put(accumulate=True),
// index_add and scatter_add meet here from different threads, so sums are exact for integers and
// in an unspecified order for floating types (as in PyTorch's CUDA kernels).
template <class T>
__device__ void atomic_add(T* p, T v) {
  if constexpr (std::is_same_v<T, bool>) {
    if (v) *p = true;  // logical or: every racing writer stores the same value
  } else if constexpr (std::is_same_v<T, int64_t>) {
    atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
  } else {
    atomicAdd(p, v);
  }
}

}  // namespace terra::cuda
