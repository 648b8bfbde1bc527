// Gradients of the matrix products (mm, bmm, matmul in every PyTorch case, addmm and baddbmm
// with beta and alpha, linear with any input rank, 1-D weight and optional bias, outer) against
// central differences, with transposed and strided operands and broadcast batch dims; a few
// against hand-computed values; and second derivatives where the formulas' ops have gradients.
#include "gradcheck.hpp"

using namespace terra;
using namespace terra::test;

namespace {

Tensor r(const Shape& shape, uint64_t seed) { return random_tensor(shape, DType::Float64, seed); }

Tensor op2(const char* op, const TensorList& x, const NamedAttrs& attrs = {}) { return call1(op, {x[0], x[1]}, attrs); }

// gradcheck of x -> d(<f(x), v>)/dx[k] for each input k: the gradient of the gradient, which
// needs the formula's own ops to have gradients (create_graph).
void gradgradcheck(const std::string& what, const Function& f, const TensorList& inputs) {
  for (size_t k = 0; k < inputs.size(); ++k) {
    gradcheck(what + " double backward, input " + std::to_string(k), [&f, k](const TensorList& x) {
      GradModeGuard grad_mode(true);
      Tensor out = f(x);
      Tensor v = random_tensor(out.shape(), DType::Float64, 99, 0.5, 1.5);
      return autograd::grad({out}, {x[k]}, {v}, true, true, false)[0];
    }, inputs);
  }
}

}  // namespace

TEST_CASE("mm and bmm gradients", "[grad][linalg]") {
  gradcheck("mm", [](const TensorList& x) { return op2("mm", x); }, {r({3, 4}, 1), r({4, 5}, 2)});
  gradcheck("mm transposed operands", [](const TensorList& x) { return op2("mm", x); },
            {transposed_copy(r({3, 4}, 3)), strided_copy(r({4, 2}, 4))});
  gradcheck("bmm", [](const TensorList& x) { return op2("bmm", x); }, {r({2, 3, 4}, 5), r({2, 4, 3}, 6)});
  gradcheck("bmm transposed operands", [](const TensorList& x) { return op2("bmm", x); },
            {transposed_copy(r({2, 3, 4}, 7)), transposed_copy(r({2, 4, 1}, 8))});
}

TEST_CASE("matmul gradients in every case", "[grad][linalg]") {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{4}, {4}},                      // dot
      {{4}, {4, 3}},                   // vector-matrix
      {{3, 4}, {4}},                   // matrix-vector
      {{3, 4}, {4, 2}},                // matrix-matrix
      {{2, 3, 4}, {4, 2}},             // batch against a matrix: folded into rows
      {{2, 2, 3, 4}, {4}},             // batch against a vector
      {{4}, {2, 4, 3}},                // vector against a batch
      {{3, 4}, {2, 4, 2}},             // matrix against a batch: summed over it
      {{2, 1, 3, 4}, {3, 4, 2}},       // broadcast batch dims on both sides
      {{2, 1, 3, 4}, {1, 2, 4, 5}},
      {{1, 3, 4}, {2, 4, 2}},
  };
  uint64_t seed = 10;
  for (const auto& [sa, sb] : cases) {
    Tensor a = r(sa, seed++), b = r(sb, seed++);
    gradcheck("matmul " + shape_str(sa) + " x " + shape_str(sb), [](const TensorList& x) { return op2("matmul", x); },
              {a, b});
    gradcheck("matmul strided " + shape_str(sa) + " x " + shape_str(sb),
              [](const TensorList& x) { return op2("matmul", x); }, {transposed_copy(a), strided_copy(b)});
  }
}

TEST_CASE("addmm and baddbmm gradients with beta and alpha", "[grad][linalg]") {
  for (double beta : {1.0, 0.5, 0.0})
    for (double alpha : {1.0, -2.0}) {
      const NamedAttrs attrs{{"beta", beta}, {"alpha", alpha}};
      INFO("beta " << beta << " alpha " << alpha);
      for (const Shape& self_shape : {Shape{3, 5}, Shape{5}, Shape{1, 5}, Shape{}}) {
        gradcheck("addmm self " + shape_str(self_shape),
                  [&](const TensorList& x) { return call1("addmm", {x[0], x[1], x[2]}, attrs); },
                  {r(self_shape, 20), r({3, 4}, 21), transposed_copy(r({4, 5}, 22))});
      }
      for (const Shape& self_shape : {Shape{2, 3, 5}, Shape{3, 1}}) {
        gradcheck("baddbmm self " + shape_str(self_shape),
                  [&](const TensorList& x) { return call1("baddbmm", {x[0], x[1], x[2]}, attrs); },
                  {r(self_shape, 23), r({2, 3, 4}, 24), transposed_copy(r({2, 4, 5}, 25))});
      }
    }
}

