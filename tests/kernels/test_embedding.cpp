// embedding against a direct gather: every weight dtype, int64 and int32 indices of any shape
// (0-d and empty included), non-contiguous weight and indices, the gradient-only arguments, and
// the errors (an index out of range is an IndexError raised before anything is written).
// embedding_backward against a float64 sum per weight row, with padding_idx and
// scale_grad_by_freq, and its determinism across thread counts.
#include "helpers.hpp"
#include "kernels/cpu/parallel.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("embedding");

namespace {

// out[i, d] = w[idx[i], d] over row-major values.
std::vector<double> gather_ref(const std::vector<double>& w, int64_t dim, const std::vector<double>& idx) {
  std::vector<double> out;
  for (double i : idx)
    for (int64_t d = 0; d < dim; ++d) out.push_back(w[static_cast<int64_t>(i) * dim + d]);
  return out;
}

Shape with_dim(Shape s, int64_t dim) {
  s.push_back(dim);
  return s;
}

}  // namespace

TEST_CASE("embedding gathers rows for every dtype and layout", "[nn][embedding]") {
  uint64_t seed = 1;
  for (DType wdt : {DType::Float32, DType::Float64, DType::Int64, DType::Int32, DType::Bool})
    for (DType idt : {DType::Int64, DType::Int32})
      for (const Shape& ws : std::vector<Shape>{{10, 5}, {7, 1}, {3, 130}, {4, 0}})
        for (const Shape& is : std::vector<Shape>{{6}, {2, 3}, {}, {0}, {3, 0, 2}, {1, 1}}) {
          const Tensor w = random_tensor(ws, wdt, seed++, -9, 9);
          const Tensor idx = random_tensor(is, idt, seed++, 0, ws[0] - 1, false);
          const auto expected = gather_ref(values(w), ws[1], values(idx));
          for (const Tensor& wl : {w, strided_copy(w), transposed_copy(w)})
            for (const Tensor& il : {idx, strided_copy(idx)}) {
              INFO("embedding of " << wl.describe() << " by " << il.describe());
              Tensor out = call1("embedding", {wl, il});
              CHECK(out.shape() == with_dim(is, ws[1]));
              CHECK(out.dtype() == wdt);
              check_values(out, expected, 0, 0);
            }
        }
}

TEST_CASE("embedding's gradient-only arguments leave the forward pass alone", "[nn][embedding]") {
  const Tensor w = random_tensor({6, 3}, DType::Float32, 1);
  const Tensor idx = from_values({0, 2, 2, 5}, {4}, DType::Int64);
  const auto expected = gather_ref(values(w), 3, values(idx));
  check_values(call1("embedding", {w, idx}, {{"padding_idx", 2}, {"scale_grad_by_freq", true}, {"sparse", true}}),
               expected, 0, 0);
  check_values(call1("embedding", {w, idx}, {{"padding_idx", 9}}), expected, 0, 0);  // unchecked, as in aten
}

TEST_CASE("embedding errors name the op and the inputs", "[nn][embedding]") {
  const Tensor w = random_tensor({10, 5}, DType::Float32, 1);
  for (DType idt : {DType::Int64, DType::Int32}) {
    const std::string desc = std::string("float32[10, 5], ") + dtype_name(idt) + "[3]";
    require_error([&] { call1("embedding", {w, from_values({1, 10, 2}, {3}, idt)}); }, ErrorKind::Index,
                  {"embedding", "index out of range in self", desc});
    require_error([&] { call1("embedding", {w, from_values({1, -1, 2}, {3}, idt)}); }, ErrorKind::Index,
                  {"embedding", "index out of range in self"});
  }
  require_error([&] { call1("embedding", {Tensor::empty({0, 5}, DType::Float32), from_values({0}, {1}, DType::Int64)}); },
                ErrorKind::Index, {"embedding", "index out of range in self", "float32[0, 5]"});
  require_error([&] { call1("embedding", {w, from_values({1, 2}, {2}, DType::Float32)}); }, ErrorKind::Runtime,
                {"embedding", "'indices' to have one of the following scalar types: int64, int32; but got float32",
                 "float32[10, 5], float32[2]"});
  require_error([&] { call1("embedding", {w, from_values({1, 0}, {2}, DType::Bool)}); }, ErrorKind::Runtime,
                {"embedding", "but got bool"});
  for (const Shape& bad : std::vector<Shape>{{10}, {2, 3, 4}, {}}) {
    const Tensor wb = random_tensor(bad, DType::Float32, 2);
    require_error([&] { call1("embedding", {wb, from_values({1}, {1}, DType::Int64)}); }, ErrorKind::Runtime,
                  {"embedding", "'weight' must be 2-D", wb.describe()});
  }
}

// ---- embedding_backward: the weight's gradient ----

TERRA_COVERS("embedding_backward");

