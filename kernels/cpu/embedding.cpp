// CPU kernel of embedding: out[i, :] = weight[indices[i], :] for every index, any weight dtype
// and layout. Indices are validated first, in order, so a bad one raises PyTorch's IndexError
// before anything is written and never reads outside the weight.
#include <algorithm>

#include "kernels/cpu/loops.hpp"
#include "kernels/kernel.hpp"

namespace terra::cpu {
namespace {

void embedding_kernel(KernelCall& c) {
  const Tensor &weight = c.inputs[0], &indices = c.inputs[1];
  // The indices as contiguous int64, whatever their dtype and layout.
  const Tensor idx = Tensor::empty(indices.shape(), DType::Int64);
  dispatch_index(indices.dtype(), [&](auto tag) {
    using I = decltype(tag);
    elementwise<int64_t, I>(idx, {indices}, [](I v) { return static_cast<int64_t>(v); });
  });
  const int64_t n = idx.numel(), rows = weight.shape()[0], dim = weight.shape()[1];
  const int64_t* ip = idx.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) TERRA_CHECK(ip[i] >= 0 && ip[i] < rows, Index, "index out of range in self");
  dispatch_dtype(weight.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* w = weight.data<T>();
    const int64_t row_stride = weight.strides()[0], col_stride = weight.strides()[1];
    T* out = c.outputs[0].data<T>();
    parallel_for(0, n, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(dim, 1)), [&](int64_t b, int64_t e) {
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

}  // namespace

TERRA_KERNEL(embedding, CPU, embedding_kernel);

}  // namespace terra::cpu
