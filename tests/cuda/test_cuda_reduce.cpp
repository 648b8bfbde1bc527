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
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

using Dims = std::vector<int64_t>;

struct ReduceOp {
  const char* op;
  NamedAttrs extra;
  bool list_dim = true;  // "dim" is int[] (else int)
};

const std::vector<ReduceOp>& reduce_ops() {
  static const std::vector<ReduceOp> ops = {
      {"sum", {}}, {"sum", {{"dtype", DType::Float64}}}, {"prod", {}}, {"mean", {}}, {"amax", {}}, {"amin", {}},
      {"var", {}}, {"var", {{"correction", 0.0}}}, {"std", {}}, {"norm", {}}, {"norm", {{"p", 0.0}}},
      {"norm", {{"p", 1.0}}}, {"norm", {{"p", 3.0}}}, {"norm", {{"p", kInf}}}, {"norm", {{"p", -kInf}}},
      {"logsumexp", {}}, {"all", {}}, {"any", {}},
      {"max_dim", {}, false}, {"min_dim", {}, false}, {"argmax", {}, false}, {"argmin", {}, false},
  };
  return ops;
}

Case reduce_case(const ReduceOp& r, Input in, const std::optional<Dims>& dims, bool keepdim) {
  NamedAttrs attrs = r.extra;
  if (dims) {
    if (r.list_dim) attrs.push_back({"dim", *dims});
    else attrs.push_back({"dim", (*dims)[0]});
  }
  if (std::string(r.op) != "max" && std::string(r.op) != "min") attrs.push_back({"keepdim", keepdim});
  Case c{r.op, {std::move(in)}, attrs};
  c.rtol_scale = kSumOrder;
  return c;
}

std::vector<Case> reduce_cases() {
  std::vector<Case> cases;
  uint64_t seed = 20000;
  const Shape shape{3, 5, 7};
  for (const ReduceOp& r : reduce_ops()) {
    // argmax-like ops take one dim (or None); the others any set.
    const std::vector<std::optional<Dims>> dim_sets =
        r.list_dim ? std::vector<std::optional<Dims>>{std::nullopt, Dims{1}, Dims{0, 2}, Dims{-1}, Dims{}}
                   : std::vector<std::optional<Dims>>{std::nullopt, Dims{1}, Dims{0}, Dims{-1}};
    for (DType dt : kAllDTypes) {
      for (const auto& dims : dim_sets) {
        if (!dims && !r.list_dim && std::string(r.op).find("_dim") != std::string::npos) continue;  // dim required
        for (Input& in : layouts(shape, dt, seed)) {
          cases.push_back(reduce_case(r, in, dims, false));
        }
        cases.push_back(reduce_case(r, contiguous(shape, dt, seed++), dims, true));
      }
      // Empty: reducing over the empty dim (identities, or the CPU's error), and keeping it.
      const std::optional<Dims> d0 = Dims{0}, d1 = Dims{1};
      cases.push_back(reduce_case(r, contiguous({0, 4}, dt, seed++), d0, false));
      cases.push_back(reduce_case(r, contiguous({0, 4}, dt, seed++), d1, true));
      // 0-d.
      cases.push_back(reduce_case(r, contiguous({}, dt, seed++), r.list_dim ? std::optional<Dims>{} : std::nullopt, false));
    }
    // Long reductions split over blocks, a full one and a few long outputs; a strided long one.
    for (DType dt : {DType::Float32, DType::Int64}) {
      cases.push_back(reduce_case(r, contiguous({300, 700}, dt, seed++), std::nullopt, false));
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
      if (dims || r.list_dim) cases.push_back(reduce_case(r, with_nan, dims, false));
  cases.push_back({"max", {with_nan}});
  cases.push_back({"min", {with_nan}});
  // logsumexp of large and infinite values.
  const Input extreme{from_values({1000, 1000, -kInf, -kInf, kInf, 1, kInf, kInf, -1000, -1001, 0, 0}, {6, 2}),
                      nullptr, "extreme"};
  cases.push_back(reduce_case({"logsumexp", {}}, extreme, Dims{1}, false));
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

}  // namespace

TERRA_CUDA_CASES(reduce, reduce_cases);
