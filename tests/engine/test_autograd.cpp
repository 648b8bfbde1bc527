// The autograd engine: recording, accumulation, retain_graph, hooks, autograd::grad with
// create_graph, in-place rules (leaf check, version counter, in-place through views) and the
// errors PyTorch gives for each misuse.
#include "engine/autograd/record.hpp"
#include "gradcheck.hpp"

using namespace terra;
using namespace terra::test;

namespace {

Tensor leaf(const Shape& shape, uint64_t seed, DType dtype = DType::Float64) {
  Tensor t = random_tensor(shape, dtype, seed);
  autograd::set_requires_grad(t, true);
  return t;
}

}  // namespace

TEST_CASE("backward accumulates into leaves through broadcasting", "[autograd]") {
  Tensor a = leaf({2, 3}, 1), b = leaf({3}, 2);
  Tensor y = call1("mul", {call1("add", {a, b}), a});  // (a + b) * a
  Tensor w = random_tensor({2, 3}, DType::Float64, 3);
  autograd::backward({y}, {w}, false, false);
  for (int64_t i = 0; i < 6; ++i) {
    double av = get(a, i), bv = get(b, i % 3), wv = get(w, i);
    CHECK(get(autograd::grad(a), i) == Approx(wv * (2 * av + bv)));
  }
  for (int64_t j = 0; j < 3; ++j) {
    double expect = get(w, j) * get(a, j) + get(w, 3 + j) * get(a, 3 + j);
    CHECK(get(autograd::grad(b), j) == Approx(expect));
  }
  // A second backward through a new graph adds to .grad.
  Tensor before = call1("clone", {autograd::grad(b)});
  autograd::backward({call1("mul", {b, Tensor::wrap_scalar(2.0, DType::Float64)})}, {random_tensor({3}, DType::Float64, 9)}, false, false);
  CHECK(get(autograd::grad(b), 0) != Approx(get(before, 0)));
}

TEST_CASE("gradient checks of the first formulas", "[autograd][gradcheck]") {
  gradcheck("add alpha", [](const TensorList& x) { return call1("add", {x[0], x[1]}, {{"alpha", 2.5}}); },
            {random_tensor({2, 3}, DType::Float64, 1), random_tensor({1, 3}, DType::Float64, 2)});
  gradcheck("sub", [](const TensorList& x) { return call1("sub", {x[0], x[1]}); },
            {random_tensor({4}, DType::Float64, 3), random_tensor({2, 4}, DType::Float64, 4)});
  gradcheck("mul", [](const TensorList& x) { return call1("mul", {x[0], x[1]}); },
            {random_tensor({2, 3}, DType::Float64, 5), random_tensor({3}, DType::Float64, 6)});
  gradcheck("views", [](const TensorList& x) {
    Tensor t = call1("transpose", {x[0]}, {{"dim0", 0}, {"dim1", 1}});
    t = call1("slice", {t}, {{"dim", 0}, {"start", 1}, {"end", 4}, {"step", 2}});
    t = call1("unsqueeze", {call1("select", {t}, {{"dim", 1}, {"index", 1}})}, {{"dim", 0}});
    return call1("mul", {call1("expand", {t}, {{"size", {3, 2}}}), x[1]});
  }, {random_tensor({3, 4}, DType::Float64, 7), random_tensor({3, 2}, DType::Float64, 8)});
  gradcheck("permute reshape", [](const TensorList& x) {
    Tensor t = call1("permute", {x[0]}, {{"dims", {2, 0, 1}}});
    return call1("reshape", {call1("contiguous", {t})}, {{"shape", {4, 6}}});
  }, {random_tensor({2, 3, 4}, DType::Float64, 9)});
  gradcheck("as_strided", [](const TensorList& x) {
    return call1("as_strided", {x[0]}, {{"size", {2, 2}}, {"stride", {1, 3}}, {"storage_offset", 1}});
  }, {random_tensor({3, 3}, DType::Float64, 10)});
  gradcheck("to_dtype", [](const TensorList& x) {
    return call1("to_dtype", {call1("to_dtype", {x[0]}, {{"dtype", DType::Float32}})}, {{"dtype", DType::Float64}});
  }, {random_tensor({5}, DType::Float64, 11)}, {1e-3, 1e-3, 1e-3, {}});
}

TEST_CASE("retain_graph and the second-backward error", "[autograd][errors]") {
  Tensor a = leaf({3}, 1);
  Tensor y = call1("mul", {a, a});
  autograd::backward({y}, {random_tensor({3}, DType::Float64, 2)}, true, false);
  autograd::backward({y}, {random_tensor({3}, DType::Float64, 3)}, false, false);
  require_error([&] { autograd::backward({y}, {random_tensor({3}, DType::Float64, 4)}, false, false); },
                ErrorKind::Runtime, {"backward through the graph a second time", "retain_graph=True"});
}

TEST_CASE("backward errors match PyTorch's", "[autograd][errors]") {
  Tensor a = random_tensor({3}, DType::Float64, 1);
  require_error([&] { autograd::backward({a}, {}, false, false); }, ErrorKind::Runtime, {"does not require grad"});
  Tensor b = leaf({3}, 2);
  Tensor y = call1("mul", {b, b});
  require_error([&] { autograd::backward({y}, {}, false, false); }, ErrorKind::Runtime, {"only for scalar outputs"});
  require_error([&] { autograd::set_requires_grad(random_tensor({2}, DType::Int64, 3), true); }, ErrorKind::Runtime,
                {"floating point"});
  require_error([&] { autograd::set_requires_grad(y, false); }, ErrorKind::Runtime, {"leaf variables"});
}

