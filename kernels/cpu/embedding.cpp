// CPU kernels of embedding and embedding_backward. embedding: out[i, :] = weight[indices[i], :]
// for every index, any weight dtype and layout. Indices are validated first, in order, so a bad
// one raises PyTorch's IndexError before anything is written and never reads outside the weight.
// embedding_backward: grad_weight[w, :] = sum of grad[i, :] over the i with indices[i] == w.
#include <algorithm>

#include "kernels/common/embedding_rows.hpp"
#include "kernels/cpu/contiguous.hpp"
#include "kernels/kernel.hpp"

namespace terra::cpu {
namespace {

// The indices as contiguous int64, whatever their dtype and layout, each checked to name one of
// `rows` rows.
Tensor checked_indices(const Tensor& indices, int64_t rows) {
  const Tensor idx = Tensor::empty(indices.shape(), DType::Int64);
  dispatch_index(indices.dtype(), [&](auto tag) {
    using I = decltype(tag);
    elementwise<int64_t, I>(idx, {indices}, [](I v) { return static_cast<int64_t>(v); });
  });
  embedding_rows::check_indices(idx.data<int64_t>(), idx.numel(), rows);
  return idx;
}

void embedding_kernel(KernelCall& c) {
  const Tensor& weight = c.inputs[0];
  const int64_t rows = weight.shape()[0], dim = weight.shape()[1];
  const Tensor idx = checked_indices(c.inputs[1], rows);
  const int64_t n = idx.numel();
  const int64_t* ip = idx.data<int64_t>();
  dispatch_dtype(weight.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* w = weight.data<T>();
    const int64_t row_stride = weight.strides()[0], col_stride = weight.strides()[1];
    T* out = c.outputs[0].data<T>();
    parallel_for(0, n, grain_for(dim), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const T* row = w + ip[i] * row_stride;
        T* o = out + i * dim;
        if (col_stride == 1) {
          std::copy_n(row, dim, o);
        } else {
          for (int64_t d = 0; d < dim; ++d) o[d] = row[d * col_stride];
        }
      }
    });
  });
}

// Note [Deterministic embedding backward]
// The positions are bucketed by weight row (a counting sort that keeps their order), then weight
// rows are split between threads: each thread owns whole rows and adds their gradient rows in
// position order. No two threads write one row, and every sum is taken in the same order whatever
// the thread count, so the result is reproducible bit for bit.
void embedding_backward_kernel(KernelCall& c) {
  const Tensor grad = as_contiguous(c.inputs[0]);
  const Tensor& out = c.outputs[0];
  const int64_t rows = out.shape()[0], dim = out.shape()[1];
  const Tensor idx = checked_indices(c.inputs[1], rows);
  const int64_t n = idx.numel();
  const int64_t* ip = idx.data<int64_t>();
  const int64_t padding_idx = c.attrs.get<int64_t>("padding_idx");
  const bool scale_by_freq = c.attrs.get<bool>("scale_grad_by_freq");
  const embedding_rows::Buckets buckets = embedding_rows::bucket_by_row(ip, n, rows);
  const std::vector<int64_t>& start = buckets.start;
  const std::vector<int64_t>& order = buckets.order;
  dispatch_floating(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* g = grad.data<T>();
    T* o = out.data<T>();
    parallel_for(0, rows, grain_for(dim), [&](int64_t b, int64_t e) {
      for (int64_t w = b; w < e; ++w) {
        T* dst = o + w * dim;
        std::fill_n(dst, dim, T(0));
        const int64_t first = start[w], last = start[w + 1];
        if (w == padding_idx || first == last) continue;
        const T scale = scale_by_freq ? static_cast<T>(1.0 / static_cast<double>(last - first)) : T(1);
        for (int64_t k = first; k < last; ++k) {
          const T* src = g + order[k] * dim;
          for (int64_t d = 0; d < dim; ++d) dst[d] += src[d] * scale;
        }
      }
    });
  });
}

}  // namespace

TERRA_KERNEL(embedding, CPU, embedding_kernel);
TERRA_KERNEL(embedding_backward, CPU, embedding_backward_kernel);

}  // namespace terra::cpu
