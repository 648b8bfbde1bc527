// CUDA kernels of sort and topk. A row (a 1-D slice along `dim`) of up to kMaxBlockRow elements is
// sorted by one block in shared memory with a bitonic network over (value, index) pairs ordered
// by kernels/common/sort_math.hpp's total order, the CPU's: so the result is the CPU's stable sort
// (and topk's lower-index tie rule) exactly, although bitonic sorting is not stable by itself.
// Longer rows run the CPU kernel on a host copy (host_fallback.cuh), a synchronization and two
// transfers: correct, not fast; a device merge sort for them is still to be written.
#include <algorithm>

#include "kernels/common/sort_math.hpp"
#include "kernels/cuda/host_fallback.cuh"
#include "kernels/cuda/movement.cuh"

namespace terra::cuda {
namespace {

constexpr int64_t kMaxBlockRow = 2048;  // (value, index) pairs of at most 16 bytes: 32 KiB of shared memory

// A tensor's layout with `dim` moved last, so element j of row r is row-major index r * len + j.
Layout rows_along(const Tensor& t, int64_t dim) {
  if (t.dim() == 0) return layout_of(Shape{1}, Strides{0});
  Shape shape;
  Strides strides;
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (d == dim) continue;
    shape.push_back(t.shape()[d]);
    strides.push_back(t.strides()[d]);
  }
  shape.push_back(t.shape()[dim]);
  strides.push_back(t.strides()[dim]);
  return layout_of(shape, strides);
}

// Sorts each row of n elements (padded to a power of two, padding ordered last) and writes its
// first k values and their indices.
template <class T>
__global__ void sort_rows(const T* self, Layout self_layout, T* values, Layout values_layout, int64_t* indices,
                          Layout indices_layout, int64_t rows, int64_t n, int64_t k, int64_t padded,
                          math::ValueOrder<T> order) {
  extern __shared__ int64_t shared[];
  int64_t* idx = shared;
  T* val = reinterpret_cast<T*>(shared + padded);
  // Whether the pair at position a comes before the pair at position b.
  auto before = [&](int64_t a, int64_t b) {
    if (idx[a] >= n) return false;
    if (idx[b] >= n) return true;
    return order.before(val[a], idx[a], val[b], idx[b]);
  };
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    for (int64_t j = threadIdx.x; j < padded; j += blockDim.x) {
      idx[j] = j;
      if (j < n) val[j] = self[self_layout.offset(row * n + j)];
    }
    __syncthreads();
    for (int64_t size = 2; size <= padded; size <<= 1) {
      for (int64_t stride = size >> 1; stride > 0; stride >>= 1) {
        for (int64_t t = threadIdx.x; t < padded; t += blockDim.x) {
          const int64_t u = t ^ stride;
          if (u <= t) continue;
          const bool ascending = (t & size) == 0;
          if (ascending ? before(u, t) : before(t, u)) {
            const T v = val[t];
            val[t] = val[u];
            val[u] = v;
            const int64_t i = idx[t];
            idx[t] = idx[u];
            idx[u] = i;
          }
        }
        __syncthreads();
      }
    }
    for (int64_t j = threadIdx.x; j < k; j += blockDim.x) {
      values[values_layout.offset(row * k + j)] = val[j];
      indices[indices_layout.offset(row * k + j)] = idx[j];
    }
    __syncthreads();  // the next row reuses the shared arrays
  }
}

// The first k of every row along dim of self, in `descending` order, into values and indices.
template <class T>
void order_rows(const Tensor& self, const Tensor& values, const Tensor& indices, int64_t dim, int64_t k,
                bool descending) {
  const int64_t n = self.dim() == 0 ? 1 : self.size(dim);
  const int64_t rows = n == 0 ? 0 : self.numel() / n;
  if (rows == 0 || k == 0) return;
  int64_t padded = 1;
  while (padded < n) padded <<= 1;
  const int threads = static_cast<int>(std::clamp<int64_t>(padded, 32, 1024));
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(rows, 65535));
  const size_t shared = static_cast<size_t>(padded) * (sizeof(int64_t) + sizeof(T));
  sort_rows<T><<<blocks, threads, shared, current_stream()>>>(
      self.data<T>(), rows_along(self, dim), values.data<T>(), rows_along(values, dim), indices.data<int64_t>(),
      rows_along(indices, dim), rows, n, k, padded, math::ValueOrder<T>{descending});
  TERRA_CUDA_CHECK(cudaGetLastError());
}

int64_t row_length(const Tensor& self, int64_t dim) { return self.dim() == 0 ? 1 : self.size(dim); }

void sort_kernel(KernelCall& c) {
  const Tensor& self = c.inputs[0];
  const int64_t dim = normalize_dim(c.attrs.get<int64_t>("dim"), self.dim());
  const int64_t n = row_length(self, dim);
  if (n > kMaxBlockRow) return run_cpu_kernel(c);
  dispatch_dtype(self.dtype(), [&](auto tag) {
    order_rows<decltype(tag)>(self, c.outputs[0], c.outputs[1], dim, n, c.attrs.get<bool>("descending"));
  });
}

void topk_kernel(KernelCall& c) {
  const Tensor& self = c.inputs[0];
  const int64_t dim = normalize_dim(c.attrs.get<int64_t>("dim"), self.dim());
  // A 0-d input gives its one element back even for k = 0, as PyTorch does.
  const int64_t k = self.dim() == 0 ? 1 : c.attrs.get<int64_t>("k");
  if (k == 0) return;
  if (row_length(self, dim) > kMaxBlockRow) return run_cpu_kernel(c);
  dispatch_numeric(self.dtype(), [&](auto tag) {
    order_rows<decltype(tag)>(self, c.outputs[0], c.outputs[1], dim, k, c.attrs.get<bool>("largest"));
  });
}

}  // namespace

TERRA_KERNEL(sort, CUDA, sort_kernel);
TERRA_KERNEL(topk, CUDA, topk_kernel);

}  // namespace terra::cuda
