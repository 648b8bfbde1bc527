// The CUDA matrix products (kernels/cuda/gemm.cu) against the CPU kernels: mm, bmm, matmul,
// addmm, baddbmm and linear in every dtype the CPU takes (float through cuBLAS, integers through
// the tiled kernel), with transposed operands (transpose flags), strided and broadcast ones (dense
// copies), broadcast batch dims that no single stride walks (several strided batches), 1-D
// operands, empty products, alpha and beta, and the cuBLASLt bias epilogue of float32 linear.
// float32 rows allow 10x the harness's tolerance (rtol 1e-4, atol 1e-5): cuBLAS sums the k
// products in another order than OpenBLAS (observed differences are ~1e-6 relative for these
// sizes; TF32 is off). Without a device only the layout logic runs.
#include "cuda_cases.hpp"
#include "kernels/cpu/gemm.hpp"
#include "terra_config.hpp"

using namespace terra;
using namespace terra::test;

namespace {

constexpr double kGemmRtolScale = 10;

const DType kNumeric[] = {DType::Float32, DType::Float64, DType::Int32, DType::Int64};

// Integers stay small so that sums are exact and no overflow is involved (except where wanted).
double lo_of(DType dt) { return is_floating(dt) ? -2 : -5; }
double hi_of(DType dt) { return is_floating(dt) ? 2 : 5; }

std::vector<Case> blas_cases() {
  std::vector<Case> cases;
  uint64_t seed = 7000;
  auto add = [&](Case c) {
    c.rtol_scale = kGemmRtolScale;
    cases.push_back(std::move(c));
  };
  for (DType dt : kNumeric) {
    const double lo = lo_of(dt), hi = hi_of(dt);
    // Every layout of each operand: contiguous, strided (a copy), transposed (a flag), expanded
    // (stride-0 rows: a copy).
    for (Input& a : layouts({5, 7}, dt, seed, lo, hi)) add({"mm", {a, contiguous({7, 3}, dt, seed++, lo, hi)}});
    for (Input& b : layouts({7, 3}, dt, seed, lo, hi)) add({"mm", {transposed({5, 7}, dt, seed++, lo, hi), b}});
    add({"mm", {contiguous({3, 0}, dt, seed++), contiguous({0, 4}, dt, seed++)}});  // k = 0: zeros
    add({"mm", {contiguous({0, 3}, dt, seed++), contiguous({3, 4}, dt, seed++)}});
    add({"mm", {contiguous({1, 6}, dt, seed++, lo, hi), contiguous({6, 1}, dt, seed++, lo, hi)}});
    add({"mm", {contiguous({5, 7}, dt, seed++), contiguous({6, 3}, dt, seed++)}});  // error: shapes
    for (Input& a : layouts({3, 5, 7}, dt, seed, lo, hi)) add({"bmm", {a, contiguous({3, 7, 4}, dt, seed++, lo, hi)}});
    add({"bmm", {contiguous({3, 5, 7}, dt, seed++, lo, hi), transposed({3, 7, 4}, dt, seed++, lo, hi)}});
    add({"bmm", {contiguous({0, 5, 7}, dt, seed++), contiguous({0, 7, 4}, dt, seed++)}});
    // matmul: 1-D operands, a weight shared by the batch, broadcast batch dims.
    add({"matmul", {contiguous({7}, dt, seed++, lo, hi), contiguous({7}, dt, seed++, lo, hi)}});
    add({"matmul", {contiguous({7}, dt, seed++, lo, hi), contiguous({7, 4}, dt, seed++, lo, hi)}});
    add({"matmul", {contiguous({5, 7}, dt, seed++, lo, hi), strided({7}, dt, seed++, lo, hi)}});
    add({"matmul", {contiguous({2, 3, 5, 7}, dt, seed++, lo, hi), contiguous({7, 4}, dt, seed++, lo, hi)}});
    add({"matmul", {contiguous({7}, dt, seed++, lo, hi), contiguous({2, 7, 4}, dt, seed++, lo, hi)}});
    add({"matmul", {contiguous({2, 1, 5, 7}, dt, seed++, lo, hi), contiguous({3, 7, 4}, dt, seed++, lo, hi)}});
    add({"matmul", {expanded({4, 5, 7}, dt, seed++, lo, hi), transposed({4, 7, 6}, dt, seed++, lo, hi)}});
    // addmm / baddbmm: self broadcast, alpha and beta, beta 0 (self unread), alpha 0 (no product).
    for (const NamedAttrs& ab : std::vector<NamedAttrs>{{}, {{"beta", 2}, {"alpha", -3}}, {{"beta", 0}},
                                                        {{"alpha", 0}, {"beta", 3}}}) {
      add({"addmm", {contiguous({4}, dt, seed++, lo, hi), contiguous({5, 7}, dt, seed++, lo, hi),
                     transposed({7, 4}, dt, seed++, lo, hi)}, ab});
      add({"baddbmm", {contiguous({3, 5, 4}, dt, seed++, lo, hi), contiguous({3, 5, 7}, dt, seed++, lo, hi),
                       contiguous({3, 7, 4}, dt, seed++, lo, hi)}, ab});
    }
    add({"addmm", {transposed({5, 4}, dt, seed++, lo, hi), strided({5, 7}, dt, seed++, lo, hi),
                   contiguous({7, 4}, dt, seed++, lo, hi)}});
    add({"baddbmm", {contiguous({1, 4}, dt, seed++, lo, hi), contiguous({3, 5, 0}, dt, seed++),
                     contiguous({3, 0, 4}, dt, seed++)}, {{"beta", 2}}});
    // linear: float32 with a bias is one cuBLASLt call; the others bias-then-GEMM.
    add({"linear", {contiguous({5, 7}, dt, seed++, lo, hi), contiguous({4, 7}, dt, seed++, lo, hi),
                    contiguous({4}, dt, seed++, lo, hi)}});
    add({"linear", {contiguous({2, 3, 7}, dt, seed++, lo, hi), contiguous({4, 7}, dt, seed++, lo, hi),
                    contiguous({4}, dt, seed++, lo, hi)}});
    add({"linear", {contiguous({7}, dt, seed++, lo, hi), contiguous({4, 7}, dt, seed++, lo, hi),
                    contiguous({4}, dt, seed++, lo, hi)}});
    add({"linear", {contiguous({5, 7}, dt, seed++, lo, hi), contiguous({4, 7}, dt, seed++, lo, hi)}});
    add({"linear", {transposed({5, 7}, dt, seed++, lo, hi), transposed({4, 7}, dt, seed++, lo, hi),
                    strided({4}, dt, seed++, lo, hi)}});
    add({"linear", {contiguous({0, 7}, dt, seed++), contiguous({4, 7}, dt, seed++), contiguous({4}, dt, seed++)}});
  }
  // Sizes past one tile and one cuBLAS kernel's block, k long enough to sum in another order.
  add({"mm", {contiguous({67, 129}, DType::Float32, seed++), transposed({129, 45}, DType::Float32, seed++)}});
  add({"mm", {contiguous({33, 70}, DType::Int64, seed++, -5, 5), contiguous({70, 35}, DType::Int64, seed++, -5, 5)}});
  add({"linear", {contiguous({64, 96}, DType::Float32, seed++), contiguous({80, 96}, DType::Float32, seed++),
                  contiguous({80}, DType::Float32, seed++)}});
  // int32 products that overflow wrap as on the CPU.
  add({"mm", {contiguous({4, 9}, DType::Int32, seed++, 40000, 60000), contiguous({9, 3}, DType::Int32, seed++, 40000, 60000)}});
  return cases;
}

}  // namespace

