// CUDA case tables of the ops that move elements: indexing (kernels/cuda/indexing.cu), shape ops,
// padding and nearest upsampling (shape_ops.cu), ranges (ranges.cu), sort and topk (sort.cu).
// Index values out of range raise IndexError on both devices (Note [Data checks on CUDA]).
// Overwriting ops (scatter, index_put without accumulate) get indices without duplicates: which
// duplicate wins is unspecified on CUDA.
#include <algorithm>
#include <numeric>

#include "cuda_cases.hpp"

using namespace terra;
using namespace terra::test;

namespace {

Input values_input(const std::vector<double>& v, const Shape& shape, DType dt) {
  return {from_values(v, shape, dt), nullptr, "values"};
}

// An int64 index of `shape` whose values along `dim` are distinct, in [0, bound) (bound >= shape[dim]).
Input distinct_indices(const Shape& shape, int64_t dim, int64_t bound, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const int64_t n = shape[dim], inner = std::accumulate(shape.begin() + dim + 1, shape.end(), int64_t{1},
                                                        std::multiplies<int64_t>());
  std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
  std::vector<int64_t> perm(bound);
  for (int64_t outer = 0; outer < shape_numel(shape) / (n * inner); ++outer) {
    for (int64_t k = 0; k < inner; ++k) {
      std::iota(perm.begin(), perm.end(), int64_t{0});
      std::shuffle(perm.begin(), perm.end(), rng);
      for (int64_t j = 0; j < n; ++j) v[(outer * n + j) * inner + k] = static_cast<double>(perm[j]);
    }
  }
  return {from_values(v, shape, DType::Int64), nullptr, "distinct indices"};
}

Input indices32(const Shape& shape, int64_t bound, uint64_t seed) {
  Input in = indices(shape, bound, seed);
  in.base = call1("to_dtype", {in.base}, {{"dtype", DType::Int32}});
  return in;
}

Scalar value_for(DType dt) { return dt == DType::Bool ? Scalar(true) : Scalar(int64_t{3}); }

std::vector<Case> indexing_cases() {
  std::vector<Case> cases;
  uint64_t seed = 20000;
  const Shape shape{4, 5, 6};
  for (DType dt : kAllDTypes) {
    for (Input& x : layouts(shape, dt, seed)) {
      cases.push_back({"index_select", {x, indices({7}, 5, seed++)}, {{"dim", 1}}});
      cases.push_back({"gather", {x, indices({4, 3, 6}, 5, seed++)}, {{"dim", 1}}});
      cases.push_back({"masked_fill", {x, contiguous({5, 6}, DType::Bool, seed++)}, {{"value", value_for(dt)}}});
      cases.push_back({"masked_select", {x, strided({5, 6}, DType::Bool, seed++)}});
      cases.push_back({"nonzero", {x}});
      cases.push_back({"index", {x, indices({3}, 4, seed++)}});
      cases.push_back({"index", {x, none(), indices({2, 3}, 5, seed++)}});
      cases.push_back({"index", {x, indices({3}, 4, seed++), none(), indices({3}, 6, seed++)}});  // dims move first
      cases.push_back({"index", {x, contiguous({4, 5}, DType::Bool, seed++)}});
      cases.push_back({"index", {x, none(), contiguous({5}, DType::Bool, seed++), indices({1}, 6, seed++)}});
    }
    cases.push_back({"index_select", {contiguous(shape, dt, seed++), indices32({9}, 4, seed++)}, {{"dim", 0}}});
    cases.push_back({"index_select", {contiguous(shape, dt, seed++), indices({}, 6, seed++)}, {{"dim", -1}}});
    cases.push_back({"index_select", {contiguous({}, dt, seed++), values_input({0, 0}, {2}, DType::Int64)}, {{"dim", 0}}});
    cases.push_back({"gather", {transposed(shape, dt, seed++), indices({2, 5, 3}, 6, seed++)}, {{"dim", -1}}});
    cases.push_back({"gather", {contiguous({}, dt, seed++), values_input({0}, {}, DType::Int64)}, {{"dim", 0}}});
    cases.push_back({"index", {contiguous(shape, dt, seed++), values_input({-1, 0, -4, 3}, {4}, DType::Int64)}});
    cases.push_back({"index", {contiguous({0, 3}, dt, seed++), none(), indices({2}, 3, seed++)}});
    cases.push_back({"nonzero", {contiguous({}, dt, seed++)}});
    cases.push_back({"nonzero", {contiguous({0, 3}, dt, seed++)}});
    cases.push_back({"nonzero", {contiguous({3000}, dt, seed++, 0, 1)}});  // several scan tiles
    cases.push_back({"masked_select", {contiguous({5, 6}, dt, seed++), contiguous({4, 1, 6}, DType::Bool, seed++)}});
    cases.push_back({"masked_fill", {strided(shape, dt, seed++), expanded(shape, DType::Bool, seed++)},
                     {{"value", value_for(dt)}}, false, true});

    // Scatters: duplicates add atomically; overwriting ones get distinct indices.
    const bool numeric = dt != DType::Bool;
    for (Input& src : layouts({4, 3, 6}, dt, seed)) {
      cases.push_back({"scatter", {transposed(shape, dt, seed++), distinct_indices({4, 3, 6}, 1, 5, seed++), src},
                       {{"dim", 1}}});
      cases.push_back({"scatter_add", {contiguous(shape, dt, seed++), indices({4, 3, 6}, 5, seed++), src}, {{"dim", 1}}});
      cases.push_back({"index_add", {strided(shape, dt, seed++), indices({3}, 5, seed++), src},
                       {{"dim", 1}, {"alpha", numeric ? Scalar(int64_t{2}) : Scalar(true)}}});
    }
    cases.push_back({"scatter", {contiguous(shape, dt, seed++), distinct_indices({2, 5, 3}, 0, 4, seed++),
                                 contiguous({3, 5, 6}, dt, seed++)}, {{"dim", 0}}});
    cases.push_back({"scatter_value", {contiguous(shape, dt, seed++), indices({4, 2, 6}, 5, seed++)},
                     {{"dim", 1}, {"value", value_for(dt)}}});
    cases.push_back({"scatter_add", {contiguous(shape, dt, seed++), indices({4, 5, 2}, 6, seed++),
                                     contiguous({4, 5, 2}, dt, seed++)}, {{"dim", 2}}, false, true});
    cases.push_back({"index_add", {contiguous({}, dt, seed++), values_input({0}, {1}, DType::Int64),
                                   contiguous({}, dt, seed++)}, {{"dim", 0}}});
    cases.push_back({"index_put", {transposed(shape, dt, seed++), contiguous({3, 5, 6}, dt, seed++),
                                   distinct_indices({3}, 0, 4, seed++)}});
    cases.push_back({"index_put", {contiguous(shape, dt, seed++), contiguous({9, 6}, dt, seed++),
                                   indices({9}, 4, seed++), indices({9}, 5, seed++)}, {{"accumulate", true}}});
    cases.push_back({"index_put", {contiguous(shape, dt, seed++), contiguous({6}, dt, seed++),
                                   contiguous({4, 5}, DType::Bool, seed++)}});
    cases.push_back({"index_put", {contiguous(shape, dt, seed++), wrapped(1, dt),
                                   none(), indices({7}, 5, seed++)}, {{"accumulate", true}}, false, true});
  }
  for (Input& x : layouts({4, 5}, DType::Int64, seed, 0, 4)) {
    cases.push_back({"one_hot", {x}});
    cases.push_back({"one_hot", {x}, {{"num_classes", 7}}});
  }
  cases.push_back({"one_hot", {contiguous({0}, DType::Int64, seed++)}, {{"num_classes", 3}}});

  // Invalid index values: the same kind of error on both devices.
  const Input x = contiguous(shape, DType::Float32, seed++);
  const Input f = contiguous({4, 3, 6}, DType::Float32, seed++);
  cases.push_back({"index_select", {x, values_input({1, 5}, {2}, DType::Int64)}, {{"dim", 1}}});
  cases.push_back({"index_select", {x, values_input({-1}, {1}, DType::Int32)}, {{"dim", 0}}});
  cases.push_back({"index", {x, values_input({1, 4}, {2}, DType::Int64)}});
  cases.push_back({"index", {x, none(), values_input({-6}, {1}, DType::Int64)}});
  cases.push_back({"index_put", {x, wrapped(1, DType::Float32), values_input({0, 9}, {2}, DType::Int64)}});
  cases.push_back({"gather", {x, values_input(std::vector<double>(72, 5), {4, 3, 6}, DType::Int64)}, {{"dim", 1}}});
  cases.push_back({"scatter", {x, values_input(std::vector<double>(72, -1), {4, 3, 6}, DType::Int64), f}, {{"dim", 1}}});
  cases.push_back({"scatter_add", {x, values_input(std::vector<double>(72, 9), {4, 3, 6}, DType::Int64), f}, {{"dim", 1}}});
  cases.push_back({"scatter_value", {x, values_input(std::vector<double>(72, 6), {4, 3, 6}, DType::Int64)},
                   {{"dim", 1}, {"value", 1.0}}});
  cases.push_back({"index_add", {x, values_input({0, 1, 7}, {3}, DType::Int64), f}, {{"dim", 1}}});
  cases.push_back({"one_hot", {values_input({0, 4, 2}, {3}, DType::Int64)}, {{"num_classes", 3}}});
  cases.push_back({"one_hot", {values_input({0, -1, 2}, {3}, DType::Int64)}});
  return cases;
}

std::vector<Case> shape_cases() {
  std::vector<Case> cases;
  uint64_t seed = 30000;
  const Shape shape{3, 5, 6};
  for (DType dt : kAllDTypes) {
    for (Input& x : layouts(shape, dt, seed)) {
      cases.push_back({"cat", {x, contiguous({3, 2, 6}, dt, seed++), transposed({3, 1, 6}, dt, seed++)}, {{"dim", 1}}});
      cases.push_back({"repeat", {x}, {{"repeats", {2, 1, 3, 2}}}});
      cases.push_back({"flip", {x}, {{"dims", {0, 2}}}});
      cases.push_back({"roll", {x}, {{"shifts", {7}}}});
      cases.push_back({"roll", {x}, {{"shifts", {1, -2, 4}}, {"dims", {0, 2, 2}}}});
      for (int64_t diagonal : {0, 2, -1, -7}) {
        cases.push_back({"tril", {x}, {{"diagonal", diagonal}}});
        cases.push_back({"triu", {x}, {{"diagonal", diagonal}}});
      }
      cases.push_back({"pad", {x}, {{"pad", {1, 2}}, {"value", 1.0}}});
      cases.push_back({"pad", {x}, {{"pad", {2, -1, 0, 3, 1, 1}}}});
      cases.push_back({"pad", {x}, {{"pad", {4, -2}}, {"mode", "circular"}}});
    }
    cases.push_back({"pad", {contiguous({2, 3, 4, 5}, dt, seed++)}, {{"pad", {1, -1, -1, 3}}, {"mode", "circular"}}});
    cases.push_back({"cat", {contiguous({0}, dt, seed++), contiguous({2, 3}, dt, seed++), contiguous({4, 3}, dt, seed++)}});
    cases.push_back({"cat", {contiguous({2, 0}, dt, seed++), contiguous({2, 0}, dt, seed++)}, {{"dim", 1}}});
    cases.push_back({"repeat", {contiguous({}, dt, seed++)}, {{"repeats", {3, 2}}}});
    cases.push_back({"flip", {contiguous({}, dt, seed++)}, {{"dims", std::vector<int64_t>{}}}});
    cases.push_back({"roll", {contiguous({0, 3}, dt, seed++)}, {{"shifts", {2}}, {"dims", {1}}}});
    cases.push_back({"tril", {contiguous({0, 4}, dt, seed++)}});
    cases.push_back({"pad", {contiguous({2, 3}, dt, seed++)}, {{"pad", {-1, -2}}}});
  }
  for (DType dt : {DType::Float32, DType::Float64}) {
    for (Input& x : layouts({2, 3, 7}, dt, seed)) {
      cases.push_back({"pad", {x}, {{"pad", {2, 3}}, {"mode", "reflect"}}});
      cases.push_back({"pad", {x}, {{"pad", {1, 2, 2, 0}}, {"mode", "reflect"}}});
    }
    cases.push_back({"pad", {contiguous({2, 3, 4, 5}, dt, seed++)}, {{"pad", {3, -1, 1, 2}}, {"mode", "reflect"}}});
    for (Input& x : layouts({2, 3, 7}, dt, seed)) {
      cases.push_back({"pad", {x}, {{"pad", {9, -2}}, {"mode", "replicate"}}});
      cases.push_back({"pad", {x}, {{"pad", {1, 2, 4, 0}}, {"mode", "replicate"}}});
    }
    for (Input& x : layouts({1, 2, 3, 4, 5}, dt, seed)) {
      cases.push_back({"pad", {x}, {{"pad", {1, 2, 0, 3, 2, 1}}, {"mode", "reflect"}}});
      cases.push_back({"pad", {x}, {{"pad", {3, 2, -1, 3, 2, 0}}, {"mode", "replicate"}}});
      cases.push_back({"pad", {x}, {{"pad", {4, 2, 3, -1, 1, 3}}, {"mode", "circular"}}});
    }
    cases.push_back({"pad_backward", {contiguous({2, 3, 12}, dt, seed++)},
                     {{"input_size", {2, 3, 7}}, {"pad", {2, 3}}, {"mode", "reflect"}}});
    cases.push_back({"pad_backward", {transposed({2, 6, 10}, dt, seed++)},
                     {{"input_size", {2, 4, 7}}, {"pad", {1, 2, 2, 0}}, {"mode", "reflect"}}});
    cases.push_back({"pad_backward", {contiguous({2, 3, 14}, dt, seed++)},
                     {{"input_size", {2, 3, 7}}, {"pad", {6, 1}}, {"mode", "replicate"}}});
    cases.push_back({"pad_backward", {transposed({1, 2, 6, 11}, dt, seed++)},
                     {{"input_size", {1, 2, 4, 7}}, {"pad", {4, 0, -1, 3}}, {"mode", "circular"}}});
    cases.push_back({"pad_backward", {contiguous({1, 2, 6, 5, 9}, dt, seed++)},
                     {{"input_size", {1, 2, 3, 4, 5}}, {"pad", {3, 1, 1, 0, 2, 1}}, {"mode", "circular"}}});
    for (Input& x : layouts({2, 3, 4, 5}, dt, seed)) {
      cases.push_back({"upsample_nearest2d", {x}, {{"output_size", {8, 10}}}});
      cases.push_back({"upsample_nearest2d", {x}, {{"output_size", {7, 13}}}});
      cases.push_back({"upsample_nearest2d", {x}, {{"output_size", {3, 2}}}});
    }
    cases.push_back({"upsample_nearest2d", {contiguous({3, 4, 5}, dt, seed++)}, {{"output_size", {9, 9}}}});
    cases.push_back({"upsample_nearest2d_backward", {contiguous({2, 3, 8, 10}, dt, seed++)},
                     {{"input_size", {2, 3, 4, 5}}}});
    cases.push_back({"upsample_nearest2d_backward", {transposed({2, 3, 7, 13}, dt, seed++)},
                     {{"input_size", {2, 3, 4, 5}}}});
    cases.push_back({"upsample_nearest2d_backward", {contiguous({2, 3, 3, 2}, dt, seed++)},
                     {{"input_size", {2, 3, 4, 5}}}});
  }
  return cases;
}

std::vector<Case> range_cases() {
  std::vector<Case> cases;
  for (DType dt : {DType::Int32, DType::Int64, DType::Float32, DType::Float64}) {
    cases.push_back({"arange", {}, {{"start", Scalar(int64_t{-3})}, {"end", Scalar(int64_t{40})}, {"dtype", dt}}, true});
    cases.push_back({"arange", {}, {{"start", Scalar(int64_t{50})}, {"end", Scalar(int64_t{2})},
                                    {"step", Scalar(int64_t{-3})}, {"dtype", dt}}, true});
    cases.push_back({"linspace", {}, {{"start", Scalar(-2.5)}, {"end", Scalar(7.0)}, {"steps", 37}, {"dtype", dt}}, true});
    cases.push_back({"linspace", {}, {{"start", Scalar(1.0)}, {"end", Scalar(3.0)}, {"steps", 1}, {"dtype", dt}}, true});
    cases.push_back({"linspace", {}, {{"start", Scalar(1.0)}, {"end", Scalar(3.0)}, {"steps", 0}, {"dtype", dt}}, true});
  }
  for (DType dt : {DType::Float32, DType::Float64}) {
    cases.push_back({"arange", {}, {{"start", Scalar(0.1)}, {"end", Scalar(9.7)}, {"step", Scalar(0.3)}, {"dtype", dt}}, true});
    cases.push_back({"linspace", {}, {{"start", Scalar(0.1)}, {"end", Scalar(-1e3)}, {"steps", 1001}, {"dtype", dt}}, true});
  }
  for (DType dt : kAllDTypes) {
    cases.push_back({"eye", {}, {{"n", 4}, {"m", 6}, {"dtype", dt}}, true});
    cases.push_back({"eye", {}, {{"n", 5}, {"dtype", dt}}, true});
    cases.push_back({"eye", {}, {{"n", 0}, {"dtype", dt}}, true});
  }
  return cases;
}

// Ties and NaNs: values drawn from a few integers (and a NaN in some float rows).
Input tied(const Shape& shape, DType dt, uint64_t seed, bool with_nan) {
  Tensor t = random_tensor(shape, DType::Int64, seed, -3, 3, false);
  Tensor base = call1("to_dtype", {t}, {{"dtype", dt}});
  if (with_nan && is_floating(dt)) {
    std::vector<double> v = values(base);
    for (size_t i = 0; i < v.size(); i += 7) v[i] = std::nan("");
    base = from_values(v, shape, dt);
  }
  return {base, nullptr, with_nan ? "ties and NaN" : "ties"};
}

std::vector<Case> sort_cases() {
  std::vector<Case> cases;
  uint64_t seed = 40000;
  for (DType dt : kAllDTypes) {
    const bool numeric = dt != DType::Bool;
    for (Input& x : layouts({4, 5, 37}, dt, seed)) {
      for (bool descending : {false, true}) {
        cases.push_back({"sort", {x}, {{"descending", descending}}});
        cases.push_back({"sort", {x}, {{"dim", 1}, {"descending", descending}}});
        if (numeric) cases.push_back({"topk", {x}, {{"k", 6}, {"largest", descending}}});
      }
    }
    for (bool descending : {false, true}) {
      cases.push_back({"sort", {tied({6, 300}, dt, seed++, true)}, {{"descending", descending}, {"stable", true}}});
      cases.push_back({"sort", {tied({2, 2048}, dt, seed++, true)}, {{"descending", descending}}});
      cases.push_back({"sort", {tied({3, 2500}, dt, seed++, true)}, {{"descending", descending}}});  // host fallback
      if (numeric) {
        cases.push_back({"topk", {tied({5, 100}, dt, seed++, true)}, {{"k", 17}, {"largest", descending}}});
        cases.push_back({"topk", {tied({2, 3000}, dt, seed++, true)}, {{"k", 5}, {"largest", descending}}});
      }
    }
    cases.push_back({"sort", {contiguous({}, dt, seed++)}});
    cases.push_back({"sort", {contiguous({0, 4}, dt, seed++)}});
    cases.push_back({"sort", {contiguous({3, 1}, dt, seed++)}});
    if (numeric) {
      cases.push_back({"topk", {contiguous({}, dt, seed++)}, {{"k", 0}}});
      cases.push_back({"topk", {contiguous({3, 5}, dt, seed++)}, {{"k", 0}}});
      cases.push_back({"topk", {transposed({3, 5}, dt, seed++)}, {{"k", 3}, {"dim", 0}}});
    }
  }
  return cases;
}

}  // namespace

