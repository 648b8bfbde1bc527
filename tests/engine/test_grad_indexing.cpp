// Gradients of the indexing ops (gather, scatter, scatter_value, scatter_add, index_select,
// index_add, index, index_put, masked_fill, masked_select), sort and topk, embedding and
// embedding_backward: gradcheck over dims, index layouts (duplicates where the op sums them,
// negative indices, ':' dims, bool masks), broadcasting and non-contiguous inputs, a few values
// worked out by hand, and double backward.
#include "grad_checks.hpp"

using namespace terra;
using namespace terra::test;

namespace {

Tensor rnd(const Shape& shape, uint64_t seed) { return random_tensor(shape, DType::Float64, seed); }
Tensor ints(const std::vector<double>& v, const Shape& shape, DType dtype = DType::Int64) {
  return from_values(v, shape, dtype);
}
// Indices in [0, hi], duplicates likely.
Tensor random_index(const Shape& shape, int64_t hi, uint64_t seed) {
  return random_tensor(shape, DType::Int64, seed, 0, static_cast<double>(hi), false);
}
Tensor mask_of(const Shape& shape, uint64_t seed) { return random_tensor(shape, DType::Bool, seed); }
Tensor transposed(const Tensor& x) { return call1("transpose", {x}, {{"dim0", 0}, {"dim1", 1}}); }

// x.grad after backward(op(x), w), for a fresh leaf x with these values.
Tensor grad_through(const std::vector<double>& xv, const Shape& shape, const std::function<Tensor(const Tensor&)>& op,
                    const std::vector<double>& wv) {
  Tensor x = from_values(xv, shape);
  autograd::set_requires_grad(x, true);
  Tensor y = op(x);
  autograd::backward({y}, {from_values(wv, y.shape())}, false, false);
  return autograd::grad(x);
}

}  // namespace

TEST_CASE("gather: gradient scatter-added into zeros", "[grad][indexing]") {
  auto gather = [](int64_t dim, Tensor index) {
    return [dim, index](const TensorList& x) { return call1("gather", {x[0], index}, {{"dim", dim}}); };
  };
  gradcheck("gather dim 0", gather(0, random_index({2, 4}, 2, 1)), {rnd({3, 4}, 2)});
  gradcheck("gather dim 1", gather(1, random_index({3, 6}, 3, 3)), {rnd({3, 4}, 4)});
  gradcheck("gather dim -1 smaller index", gather(-1, random_index({2, 2}, 3, 5)), {rnd({3, 4}, 6)});
  gradcheck("gather non-contiguous", [](const TensorList& x) {
    return call1("gather", {transposed(x[0]), random_index({3, 4}, 2, 7)}, {{"dim", 1}});
  }, {rnd({3, 3}, 8)});
  gradcheck("gather 0-d", gather(0, ints({0}, {})), {rnd({}, 9)});
  // Duplicates add up.
  check_values(grad_through({5, 6, 7}, {3}, [](const Tensor& x) { return call1("gather", {x, ints({0, 0, 2}, {3})}, {{"dim", 0}}); },
                            {1, 2, 3}),
               {3, 0, 3}, 0, 0);
}