TERRA_CUDA_CASES(blas, blas_cases);

// ---- Without a device: how operands map onto BLAS calls ----

namespace {

cpu::MatrixLayout layout(int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride,
                         std::vector<std::pair<int64_t, int64_t>> batch = {}) {
  cpu::MatrixLayout m;
  m.rows = rows;
  m.cols = cols;
  m.row_stride = row_stride;
  m.col_stride = col_stride;
  m.ndim = static_cast<int>(batch.size());
  for (size_t d = 0; d < batch.size(); ++d) {
    m.batch_shape[d] = batch[d].first;
    m.batch_strides[d] = batch[d].second;
  }
  return m;
}

}  // namespace

TEST_CASE("GEMM operands: transpose flags and leading dimensions", "[cuda][blas]") {
  auto row_major = cpu::blas_layout(layout(5, 7, 7, 1));
  REQUIRE(row_major);
  CHECK(!row_major->transposed);
  CHECK(row_major->ld == 7);
  auto col_major = cpu::blas_layout(layout(5, 7, 1, 5));  // a transposed [7, 5]
  REQUIRE(col_major);
  CHECK(col_major->transposed);
  CHECK(col_major->ld == 5);
  auto padded = cpu::blas_layout(layout(5, 7, 16, 1));  // rows of a wider matrix
  REQUIRE(padded);
  CHECK(padded->ld == 16);
  CHECK_FALSE(cpu::blas_layout(layout(5, 7, 14, 2)));  // every other column: a copy
  CHECK_FALSE(cpu::blas_layout(layout(5, 7, 0, 1)));   // broadcast rows overlap: a copy
  auto row = cpu::blas_layout(layout(1, 7, 3, 1));     // one row: its stride is irrelevant
  REQUIRE(row);
  CHECK(row->ld == 7);
  auto column = cpu::blas_layout(layout(7, 1, 9, 4));  // one column
  REQUIRE(column);
  CHECK(!column->transposed);
  CHECK(column->ld == 9);
}