TERRA_CUDA_CASES(indexing, indexing_cases);
TERRA_CUDA_CASES(shape_ops, shape_cases);
TERRA_CUDA_CASES(ranges, range_cases);
TERRA_CUDA_CASES(sort, sort_cases);

// Runs without a device: every row of these tables is a valid CPU call except the invalid-index
// rows at the end of the indexing table, which must raise there (so the device runs compare
// results, and errors, of calls that mean what they say).
TEST_CASE("the moving ops' CUDA case tables are valid CPU calls", "[cuda][registry]") {
  constexpr size_t kErrorRows = 12;
  for (const auto& [table, make] : {std::pair{"indexing", &indexing_cases}, std::pair{"shape_ops", &shape_cases},
                                    std::pair{"ranges", &range_cases}, std::pair{"sort", &sort_cases}}) {
    const std::vector<Case> cases = make();
    for (size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      INFO(table << ": " << c.label());
      std::vector<Tensor> inputs;
      for (const Input& in : c.inputs) inputs.push_back(in.view ? in.view(in.base) : in.base);
      const bool error_row = std::string(table) == "indexing" && i + kErrorRows >= cases.size();
      bool raised = false;
      try {
        if (c.inplace) call_inplace(c.op, inputs, c.attrs);
        else call(c.op, inputs, c.attrs);
      } catch (const Error& e) {
        raised = true;
        INFO(e.what());
        CHECK(error_row);
        // PyTorch's kinds: RuntimeError for gather and the scatters, IndexError for the rest.
        const bool along_dim = c.op == "gather" || c.op.rfind("scatter", 0) == 0;
        CHECK((e.kind() == (along_dim ? ErrorKind::Runtime : ErrorKind::Index) || c.op == "one_hot"));
      }
      if (error_row) CHECK(raised);
    }
  }
}
