// softmax and log_softmax against float64 references over every dim of several shapes (rows with
// vector tails, inner blocks split across work items), non-contiguous inputs, dtype= conversion,
// extreme and non-finite values (PyTorch 1.13 fixtures), empty and 0-d tensors, and errors.
#include <limits>

#include "helpers.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("softmax", "log_softmax");

namespace {

// Naive float64 softmax of row-major values `v` of `shape` over `dim`.
std::vector<double> ref_softmax(const std::vector<double>& v, const Shape& shape, int64_t dim, bool log) {
  if (shape.empty()) return {log ? 0.0 : 1.0};
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= shape[d];
  for (size_t d = dim + 1; d < shape.size(); ++d) inner *= shape[d];
  const int64_t C = shape[dim];
  std::vector<double> out(v.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      auto at = [&](int64_t c) { return (o * C + c) * inner + j; };
      double m = -std::numeric_limits<double>::infinity(), s = 0;
      for (int64_t c = 0; c < C; ++c) m = std::max(m, v[at(c)]);
      for (int64_t c = 0; c < C; ++c) s += std::exp(v[at(c)] - m);
      for (int64_t c = 0; c < C; ++c) out[at(c)] = log ? v[at(c)] - m - std::log(s) : std::exp(v[at(c)] - m) / s;
    }
  return out;
}

void check_softmax(const char* op, const Tensor& x, int64_t dim, DType dt) {
  INFO(op << " of " << x.describe() << " over dim " << dim);
  Tensor y = call1(op, {x}, {{"dim", dim}});
  CHECK(y.shape() == x.shape());
  CHECK(y.dtype() == dt);
  const int64_t d = x.dim() == 0 ? 0 : (dim < 0 ? dim + x.dim() : dim);
  check_values(y, ref_softmax(values(x), x.shape(), d, std::string(op) == "log_softmax"), rtol_for(dt), atol_for(dt));
}

}  // namespace

TEST_CASE("softmax and log_softmax match float64 references over every dim", "[nn][softmax]") {
  const std::vector<Shape> shapes = {{5, 7}, {2, 3, 4}, {3, 67}, {4, 1}, {1, 1}, {6}, {2, 5, 300}, {3, 2, 2, 5}};
  uint64_t seed = 1;
  for (const char* op : {"softmax", "log_softmax"})
    for (DType dt : {DType::Float32, DType::Float64})
      for (const Shape& s : shapes) {
        Tensor x = random_tensor(s, dt, seed++, -8.0, 8.0);
        for (int64_t dim = -static_cast<int64_t>(s.size()); dim < static_cast<int64_t>(s.size()); ++dim) {
          check_softmax(op, x, dim, dt);
          check_softmax(op, strided_copy(x), dim, dt);
          check_softmax(op, transposed_copy(x), dim, dt);
        }
      }
}

TEST_CASE("softmax over long rows and many rows uses every thread's chunk", "[nn][softmax]") {
  // Rows longer than the vector lanes with a ragged tail, and enough rows to split over threads.
  for (DType dt : {DType::Float32, DType::Float64}) {
    Tensor x = random_tensor({257, 1031}, dt, 11, -20.0, 20.0);
    check_softmax("softmax", x, 1, dt);
    check_softmax("log_softmax", x, 1, dt);
    check_softmax("softmax", x, 0, dt);
    check_softmax("log_softmax", x, 0, dt);
  }
}

TEST_CASE("softmax is accurate down to the smallest normal outputs", "[nn][softmax]") {
  // Rows holding 0 and values down to -86, so x - max spans the whole range where exp(x - max)
  // is a normal float32: every output is checked relative to itself (no absolute slack).
  for (int64_t dim : {1, 0}) {
    std::vector<double> v = values(random_tensor({64, 300}, DType::Float64, 21, -86.0, 0.0));
    for (int64_t r = 0; r < 64; ++r) v[r * 300 + r] = 0.0;  // a zero in every row and every column
    Tensor x = from_values(v, {64, 300}, DType::Float32);
    if (dim == 0) x = call1("contiguous", {call1("transpose", {x}, {{"dim0", 0}, {"dim1", 1}})});
    check_values(call1("softmax", {x}, {{"dim", dim}}), ref_softmax(values(x), x.shape(), dim, false), 2e-6, 0);
  }
}

TEST_CASE("softmax dtype= converts the input first", "[nn][softmax]") {
  Tensor xi = random_tensor({3, 5}, DType::Int64, 3, -5, 5);
  for (const char* op : {"softmax", "log_softmax"}) {
    Tensor y = call1(op, {xi}, {{"dim", 1}, {"dtype", DType::Float64}});
    CHECK(y.dtype() == DType::Float64);
    check_values(y, ref_softmax(values(xi), {3, 5}, 1, std::string(op) == "log_softmax"), 1e-12, 1e-12);
    Tensor xd = random_tensor({4, 6}, DType::Float64, 4);
    Tensor yf = call1(op, {xd}, {{"dim", 0}, {"dtype", DType::Float32}});
    CHECK(yf.dtype() == DType::Float32);
    // The reference sees the values rounded to float32, as the kernel does.
    check_values(yf, ref_softmax(values(call1("to_dtype", {xd}, {{"dtype", DType::Float32}})), {4, 6}, 0,
                                 std::string(op) == "log_softmax"),
                 2e-6, 1e-6);
  }
}

