// CUDA cases of the reductions, cumsum, softmax and log_softmax (and their backward ops): each
// op over every dtype, several dim sets with and without keepdim, the four layouts, empty and
// 0-d inputs, NaN, and inputs long enough that the device splits a reduction over blocks (Note
// [Reduction splits]). Float results differ from the CPU only in summation order.
#include <limits>
#include <optional>

#include "cuda_cases.hpp"

using namespace terra;
using namespace terra::test;

namespace {

constexpr double kSumOrder = 10;  // rtol_scale of rows whose float sums the device takes in another order

Case summed(Case c) {
  c.rtol_scale = kSumOrder;
  return c;
}
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

using Dims = std::vector<int64_t>;

enum class Supports { All, NotBool, Floating };

bool supports(Supports s, DType dt) {
  return s == Supports::All || (s == Supports::NotBool ? dt != DType::Bool : is_floating(dt));
}

struct ReduceOp {
  const char* op;
  NamedAttrs extra;
  Supports dtypes = Supports::All;
  bool list_dim = true;      // "dim" is int[] (else int)
  bool dim_required = false;
};

const std::vector<ReduceOp>& reduce_ops() {
  using S = Supports;
  static const std::vector<ReduceOp> ops = {
      {"sum", {}}, {"sum", {{"dtype", DType::Float64}}}, {"prod", {}}, {"mean", {}, S::Floating},
      {"amax", {}}, {"amin", {}}, {"var", {}, S::Floating}, {"var", {{"correction", 0.0}}, S::Floating},
      {"std", {}, S::Floating}, {"norm", {}, S::Floating}, {"norm", {{"p", 0.0}}, S::Floating},
      {"norm", {{"p", 1.0}}, S::Floating}, {"norm", {{"p", 3.0}}, S::Floating},
      {"norm", {{"p", kInf}}, S::Floating}, {"norm", {{"p", -kInf}}, S::Floating},
      {"logsumexp", {}, S::All, true, true}, {"all", {}}, {"any", {}},
      {"max_dim", {}, S::All, false, true}, {"min_dim", {}, S::All, false, true},
      {"argmax", {}, S::NotBool, false}, {"argmin", {}, S::NotBool, false},
  };
  return ops;
}

Case reduce_case(const ReduceOp& r, Input in, const std::optional<Dims>& dims, bool keepdim) {
  NamedAttrs attrs = r.extra;
  if (dims) {
    if (r.list_dim) attrs.push_back({"dim", *dims});
    else attrs.push_back({"dim", (*dims)[0]});
  }
  attrs.push_back({"keepdim", keepdim});
  Case c{r.op, {std::move(in)}, attrs};
  c.rtol_scale = kSumOrder;
  return c;
}

std::vector<Case> reduce_cases() {
  std::vector<Case> cases;
  uint64_t seed = 20000;
  const Shape shape{3, 5, 7};
  for (const ReduceOp& r : reduce_ops()) {
    std::vector<std::optional<Dims>> dim_sets = {Dims{1}, Dims{-1}, Dims{0}};
    if (r.list_dim) dim_sets.push_back(Dims{0, 2});
    if (r.list_dim) dim_sets.push_back(Dims{});
    if (!r.dim_required) dim_sets.push_back(std::nullopt);
    for (DType dt : kAllDTypes) {
      if (!supports(r.dtypes, dt)) {  // the CPU's error
        cases.push_back(reduce_case(r, contiguous(shape, dt, seed++), Dims{1}, false));
        continue;
      }
      for (const auto& dims : dim_sets) {
        for (Input& in : layouts(shape, dt, seed)) cases.push_back(reduce_case(r, in, dims, false));
        cases.push_back(reduce_case(r, contiguous(shape, dt, seed++), dims, true));
      }
      // Empty: reducing over the empty dim (identities, or the CPU's error), and keeping it.
      cases.push_back(reduce_case(r, contiguous({0, 4}, dt, seed++), Dims{0}, false));
      cases.push_back(reduce_case(r, contiguous({0, 4}, dt, seed++), Dims{1}, true));
      // 0-d.
      cases.push_back(reduce_case(r, contiguous({}, dt, seed++), Dims{0}, false));
      if (!r.dim_required) cases.push_back(reduce_case(r, contiguous({}, dt, seed++), std::nullopt, true));
    }
    // Long reductions split over blocks (a full one, a few long outputs), strided and transposed.
    for (DType dt : {DType::Float32, DType::Int64}) {
      if (!supports(r.dtypes, dt)) continue;
      if (!r.dim_required) cases.push_back(reduce_case(r, contiguous({300, 700}, dt, seed++), std::nullopt, false));
      cases.push_back(reduce_case(r, transposed({3, 40000}, dt, seed++), Dims{1}, false));
      cases.push_back(reduce_case(r, strided({2, 50000}, dt, seed++), Dims{-1}, true));
    }
  }
  // max and min of every element, NaN included.
  for (const char* op : {"max", "min"}) {
    for (DType dt : kAllDTypes) {
      uint64_t s = seed;
      for (Input& in : layouts(shape, dt, s)) cases.push_back({op, {in}});
      seed = s;
      cases.push_back({op, {contiguous({}, dt, seed++)}});
      cases.push_back({op, {contiguous({0, 3}, dt, seed++)}});  // the CPU's error
      cases.push_back({op, {contiguous({4000, 30}, dt, seed++)}});
    }
  }
  // NaN wins in every extremum and poisons sums; the first NaN gives the index.
  const Input with_nan{from_values({1, kNaN, 3, kNaN, 2, -1, 0, 5}, {2, 4}, DType::Float32), nullptr, "nan"};
  for (const ReduceOp& r : reduce_ops())
    for (const auto& dims : {std::optional<Dims>{}, std::optional<Dims>{Dims{1}}, std::optional<Dims>{Dims{0}}})
      if (dims || !r.dim_required) cases.push_back(reduce_case(r, with_nan, dims, false));
  cases.push_back({"max", {with_nan}});
  cases.push_back({"min", {with_nan}});
  // logsumexp of large and infinite values.
  const Input extreme{from_values({1000, 1000, -kInf, -kInf, kInf, 1, kInf, kInf, -1000, -1001, 0, 0}, {6, 2}),
                      nullptr, "extreme"};
  cases.push_back(reduce_case({"logsumexp", {}}, extreme, Dims{1}, false));
  cases.push_back(reduce_case({"logsumexp", {}}, extreme, Dims{0}, false));
  // cumsum: every dim, dtype= and the layouts.
  for (DType dt : kAllDTypes) {
    for (int64_t dim : {0, 1, -1}) {
      for (Input& in : layouts(shape, dt, seed)) cases.push_back({"cumsum", {in}, {{"dim", dim}}});
      cases.push_back({"cumsum", {contiguous(shape, dt, seed++)}, {{"dim", dim}, {"dtype", DType::Float64}}});
    }
    cases.push_back({"cumsum", {contiguous({}, dt, seed++)}, {{"dim", 0}}});
    cases.push_back({"cumsum", {contiguous({0, 3}, dt, seed++)}, {{"dim", 1}}});
    cases.push_back({"cumsum", {contiguous({4}, dt, seed++)}, {{"dim", 2}}});  // the CPU's error
    cases.push_back({"cumsum", {transposed({3000, 40}, dt, seed++)}, {{"dim", 0}}});
  }
  return cases;
}

std::vector<Case> softmax_cases() {
  std::vector<Case> cases;
  uint64_t seed = 30000;
  // The backward ops subtract a float row sum from each element: near-cancelling elements keep
  // the sum's rounding, which the device takes in another order.
  auto add = [&](Case c) {
    c = summed(std::move(c));
    if (c.op.size() > 9 && c.op.compare(c.op.size() - 9, 9, "_backward") == 0) c.rtol_scale *= 10;
    cases.push_back(std::move(c));
  };
  for (const char* op : {"softmax", "log_softmax"}) {
    const std::string backward = std::string(op) + "_backward";
    for (DType dt : kAllDTypes) {
      if (!is_floating(dt)) {  // the CPU's error
        add({op, {contiguous({3, 5}, dt, seed++)}, {{"dim", 1}}});
        add({backward, {contiguous({3, 5}, dt, seed++), contiguous({3, 5}, dt, seed++)}, {{"dim", 1}}});
        continue;
      }
      for (int64_t dim : {0, 1, 2, -1}) {
        for (Input& in : layouts({3, 5, 7}, dt, seed)) add({op, {in}, {{"dim", dim}}});
        for (Input& g : layouts({3, 5, 7}, dt, seed))
          add({backward, {g, transposed({3, 5, 7}, dt, seed++, -3, 0)}, {{"dim", dim}}});
      }
      // Rows longer than a block, many short rows, long columns; 0-d and empty.
      for (const auto& [shape, dim] : std::vector<std::pair<Shape, int64_t>>{
               {{2, 1000}, 1}, {{3000, 3}, 1}, {{4, 300, 50}, 1}, {{}, 0}, {{0, 4}, 1}, {{4, 0}, 1}}) {
        add({op, {contiguous(shape, dt, seed++)}, {{"dim", dim}}});
        add({backward, {contiguous(shape, dt, seed++), contiguous(shape, dt, seed++, -3, 0)}, {{"dim", dim}}});
      }
    }
    // NaN and infinities: rows with NaN or +inf are all NaN, rows of -inf NaN.
    const Input special{from_values({1, kNaN, 3, 0, kInf, 1, -kInf, -kInf, -kInf, 1000, -1000, 0}, {4, 3}), nullptr,
                        "special"};
    add({op, {special}, {{"dim", 1}}});
    add({op, {special}, {{"dim", 0}}});
    add({op, {contiguous({3, 4}, DType::Float32, seed++)}, {{"dim", 1}, {"dtype", DType::Float64}}});
  }
  return cases;
}

}  // namespace

TERRA_CUDA_CASES(reduce, reduce_cases);
TERRA_CUDA_CASES(softmax, softmax_cases);
