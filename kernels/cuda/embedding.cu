// CUDA kernels of embedding and embedding_backward. The indices are converted to int64 on the
// device and read back (a synchronization) so a bad one raises the CPU's IndexError before
// anything is written (kernels/common/embedding_rows.hpp). embedding gathers a thread per output
// element. embedding_backward buckets positions by weight row on the host (the CPU's counting
// sort) and gives each grad_weight element a thread that adds its gradient values in position
// order: no atomics, and results that do not depend on scheduling (Note [Deterministic
// embedding backward] in kernels/cpu/embedding.cpp).
#include <vector>

#include "kernels/common/embedding_rows.hpp"
#include "kernels/cuda/contiguous.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/read_back.cuh"
#include "kernels/kernel.hpp"
#include "tensor/cuda/cuda_device.hpp"

namespace terra::cuda {
namespace {

constexpr int kThreads = 256;

template <class I>
struct ToInt64 {
  TERRA_HD int64_t operator()(I v) const { return static_cast<int64_t>(v); }
};

// The indices as contiguous int64 on the device, checked against `rows` on the host.
Tensor checked_indices(const Tensor& indices, int64_t rows, std::vector<int64_t>& host) {
  const Tensor idx = Tensor::empty(indices.shape(), DType::Int64, indices.device());
  dispatch_index(indices.dtype(), [&](auto tag) {
    using I = decltype(tag);
    elementwise<int64_t, I>(idx, {indices}, ToInt64<I>{});
  });
  host.resize(static_cast<size_t>(idx.numel()));
  read_back(host.data(), idx.data<int64_t>(), idx.numel());
  embedding_rows::check_indices(host.data(), idx.numel(), rows);
  return idx;
}

template <class T>
__global__ void gather_rows(const T* w, int64_t row_stride, int64_t col_stride, const int64_t* idx, int64_t n,
                            int64_t dim, T* out) {
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < n * dim; e += step) {
    const int64_t i = e / dim, d = e % dim;
    out[e] = w[idx[i] * row_stride + d * col_stride];
  }
}

// grad_weight[w, d] = sum over the positions k bucketed to row w of grad[order[k], d] (times
// 1 / count with scale_grad_by_freq); 0 for padding_idx and unused rows.
template <class T>
__global__ void accumulate_rows(const T* g, const int64_t* start, const int64_t* order, int64_t rows, int64_t dim,
                                int64_t padding_idx, bool scale_by_freq, T* out) {
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < rows * dim; e += step) {
    const int64_t w = e / dim, d = e % dim;
    const int64_t first = start[w], last = start[w + 1];
    T acc = T(0);
    if (w != padding_idx && first != last) {
      const T scale = scale_by_freq ? static_cast<T>(1.0 / static_cast<double>(last - first)) : T(1);
      for (int64_t k = first; k < last; ++k) acc += g[order[k] * dim + d] * scale;
    }
    out[e] = acc;
  }
}

unsigned blocks_for(int64_t n) { return grid_for((n + kThreads - 1) / kThreads); }

// A host vector copied to a new int64 device tensor (copy_bytes: pageable memory is staged before
// it returns, so `v` may go away afterwards).
Tensor to_device(const std::vector<int64_t>& v, Device device) {
  Tensor t = Tensor::empty({static_cast<int64_t>(v.size())}, DType::Int64, device);
  copy_bytes(t.raw_data(), device, v.data(), Device{}, v.size() * sizeof(int64_t), false);
  return t;
}

void embedding_kernel(KernelCall& c) {
  const Tensor& weight = c.inputs[0];
  const int64_t rows = weight.shape()[0], dim = weight.shape()[1];
  std::vector<int64_t> host;
  const Tensor idx = checked_indices(c.inputs[1], rows, host);
  const int64_t n = idx.numel();
  if (n * dim == 0) return;
  dispatch_dtype(weight.dtype(), [&](auto tag) {
    using T = decltype(tag);
    gather_rows<<<blocks_for(n * dim), kThreads, 0, current_stream()>>>(
        weight.data<T>(), weight.strides()[0], weight.strides()[1], idx.data<int64_t>(), n, dim, c.outputs[0].data<T>());
    TERRA_CUDA_CHECK(cudaGetLastError());
  });
}

void embedding_backward_kernel(KernelCall& c) {
  const Tensor grad = as_contiguous(c.inputs[0]);
  const Tensor& out = c.outputs[0];
  const int64_t rows = out.shape()[0], dim = out.shape()[1];
  std::vector<int64_t> host;
  checked_indices(c.inputs[1], rows, host);
  if (rows * dim == 0) return;
  const embedding_rows::Buckets buckets = embedding_rows::bucket_by_row(host.data(), static_cast<int64_t>(host.size()), rows);
  const Tensor start = to_device(buckets.start, out.device()), order = to_device(buckets.order, out.device());
  dispatch_floating(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    accumulate_rows<<<blocks_for(rows * dim), kThreads, 0, current_stream()>>>(
        grad.data<T>(), start.data<int64_t>(), order.data<int64_t>(), rows, dim, c.attrs.get<int64_t>("padding_idx"),
        c.attrs.get<bool>("scale_grad_by_freq"), out.data<T>());
    TERRA_CUDA_CHECK(cudaGetLastError());
  });
}

}  // namespace

TERRA_KERNEL(embedding, CUDA, embedding_kernel);
TERRA_KERNEL(embedding_backward, CUDA, embedding_backward_kernel);

}  // namespace terra::cuda
