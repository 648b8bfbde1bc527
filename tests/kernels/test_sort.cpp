// sort, argsort and topk against a reference written here by ranking (an element's place is the
// number of elements before it in the order, ties by position): every dtype, every dim, ascending
// and descending, ties, NaN as the largest value, non-contiguous inputs, empty and 0-d tensors,
// and errors naming the op and the shapes.
#include "ref_helpers.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("sort", "argsort", "topk");

namespace {

// a before b in the order (NaN largest; descending reverses), not counting position.
bool before(double a, double b, bool descending) {
  if (descending) std::swap(a, b);
  return !std::isnan(a) && (std::isnan(b) || a < b);
}

// Per slice along `dim`: positions of the elements in order (ties keep their input order), as a
// [shape with dim -> k] result of (values, indices).
std::pair<std::vector<double>, std::vector<double>> ref_order(const std::vector<double>& v, const Shape& s, int64_t dim,
                                                              int64_t k, bool descending) {
  Shape so = s;
  if (!so.empty()) so[dim] = k;
  const int64_t n = s.empty() ? 1 : s[dim];
  std::vector<double> vals(shape_numel(so)), idxs(shape_numel(so));
  for (int64_t i = 0; i < static_cast<int64_t>(v.size()); ++i) {
    auto c = unravel(i, s);
    const int64_t me = s.empty() ? 0 : c[dim];
    int64_t rank = 0;
    for (int64_t j = 0; j < n; ++j) {
      if (!s.empty()) c[dim] = j;
      const double o = v[s.empty() ? 0 : ravel(c, s)];
      rank += before(o, v[i], descending) || (!before(v[i], o, descending) && j < me);
    }
    if (rank >= k && !s.empty()) continue;
    if (!s.empty()) c[dim] = rank;
    const int64_t at = s.empty() ? 0 : ravel(c, so);
    vals[at] = v[i];
    idxs[at] = static_cast<double>(me);
  }
  return {vals, idxs};
}

}  // namespace