TEST_CASE("in-place rules: leaves, saved tensors, views", "[autograd][inplace]") {
  Tensor a = leaf({3}, 1);
  require_error([&] { call_inplace("add", {a, random_tensor({3}, DType::Float64, 2)}); }, ErrorKind::Runtime,
                {"leaf Variable that requires grad"});
  {
    GradModeGuard no_grad(false);
    call_inplace("add", {a, random_tensor({3}, DType::Float64, 2)});  // allowed (optimizer updates)
  }
  Tensor b = call1("mul", {a, Tensor::wrap_scalar(1.0, DType::Float64)});
  Tensor c = call1("mul", {b, b});           // saves b
  call_inplace("add", {b, Tensor::wrap_scalar(1.0, DType::Float64)});  // changes it
  require_error([&] { autograd::backward({c}, {random_tensor({3}, DType::Float64, 3)}, false, false); },
                ErrorKind::Runtime, {"modified by an inplace operation", "expected version"});

  // In-place through a view of a tensor that did not require grad: buf[1] = h.
  Tensor h = leaf({2}, 4);
  Tensor buf = call1("zeros", {}, {{"size", {3, 2}}, {"dtype", DType::Float64}});
  Tensor row = call1("select", {buf}, {{"dim", 0}, {"index", 1}});
  call_inplace("copy_", {row, call1("mul", {h, h})});
  REQUIRE(autograd::requires_grad(buf));
  Tensor w = random_tensor({3, 2}, DType::Float64, 5);
  autograd::backward({buf}, {w}, false, false);
  for (int64_t j = 0; j < 2; ++j) CHECK(get(autograd::grad(h), j) == Approx(2 * get(h, j) * get(w, 2 + j)));

  // An in-place op with a grad-requiring operand on a plain tensor: x.mul_(h) gives h the old x.
  Tensor x = random_tensor({2}, DType::Float64, 6);
  Tensor x0 = call1("clone", {x});
  Tensor h2 = leaf({2}, 7);
  call_inplace("mul", {x, h2});
  autograd::backward({x}, {call1("ones", {}, {{"size", {2}}, {"dtype", DType::Float64}})}, false, false);
  for (int64_t j = 0; j < 2; ++j) CHECK(get(autograd::grad(h2), j) == Approx(get(x0, j)));
}

TEST_CASE("autograd::grad, create_graph and hooks", "[autograd]") {
  Tensor a = leaf({3}, 1);
  Tensor y = call1("mul", {call1("mul", {a, a}), a});  // a^3
  Tensor ones = call1("ones", {}, {{"size", {3}}, {"dtype", DType::Float64}});
  TensorList g = autograd::grad({y}, {a}, {ones}, true, true, false);  // 3a^2, with history
  REQUIRE(autograd::requires_grad(g[0]));
  TensorList gg = autograd::grad({g[0]}, {a}, {ones}, false, false, false);  // 6a
  for (int64_t j = 0; j < 3; ++j) {
    CHECK(get(g[0], j) == Approx(3 * get(a, j) * get(a, j)));
    CHECK(get(gg[0], j) == Approx(6 * get(a, j)));
  }
  CHECK(!autograd::grad(a).defined());  // grad() never touches .grad

  Tensor b = leaf({2}, 2);
  Tensor mid = call1("mul", {b, b});
  int calls = 0;
  autograd::register_hook(mid, [&](const Tensor& gr) {
    ++calls;
    return call1("mul", {gr, Tensor::wrap_scalar(10.0, DType::Float64)});
  });
  autograd::retain_grad(mid);
  Tensor out = call1("mul", {mid, Tensor::wrap_scalar(1.0, DType::Float64)});
  autograd::backward({out}, {call1("ones", {}, {{"size", {2}}, {"dtype", DType::Float64}})}, false, false);
  CHECK(calls == 1);
  CHECK(get(autograd::grad(mid), 0) == Approx(10.0));
  CHECK(get(autograd::grad(b), 1) == Approx(20.0 * get(b, 1)));
  CHECK(autograd::grad_fn(mid)->name() == "MulBackward0");
}

TEST_CASE("no_grad records nothing; integer outputs never require grad", "[autograd]") {
  Tensor a = leaf({3}, 1);
  {
    GradModeGuard no_grad(false);
    CHECK(!autograd::requires_grad(call1("mul", {a, a})));
  }
  CHECK(!autograd::requires_grad(call1("gt", {a, a})));
  CHECK(autograd::requires_grad(call1("mul", {a, a})));
}

TEST_CASE("gradients of the remaining view ops and of fill_ through a view", "[autograd][gradcheck]") {
  gradcheck("view flatten squeeze alias", [](const TensorList& x) {
    Tensor t = call1("view", {x[0]}, {{"size", {2, 1, 3}}});
    t = call1("squeeze", {t}, {{"dim", {1}}});
    t = call1("flatten", {call1("alias", {t})});
    return call1("mul", {t, t});
  }, {random_tensor({6}, DType::Float64, 1)});
  // y = 2x with row 0 overwritten by 3: row 0 gets no gradient, row 1 gets 2.
  gradcheck("fill_ through a view", [](const TensorList& x) {
    Tensor y = call1("mul", {x[0], Tensor::wrap_scalar(2.0, DType::Float64)});
    call("fill_", {call1("select", {y}, {{"dim", 0}, {"index", 0}})}, {{"value", 3.0}});
    return y;
  }, {random_tensor({2, 3}, DType::Float64, 2)});
}
