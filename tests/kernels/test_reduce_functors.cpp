// The reduction functors (kernels/common/reduce_math.hpp) folded the way the GPU folds them, run
// on the CPU: each of 32 "threads" steps over every 32nd position from init(), then a tree of
// combine() merges them as block_combine does (kernels/cuda/launch.cuh), threads that saw nothing
// included. The result must equal the CPU's one sequential fold: exactly for extrema, argmax/argmin
// (value and first index), integer sums and all/any; within rounding for float sums, variances,
// norms and logsumexp. Slices are random, 1 to 80 elements, all-negative and all-positive ones
// included, NaN in some float slices. The first GPU run found argmax's combine letting an empty
// thread (value 0) beat a negative maximum; this checks every functor for that kind of fault.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/common/reduce_math.hpp"

namespace math = terra::math;

namespace {

constexpr int kThreads = 32;

template <class Op>
typename Op::Acc sequential_fold(const Op& op, const std::vector<typename Op::In>& xs) {
  typename Op::Acc a = op.init();
  for (size_t r = 0; r < xs.size(); ++r) a = op.step(a, xs[r], static_cast<int64_t>(r));
  return a;
}

template <class Op>
typename Op::Acc tree_fold(const Op& op, const std::vector<typename Op::In>& xs) {
  std::vector<typename Op::Acc> shared(kThreads, op.init());
  for (int t = 0; t < kThreads; ++t)
    for (size_t r = t; r < xs.size(); r += kThreads) shared[t] = op.step(shared[t], xs[r], static_cast<int64_t>(r));
  for (int s = kThreads / 2; s > 0; s /= 2)
    for (int t = 0; t < s; ++t) shared[t] = op.combine(shared[t], shared[t + s]);
  return shared[0];
}

// Random slices: mixed signs, all negative, all positive, ties (few distinct values).
template <class T>
std::vector<T> draw_slice(std::mt19937_64& rng, int kind) {
  const int n = std::uniform_int_distribution<int>(1, 80)(rng);
  std::vector<T> xs(n);
  for (T& x : xs) {
    const double u = std::uniform_real_distribution<double>(0.5, 100.0)(rng);
    const double tie = static_cast<double>(std::uniform_int_distribution<int>(1, 3)(rng));
    switch (kind % 4) {
      case 0: x = static_cast<T>(std::uniform_real_distribution<double>(-100.0, 100.0)(rng)); break;
      case 1: x = static_cast<T>(-u); break;
      case 2: x = static_cast<T>(u); break;
      default: x = static_cast<T>(-tie); break;
    }
  }
  return xs;
}

// Every 7th float slice gets a NaN, which extrema propagate.
template <class T>
std::vector<T> draw_slice_with_nan(std::mt19937_64& rng, int trial) {
  std::vector<T> xs = draw_slice<T>(rng, trial);
  if constexpr (std::is_floating_point_v<T>)
    if (trial % 7 == 0) xs[rng() % xs.size()] = std::nan("");
  return xs;
}

template <class T, bool Max>
void check_arg_extremum(std::mt19937_64& rng) {
  math::ArgExtremumOp<T, Max> op{nullptr, nullptr};
  for (int trial = 0; trial < 400; ++trial) {
    const std::vector<T> xs = draw_slice_with_nan<T>(rng, trial);
    const auto want = sequential_fold(op, xs), got = tree_fold(op, xs);
    INFO("trial " << trial << ", " << xs.size() << " elements");
    REQUIRE(want.i >= 0);
    CHECK(got.i == want.i);
    if (!math::is_nan(want.v)) CHECK(got.v == want.v);
  }
}

template <class T, bool Max>
void check_extremum(std::mt19937_64& rng) {
  math::ExtremumOp<T, Max> op{nullptr};
  for (int trial = 0; trial < 400; ++trial) {
    const std::vector<T> xs = draw_slice_with_nan<T>(rng, trial);
    const T want = sequential_fold(op, xs), got = tree_fold(op, xs);
    INFO("trial " << trial);
    if (math::is_nan(want)) CHECK(math::is_nan(got));
    else CHECK(got == want);
  }
}

}  // namespace

TEST_CASE("argmax/argmin functors: a tree of combines gives the sequential fold", "[reduce][functors]") {
  std::mt19937_64 rng(91);
  check_arg_extremum<int32_t, true>(rng);
  check_arg_extremum<int32_t, false>(rng);
  check_arg_extremum<int64_t, true>(rng);
  check_arg_extremum<float, true>(rng);
  check_arg_extremum<float, false>(rng);
  check_arg_extremum<double, true>(rng);
}

TEST_CASE("max/min functors: a tree of combines gives the sequential fold", "[reduce][functors]") {
  std::mt19937_64 rng(92);
  check_extremum<int32_t, true>(rng);
  check_extremum<int32_t, false>(rng);
  check_extremum<float, true>(rng);
  check_extremum<double, false>(rng);
}

TEST_CASE("sum, variance, norm, logsumexp and all/any functors: a tree of combines", "[reduce][functors]") {
  std::mt19937_64 rng(93);
  for (int trial = 0; trial < 300; ++trial) {
    INFO("trial " << trial);
    const std::vector<int32_t> ints = draw_slice<int32_t>(rng, trial);
    const math::SumOp<int32_t, int64_t> isum{nullptr};
    CHECK(tree_fold(isum, ints) == sequential_fold(isum, ints));
    const math::AllAnyOp<int32_t, true> all{nullptr};
    const math::AllAnyOp<int32_t, false> any{nullptr};
    CHECK(tree_fold(all, ints) == sequential_fold(all, ints));
    CHECK(tree_fold(any, ints) == sequential_fold(any, ints));

    const std::vector<double> xs = draw_slice<double>(rng, trial);
    const math::SumOp<double, double> sum{nullptr};
    CHECK(tree_fold(sum, xs) == Approx(sequential_fold(sum, xs)).epsilon(1e-12).margin(1e-9));
    const math::VarOp<double> var{nullptr, 1.0, false};
    const math::Moments mt = tree_fold(var, xs), ms = sequential_fold(var, xs);
    CHECK(mt.n == ms.n);
    CHECK(mt.mean == Approx(ms.mean).epsilon(1e-12).margin(1e-9));
    CHECK(mt.m2 == Approx(ms.m2).epsilon(1e-10).margin(1e-9));
    const math::NormOp<double, math::NormKind::Inf> inf_norm{nullptr, 0.0, 0};
    const math::NormOp<double, math::NormKind::NegInf> neg_inf_norm{nullptr, 0.0, 0};
    CHECK(tree_fold(inf_norm, xs) == sequential_fold(inf_norm, xs));
    CHECK(tree_fold(neg_inf_norm, xs) == sequential_fold(neg_inf_norm, xs));
    const math::LogSumExpOp<double> lse{nullptr};
    const math::MaxSum lt = tree_fold(lse, xs), ls = sequential_fold(lse, xs);
    CHECK(lt.m == ls.m);
    CHECK(lt.s == Approx(ls.s).epsilon(1e-12));
  }
}