TEST_CASE("scatter, scatter_value, scatter_add: gradients of self and src", "[grad][indexing]") {
  const Tensor rows = ints({0, 1, 2, 0, 1, 2, 0, 1, 1, 2}, {2, 5});  // distinct along dim 0 in each column
  const Tensor cols = ints({0, 3, 2, 1, 1, 0}, {3, 2});              // distinct along dim 1 in each row
  auto scatter = [](const char* op, int64_t dim, Tensor index) {
    return [op, dim, index](const TensorList& x) { return call1(op, {x[0], index, x[1]}, {{"dim", dim}}); };
  };
  gradcheck("scatter dim 0", scatter("scatter", 0, rows), {rnd({3, 5}, 1), rnd({2, 5}, 2)});
  gradcheck("scatter larger src", scatter("scatter", 0, rows), {rnd({3, 5}, 3), rnd({3, 6}, 4)});
  gradcheck("scatter dim 1", scatter("scatter", 1, cols), {rnd({3, 4}, 5), rnd({3, 3}, 6)});
  gradcheck("scatter non-contiguous", [&](const TensorList& x) {
    return call1("scatter", {transposed(x[0]), cols, transposed(x[1])}, {{"dim", -1}});
  }, {rnd({4, 3}, 7), rnd({2, 3}, 8)});
  gradcheck("scatter_value", [&](const TensorList& x) {
    return call1("scatter_value", {x[0], rows}, {{"dim", 0}, {"value", 2.5}});
  }, {rnd({3, 5}, 9)});
  const Tensor dups = random_index({4, 5}, 2, 10);
  gradcheck("scatter_add duplicates", scatter("scatter_add", 0, dups), {rnd({3, 5}, 11), rnd({4, 6}, 12)});
  gradcheck("scatter_add dim 1", scatter("scatter_add", 1, random_index({3, 5}, 3, 13)), {rnd({3, 4}, 14), rnd({3, 5}, 15)});

  // The overwritten positions of self get no gradient.
  check_values(grad_through({1, 2, 3, 4}, {4}, [](const Tensor& x) {
    return call1("scatter_value", {x, ints({3, 1}, {2})}, {{"dim", 0}, {"value", 0.0}});
  }, {1, 2, 3, 4}), {1, 0, 3, 0}, 0, 0);
}

TEST_CASE("index_select: gradient added at the selected positions", "[grad][indexing]") {
  auto select = [](int64_t dim, Tensor index) {
    return [dim, index](const TensorList& x) { return call1("index_select", {x[0], index}, {{"dim", dim}}); };
  };
  gradcheck("index_select dim 0", select(0, ints({3, 0, 3}, {3})), {rnd({4, 3}, 1)});
  gradcheck("index_select int32", select(0, ints({3, 0, 3}, {3}, DType::Int32)), {rnd({4, 3}, 2)});
  gradcheck("index_select dim -1", select(-1, ints({2, 0}, {2})), {rnd({2, 4, 3}, 3)});
  gradcheck("index_select 0-d index", select(1, ints({1}, {})), {rnd({2, 3}, 4)});
  gradcheck("index_select 1-d", select(0, ints({4, 4, 0}, {3})), {rnd({5}, 5)});
  gradcheck("index_select 0-d self", select(0, ints({0}, {})), {rnd({}, 6)});
  gradcheck("index_select non-contiguous", [](const TensorList& x) {
    return call1("index_select", {transposed(x[0]), ints({1, 1, 0}, {3})}, {{"dim", 1}});
  }, {rnd({3, 2}, 7)});
  check_values(grad_through({5, 6, 7}, {3}, [](const Tensor& x) {
    return call1("index_select", {x, ints({2, 2, 0}, {3})}, {{"dim", 0}});
  }, {1, 2, 4}), {4, 0, 3}, 0, 0);
}

TEST_CASE("index_add: self gets the gradient, source alpha times it at the indexed positions", "[grad][indexing]") {
  auto add = [](int64_t dim, Tensor index, double alpha) {
    return [=](const TensorList& x) {
      return call1("index_add", {x[0], index, x[1]}, {{"dim", dim}, {"alpha", alpha}});
    };
  };
  gradcheck("index_add dim 0 duplicates", add(0, ints({3, 0, 3}, {3}), 1), {rnd({4, 3}, 1), rnd({3, 3}, 2)});
  gradcheck("index_add alpha int32", add(0, ints({3, 0, 3}, {3}, DType::Int32), -2.5), {rnd({4, 3}, 3), rnd({3, 3}, 4)});
  gradcheck("index_add dim -1", add(-1, ints({2, 0, 0, 1}, {4}), 0.5), {rnd({2, 4, 3}, 5), rnd({2, 4, 4}, 6)});
  gradcheck("index_add 0-d index", add(1, ints({1}, {}), 2), {rnd({2, 3}, 7), rnd({2, 1}, 8)});
  gradcheck("index_add 1-d self, 0-d source", add(0, ints({4}, {1}), 3), {rnd({5}, 9), rnd({}, 10)});
  gradcheck("index_add 0-d self, 1-d source", add(0, ints({0, 0}, {2}), -1), {rnd({}, 11), rnd({2}, 12)});
  gradcheck("index_add non-contiguous", [](const TensorList& x) {
    return call1("index_add", {transposed(x[0]), ints({1, 1, 0}, {3}), transposed(x[1])}, {{"dim", 1}});
  }, {rnd({3, 2}, 13), rnd({3, 2}, 14)});
  Tensor self = grad_leaf({1, 2, 3}, {3}), src = grad_leaf({4, 5}, {2});
  Tensor y = call1("index_add", {self, ints({2, 2}, {2}), src}, {{"dim", 0}, {"alpha", 3}});
  autograd::backward({y}, {from_values({1, 2, 4}, {3})}, false, false);
  check_values(autograd::grad(self), {1, 2, 4}, 0, 0);
  check_values(autograd::grad(src), {12, 12}, 0, 0);
}

