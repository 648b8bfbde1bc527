// softmax_backward and log_softmax_backward against float64 references over every dim of several
// shapes (rows with vector tails, inner blocks, enough work to split over threads), non-contiguous
// operands, dtype conversion of grad_output, empty and 0-d tensors, and errors.
#include "helpers.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("softmax_backward", "log_softmax_backward");

namespace {

// dx = y (g - sum(g y)) (softmax) or g - exp(y) sum(g) (log_softmax), sums over `dim`.
std::vector<double> ref_backward(const std::vector<double>& g, const std::vector<double>& y, const Shape& shape,
                                 int64_t dim, bool log) {
  if (shape.empty()) return {log ? g[0] - std::exp(y[0]) * g[0] : y[0] * (g[0] - g[0] * y[0])};
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= shape[d];
  for (size_t d = dim + 1; d < shape.size(); ++d) inner *= shape[d];
  const int64_t C = shape[dim];
  std::vector<double> dx(g.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      auto at = [&](int64_t c) { return (o * C + c) * inner + j; };
      double s = 0;
      for (int64_t c = 0; c < C; ++c) s += log ? g[at(c)] : g[at(c)] * y[at(c)];
      for (int64_t c = 0; c < C; ++c) dx[at(c)] = log ? g[at(c)] - std::exp(y[at(c)]) * s : y[at(c)] * (g[at(c)] - s);
    }
  return dx;
}

// y: a real (log-)softmax output, so the values are in the kernels' range.
void check_backward(bool log, const Tensor& g, const Tensor& y, int64_t dim) {
  const char* op = log ? "log_softmax_backward" : "softmax_backward";
  INFO(op << " of " << g.describe() << " over dim " << dim);
  Tensor dx = call1(op, {g, y}, {{"dim", dim}});
  CHECK(dx.shape() == y.shape());
  CHECK(dx.dtype() == y.dtype());
  const int64_t d = y.dim() == 0 ? 0 : (dim < 0 ? dim + y.dim() : dim);
  const double tol = y.dtype() == DType::Float32 ? 1e-5 : 1e-12;
  check_values(dx, ref_backward(values(g), values(y), y.shape(), d, log), tol, tol);
}

Tensor output_of(bool log, const Tensor& x, int64_t dim) { return call1(log ? "log_softmax" : "softmax", {x}, {{"dim", dim}}); }

}  // namespace

TEST_CASE("softmax backward ops match float64 references over every dim", "[nn][softmax][backward]") {
  const std::vector<Shape> shapes = {{5, 7}, {2, 3, 4}, {3, 67}, {4, 1}, {6}, {2, 5, 300}, {3, 2, 2, 5}};
  uint64_t seed = 1;
  for (bool log : {false, true})
    for (DType dt : {DType::Float32, DType::Float64})
      for (const Shape& s : shapes)
        for (int64_t dim = -static_cast<int64_t>(s.size()); dim < static_cast<int64_t>(s.size()); ++dim) {
          Tensor y = output_of(log, random_tensor(s, dt, seed++, -4.0, 4.0), dim);
          Tensor g = random_tensor(s, dt, seed++);
          check_backward(log, g, y, dim);
          check_backward(log, strided_copy(g), transposed_copy(y), dim);
        }
}

TEST_CASE("softmax backward ops over many long rows use every thread's chunk", "[nn][softmax][backward]") {
  for (bool log : {false, true})
    for (DType dt : {DType::Float32, DType::Float64})
      for (int64_t dim : {1, 0}) {
        Tensor y = output_of(log, random_tensor({257, 1031}, dt, 11, -10.0, 10.0), dim);
        check_backward(log, random_tensor({257, 1031}, dt, 12), y, dim);
      }
}

TEST_CASE("softmax backward ops convert grad_output to the output's dtype", "[nn][softmax][backward]") {
  Tensor y = output_of(false, random_tensor({3, 4}, DType::Float32, 1), 1);
  Tensor g = random_tensor({3, 4}, DType::Float64, 2);
  Tensor dx = call1("softmax_backward", {g, y}, {{"dim", 1}});
  CHECK(dx.dtype() == DType::Float32);
  check_values(dx, ref_backward(values(call1("to_dtype", {g}, {{"dtype", DType::Float32}})), values(y), {3, 4}, 1, false),
               1e-5, 1e-6);
}

TEST_CASE("softmax backward ops of empty and 0-d tensors", "[nn][softmax][backward]") {
  for (bool log : {false, true}) {
    const char* op = log ? "log_softmax_backward" : "softmax_backward";
    Tensor e = Tensor::empty({2, 0, 3}, DType::Float32);
    for (int64_t dim : {0, 1, 2}) CHECK(call1(op, {e, e}, {{"dim", dim}}).shape() == Shape{2, 0, 3});
    Tensor y = output_of(log, from_values({0.7}, {}), 0);
    check_backward(log, from_values({1.5}, {}), y, 0);  // softmax of one value: no gradient
  }
}

TEST_CASE("softmax backward ops reject mismatched operands", "[nn][softmax][backward][errors]") {
  Tensor y = random_tensor({2, 3}, DType::Float32, 1);
  for (const char* op : {"softmax_backward", "log_softmax_backward"}) {
    require_error([&] { call1(op, {random_tensor({3, 2}, DType::Float32, 2), y}, {{"dim", 1}}); }, ErrorKind::Runtime,
                  {op, "grad_output of shape [3, 2] does not match output of shape [2, 3]"});
    require_error([&] { call1(op, {y, y}, {{"dim", 2}}); }, ErrorKind::Index, {op, "Dimension out of range"});
    Tensor yi = random_tensor({2, 3}, DType::Int64, 3, -3, 3);
    require_error([&] { call1(op, {yi, yi}, {{"dim", 1}}); }, ErrorKind::Runtime, {op, "not implemented for 'int64'"});
  }
}