TEST_CASE("softmax of empty, 0-d and size-1 tensors", "[nn][softmax]") {
  for (DType dt : {DType::Float32, DType::Float64}) {
    for (const Shape& s : std::vector<Shape>{{0, 3}, {3, 0}, {2, 0, 4}}) {
      Tensor x = Tensor::empty(s, dt);
      for (int64_t dim = 0; dim < static_cast<int64_t>(s.size()); ++dim) {
        CHECK(call1("softmax", {x}, {{"dim", dim}}).shape() == s);
        CHECK(call1("log_softmax", {x}, {{"dim", dim}}).shape() == s);
      }
    }
    Tensor scalar = from_values({3.5}, {}, dt);
    for (int64_t dim : {0, -1}) {
      check_values(call1("softmax", {scalar}, {{"dim", dim}}), {1.0}, 0, 0);
      check_values(call1("log_softmax", {scalar}, {{"dim", dim}}), {0.0}, 0, 0);
    }
  }
}

TEST_CASE("softmax is stable for large values and follows PyTorch on non-finite ones", "[nn][softmax]") {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  for (DType dt : {DType::Float32, DType::Float64}) {
    Tensor big = from_values({1000, 0, -1000, 88, 89, 90}, {2, 3}, dt);
    check_values(call1("softmax", {big}, {{"dim", 1}}),
                 {1, 0, 0, 0.09003057317038046, 0.24472847105479764, 0.6652409557748219}, 2e-6, 1e-6);
    check_values(call1("log_softmax", {big}, {{"dim", 1}}),
                 {0, -1000, -2000, -2.40760596444438, -1.40760596444438, -0.40760596444438}, 2e-6, 1e-6);
    // torch.softmax(torch.tensor([[nan, 1.], [inf, 1.], [-inf, -inf], [-inf, 1.]]), 1) in PyTorch 1.13
    Tensor odd = from_values({nan, 1, inf, 1, -inf, -inf, -inf, 1}, {4, 2}, dt);
    check_values(call1("softmax", {odd}, {{"dim", 1}}), {nan, nan, nan, nan, nan, nan, 0, 1}, 0, 0);
    check_values(call1("log_softmax", {odd}, {{"dim", 1}}), {nan, nan, nan, nan, nan, nan, -inf, 0}, 0, 0);
    // The same over dim 0 (the inner-position path): only the columns holding them are NaN.
    Tensor odd0 = from_values({nan, 1, 2, 1}, {2, 2}, dt);
    check_values(call1("softmax", {odd0}, {{"dim", 0}}), {nan, 0.5, nan, 0.5}, 1e-6, 0);
  }
}

TEST_CASE("softmax matches PyTorch 1.13 on a fixture", "[nn][softmax]") {
  // x = torch.tensor([[0.5, -1.25, 2.0], [3.0, 0.0, -0.75]]); torch.softmax(x, 1), torch.log_softmax(x, 0)
  Tensor x = from_values({0.5, -1.25, 2.0, 3.0, 0.0, -0.75}, {2, 3}, DType::Float32);
  check_values(call1("softmax", {x}, {{"dim", 1}}),
               {0.17682019, 0.03072674, 0.79245311, 0.93170184, 0.0463867, 0.02191153}, 1e-6, 1e-7);
  check_values(call1("log_softmax", {x}, {{"dim", 0}}),
               {-2.57888985, -1.50192904, -0.06196762, -0.07888975, -0.25192904, -2.81196761}, 1e-6, 1e-7);
}

TEST_CASE("softmax errors name the op and the input", "[nn][softmax]") {
  Tensor x = random_tensor({2, 3}, DType::Float32, 5);
  Tensor xi = random_tensor({2, 3}, DType::Int64, 6, -3, 3);
  Tensor xb = from_values({1, 0}, {2}, DType::Bool);
  for (const char* op : {"softmax", "log_softmax"}) {
    require_error([&] { call1(op, {xi}, {{"dim", 1}}); }, ErrorKind::Runtime,
                  {op, "not implemented for 'int64'", "int64[2, 3]"});
    require_error([&] { call1(op, {xb}, {{"dim", 0}}); }, ErrorKind::Runtime, {op, "'bool'", "bool[2]"});
    require_error([&] { call1(op, {x}, {{"dim", 2}}); }, ErrorKind::Index,
                  {op, "Dimension out of range (expected to be in range of [-2, 1], but got 2)", "float32[2, 3]"});
    require_error([&] { call1(op, {x}, {{"dim", -3}}); }, ErrorKind::Index, {op, "Dimension out of range"});
    require_error([&] { call1(op, {x}, {{"dim", 0}, {"dtype", DType::Int64}}); }, ErrorKind::Runtime,
                  {op, "'int64'", "float32[2, 3]"});
  }
}