namespace {

// grad_weight[w, d] = sum over i with idx[i] == w (and w != padding_idx) of g[i, d], each term
// divided by w's count with scale_grad_by_freq.
std::vector<double> embedding_backward_ref(const std::vector<double>& g, const std::vector<double>& idx, int64_t rows,
                                           int64_t dim, int64_t padding_idx, bool scale) {
  std::vector<double> count(rows, 0), out(rows * dim, 0);
  for (double i : idx) count[static_cast<int64_t>(i)] += 1;
  for (size_t i = 0; i < idx.size(); ++i) {
    const auto w = static_cast<int64_t>(idx[i]);
    if (w == padding_idx) continue;
    for (int64_t d = 0; d < dim; ++d) out[w * dim + d] += g[i * dim + d] / (scale ? count[w] : 1.0);
  }
  return out;
}

Tensor embedding_backward(const Tensor& g, const Tensor& idx, int64_t rows, int64_t padding_idx, bool scale) {
  return call1("embedding_backward", {g, idx},
               {{"num_weights", rows}, {"padding_idx", padding_idx}, {"scale_grad_by_freq", scale}});
}

}  // namespace

TEST_CASE("embedding_backward sums gradient rows per weight row", "[nn][embedding]") {
  uint64_t seed = 100;
  for (DType gdt : {DType::Float32, DType::Float64})
    for (DType idt : {DType::Int64, DType::Int32})
      for (const Shape& ws : std::vector<Shape>{{10, 5}, {3, 130}, {1, 1}, {4, 0}})
        for (const Shape& is : std::vector<Shape>{{7}, {2, 3}, {}, {0}, {3, 0, 2}}) {
          const Tensor g = random_tensor(with_dim(is, ws[1]), gdt, seed++);
          const Tensor idx = random_tensor(is, idt, seed++, 0, ws[0] - 1, false);
          for (int64_t padding_idx : {int64_t{-1}, int64_t{0}, ws[0] - 1})
            for (bool scale : {false, true}) {
              const auto expected = embedding_backward_ref(values(g), values(idx), ws[0], ws[1], padding_idx, scale);
              for (const Tensor& gl : {g, strided_copy(g), transposed_copy(g)})
                for (const Tensor& il : {idx, strided_copy(idx)}) {
                  INFO("embedding_backward of " << gl.describe() << " by " << il.describe() << " padding_idx "
                                                << padding_idx << " scale " << scale);
                  Tensor out = embedding_backward(gl, il, ws[0], padding_idx, scale);
                  CHECK(out.shape() == ws);
                  CHECK(out.dtype() == gdt);
                  check_values(out, expected, rtol_for(gdt), atol_for(gdt) * 8);
                }
            }
        }
}

TEST_CASE("embedding_backward is exact and the same for every thread count", "[nn][embedding]") {
  // Many repeats of few rows over several parallel chunks; float64 sums in position order are exact
  // for small integers.
  const int64_t rows = 700, dim = 96, n = 6000;
  const Tensor idx = random_tensor({n}, DType::Int64, 7, 0, rows - 1, false);
  const Tensor g = random_tensor({n, dim}, DType::Float64, 8, -50, 50);
  const Tensor gi = call1("round", {g});
  const auto expected = embedding_backward_ref(values(gi), values(idx), rows, dim, 3, false);
  check_values(embedding_backward(gi, idx, rows, 3, false), expected, 0, 0);
  const Tensor g32 = random_tensor({n, dim}, DType::Float32, 9);
  const int saved = cpu::num_threads();
  std::vector<double> runs[2];
  for (int k = 0; k < 2; ++k) {
    cpu::set_num_threads(k == 0 ? 1 : 3);
    runs[k] = values(embedding_backward(g32, idx, rows, -1, true));
  }
  cpu::set_num_threads(saved);
  CHECK(runs[0] == runs[1]);
}

TEST_CASE("embedding_backward errors name the op and the inputs", "[nn][embedding]") {
  const Tensor g = random_tensor({3, 4}, DType::Float32, 1);
  require_error([&] { embedding_backward(g, from_values({1, 5, 2}, {3}, DType::Int64), 5, -1, false); },
                ErrorKind::Index, {"embedding_backward", "index out of range in self", "float32[3, 4], int64[3]"});
  require_error([&] { embedding_backward(g, from_values({1, 2}, {2}, DType::Int64), 5, -1, false); }, ErrorKind::Runtime,
                {"embedding_backward", "does not match indices of shape [2]"});
  require_error([&] { embedding_backward(g, from_values({1, 2, 0}, {3}, DType::Float32), 5, -1, false); },
                ErrorKind::Runtime, {"embedding_backward", "one of the following scalar types: int64, int32"});
  require_error([&] { embedding_backward(random_tensor({3, 4}, DType::Int64, 2), from_values({1, 2, 0}, {3}, DType::Int64), 5, -1, false); },
                ErrorKind::Runtime, {"embedding_backward", "expected a floating point grad"});
  require_error([&] { embedding_backward(g, from_values({1, 2, 0}, {3}, DType::Int64), -1, -1, false); },
                ErrorKind::Runtime, {"embedding_backward", "num_weights must be non-negative"});
}
