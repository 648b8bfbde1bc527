// CPU kernels of the matrix products (mm, bmm, matmul, addmm, baddbmm, linear) and the gemm()
// they all reduce to (kernels/cpu/gemm.hpp). Each kernel views its operands as batches of
// matrices -- a 1-D left operand as a row, a 1-D right operand as a column, leading dims
// broadcast with stride 0 -- and makes one gemm() call, so no operand is copied or expanded.
#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <optional>
#include <type_traits>
#include <vector>

#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/loops.hpp"
#include "kernels/kernel.hpp"

namespace terra::cpu {

// Note [GEMM threading]
// OpenBLAS has its own thread pool. It is kept at Terra's thread count (one knob for every
// kernel: TERRA_NUM_THREADS or set_num_threads; not less while cores are reserved for the
// interpreter: OpenBLAS's results can depend on its thread count, and a co-executed product must
// give eager's bits), and the two pools are never nested: a batch of
// small products is spread over Terra's pool, and each product then runs on its caller's thread
// because OpenBLAS does not thread a GEMM with m*n*k at or below kBlasSerialWork; a batch of large
// products runs one product at a time, each threaded by OpenBLAS.

namespace {

// OpenBLAS 0.3's SMP_THRESHOLD_MIN * GEMM_MULTITHREAD_THRESHOLD.
constexpr int64_t kBlasSerialWork = 65536 * 4;

void sync_blas_threads() {
  static std::atomic<int> current{0};
  const int n = num_threads();
  if (current.load(std::memory_order_relaxed) != n) {
    openblas_set_num_threads(n);
    current.store(n, std::memory_order_relaxed);
  }
}

// C = beta * C, for products with nothing to add (k == 0 or alpha == 0).
template <class T>
void scale(const MatrixBatch<T>& c, T beta) {
  for (int64_t b = 0, nb = c.count(); b < nb; ++b) {
    T* m = c.data + c.offset(b);
    for (int64_t i = 0; i < c.rows; ++i)
      for (int64_t j = 0; j < c.cols; ++j) {
        T& x = m[i * c.row_stride + j * c.col_stride];
        x = beta == T(0) ? T(0) : wrapping_scale(beta, x);
      }
  }
}

// The stride that walks x's batch dims and rows as one dim of rows, if there is one.
template <class T>
std::optional<int64_t> folded_row_stride(const MatrixBatch<T>& x) {
  int64_t stride = x.row_stride, extent = x.rows;
  bool started = x.rows != 1;
  for (int d = x.ndim - 1; d >= 0; --d) {
    const int64_t size = x.batch_shape[d], st = x.batch_strides[d];
    if (size == 1) continue;
    if (!started) {
      stride = st;
      extent = size;
      started = true;
      continue;
    }
    if (st != stride * extent) return std::nullopt;
    extent *= size;
  }
  return stride;
}

// When every matrix of the batch is multiplied by the same B (a [batch..., m, k] input times a
// weight), the batch dims become rows of A and C: one large product instead of many small ones.
template <class T>
void fold_batch_into_rows(MatrixBatch<const T>& a, MatrixBatch<const T>& b, MatrixBatch<T>& c) {
  if (c.ndim == 0) return;
  for (int d = 0; d < b.ndim; ++d)
    if (b.batch_strides[d] != 0 && b.batch_shape[d] != 1) return;
  const auto sa = folded_row_stride(a), sc = folded_row_stride(c);
  if (!sa || !sc) return;
  const int64_t rows = c.rows * c.count();
  a.rows = c.rows = rows;
  a.row_stride = *sa;
  c.row_stride = *sc;
  a.ndim = b.ndim = c.ndim = 0;
}

// Copies every distinct matrix of src (a broadcast dim's matrices are copied once) into dst.
template <class S, class D>
void copy_matrices(const MatrixBatch<S>& src, const MatrixBatch<D>& dst) {
  for (int64_t b = 0, nb = src.count(); b < nb; ++b) {
    bool repeat = false;
    for (int64_t d = src.ndim - 1, rem = b; d >= 0; --d) {
      repeat = repeat || (src.batch_strides[d] == 0 && rem % src.batch_shape[d] != 0);
      rem /= src.batch_shape[d];
    }
    if (repeat) continue;
    const S* s = src.data + src.offset(b);
    D* t = dst.data + dst.offset(b);
    for (int64_t i = 0; i < src.rows; ++i)
      for (int64_t j = 0; j < src.cols; ++j)
        t[i * dst.row_stride + j * dst.col_stride] = s[i * src.row_stride + j * src.col_stride];
  }
}

template <class T>
MatrixBatch<const T> read_only(const MatrixBatch<T>& x) {
  MatrixBatch<const T> r;
  static_cast<MatrixLayout&>(r) = x;
  r.data = x.data;
  return r;
}

// x's matrices copied row-major into `buf`, one per distinct matrix (broadcast dims keep stride
// 0), for operands BLAS cannot read or write in place.
template <class T>
MatrixBatch<std::remove_const_t<T>> packed(const MatrixBatch<T>& x, std::vector<std::remove_const_t<T>>& buf,
                                           bool copy_values) {
  MatrixBatch<std::remove_const_t<T>> p;
  static_cast<MatrixLayout&>(p) = x;
  p.row_stride = x.cols;
  p.col_stride = 1;
  int64_t distinct = 1;
  for (int d = x.ndim - 1; d >= 0; --d) {
    p.batch_strides[d] = x.batch_strides[d] == 0 ? 0 : distinct * x.rows * x.cols;
    if (x.batch_strides[d] != 0) distinct *= x.batch_shape[d];
  }
  buf.resize(distinct * x.rows * x.cols);
  p.data = buf.data();
  if (copy_values) copy_matrices(x, p);
  return p;
}

CBLAS_TRANSPOSE cblas_trans(const BlasLayout& l) { return l.transposed ? CblasTrans : CblasNoTrans; }

int blas_int(int64_t v) {
  TERRA_CHECK(v <= INT_MAX, NotImplemented, "matrix dimension or stride ", v, " is too large for BLAS");
  return static_cast<int>(v);
}

template <class T>
void blas_gemm(MatrixBatch<const T> a, MatrixBatch<const T> b, MatrixBatch<T> c, T alpha, T beta) {
  const auto lc = blas_layout(c);
  if (lc && lc->transposed) return blas_gemm(b.transposed(), a.transposed(), c.transposed(), alpha, beta);
  if (!lc) {  // an out= tensor BLAS cannot write: compute in a packed copy
    std::vector<T> buf;
    MatrixBatch<T> pc = packed(c, buf, beta != T(0));
    blas_gemm(a, b, pc, alpha, beta);
    copy_matrices(pc, c);
    return;
  }
  std::vector<T> abuf, bbuf;
  if (!blas_layout(a)) a = read_only(packed(a, abuf, true));
  if (!blas_layout(b)) b = read_only(packed(b, bbuf, true));
  const BlasLayout la = *blas_layout(a), lb = *blas_layout(b);
  const int m = blas_int(c.rows), n = blas_int(c.cols), k = blas_int(a.cols);
  const int lda = blas_int(la.ld), ldb = blas_int(lb.ld), ldc = blas_int(lc->ld);
  auto run = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const T* pa = a.data + a.offset(i);
      const T* pb = b.data + b.offset(i);
      T* pc = c.data + c.offset(i);
      if constexpr (std::is_same_v<T, float>)
        cblas_sgemm(CblasRowMajor, cblas_trans(la), cblas_trans(lb), m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
      else
        cblas_dgemm(CblasRowMajor, cblas_trans(la), cblas_trans(lb), m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
    }
  };
  sync_blas_threads();
  const int64_t count = c.count(), work = c.rows * c.cols * a.cols;
  if (count > 1 && work <= kBlasSerialWork) {
    parallel_for(0, count, std::max<int64_t>(1, kBlasSerialWork / work), run);  // Note [GEMM threading]
  } else {
    run(0, count);
  }
}

// Integer products: a row of C at a time, accumulated in unsigned arithmetic so that overflow
// wraps (as PyTorch's integer GEMM does) instead of being undefined.
template <class T>
void loop_gemm(const MatrixBatch<const T>& a, const MatrixBatch<const T>& b, const MatrixBatch<T>& c, T alpha,
               T beta) {
  using U = std::make_unsigned_t<T>;
  const int64_t m = c.rows, n = c.cols, k = a.cols;
  parallel_for(0, c.count() * m, std::max<int64_t>(1, kElementwiseGrain / (n * k)), [&](int64_t begin, int64_t end) {
    std::vector<U> acc(n);
    for (int64_t r = begin; r < end; ++r) {
      const int64_t batch = r / m, i = r % m;
      const T* arow = a.data + a.offset(batch) + i * a.row_stride;
      const T* bmat = b.data + b.offset(batch);
      T* crow = c.data + c.offset(batch) + i * c.row_stride;
      std::fill(acc.begin(), acc.end(), U(0));
      for (int64_t p = 0; p < k; ++p) {
        const U av = static_cast<U>(arow[p * a.col_stride]);
        const T* brow = bmat + p * b.row_stride;
        for (int64_t j = 0; j < n; ++j) acc[j] += av * static_cast<U>(brow[j * b.col_stride]);
      }
      for (int64_t j = 0; j < n; ++j) {
        T& out = crow[j * c.col_stride];
        U v = static_cast<U>(alpha) * acc[j];
        if (beta != T(0)) v += static_cast<U>(beta) * static_cast<U>(out);
        out = static_cast<T>(v);
      }
    }
  });
}

}  // namespace

template <class T>
void gemm(const MatrixBatch<const T>& a_in, const MatrixBatch<const T>& b_in, const MatrixBatch<T>& c_in, T alpha,
          T beta) {
  MatrixBatch<const T> a = a_in, b = b_in;
  MatrixBatch<T> c = c_in;
  if (c.rows == 0 || c.cols == 0 || c.count() == 0) return;
  if (a.cols == 0 || alpha == T(0)) {
    scale(c, beta);
    return;
  }
  fold_batch_into_rows(a, b, c);
  if constexpr (std::is_floating_point_v<T>) {
    blas_gemm(a, b, c, alpha, beta);
  } else {
    loop_gemm(a, b, c, alpha, beta);
  }
}

template void gemm<float>(const MatrixBatch<const float>&, const MatrixBatch<const float>&, const MatrixBatch<float>&,
                          float, float);
template void gemm<double>(const MatrixBatch<const double>&, const MatrixBatch<const double>&,
                           const MatrixBatch<double>&, double, double);
template void gemm<int32_t>(const MatrixBatch<const int32_t>&, const MatrixBatch<const int32_t>&,
                            const MatrixBatch<int32_t>&, int32_t, int32_t);
template void gemm<int64_t>(const MatrixBatch<const int64_t>&, const MatrixBatch<const int64_t>&,
                            const MatrixBatch<int64_t>&, int64_t, int64_t);

namespace {

// out = alpha * matmul(a, b) + beta * out, out already shaped by the op's rule.
template <class T>
void product(const Tensor& out, const Tensor& a, const Tensor& b, T alpha, T beta) {
  const ProductOperands<T> p = product_operands<T>(out, a, b);
  gemm<T>(p.a, p.b, p.c, alpha, beta);
}

// Writes src, broadcast, into out, where gemm's beta term reads it.
template <class T>
void fill_from(const Tensor& out, const Tensor& src) {
  elementwise<T, T>(out, {src}, [](T x) { return x; });
}

void product_kernel(KernelCall& c) {  // mm, bmm, matmul
  dispatch_numeric(c.outputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    product<T>(c.outputs[0], c.inputs[0], c.inputs[1], T(1), T(0));
  });
}

// addmm, baddbmm: beta * self + alpha * (mat1 · mat2). With beta 0, self is not read at all, so
// NaN in it does not propagate (PyTorch's rule).
void add_product_kernel(KernelCall& c) {
  dispatch_numeric(c.outputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T beta = c.attrs.get<Scalar>("beta").to<T>(), alpha = c.attrs.get<Scalar>("alpha").to<T>();
    if (beta != T(0)) fill_from<T>(c.outputs[0], c.inputs[0]);
    product<T>(c.outputs[0], c.inputs[1], c.inputs[2], alpha, beta);
  });
}

// linear: input · weightᵀ + bias in one product: the bias is broadcast into the output first and
// added by gemm's beta = 1; weight, stored [out, in], is read transposed through its strides.
void linear_kernel(KernelCall& c) {
  const Tensor &input = c.inputs[0], &w = c.inputs[1], &bias = c.inputs[2];
  const Tensor wt = w.dim() == 2 ? w.as_strided({w.size(1), w.size(0)}, {w.stride(1), w.stride(0)}, w.offset()) : w;
  dispatch_numeric(c.outputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (bias.defined()) fill_from<T>(c.outputs[0], bias);
    product<T>(c.outputs[0], input, wt, T(1), T(bias.defined() ? 1 : 0));
  });
}

}  // namespace

TERRA_KERNEL(mm, CPU, product_kernel);
TERRA_KERNEL(bmm, CPU, product_kernel);
TERRA_KERNEL(matmul, CPU, product_kernel);
TERRA_KERNEL(addmm, CPU, add_product_kernel);
TERRA_KERNEL(baddbmm, CPU, add_product_kernel);
TERRA_KERNEL(linear, CPU, linear_kernel);

}  // namespace terra::cpu
