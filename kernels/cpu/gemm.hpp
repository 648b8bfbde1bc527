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
//
// The layout logic here is host-only and device-neutral: the CUDA products (kernels/cuda/gemm.cu)
// view their operands with the same product_operands() and blas_layout(), and run the same
// MatrixLayout::offset() on the device.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#include "tensor/macros.hpp"
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

  TERRA_HD int64_t count() const {
    int64_t n = 1;
    for (int d = 0; d < ndim; ++d) n *= batch_shape[d];
    return n;
  }
  TERRA_HD int64_t offset(int64_t b) const {
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

// How BLAS reads a strided matrix without a copy: row-major as it is (not transposed, rows ld
// apart) or as the transpose of a row-major matrix (transposed, columns ld apart). A size-1 dim's
// stride is irrelevant; a matrix whose strides are both not 1 (or overlap) has no layout.
struct BlasLayout {
  bool transposed;
  int64_t ld;
};

inline std::optional<BlasLayout> blas_layout(const MatrixLayout& x) {
  const int64_t r = x.rows, c = x.cols;
  if ((c == 1 || x.col_stride == 1) && (r == 1 || x.row_stride >= std::max<int64_t>(c, 1)))
    return BlasLayout{false, r == 1 ? std::max<int64_t>(c, 1) : x.row_stride};
  if ((r == 1 || x.row_stride == 1) && (c == 1 || x.col_stride >= std::max<int64_t>(r, 1)))
    return BlasLayout{true, c == 1 ? std::max<int64_t>(r, 1) : x.col_stride};
  return std::nullopt;
}

// The stride between consecutive matrices over batch dims [first, ndim) when one stride walks
// them all (a dense batch, or a broadcast one: stride 0), as a strided-batched GEMM takes them.
inline std::optional<int64_t> batch_stride(const MatrixLayout& x, int first) {
  std::optional<int64_t> stride;
  int64_t extent = 1;
  for (int d = x.ndim - 1; d >= first; --d) {
    const int64_t size = x.batch_shape[d], st = x.batch_strides[d];
    if (size == 1) continue;
    if (!stride) {
      stride = st;
      extent = size;
    } else if (st == *stride * extent) {
      extent *= size;
    } else {
      return std::nullopt;
    }
  }
  return stride.value_or(0);
}

// The first batch dim from which a, b and c (sharing their batch shape) all have a batch_stride:
// the products split into count / inner_count strided batches of inner_count matrices each.
inline int first_strided_batch_dim(const MatrixLayout& a, const MatrixLayout& b, const MatrixLayout& c) {
  int first = 0;
  while (first < c.ndim && !(batch_stride(a, first) && batch_stride(b, first) && batch_stride(c, first))) ++first;
  return first;
}

// beta * x, wrapping instead of overflowing for integers.
template <class T>
TERRA_HD T wrapping_scale(T beta, T x) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(beta) * static_cast<U>(x));
  } else {
    return beta * x;
  }
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

// The operands of out = matmul(a, b) as matrix batches: a 1-D left operand is a row, a 1-D right
// operand a column (and out gets back the 1 that matmul dropped for it), leading dims broadcast
// with stride 0. out is already shaped by the op's rule.
template <class T>
struct ProductOperands {
  MatrixBatch<const T> a, b;
  MatrixBatch<T> c;
};

template <class T>
ProductOperands<T> product_operands(const Tensor& out, const Tensor& a, const Tensor& b) {
  auto dims = [](const Tensor& t, bool left) {  // any stride serves a size-1 dim
    std::pair<Shape, Strides> d{t.shape(), t.strides()};
    if (t.dim() == 1) {
      d.first.insert(left ? d.first.begin() : d.first.end(), 1);
      d.second.insert(left ? d.second.begin() : d.second.end(), 1);
    }
    return d;
  };
  const auto da = dims(a, true), db = dims(b, false);
  const Shape batch = broadcast_shapes(Shape(da.first.begin(), da.first.end() - 2),
                                       Shape(db.first.begin(), db.first.end() - 2));
  Shape out_shape = out.shape();
  Strides out_strides = out.strides();
  if (a.dim() == 1) {
    const auto at = static_cast<std::ptrdiff_t>(out_shape.size()) - (b.dim() == 1 ? 0 : 1);
    out_shape.insert(out_shape.begin() + at, 1);
    out_strides.insert(out_strides.begin() + at, 1);
  }
  if (b.dim() == 1) {
    out_shape.push_back(1);
    out_strides.push_back(1);
  }
  return {matrix_batch(static_cast<const T*>(a.raw_data()), da.first, da.second, batch),
          matrix_batch(static_cast<const T*>(b.raw_data()), db.first, db.second, batch),
          matrix_batch(static_cast<T*>(out.raw_data()), out_shape, out_strides, batch)};
}

}  // namespace terra::cpu