TEST_CASE("index: gradient accumulated into zeros with index_put", "[grad][indexing]") {
  auto index = [](TensorList indices) {
    return [indices](const TensorList& x) {
      TensorList args{x[0]};
      args.insert(args.end(), indices.begin(), indices.end());
      return call1("index", args);
    };
  };
  gradcheck("x[i] duplicates and negatives", index({ints({1, -1, 0, 1, 3}, {5})}), {rnd({4, 3}, 1)});
  gradcheck("x[:, i] 2-d index", index({Tensor(), ints({2, 0, 0, 1}, {2, 2})}), {rnd({4, 3, 2}, 2)});
  gradcheck("x[i, :, j] moves to the front", index({ints({3, 0}, {2}), Tensor(), ints({1, 1}, {2})}), {rnd({4, 3, 2}, 3)});
  gradcheck("x[i, j] broadcast", index({ints({0, 2}, {2, 1}), ints({1, 0, 1}, {3})}), {rnd({3, 2}, 4)});
  gradcheck("x[mask]", index({mask_of({3, 4}, 5)}), {rnd({3, 4}, 6)});
  gradcheck("x[row mask]", index({ints({1, 0, 1}, {3}, DType::Bool)}), {rnd({3, 4}, 7)});
  gradcheck("index non-contiguous", [](const TensorList& x) {
    return call1("index", {transposed(x[0]), ints({2, 0, 2}, {3})});
  }, {rnd({2, 3}, 8)});
  check_values(grad_through({5, 6, 7}, {3}, [](const Tensor& x) { return call1("index", {x, ints({1, 1, -1}, {3})}); },
                            {1, 2, 4}),
               {0, 3, 4}, 0, 0);
}

TEST_CASE("index_put: gradients of self and values", "[grad][indexing]") {
  auto put = [](TensorList indices, bool accumulate) {
    return [indices, accumulate](const TensorList& x) {
      TensorList args{x[0], x[1]};
      args.insert(args.end(), indices.begin(), indices.end());
      return call1("index_put", args, {{"accumulate", accumulate}});
    };
  };
  for (bool accumulate : {false, true}) {
    INFO("accumulate " << accumulate);
    gradcheck("index_put rows", put({ints({4, 1}, {2})}, accumulate), {rnd({5, 3}, 1), rnd({2, 3}, 2)});
    gradcheck("index_put broadcast values", put({ints({4, 1}, {2})}, accumulate), {rnd({5, 3}, 3), rnd({3}, 4)});
    gradcheck("index_put 0-d values", put({ints({0, 2}, {2}), ints({1, 1}, {2})}, accumulate), {rnd({3, 2}, 5), rnd({}, 6)});
    gradcheck("index_put [:, i]", put({Tensor(), ints({2, 0}, {2})}, accumulate), {rnd({2, 3}, 7), rnd({2, 1}, 8)});
    gradcheck("index_put mask", put({ints({1, 0, 0, 1, 1, 0}, {2, 3}, DType::Bool)}, accumulate),
              {rnd({2, 3}, 9), rnd({3}, 10)});
  }
  gradcheck("index_put accumulate duplicates", put({ints({1, 1, 3}, {3})}, true), {rnd({4, 3}, 11), rnd({3, 3}, 12)});

  // Self loses the overwritten positions; values get the gradient there, summed over broadcasting.
  Tensor self = from_values({1, 2, 3, 4}, {4}), vals = from_values({9}, {});
  autograd::set_requires_grad(self, true);
  autograd::set_requires_grad(vals, true);
  Tensor y = call1("index_put", {self, vals, ints({3, 0}, {2})});
  autograd::backward({y}, {from_values({1, 2, 4, 8}, {4})}, false, false);
  check_values(autograd::grad(self), {0, 2, 4, 0}, 0, 0);
  check_values(autograd::grad(vals), {9}, 0, 0);
}

