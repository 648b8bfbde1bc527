// Batched strided matrix products on the CPU, the one routine behind mm, bmm, matmul, addmm,
// baddbmm and linear (and usable by any kernel that reduces to GEMM):
//
//   C[b] = alpha * A[b] · B[b] + beta * C[b]   for every matrix b of a batch
//
// Operands are described by MatrixBatch (element strides, stride 0 on broadcast batch dims), so
// transposed, sliced and expanded tensors are passed as they are. float and double go through
// OpenBLAS: strides map onto the transpose flags and leading dimensions, and a matrix is copied
// only when no BLAS layout fits (neither stride is 1). int32 and int64 use a plain loop, wrapping
// on overflow as PyTorch's CPU kernels do. See Note [GEMM threading] in blas.cpp.
#pragma once
#include <array>
#include <cstdint>
#include <utility>

#include "tensor/tensor.hpp"

namespace terra::cpu {

constexpr int kMaxBatchDims = 24;

// Matrix number `b` of a batch (b a row-major linear index over batch_shape) has element (i, j)
// at offset(b) + i * row_stride + j * col_stride, in elements from the batch's data pointer.
struct MatrixLayout {
  int64_t rows = 0, cols = 0;
  int64_t row_stride = 0, col_stride = 0;
  int ndim = 0;  // number of batch dims
  std::array<int64_t, kMaxBatchDims> batch_shape{}, batch_strides{};

  int64_t count() const {
    int64_t n = 1;
    for (int d = 0; d < ndim; ++d) n *= batch_shape[d];
    return n;
  }
  int64_t offset(int64_t b) const {
    int64_t off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      off += (b % batch_shape[d]) * batch_strides[d];
      b /= batch_shape[d];
    }
    return off;
  }
};

// A layout over memory; T is const for inputs.
template <class T>
struct MatrixBatch : MatrixLayout {
  T* data = nullptr;

  // The same memory read as the transposed matrices (no data moves).
  MatrixBatch transposed() const {
    MatrixBatch t = *this;
    std::swap(t.rows, t.cols);
    std::swap(t.row_stride, t.col_stride);
    return t;
  }
};

// Views memory of `shape`/`strides` (at least 2 dims: [..., rows, cols]) as a batch over `batch`,
// which the leading dims broadcast to (right-aligned; broadcast dims get stride 0).
template <class T>
MatrixBatch<T> matrix_batch(T* data, const Shape& shape, const Strides& strides, const Shape& batch) {
  const size_t n = shape.size();
  TERRA_ASSERT(n >= 2 && n - 2 <= batch.size());
  TERRA_CHECK(batch.size() <= static_cast<size_t>(kMaxBatchDims), NotImplemented, "matrix products with more than ",
              kMaxBatchDims, " batch dims");
  MatrixBatch<T> m;
  m.data = data;
  m.rows = shape[n - 2];
  m.cols = shape[n - 1];
  m.row_stride = strides[n - 2];
  m.col_stride = strides[n - 1];
  m.ndim = static_cast<int>(batch.size());
  const int64_t lead = static_cast<int64_t>(batch.size()) - static_cast<int64_t>(n - 2);
  for (int d = 0; d < m.ndim; ++d) {
    const int64_t src = d - lead;
    m.batch_shape[d] = batch[d];
    m.batch_strides[d] = (src >= 0 && shape[src] != 1) ? strides[src] : 0;
  }
  return m;
}

// C = alpha * A·B + beta * C. a: [batch, m, k], b: [batch, k, n], c: [batch, m, n], with c's
// batch shape the full one (a and b have stride 0 where they broadcast). c must not overlap a or
// b. When beta is 0, C's previous contents are ignored (NaN included); when alpha is 0 or k is 0,
// A and B are not read, as in BLAS.
template <class T>
void gemm(const MatrixBatch<const T>& a, const MatrixBatch<const T>& b, const MatrixBatch<T>& c, T alpha, T beta);

extern template void gemm<float>(const MatrixBatch<const float>&, const MatrixBatch<const float>&,
                                 const MatrixBatch<float>&, float, float);
extern template void gemm<double>(const MatrixBatch<const double>&, const MatrixBatch<const double>&,
                                  const MatrixBatch<double>&, double, double);
extern template void gemm<int32_t>(const MatrixBatch<const int32_t>&, const MatrixBatch<const int32_t>&,
                                   const MatrixBatch<int32_t>&, int32_t, int32_t);
extern template void gemm<int64_t>(const MatrixBatch<const int64_t>&, const MatrixBatch<const int64_t>&,
                                   const MatrixBatch<int64_t>&, int64_t, int64_t);

}  // namespace terra::cpu
