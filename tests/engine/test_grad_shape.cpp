// Gradients of the shape ops (cat, stack, split, chunk, tril, triu, repeat, flip, roll), of
// to_device and dropout, and the creation ops' "not differentiable" marks: gradcheck over every
// attribute that changes the math, non-contiguous inputs, a few values worked out by hand, and
// double backward where the formula's ops have gradients.
#include "gradgradcheck.hpp"

using namespace terra;
using namespace terra::test;

namespace {

Tensor rnd(const Shape& shape, uint64_t seed) { return random_tensor(shape, DType::Float64, seed); }

// A non-contiguous view with the given shape: the transpose of a contiguous [m, n] tensor.
Tensor transposed(const Tensor& x) { return call1("transpose", {x}, {{"dim0", 0}, {"dim1", 1}}); }

Tensor leaf(const Shape& shape, uint64_t seed, DType dtype = DType::Float64) {
  Tensor t = random_tensor(shape, dtype, seed);
  autograd::set_requires_grad(t, true);
  return t;
}

// x.grad after backward(y, w).
Tensor grad_of(const Tensor& x, const Tensor& y, const Tensor& w) {
  autograd::backward({y}, {w}, false, false);
  return autograd::grad(x);
}

}  // namespace

TEST_CASE("cat: gradient slices per input, every dim, mixed dtypes", "[grad][shape]") {
  auto cat = [](int64_t dim) {
    return [dim](const TensorList& x) { return call1("cat", x, {{"dim", dim}}); };
  };
  gradcheck("cat dim 0", cat(0), {rnd({1, 3}, 1), rnd({2, 3}, 2), rnd({3, 3}, 3)});
  gradcheck("cat dim 1", cat(1), {rnd({2, 1}, 4), rnd({2, 4}, 5), rnd({2, 2}, 6)});
  gradcheck("cat dim -1", cat(-1), {rnd({2, 2, 1}, 7), rnd({2, 2, 3}, 8)});
  gradcheck("cat with a legacy empty input", cat(1), {rnd({2, 2}, 9), rnd({0}, 10), rnd({2, 3}, 11)});
  gradcheck("cat of a tensor with itself", [](const TensorList& x) { return call1("cat", {x[0], x[0]}); },
            {rnd({2, 3}, 12)});
  gradcheck("cat non-contiguous", [](const TensorList& x) { return call1("cat", {transposed(x[0]), x[1]}); },
            {rnd({3, 2}, 13), rnd({1, 3}, 14)});
  gradcheck("cat with an integer input", cat(0), {rnd({2, 3}, 15), random_tensor({1, 3}, DType::Int64, 16)});

  // float32 and float64 inputs: each gradient comes back in its input's dtype.
  Tensor a = leaf({2, 2}, 17, DType::Float32), b = leaf({1, 2}, 18);
  Tensor y = call1("cat", {a, b});
  REQUIRE(y.dtype() == DType::Float64);
  Tensor w = rnd({3, 2}, 19);
  autograd::backward({y}, {w}, false, false);
  CHECK(autograd::grad(a).dtype() == DType::Float32);
  CHECK(autograd::grad(b).dtype() == DType::Float64);
  const auto wv = values(w);
  check_values(autograd::grad(a), {wv.begin(), wv.begin() + 4}, 1e-7, 0);
  check_values(autograd::grad(b), {wv.begin() + 4, wv.end()}, 0, 0);
}

TEST_CASE("stack: gradient selects per input", "[grad][shape]") {
  for (int64_t dim : {0, 1, 2, -1}) {
    INFO("dim " << dim);
    gradcheck("stack", [dim](const TensorList& x) { return call1("stack", x, {{"dim", dim}}); },
              {rnd({2, 3}, 1), rnd({2, 3}, 2), rnd({2, 3}, 3)});
  }
  gradcheck("stack non-contiguous", [](const TensorList& x) { return call1("stack", {transposed(x[0]), x[1]}, {{"dim", 1}}); },
            {rnd({3, 2}, 4), rnd({2, 3}, 5)});
}