TEST_CASE("linear gradients for every input rank, with and without bias", "[grad][linalg]") {
  const std::vector<Shape> inputs = {{4}, {3, 4}, {2, 3, 4}, {2, 1, 2, 4}};
  uint64_t seed = 30;
  for (const Shape& in_shape : inputs) {
    Shape out_shape(in_shape.begin(), in_shape.end() - 1);
    for (bool bias : {false, true}) {
      INFO("input " << shape_str(in_shape) << " bias " << bias);
      Tensor x = r(in_shape, seed++), w = r({5, 4}, seed++);
      Tensor b = bias ? r({5}, seed++) : Tensor();
      auto linear = [](const TensorList& t) { return call1("linear", {t[0], t[1], t.size() > 2 ? t[2] : Tensor()}); };
      TensorList args = bias ? TensorList{x, w, b} : TensorList{x, w};
      gradcheck("linear", linear, args);
      args[0] = transposed_copy(x);
      args[1] = transposed_copy(w);
      gradcheck("linear non-contiguous", linear, args);
      // A 1-D weight: one output feature, dropped from the output's shape; the bias broadcasts.
      TensorList v = bias ? TensorList{x, r({4}, seed++), r({}, seed++)} : TensorList{x, r({4}, seed++)};
      gradcheck("linear 1-D weight", linear, v);
    }
  }
  // A bias that broadcasts along more than the batch dims.
  gradcheck("linear broadcast bias", [](const TensorList& t) { return call1("linear", {t[0], t[1], t[2]}); },
            {r({3, 4}, 40), r({5, 4}, 41), r({1, 5}, 42)});
}

TEST_CASE("outer gradients, also with a non-floating operand", "[grad][linalg]") {
  gradcheck("outer", [](const TensorList& x) { return op2("outer", x); }, {r({3}, 50), r({4}, 51)});
  gradcheck("outer float64 x int64", [](const TensorList& x) { return op2("outer", x); },
            {r({3}, 52), random_tensor({4}, DType::Int64, 53, -5, 5)});
}

TEST_CASE("product gradients match hand-computed values", "[grad][linalg]") {
  // linear(x, W, b) with x [2, 2], W [1, 2]: y[i] = x[i] . W[0] + b; upstream g = [1, 2].
  Tensor x = from_values({1, 2, 3, 4}, {2, 2}), w = from_values({5, 6}, {1, 2}), b = from_values({7}, {1});
  for (Tensor* t : {&x, &w, &b}) autograd::set_requires_grad(*t, true);
  Tensor y = call1("linear", {x, w, b});
  autograd::backward({y}, {from_values({1, 2}, {2, 1})}, false, false);
  check_values(autograd::grad(x), {5, 6, 10, 12}, 0, 0);       // g[i] * W[0]
  check_values(autograd::grad(w), {1 + 6, 2 + 8}, 0, 0);      // sum_i g[i] x[i]
  check_values(autograd::grad(b), {3}, 0, 0);                  // sum_i g[i]
  // addmm: d self = beta * g, d mat1 = alpha * g mat2^T.
  Tensor s = from_values({1, 1}, {1, 2}), m1 = from_values({1, 2}, {1, 2}), m2 = from_values({1, 0, 0, 1}, {2, 2});
  for (Tensor* t : {&s, &m1, &m2}) autograd::set_requires_grad(*t, true);
  Tensor z = call1("addmm", {s, m1, m2}, {{"beta", 3.0}, {"alpha", 2.0}});
  autograd::backward({z}, {from_values({1, -1}, {1, 2})}, false, false);
  check_values(autograd::grad(s), {3, -3}, 0, 0);
  check_values(autograd::grad(m1), {2, -2}, 0, 0);
  check_values(autograd::grad(m2), {2, -2, 4, -4}, 0, 0);
}

TEST_CASE("product gradients have gradients (create_graph)", "[grad][linalg][double]") {
  gradgradcheck("mm", [](const TensorList& x) { return op2("mm", x); }, {r({2, 3}, 60), r({3, 2}, 61)});
  gradgradcheck("bmm", [](const TensorList& x) { return op2("bmm", x); }, {r({2, 2, 3}, 62), r({2, 3, 2}, 63)});
  gradgradcheck("matmul folded batch", [](const TensorList& x) { return op2("matmul", x); },
                {r({2, 2, 3}, 64), r({3, 2}, 65)});
  gradgradcheck("linear", [](const TensorList& x) { return op2("linear", x); }, {r({2, 2, 3}, 66), r({2, 3}, 67)});
  gradgradcheck("matmul broadcast batch", [](const TensorList& x) { return op2("matmul", x); },
                {r({2, 1, 2, 3}, 68), r({2, 3, 2}, 69)});
}
