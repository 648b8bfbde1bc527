// embedding against a direct gather: every weight dtype, int64 and int32 indices of any shape
// (0-d and empty included), non-contiguous weight and indices, the gradient-only arguments, and
// the errors (an index out of range is an IndexError raised before anything is written).
#include "helpers.hpp"

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