TEST_CASE("masked_fill and masked_select: gradients through masks, with broadcasting", "[grad][indexing]") {
  auto fill = [](Tensor mask) {
    return [mask](const TensorList& x) { return call1("masked_fill", {x[0], mask}, {{"value", 1.5}}); };
  };
  auto select = [](Tensor mask) {
    return [mask](const TensorList& x) { return call1("masked_select", {x[0], mask}); };
  };
  gradcheck("masked_fill", fill(mask_of({3, 4}, 1)), {rnd({3, 4}, 2)});
  gradcheck("masked_fill broadcast mask", fill(mask_of({4}, 3)), {rnd({3, 4}, 4)});
  gradcheck("masked_fill broadcast self", fill(mask_of({3, 4}, 5)), {rnd({4}, 6)});
  gradcheck("masked_fill non-contiguous", [](const TensorList& x) {
    return call1("masked_fill", {transposed(x[0]), mask_of({3, 4}, 7)}, {{"value", -1.0}});
  }, {rnd({4, 3}, 8)});
  gradcheck("masked_select", select(mask_of({3, 4}, 9)), {rnd({3, 4}, 10)});
  gradcheck("masked_select broadcast mask", select(mask_of({4}, 11)), {rnd({3, 4}, 12)});
  gradcheck("masked_select broadcast self", select(mask_of({2, 3, 4}, 13)), {rnd({3, 1}, 14)});
  gradcheck("masked_select 0-d", select(ints({1}, {}, DType::Bool)), {rnd({}, 15)});
  gradcheck("masked_select non-contiguous", [](const TensorList& x) {
    return call1("masked_select", {transposed(x[0]), mask_of({3, 4}, 16)});
  }, {rnd({4, 3}, 17)});
  const Tensor mask = ints({0, 1, 1, 0}, {2, 2}, DType::Bool);
  check_values(grad_through({1, 2, 3, 4}, {2, 2}, [&](const Tensor& x) { return call1("masked_select", {x, mask}); }, {5, 7}),
               {0, 5, 7, 0}, 0, 0);
  check_values(grad_through({1, 2, 3, 4}, {2, 2}, [&](const Tensor& x) {
    return call1("masked_fill", {x, mask}, {{"value", 0.0}});
  }, {1, 2, 3, 4}), {1, 0, 0, 4}, 0, 0);
}

TEST_CASE("sort and topk: values' gradient goes back to where each came from", "[grad][sort]") {
  for (int64_t dim : {0, 1, -1})
    for (bool descending : {false, true}) {
      INFO("dim " << dim << " descending " << descending);
      gradcheck("sort", [=](const TensorList& x) {
        return call("sort", {x[0]}, {{"dim", dim}, {"descending", descending}})[0];
      }, {rnd({3, 5}, 1)});
      gradcheck("topk", [=](const TensorList& x) {
        return call("topk", {x[0]}, {{"k", 2}, {"dim", dim}, {"largest", descending}})[0];
      }, {rnd({3, 5}, 2)});
    }
  gradcheck("sort 0-d", [](const TensorList& x) { return call("sort", {x[0]})[0]; }, {rnd({}, 3)});
  gradcheck("topk all, non-contiguous", [](const TensorList& x) {
    return call("topk", {transposed(x[0])}, {{"k", 4}})[0];
  }, {rnd({4, 3}, 4)});
  check_values(grad_through({3, 1, 2}, {3}, [](const Tensor& x) { return call("sort", {x})[0]; }, {1, 2, 4}), {4, 1, 2}, 0, 0);
  check_values(grad_through({3, 1, 2}, {3}, [](const Tensor& x) { return call("topk", {x}, {{"k", 2}})[0]; }, {1, 2}),
               {1, 0, 2}, 0, 0);
  Tensor x = rnd({4}, 5);
  autograd::set_requires_grad(x, true);
  TensorList s = call("sort", {x});
  CHECK(autograd::requires_grad(s[0]));
  CHECK_FALSE(autograd::requires_grad(s[1]));
}

