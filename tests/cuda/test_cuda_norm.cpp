// CUDA cases of layer_norm, group_norm, embedding, the fused LSTM and GRU cells and their backward ops:
// both floating dtypes
// (and the CPU's error for others), with and without weight and bias, strided and transposed
// inputs, rows longer than a block, a single value per channel, empty inputs; embedding over
// every weight dtype, int32 and int64 indices, padding_idx, scale_grad_by_freq, repeated
// indices, and the CPU's IndexError for an index out of range.
#include "cuda_cases.hpp"

using namespace terra;
using namespace terra::test;

namespace {

// The device sums statistics in float64 where the CPU sums short runs in the element type.
constexpr double kStatsOrder = 100;

Case stats(Case c) {
  c.rtol_scale = kStatsOrder;
  return c;
}

std::vector<Case> norm_cases() {
  std::vector<Case> cases;
  uint64_t seed = 60000;
  auto add = [&](Case c) { cases.push_back(stats(std::move(c))); };
  for (DType dt : kAllDTypes) {
    if (!is_floating(dt)) {  // the CPU's error
      add({"layer_norm", {contiguous({4, 6}, dt, seed++)}, {{"normalized_shape", std::vector<int64_t>{6}}}});
      add({"group_norm", {contiguous({4, 6}, dt, seed++)}, {{"num_groups", 2}}});
      continue;
    }
    for (const auto& [shape, ns] : std::vector<std::pair<Shape, std::vector<int64_t>>>{
             {{4, 5, 6}, {6}}, {{4, 5, 6}, {5, 6}}, {{3, 5000}, {5000}}, {{0, 6}, {6}}, {{6}, {6}}}) {
      const Shape wshape(ns.begin(), ns.end());
      const NamedAttrs attrs = {{"normalized_shape", ns}, {"eps", 1e-5}};
      for (Input& x : layouts(shape, dt, seed, -3, 5)) {
        add({"layer_norm", {x}, attrs});
        add({"layer_norm", {x, contiguous(wshape, dt, seed++), contiguous(wshape, dt, seed++)}, attrs});
        add({"layer_norm_backward", {transposed(shape, dt, seed++), x}, attrs});
        add({"layer_norm_backward", {contiguous(shape, dt, seed++), x, strided(wshape, dt, seed++)}, attrs});
      }
    }
    for (const auto& [shape, groups] : std::vector<std::pair<Shape, int64_t>>{
             {{4, 6, 5}, 2}, {{4, 6, 5}, 3}, {{4, 6}, 2}, {{2, 6, 3, 4}, 6}, {{2, 4, 700}, 1}, {{0, 6, 5}, 3}, {{2, 6, 0}, 3}}) {
      const Shape wshape{shape[1]};
      const NamedAttrs attrs = {{"num_groups", groups}, {"eps", 1e-5}};
      for (Input& x : layouts(shape, dt, seed, -3, 5)) {
        add({"group_norm", {x}, attrs});
        add({"group_norm", {x, contiguous(wshape, dt, seed++), contiguous(wshape, dt, seed++)}, attrs});
        add({"group_norm_backward", {transposed(shape, dt, seed++), x}, attrs});
        add({"group_norm_backward", {contiguous(shape, dt, seed++), x, strided(wshape, dt, seed++)}, attrs});
      }
    }
  }
  return cases;
}

Input as_int32(Input in) {
  in.view = [](const Tensor& t) { return call1("to_dtype", {t}, {{"dtype", DType::Int32}}); };
  in.layout = "int32 indices";
  return in;
}

std::vector<Case> embedding_cases() {
  std::vector<Case> cases;
  uint64_t seed = 70000;
  const int64_t rows = 10, dim = 7;
  for (DType dt : kAllDTypes) {
    for (Input& w : layouts({rows, dim}, dt, seed)) {
      cases.push_back({"embedding", {w, indices({3, 4}, rows, seed++)}});
      cases.push_back({"embedding", {w, as_int32(indices({5}, rows, seed++))}});
    }
    cases.push_back({"embedding", {contiguous({rows, dim}, dt, seed++), indices({0}, rows, seed++)}});
    cases.push_back({"embedding", {contiguous({rows, dim}, dt, seed++), indices({}, rows, seed++)}});
    cases.push_back({"embedding", {contiguous({rows, dim}, dt, seed++), indices({6}, rows + 5, seed++)}});  // the CPU's error
  }
  for (DType dt : {DType::Float32, DType::Float64}) {
    for (int64_t padding : {int64_t(-1), int64_t(2)}) {
      for (bool scale : {false, true}) {
        const NamedAttrs attrs = {{"num_weights", rows}, {"padding_idx", padding}, {"scale_grad_by_freq", scale}};
        // Many repeats of few rows, and some rows never used.
        cases.push_back(stats({"embedding_backward", {transposed({3, 40, dim}, dt, seed++), indices({3, 40}, rows - 3, seed++)}, attrs}));
        cases.push_back(stats({"embedding_backward", {contiguous({5, dim}, dt, seed++), as_int32(indices({5}, rows, seed++))}, attrs}));
        cases.push_back({"embedding_backward", {contiguous({0, dim}, dt, seed++), indices({0}, rows, seed++)}, attrs});
        cases.push_back({"embedding_backward", {contiguous({4, dim}, dt, seed++), indices({4}, rows + 9, seed++)}, attrs});
      }
    }
  }
  return cases;
}

// The LSTM and GRU cells a thread per element: with and without hidden_gates, either gradient
// absent (LSTM), strided and transposed operands, an empty batch.
std::vector<Case> lstm_cell_cases() {
  std::vector<Case> cases;
  uint64_t seed = 61000;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Shape& bh : {Shape{5, 3}, Shape{16, 70}, Shape{0, 4}}) {
      const Shape gates{bh[0], 4 * bh[1]};
      cases.push_back({"fused_lstm_cell", {contiguous(gates, dt, seed++), contiguous(bh, dt, seed++)}});
      cases.push_back({"fused_lstm_cell",
                       {transposed(gates, dt, seed++), strided(bh, dt, seed++), strided(gates, dt, seed++)}});
      cases.push_back({"fused_lstm_cell_backward",
                       {contiguous(bh, dt, seed++), contiguous(bh, dt, seed++), contiguous(gates, dt, seed++),
                        contiguous(bh, dt, seed++), contiguous(gates, dt, seed++)}});
      cases.push_back({"fused_lstm_cell_backward",
                       {none(), transposed(bh, dt, seed++), strided(gates, dt, seed++), contiguous(bh, dt, seed++)}});
      cases.push_back({"fused_lstm_cell_backward",
                       {strided(bh, dt, seed++), none(), contiguous(gates, dt, seed++), transposed(bh, dt, seed++)}});
      const Shape gru{bh[0], 3 * bh[1]};
      cases.push_back({"fused_gru_cell", {contiguous(gru, dt, seed++), transposed(gru, dt, seed++), strided(bh, dt, seed++)}});
      cases.push_back({"fused_gru_cell_backward", {transposed(bh, dt, seed++), contiguous(gru, dt, seed++),
                                                   strided(gru, dt, seed++), contiguous(bh, dt, seed++)}});
    }
  return cases;
}

}  // namespace

TERRA_CUDA_CASES(normalization, norm_cases);
TERRA_CUDA_CASES(lstm_cell, lstm_cell_cases);
TERRA_CUDA_CASES(embedding, embedding_cases);