TEST_CASE("split and chunk: gradient is the pieces' gradients side by side", "[grad][shape]") {
  // Pieces left unused get zeros.
  gradcheck("split 2", [](const TensorList& x) {
    TensorList p = call("split", {x[0]}, {{"split_size", {2}}});
    return call1("cat", {p[2], p[0]});
  }, {rnd({5, 3}, 1)});
  gradcheck("split sizes dim 1", [](const TensorList& x) {
    TensorList p = call("split", {x[0]}, {{"split_size", {1, 3}}, {"dim", 1}});
    return call1("cat", {p[1], call1("mul", {p[0], p[0]})}, {{"dim", 1}});
  }, {rnd({2, 4}, 2)});
  gradcheck("chunk dim -1 non-contiguous", [](const TensorList& x) {
    TensorList p = call("chunk", {transposed(x[0])}, {{"chunks", 3}, {"dim", -1}});
    return call1("cat", {p[1], p[2]}, {{"dim", -1}});
  }, {rnd({7, 2}, 3)});

  Tensor x = leaf({4}, 4);
  TensorList p = call("split", {x}, {{"split_size", {2}}});
  Tensor ones = call1("ones", {}, {{"size", {2}}, {"dtype", DType::Float64}});
  check_values(grad_of(x, p[1], ones), {0, 0, 1, 1}, 0, 0);
}

TEST_CASE("tril, triu, flip and roll send the gradient through the same op", "[grad][shape]") {
  for (int64_t diagonal : {0, 1, -1}) {
    INFO("diagonal " << diagonal);
    gradcheck("tril", [diagonal](const TensorList& x) { return call1("tril", {x[0]}, {{"diagonal", diagonal}}); },
              {rnd({3, 4}, 1)});
    gradcheck("triu batched", [diagonal](const TensorList& x) { return call1("triu", {x[0]}, {{"diagonal", diagonal}}); },
              {rnd({2, 3, 3}, 2)});
  }
  gradcheck("triu non-contiguous", [](const TensorList& x) { return call1("triu", {transposed(x[0])}); }, {rnd({4, 3}, 3)});
  for (const std::vector<int64_t>& dims : std::vector<std::vector<int64_t>>{{0}, {0, 1}, {-1}, {}}) {
    INFO("flip dims " << dims.size());
    gradcheck("flip", [dims](const TensorList& x) { return call1("flip", {x[0]}, {{"dims", dims}}); }, {rnd({3, 4}, 4)});
  }
  gradcheck("roll dim 0", [](const TensorList& x) { return call1("roll", {x[0]}, {{"shifts", {1}}, {"dims", {0}}}); },
            {rnd({3, 4}, 5)});
  gradcheck("roll two dims", [](const TensorList& x) {
    return call1("roll", {x[0]}, {{"shifts", {2, -1}}, {"dims", {0, 1}}});
  }, {rnd({3, 4}, 6)});
  gradcheck("roll flattened non-contiguous", [](const TensorList& x) {
    return call1("roll", {transposed(x[0])}, {{"shifts", {5}}});
  }, {rnd({4, 3}, 7)});
}

TEST_CASE("repeat: gradient sums over the repeated blocks", "[grad][shape]") {
  for (const std::vector<int64_t>& repeats : std::vector<std::vector<int64_t>>{{2, 1, 3}, {1, 1}, {3, 2}, {2, 0}}) {
    INFO("repeats " << shape_str(repeats));
    gradcheck("repeat", [repeats](const TensorList& x) { return call1("repeat", {x[0]}, {{"repeats", repeats}}); },
              {rnd({2, 3}, 1)});
  }
  gradcheck("repeat 1-d to 2-d", [](const TensorList& x) { return call1("repeat", {x[0]}, {{"repeats", {2, 2}}}); },
            {rnd({3}, 2)});
  gradcheck("repeat non-contiguous", [](const TensorList& x) {
    return call1("repeat", {transposed(x[0])}, {{"repeats", {2, 2}}});
  }, {rnd({3, 2}, 3)});

  Tensor x = leaf({2}, 4);
  Tensor w = from_values({1, 2, 3, 4, 5, 6}, {6});
  check_values(grad_of(x, call1("repeat", {x}, {{"repeats", {3}}}), w), {1 + 3 + 5, 2 + 4 + 6}, 0, 0);
}

TEST_CASE("to_device sends the gradient back to the input's device", "[grad][shape]") {
  gradcheck("to_device cpu", [](const TensorList& x) { return call1("to_device", {x[0]}, {{"device", Device{}}}); },
            {rnd({2, 3}, 1)});
}