TEST_CASE("embedding: weight gradient with padding_idx and scale_grad_by_freq", "[grad][embedding]") {
  const Tensor indices = ints({1, 4, 1, 2, 5, 1, 2, 0}, {2, 4});
  auto embed = [](const Tensor& idx, int64_t padding_idx) {
    return [=](const TensorList& x) { return call1("embedding", {x[0], idx}, {{"padding_idx", padding_idx}}); };
  };
  // padding_idx is no derivative either where it occurs (its row is used but gets no gradient):
  // gradcheck covers a padding_idx that does not occur, the values below one that does.
  for (int64_t padding_idx : {-1, 3}) {
    INFO("padding_idx " << padding_idx);
    gradcheck("embedding", embed(indices, padding_idx), {rnd({6, 3}, 1)});
    gradcheck("embedding int32 0-d", embed(ints({4}, {}, DType::Int32), padding_idx), {rnd({6, 3}, 2)});
  }
  gradcheck("embedding non-contiguous weight", [&](const TensorList& x) {
    return call1("embedding", {transposed(x[0]), indices});
  }, {rnd({3, 6}, 3)});

  // scale_grad_by_freq is no derivative (each row's sum is divided by its index's count), so it is
  // checked by value: rows 1 and 1 average; the padding row gets nothing.
  check_values(grad_through({0, 0, 0, 0, 0, 0, 0, 0}, {4, 2}, [](const Tensor& w) {
    return call1("embedding", {w, ints({1, 1, 3, 2}, {4})}, {{"padding_idx", 3}, {"scale_grad_by_freq", true}});
  }, {1, 2, 3, 4, 5, 6, 7, 8}), {0, 0, 2, 3, 7, 8, 0, 0}, 0, 0);

  // embedding_backward is linear in grad, so its own gradient (double backward of embedding) is a
  // true derivative in every variant.
  for (int64_t padding_idx : {-1, 2})
    for (bool scale : {false, true}) {
      INFO("padding_idx " << padding_idx << " scale " << scale);
      gradcheck("embedding_backward", [=](const TensorList& x) {
        return call1("embedding_backward", {x[0], indices},
                     {{"num_weights", 6}, {"padding_idx", padding_idx}, {"scale_grad_by_freq", scale}});
      }, {rnd({2, 4, 3}, 4)});
    }
}