TEST_CASE("GEMM batches: strided batches and where they split", "[cuda][blas]") {
  // A dense [2, 3] batch of 5x7 matrices is one strided batch of 6.
  const auto dense = layout(5, 7, 7, 1, {{2, 105}, {3, 35}});
  CHECK(cpu::batch_stride(dense, 0) == 35);
  // Broadcast over the whole batch: stride 0.
  const auto shared = layout(7, 4, 4, 1, {{2, 0}, {3, 0}});
  CHECK(cpu::batch_stride(shared, 0) == 0);
  // Broadcast along the inner dim only: no single stride over both dims, one over the inner.
  const auto inner_broadcast = layout(5, 7, 7, 1, {{2, 35}, {3, 0}});
  CHECK_FALSE(cpu::batch_stride(inner_broadcast, 0));
  CHECK(cpu::batch_stride(inner_broadcast, 1) == 0);
  CHECK(cpu::first_strided_batch_dim(inner_broadcast, shared, dense) == 1);
  CHECK(cpu::first_strided_batch_dim(dense, shared, dense) == 0);
  // Size-1 dims do not constrain; no batch dims at all is one matrix.
  CHECK(cpu::batch_stride(layout(5, 7, 7, 1, {{1, 999}, {4, 35}}), 0) == 35);
  CHECK(cpu::batch_stride(layout(5, 7, 7, 1), 0) == 0);
}

TEST_CASE("GEMM operands of matmul's 1-D and broadcast forms", "[cuda][blas]") {
  const Tensor a = random_tensor({2, 1, 5, 7}, DType::Float32, 1);
  const Tensor b = random_tensor({3, 7, 4}, DType::Float32, 2);
  const Tensor out = Tensor::empty({2, 3, 5, 4}, DType::Float32);
  const auto p = cpu::product_operands<float>(out, a, b);
  CHECK(p.c.count() == 6);
  CHECK(p.a.batch_strides[1] == 0);  // a broadcast along dim 1
  CHECK(p.b.batch_strides[0] == 0);  // b broadcast along dim 0
  CHECK(cpu::first_strided_batch_dim(p.a, p.b, p.c) == 1);
  const Tensor v = random_tensor({7}, DType::Float32, 3);
  const Tensor mv = Tensor::empty({5}, DType::Float32);
  const auto q = cpu::product_operands<float>(mv, random_tensor({5, 7}, DType::Float32, 4), v);
  CHECK(q.b.rows == 7);
  CHECK(q.b.cols == 1);
  CHECK(q.c.rows == 5);
  CHECK(q.c.cols == 1);
}

#if TERRA_WITH_CUDA
#include "kernels/cuda/gemm.hpp"

// The fused linear layer the graph compiler will call (no op runs the activation epilogues yet):
// against linear followed by the activation on the CPU.
TEST_CASE("cuBLASLt epilogues: linear + bias + relu / gelu(tanh)", "[cuda][blas][kernels]") {
  if (!have_device("the cuBLASLt epilogues")) return;
  const Tensor x = random_tensor({2, 5, 24}, DType::Float32, 11), w = random_tensor({16, 24}, DType::Float32, 12),
               b = random_tensor({16}, DType::Float32, 13);
  const Tensor lin = call1("linear", {x, w, b});
  const std::pair<cuda::GemmEpilogue, Tensor> expected[] = {
      {cuda::GemmEpilogue::Bias, lin},
      {cuda::GemmEpilogue::ReluBias, call1("relu", {lin})},
      {cuda::GemmEpilogue::GeluBias, call1("gelu", {lin}, {{"approximate", "tanh"}})},
  };
  for (const auto& [epilogue, want] : expected) {
    INFO("epilogue " << static_cast<int>(epilogue));
    const Tensor out = call1("empty", {}, {{"size", {2, 5, 16}}, {"device", kCuda}});
    REQUIRE(cuda::linear_with_epilogue(out, to(x, kCuda), to(w, kCuda), to(b, kCuda), epilogue));
    check_values(to(out, kCpu), values(want), 1e-4, 1e-5);
  }
  // Not float32: declined, nothing done.
  const Tensor out64 = call1("empty", {}, {{"size", {2, 5, 16}}, {"dtype", DType::Float64}, {"device", kCuda}});
  CHECK_FALSE(cuda::linear_with_epilogue(out64, to(call1("to_dtype", {x}, {{"dtype", DType::Float64}}), kCuda),
                                         to(w, kCuda), to(b, kCuda), cuda::GemmEpilogue::Bias));
}
#endif
