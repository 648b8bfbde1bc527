// CUDA kernels of the matrix products: mm, bmm, matmul, addmm, baddbmm, linear. Operands are
// viewed as batches of matrices exactly as on the CPU (kernels/cpu/gemm.hpp: product_operands,
// blas_layout), then
// - float32 and float64 go through cuBLAS strided-batched GEMMs: strides become the transpose
//   flags and leading dimensions (row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ, so the operands are
//   passed swapped); an operand no layout fits is copied dense first; batch dims that no single
//   stride walks are split into several strided batches (first_strided_batch_dim);
// - int32 and int64 run a plain tiled kernel accumulating in unsigned arithmetic, wrapping on
//   overflow as the CPU kernel does;
// - float32 linear with a bias, and addmm(bias, x, w) with unit alpha and beta, run one cuBLASLt
//   call with the bias epilogue (linear_with_epilogue, gemm.hpp), and fall back to
//   bias-then-GEMM where cuBLASLt declines.
// TF32 only when allowed (kernels/math_mode.hpp). Outputs that are not dense are computed in a
// dense buffer and copied in.
#include <climits>

#include "kernels/cpu/gemm.hpp"
#include "kernels/cuda/contiguous.cuh"
#include "kernels/cuda/gemm.hpp"
#include "kernels/cuda/handles.hpp"
#include "kernels/cuda/loops.cuh"
#include "kernels/kernel.hpp"
#include "kernels/math_mode.hpp"