TEST_CASE("indexing ops: double backward", "[grad][indexing][double]") {
  const Tensor rows = ints({0, 1, 2, 0, 1, 2, 0, 1, 1, 2}, {2, 5});
  gradgradcheck("gather", [](const TensorList& x) {
    Tensor g = call1("gather", {x[0], ints({0, 2, 2, 1}, {2, 2})}, {{"dim", 1}});
    return call1("mul", {g, call1("narrow", {x[0]}, {{"dim", 1}, {"start", 0}, {"length", 2}})});
  }, {rnd({2, 3}, 1)});
  gradgradcheck("scatter src", [&](const TensorList& x) {
    return call1("scatter", {x[0], rows, call1("mul", {x[1], x[1]})}, {{"dim", 0}});
  }, {rnd({3, 5}, 2), rnd({2, 5}, 3)}, 1);
  gradgradcheck("scatter self", [&](const TensorList& x) {
    return call1("scatter", {call1("mul", {x[0], x[0]}), rows, x[1]}, {{"dim", 0}});
  }, {rnd({3, 5}, 4), rnd({2, 5}, 5)}, 0);
  gradgradcheck("scatter_add", [&](const TensorList& x) {
    return call1("mul", {call1("scatter_add", {x[0], rows, x[1]}, {{"dim", 0}}), x[0]});
  }, {rnd({3, 5}, 6), rnd({3, 5}, 7)}, 1);
  gradgradcheck("index_select", [](const TensorList& x) {
    Tensor s = call1("index_select", {x[0], ints({1, 1, 0}, {3})}, {{"dim", 0}});
    return call1("mul", {s, s});
  }, {rnd({2, 3}, 8)});
  gradgradcheck("index_add", [](const TensorList& x) {
    Tensor s = call1("index_add", {x[0], ints({1, 1, 0}, {3}), call1("mul", {x[1], x[1]})}, {{"dim", 1}, {"alpha", 1.5}});
    return call1("mul", {s, s});
  }, {rnd({2, 2}, 17), rnd({2, 3}, 18)}, 1);
  gradgradcheck("index", [](const TensorList& x) {
    Tensor s = call1("index", {x[0], ints({1, 0, 1}, {3}, DType::Bool), ints({2, 0}, {2})});
    return call1("mul", {s, s});
  }, {rnd({3, 3}, 9)});
  gradgradcheck("index_put values", [](const TensorList& x) {
    return call1("index_put", {x[0], call1("mul", {x[1], x[1]}), ints({2, 0}, {2})});
  }, {rnd({3, 2}, 10), rnd({2, 2}, 11)}, 1);
  gradgradcheck("index_put self", [](const TensorList& x) {
    return call1("index_put", {call1("mul", {x[0], x[0]}), x[1], ints({2, 0}, {2})});
  }, {rnd({3, 2}, 12), rnd({2, 2}, 13)}, 0);
  gradgradcheck("masked_fill masked_select", [](const TensorList& x) {
    Tensor m = ints({1, 0, 0, 1, 1, 0}, {2, 3}, DType::Bool);
    Tensor f = call1("masked_fill", {call1("mul", {x[0], x[0]}), m}, {{"value", 2.0}});
    return call1("masked_select", {f, call1("logical_not", {m})});
  }, {rnd({2, 3}, 14)});
  gradgradcheck("sort topk", [](const TensorList& x) {
    Tensor s = call("sort", {call1("mul", {x[0], x[0]})}, {{"dim", 0}})[0];
    return call("topk", {s}, {{"k", 2}})[0];
  }, {rnd({3, 4}, 15)});
  gradgradcheck("embedding", [](const TensorList& x) {
    Tensor e = call1("embedding", {x[0], ints({1, 3, 1, 0}, {2, 2})}, {{"padding_idx", 0}});
    return call1("mul", {e, e});
  }, {rnd({4, 3}, 16)});
}

TEST_CASE("in-place indexing ops record their gradients", "[grad][indexing]") {
  Tensor x = from_values({1, 2, 3, 4}, {4}), v = from_values({10, 20}, {2});
  autograd::set_requires_grad(x, true);
  autograd::set_requires_grad(v, true);
  Tensor y = call1("mul", {x, Tensor::wrap_scalar(3.0, DType::Float64)});
  call_inplace("index_put", {y, call1("mul", {v, v}), ints({0, 2}, {2})});  // y[[0, 2]] = v * v
  call_inplace("masked_fill", {y, ints({0, 1, 0, 0}, {4}, DType::Bool)}, {{"value", 0.0}});
  call_inplace("scatter_add", {y, ints({3}, {1}), call1("narrow", {v}, {{"dim", 0}, {"start", 1}, {"length", 1}})},
               {{"dim", 0}});  // y[3] += v[1]
  check_values(y, {100, 0, 400, 32}, 0, 0);
  autograd::backward({y}, {from_values({1, 2, 4, 8}, {4})}, false, false);
  check_values(autograd::grad(x), {0, 0, 0, 24}, 0, 0);
  check_values(autograd::grad(v), {2 * 10 * 1, 2 * 20 * 4 + 8}, 0, 0);
}