TEST_CASE("sort and argsort order every slice, stably", "[sort]") {
  const std::vector<Shape> shapes = {{5, 7}, {3, 4, 6}, {1, 9}, {0, 3}, {6}, {}};
  uint64_t seed = 1;
  for (DType dt : kAllDTypes) {
    for (const Shape& s : shapes) {
      // Narrow integer ranges force ties.
      Tensor x = is_floating(dt) ? random_tensor(s, dt, seed++) : random_tensor(s, dt, seed++, -3, 3);
      auto vx = values(x);
      const int64_t nd = static_cast<int64_t>(s.size());
      for (int64_t dim = -std::max<int64_t>(nd, 1); dim < std::max<int64_t>(nd, 1); ++dim) {
        const int64_t d = dim < 0 ? dim + std::max<int64_t>(nd, 1) : dim;
        for (bool descending : {false, true}) {
          INFO(dtype_name(dt) << " " << shape_str(s) << " dim " << dim << (descending ? " descending" : ""));
          auto [ev, ei] = ref_order(vx, s, d, s.empty() ? 1 : s[d], descending);
          for (const Tensor& in : layouts(x)) {
            for (bool stable : {false, true}) {
              auto r = call("sort", {in}, {{"dim", dim}, {"descending", descending}, {"stable", stable}});
              REQUIRE(r.size() == 2);
              CHECK(r[0].shape() == s);
              CHECK(r[0].dtype() == dt);
              CHECK(r[1].dtype() == DType::Int64);
              check_values(r[0], ev, 0, 0);
              check_values(r[1], ei, 0, 0);
              check_values(call1("argsort", {in}, {{"dim", dim}, {"descending", descending}, {"stable", stable}}), ei,
                           0, 0);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("sort puts NaN above every number", "[sort]") {
  const double nan = std::nan("");
  Tensor x = from_values({3, nan, 1, 3, -1, nan, 2}, {7}, DType::Float32);
  auto up = call("sort", {x});
  check_values(up[0], {-1, 1, 2, 3, 3, nan, nan}, 0, 0);
  CHECK(values(up[1]) == std::vector<double>{4, 2, 6, 0, 3, 1, 5});
  auto down = call("sort", {x}, {{"descending", true}, {"stable", true}});
  check_values(down[0], {nan, nan, 3, 3, 2, 1, -1}, 0, 0);
  CHECK(values(down[1]) == std::vector<double>{1, 5, 0, 3, 6, 2, 4});
  auto top = call("topk", {x}, {{"k", 3}});
  check_values(top[0], {nan, nan, 3}, 0, 0);
  CHECK(values(top[1]) == std::vector<double>{1, 5, 0});
  auto bottom = call("topk", {x}, {{"k", 3}, {"largest", false}});
  check_values(bottom[0], {-1, 1, 2}, 0, 0);
  CHECK(values(bottom[1]) == std::vector<double>{4, 2, 6});
}

TEST_CASE("topk takes the k largest or smallest in order", "[sort]") {
  const std::vector<Shape> shapes = {{5, 7}, {3, 4, 6}, {1, 9}, {6}};
  uint64_t seed = 100;
  for (DType dt : {DType::Float32, DType::Float64, DType::Int32, DType::Int64}) {
    for (const Shape& s : shapes) {
      Tensor x = is_floating(dt) ? random_tensor(s, dt, seed++) : random_tensor(s, dt, seed++, -3, 3);
      auto vx = values(x);
      const int64_t nd = static_cast<int64_t>(s.size());
      for (int64_t dim = -nd; dim < nd; ++dim) {
        const int64_t d = dim < 0 ? dim + nd : dim;
        for (int64_t k : {int64_t{0}, int64_t{1}, s[d] / 2, s[d]}) {
          for (bool largest : {true, false}) {
            INFO(dtype_name(dt) << " " << shape_str(s) << " dim " << dim << " k " << k << (largest ? " largest" : ""));
            auto [ev, ei] = ref_order(vx, s, d, k, largest);
            Shape so = s;
            so[d] = k;
            for (const Tensor& in : layouts(x)) {
              for (bool sorted : {true, false}) {
                auto r = call("topk", {in}, {{"k", k}, {"dim", dim}, {"largest", largest}, {"sorted", sorted}});
                CHECK(r[0].shape() == so);
                CHECK(r[1].shape() == so);
                check_values(r[0], ev, 0, 0);
                check_values(r[1], ei, 0, 0);
              }
            }
          }
        }
      }
    }
  }
  // Ties go to the lower index.
  auto t = call("topk", {from_values({1, 2, 2, 3, 2}, {5}, DType::Int64)}, {{"k", 3}});
  CHECK(values(t[0]) == std::vector<double>{3, 2, 2});
  CHECK(values(t[1]) == std::vector<double>{3, 1, 2});
  // A 0-d input gives its element back for k = 0 or 1; empty slices give empty results.
  for (int64_t k : {0, 1}) {
    auto z = call("topk", {from_values({4}, {})}, {{"k", k}});
    CHECK(z[0].shape() == Shape{});
    CHECK(values(z[0]) == std::vector<double>{4});
    CHECK(values(z[1]) == std::vector<double>{0});
  }
  CHECK(call("topk", {Tensor::empty({0, 3}, DType::Float32)}, {{"k", 0}, {"dim", 0}})[0].shape() == Shape{0, 3});
  CHECK(call("topk", {Tensor::empty({2, 0}, DType::Float32)}, {{"k", 1}, {"dim", 0}})[1].shape() == Shape{1, 0});
}

TEST_CASE("sort and topk errors name the op and the shapes", "[sort][errors]") {
  Tensor x = random_tensor({3, 4}, DType::Float32, 1);
  require_error(
      [&] {
        call("sort", {x}, {{"dim", 2}});
      },
      ErrorKind::Index, {"sort", "Dimension out of range", "float32[3, 4]"});
  require_error([&] { call1("argsort", {x}, {{"dim", -3}}); }, ErrorKind::Index, {"argsort", "Dimension out of range"});
  require_error(
      [&] {
        call("topk", {x}, {{"k", 5}});
      },
      ErrorKind::Runtime, {"topk", "selected index k out of range", "float32[3, 4]"});
  require_error([&] { call("topk", {x}, {{"k", -1}}); }, ErrorKind::Runtime, {"topk", "selected index k out of range"});
  require_error(
      [&] {
        call("topk", {from_values({2}, {})}, {{"k", 2}});
      },
      ErrorKind::Runtime, {"topk", "out of range"});
  require_error([&] { call("topk", {from_values({1, 0}, {2}, DType::Bool)}, {{"k", 1}}); }, ErrorKind::Runtime,
                {"topk", "not implemented for 'Bool'", "bool[2]"});
  require_error(
      [&] {
        call("topk", {x}, {{"k", 1}, {"dim", 2}});
      },
      ErrorKind::Index, {"topk", "Dimension out of range"});
}

TEST_CASE("large sorts split over threads give the same answer", "[sort][parallel]") {
  Tensor x = random_tensor({64, 2000}, DType::Float64, 9);
  auto vx = values(x);
  auto r = call("sort", {transposed_copy(x)}, {{"dim", 1}, {"descending", true}});
  auto vv = values(r[0]), vi = values(r[1]);
  for (int64_t row = 0; row < 64; ++row) {
    for (int64_t j = 0; j < 2000; ++j) {
      REQUIRE(vv[row * 2000 + j] == vx[row * 2000 + static_cast<int64_t>(vi[row * 2000 + j])]);
      if (j > 0) REQUIRE(vv[row * 2000 + j - 1] >= vv[row * 2000 + j]);
    }
  }
}