namespace terra::cuda {
namespace {

using cpu::MatrixBatch;

int blas_int(int64_t v) {
  TERRA_CHECK(v <= INT_MAX, NotImplemented, "matrix dimension or stride ", v, " is too large for cuBLAS");
  return static_cast<int>(v);
}

cublasOperation_t op_of(const cpu::BlasLayout& l) { return l.transposed ? CUBLAS_OP_T : CUBLAS_OP_N; }

// c = alpha * a·b + beta * c for float and double, c dense row-major, every operand with a BLAS
// layout, k > 0.
template <class T>
void cublas_gemm(const MatrixBatch<const T>& a, const MatrixBatch<const T>& b, const MatrixBatch<T>& c, T alpha,
                 T beta) {
  const cpu::BlasLayout la = *cpu::blas_layout(a), lb = *cpu::blas_layout(b), lc = *cpu::blas_layout(c);
  TERRA_ASSERT(!lc.transposed);
  const int first = cpu::first_strided_batch_dim(a, b, c);
  int64_t inner = 1;
  for (int d = first; d < c.ndim; ++d) inner *= c.batch_shape[d];
  const long long sa = *cpu::batch_stride(a, first), sb = *cpu::batch_stride(b, first),
                  sc = *cpu::batch_stride(c, first);
  const int m = blas_int(c.rows), n = blas_int(c.cols), k = blas_int(a.cols), batch = blas_int(inner);
  const int lda = blas_int(la.ld), ldb = blas_int(lb.ld), ldc = blas_int(lc.ld);
  cublasHandle_t h = cublas_handle();
  const bool tf32 = std::is_same_v<T, float> && allow_tf32_matmul();
  TERRA_CUBLAS_CHECK(cublas().SetMathMode(h, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  for (int64_t base = 0, count = c.count(); base < count; base += inner) {
    const T* pa = a.data + a.offset(base);
    const T* pb = b.data + b.offset(base);
    T* pc = c.data + c.offset(base);
    if constexpr (std::is_same_v<T, float>) {
      TERRA_CUBLAS_CHECK(cublas().SgemmStridedBatched(h, op_of(lb), op_of(la), n, m, k, &alpha, pb, ldb, sb, pa, lda,
                                                      sa, &beta, pc, ldc, sc, batch));
    } else {
      TERRA_CUBLAS_CHECK(cublas().DgemmStridedBatched(h, op_of(lb), op_of(la), n, m, k, &alpha, pb, ldb, sb, pa, lda,
                                                      sa, &beta, pc, ldc, sc, batch));
    }
  }
}

constexpr int kTile = 16;

// One kTile x kTile tile of C per block, k walked in tiles staged in shared memory; grid-stride
// over row tiles (y) and matrices (z). Every thread of a block runs the same loop trips, so the
// barriers are uniform; bounds are checked on every load and store.
template <class T>
__global__ void integer_gemm_kernel(MatrixBatch<const T> a, MatrixBatch<const T> b, MatrixBatch<T> c, T alpha, T beta,
                                    int64_t row_tiles) {
  using U = std::make_unsigned_t<T>;
  __shared__ U ta[kTile][kTile], tb[kTile][kTile];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t m = c.rows, n = c.cols, k = a.cols, j = static_cast<int64_t>(blockIdx.x) * kTile + tx;
  for (int64_t batch = blockIdx.z; batch < c.count(); batch += gridDim.z) {
    const T* pa = a.data + a.offset(batch);
    const T* pb = b.data + b.offset(batch);
    T* pc = c.data + c.offset(batch);
    for (int64_t tile = blockIdx.y; tile < row_tiles; tile += gridDim.y) {
      const int64_t i = tile * kTile + ty;
      U acc = 0;
      for (int64_t p0 = 0; p0 < k; p0 += kTile) {
        ta[ty][tx] = i < m && p0 + tx < k ? static_cast<U>(pa[i * a.row_stride + (p0 + tx) * a.col_stride]) : U(0);
        tb[ty][tx] = p0 + ty < k && j < n ? static_cast<U>(pb[(p0 + ty) * b.row_stride + j * b.col_stride]) : U(0);
        __syncthreads();
#pragma unroll
        for (int q = 0; q < kTile; ++q) acc += ta[ty][q] * tb[q][tx];
        __syncthreads();
      }
      if (i < m && j < n) {
        T& out = pc[i * c.row_stride + j * c.col_stride];
        U v = static_cast<U>(alpha) * acc;
        if (beta != T(0)) v += static_cast<U>(beta) * static_cast<U>(out);
        out = static_cast<T>(v);
      }
    }
  }
}

template <class T>
void integer_gemm(const MatrixBatch<const T>& a, const MatrixBatch<const T>& b, const MatrixBatch<T>& c, T alpha,
                  T beta) {
  const int64_t row_tiles = (c.rows + kTile - 1) / kTile, col_tiles = (c.cols + kTile - 1) / kTile;
  TERRA_CHECK(col_tiles <= INT_MAX, NotImplemented, "integer matrix product with ", c.cols, " columns");
  const dim3 grid(static_cast<unsigned>(col_tiles), static_cast<unsigned>(std::min<int64_t>(row_tiles, 65535)),
                  static_cast<unsigned>(std::min<int64_t>(c.count(), 65535)));
  integer_gemm_kernel<T><<<grid, dim3(kTile, kTile), 0, current_stream()>>>(a, b, c, alpha, beta, row_tiles);
  TERRA_CUDA_CHECK(cudaGetLastError());
}

template <class T>
struct WrappingScale {
  T beta;
  TERRA_HD T operator()(T x) const { return cpu::wrapping_scale(beta, x); }
};

// out = alpha * matmul(a, b) + beta * out, out shaped by the op's rule (and already holding the
// beta term's values when beta != 0). As on the CPU, beta == 0 ignores out's values (NaN
// included) and alpha == 0 or k == 0 reads neither operand.
template <class T>
void product(const Tensor& out, Tensor a, Tensor b, T alpha, T beta) {
  const Tensor c = out.is_contiguous() ? out : Tensor::empty(out.shape(), out.dtype(), out.device());
  if (!c.is_same(out) && beta != T(0)) copy_into(c, out);
  cpu::ProductOperands<T> p = cpu::product_operands<T>(c, a, b);
  if (p.c.rows == 0 || p.c.cols == 0 || p.c.count() == 0) return;
  if (p.a.cols == 0 || alpha == T(0)) {
    if (beta == T(0)) {
      TERRA_CUDA_CHECK(cudaMemsetAsync(c.raw_data(), 0, c.numel() * c.itemsize(), current_stream()));
    } else {
      elementwise<T, T>(c, {c}, WrappingScale<T>{beta});
    }
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!cpu::blas_layout(p.a) || !cpu::blas_layout(p.b)) {
      if (!cpu::blas_layout(p.a)) a = as_contiguous(a);
      if (!cpu::blas_layout(p.b)) b = as_contiguous(b);
      p = cpu::product_operands<T>(c, a, b);
    }
    cublas_gemm<T>(p.a, p.b, p.c, alpha, beta);
  } else {
    integer_gemm<T>(p.a, p.b, p.c, alpha, beta);
  }
  if (!c.is_same(out)) copy_into(out, c);
}

// RAII for the cuBLASLt descriptors of one call.
struct LtMatmul {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  ~LtMatmul() {
    if (pref) cublaslt().MatmulPreferenceDestroy(pref);
    if (d) cublaslt().MatrixLayoutDestroy(d);
    if (b) cublaslt().MatrixLayoutDestroy(b);
    if (a) cublaslt().MatrixLayoutDestroy(a);
    if (op) cublaslt().MatmulDescDestroy(op);
  }
};

// The largest power of two (up to 256) dividing the address: cuBLASLt assumes 256-byte aligned
// operands unless told otherwise, and views with an offset are less aligned.
uint32_t alignment(const void* p) {
  uint32_t align = 256;
  while (align > 1 && reinterpret_cast<uintptr_t>(p) % align != 0) align /= 2;
  return align;
}

template <class V>
void set_pref(cublasLtMatmulPreference_t pref, cublasLtMatmulPreferenceAttributes_t attr, V value) {
  TERRA_CUBLAS_CHECK(cublaslt().MatmulPreferenceSetAttribute(pref, attr, &value, sizeof(value)));
}
template <class V>
void set_desc(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr, V value) {
  TERRA_CUBLAS_CHECK(cublaslt().MatmulDescSetAttribute(desc, attr, &value, sizeof(value)));
}

constexpr size_t kLtWorkspace = size_t(32) << 20;

cublasLtEpilogue_t lt_epilogue(GemmEpilogue e) {
  switch (e) {
    case GemmEpilogue::Bias: return CUBLASLT_EPILOGUE_BIAS;
    case GemmEpilogue::ReluBias: return CUBLASLT_EPILOGUE_RELU_BIAS;
    case GemmEpilogue::GeluBias: return CUBLASLT_EPILOGUE_GELU_BIAS;
  }
  return CUBLASLT_EPILOGUE_BIAS;
}

}  // namespace

// Row-major out[M, N] = input[M, K] · weight[N, K]ᵀ is column-major outᵀ (N x M) = op_T(W: K x N) ·
// (inputᵀ: K x M); the epilogue's bias runs along the N rows of that column-major result. A weight
// that is the transpose of a dense [K, N] matrix (addmm's mat2) is read as it is (op N, N x K).
bool linear_with_epilogue(const Tensor& out, const Tensor& input, const Tensor& weight, const Tensor& bias,
                          GemmEpilogue epilogue) {
  if (out.dtype() != DType::Float32 || input.dtype() != DType::Float32 || weight.dtype() != DType::Float32 ||
      !bias.defined() || bias.dtype() != DType::Float32)
    return false;
  if (!out.is_contiguous() || !input.is_contiguous() || !bias.is_contiguous() || weight.dim() != 2 ||
      bias.dim() != 1 || input.dim() < 1)
    return false;
  const int64_t k = weight.size(1), n = weight.size(0);
  const bool weight_transposed = !weight.is_contiguous();  // then weight.t() must be dense
  if (weight_transposed && !(weight.stride(0) == 1 && (k == 1 || weight.stride(1) == n))) return false;
  const int64_t m = k == 0 ? 0 : input.numel() / k;
  if (m == 0 || n == 0 || k == 0 || input.size(-1) != k || bias.size(0) != n || out.numel() != m * n) return false;
  if (m > INT_MAX || n > INT_MAX || k > INT_MAX || alignment(bias.raw_data()) < 16) return false;

  LtMatmul lt;
  const bool tf32 = allow_tf32_matmul();
  TERRA_CUBLAS_CHECK(
      cublaslt().MatmulDescCreate(&lt.op, tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, CUDA_R_32F));
  set_desc(lt.op, CUBLASLT_MATMUL_DESC_TRANSA, weight_transposed ? CUBLAS_OP_N : CUBLAS_OP_T);
  set_desc(lt.op, CUBLASLT_MATMUL_DESC_TRANSB, CUBLAS_OP_N);
  set_desc(lt.op, CUBLASLT_MATMUL_DESC_EPILOGUE, lt_epilogue(epilogue));
  set_desc(lt.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, bias.raw_data());
  if (weight_transposed) {
    TERRA_CUBLAS_CHECK(cublaslt().MatrixLayoutCreate(&lt.a, CUDA_R_32F, n, k, n));
  } else {
    TERRA_CUBLAS_CHECK(cublaslt().MatrixLayoutCreate(&lt.a, CUDA_R_32F, k, n, k));
  }
  TERRA_CUBLAS_CHECK(cublaslt().MatrixLayoutCreate(&lt.b, CUDA_R_32F, k, m, k));
  TERRA_CUBLAS_CHECK(cublaslt().MatrixLayoutCreate(&lt.d, CUDA_R_32F, n, m, n));
  TERRA_CUBLAS_CHECK(cublaslt().MatmulPreferenceCreate(&lt.pref));
  set_pref(lt.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, kLtWorkspace);
  set_pref(lt.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, alignment(weight.raw_data()));
  set_pref(lt.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, alignment(input.raw_data()));
  set_pref(lt.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, alignment(out.raw_data()));
  set_pref(lt.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, alignment(out.raw_data()));

  cublasLtHandle_t h = cublaslt_handle();
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t st =
      cublaslt().MatmulAlgoGetHeuristic(h, lt.op, lt.a, lt.b, lt.d, lt.d, lt.pref, 1, &result, &found);
  if (st == CUBLAS_STATUS_NOT_SUPPORTED || found == 0) return false;
  TERRA_CUBLAS_CHECK(st);
  const Workspace workspace(result.workspaceSize);
  const float alpha = 1.f, beta = 0.f;
  TERRA_CUBLAS_CHECK(cublaslt().Matmul(h, lt.op, &alpha, weight.raw_data(), lt.a, input.raw_data(), lt.b, &beta,
                                       out.raw_data(), lt.d, out.raw_data(), lt.d, &result.algo, workspace.data(),
                                       workspace.size(), current_stream()));
  return true;
}

namespace {

void product_kernel(KernelCall& c) {  // mm, bmm, matmul
  dispatch_numeric(c.outputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    product<T>(c.outputs[0], c.inputs[0], c.inputs[1], T(1), T(0));
  });
}

// addmm, baddbmm: beta * self + alpha * (mat1 · mat2); with beta 0, self is not read at all.
// addmm(bias, x, w) with unit alpha and beta is a linear layer: one cuBLASLt call where it can.
void add_product_kernel(KernelCall& c) {
  const Tensor &self = c.inputs[0], &mat1 = c.inputs[1], &mat2 = c.inputs[2];
  if (c.op == "addmm" && self.dim() == 1 && mat2.dim() == 2 && c.attrs.get<Scalar>("beta").as_double() == 1 &&
      c.attrs.get<Scalar>("alpha").as_double() == 1 && self.size(0) == mat2.size(1) &&
      linear_with_epilogue(c.outputs[0], mat1, mat2.as_strided({mat2.size(1), mat2.size(0)},
                                                               {mat2.stride(1), mat2.stride(0)}, mat2.offset()),
                           self, GemmEpilogue::Bias))
    return;
  dispatch_numeric(c.outputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T beta = c.attrs.get<Scalar>("beta").to<T>(), alpha = c.attrs.get<Scalar>("alpha").to<T>();
    if (beta != T(0)) copy_into(c.outputs[0], c.inputs[0]);
    product<T>(c.outputs[0], c.inputs[1], c.inputs[2], alpha, beta);
  });
}

// linear: input · weightᵀ + bias; float32 with a bias in one cuBLASLt call, otherwise the bias is
// broadcast into the output and added by the GEMM's beta = 1, weight read transposed through
// its strides (as the CPU kernel).
void linear_kernel(KernelCall& c) {
  const Tensor &out = c.outputs[0], &input = c.inputs[0], &w = c.inputs[1], &bias = c.inputs[2];
  if (w.dim() == 2 && linear_with_epilogue(out, input, w, bias, GemmEpilogue::Bias)) return;
  const Tensor wt = w.dim() == 2 ? w.as_strided({w.size(1), w.size(0)}, {w.stride(1), w.stride(0)}, w.offset()) : w;
  dispatch_numeric(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (bias.defined()) copy_into(out, bias);
    product<T>(out, input, wt, T(1), T(bias.defined() ? 1 : 0));
  });
}

}  // namespace

TERRA_KERNEL(mm, CUDA, product_kernel);
TERRA_KERNEL(bmm, CUDA, product_kernel);
TERRA_KERNEL(matmul, CUDA, product_kernel);
TERRA_KERNEL(addmm, CUDA, add_product_kernel);
TERRA_KERNEL(baddbmm, CUDA, add_product_kernel);
TERRA_KERNEL(linear, CUDA, linear_kernel);

}  // namespace terra::cuda