TEST_CASE("dropout: gradient is grad * mask / (1 - p), exactly", "[grad][random]") {
  auto dropout = [](double p, bool train) {
    return [p, train](const TensorList& x) {
      return call1("dropout", {x[0]}, {{"p", p}, {"train", train}, {"generator", std::make_shared<Generator>(5)}});
    };
  };
  for (double p : {0.0, 0.4, 1.0}) {
    INFO("p " << p);
    gradcheck("dropout", dropout(p, true), {rnd({4, 5}, 1)});
    gradcheck("dropout eval", dropout(p, false), {rnd({4, 5}, 2)});
  }
  gradcheck("dropout non-contiguous", [](const TensorList& x) {
    return call1("dropout", {transposed(x[0])}, {{"p", 0.3}, {"generator", std::make_shared<Generator>(6)}});
  }, {rnd({5, 4}, 3)});

  // Zero inputs still pass their gradient where they were kept (a mask recomputed from the output
  // would miss them), and float32 gets exactly the forward's scale.
  Tensor x = call1("zeros", {}, {{"size", {1000}}, {"dtype", DType::Float32}});
  autograd::set_requires_grad(x, true);
  TensorList out = call("dropout", {x}, {{"p", 0.3}, {"generator", std::make_shared<Generator>(7)}});
  Tensor w = random_tensor({1000}, DType::Float32, 8);
  Tensor gx = grad_of(x, out[0], w);
  const float scale = 1.0f / static_cast<float>(1 - 0.3);
  const auto mask = values(out[1]), wv = values(w), gv = values(gx);
  int64_t kept = 0;
  for (int64_t i = 0; i < 1000; ++i) {
    kept += mask[i] != 0;
    REQUIRE(gv[i] == (mask[i] != 0 ? static_cast<double>(static_cast<float>(wv[i]) * scale) : 0.0));
  }
  CHECK(kept > 600);
  CHECK(kept < 800);
  CHECK_FALSE(autograd::requires_grad(out[1]));
}

TEST_CASE("shape ops: double backward", "[grad][shape][double]") {
  gradgradcheck("cat", [](const TensorList& x) { return call1("cat", {x[0], call1("mul", {x[0], x[0]})}); }, {rnd({2, 3}, 1)});
  gradgradcheck("stack", [](const TensorList& x) {
    Tensor s = call1("stack", {x[0], call1("mul", {x[0], x[0]})}, {{"dim", 1}});
    return call1("mul", {s, s});
  }, {rnd({2, 3}, 2)});
  gradgradcheck("split", [](const TensorList& x) {
    TensorList p = call("split", {x[0]}, {{"split_size", {2}}});
    return call1("mul", {p[0], p[1]});
  }, {rnd({4, 3}, 3)});
  gradgradcheck("flip roll tril", [](const TensorList& x) {
    Tensor t = call1("flip", {call1("tril", {x[0]})}, {{"dims", {0}}});
    return call1("mul", {call1("roll", {t}, {{"shifts", {1}}, {"dims", {1}}}), x[0]});
  }, {rnd({3, 3}, 4)});
}

TEST_CASE("creation and random ops are marked not differentiable", "[grad][shape]") {
  for (const char* op : {"empty", "zeros", "ones", "full", "arange", "linspace", "eye", "rand", "randn", "randint",
                         "randperm", "bernoulli", "bernoulli_p", "argsort", "nonzero", "one_hot"}) {
    INFO(op);
    CHECK(Registry::instance().get(op).grad_state == GradState::NotDifferentiable);
  }
  for (const char* op : {"cat", "stack", "split", "chunk", "tril", "triu", "repeat", "flip", "roll", "to_device", "dropout",
                         "gather", "scatter", "scatter_value", "scatter_add", "index_select", "index_add", "index", "index_put",
                         "masked_fill", "masked_select", "sort", "topk", "embedding", "embedding_backward"}) {
    INFO(op);
    CHECK(Registry::instance().get(op).grad_state == GradState::Formula);
  }
  Tensor x = leaf({3}, 1);
  CHECK_FALSE(autograd::requires_grad(call1("bernoulli", {call1("sigmoid", {x})})));
}

TEST_CASE("an in-place change of a split piece reaches the input", "[grad][shape]") {
  Tensor x = from_values({1, 2, 3, 4}, {4});
  autograd::set_requires_grad(x, true);
  Tensor y = call1("mul", {x, Tensor::wrap_scalar(1.0, DType::Float64)});
  TensorList p = call("chunk", {y}, {{"chunks", 2}});
  call_inplace("mul", {p[0], Tensor::wrap_scalar(2.0, DType::Float64)});  // y[:2] *= 2
  Tensor tail = call1("narrow", {x}, {{"dim", 0}, {"start", 2}, {"length", 2}});
  call_inplace("add", {p[1], call1("mul", {tail, tail})});  // y[2:] += x[2:] ** 2
  check_values(y, {2, 4, 3 + 9, 4 + 16}, 0, 0);
  autograd::backward({y}, {from_values({1, 1, 1, 1}, {4})}, false, false);
  check_values(autograd::grad(x), {2, 2, 1 + 6, 1 + 8}, 0, 0);
}
