// View ops share storage and compute the right elements; reshape/flatten copy only when the
// layout forces it; every bad argument raises an error naming the op and the shape.
#include "helpers.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("view", "reshape", "permute", "transpose", "expand", "squeeze", "unsqueeze", "flatten", "narrow", "slice",
              "select", "as_strided", "alias");

namespace {
// Row-major element (i, j, k) of a [a, b, c] value vector.
double at3(const std::vector<double>& v, const Shape& s, int64_t i, int64_t j, int64_t k) {
  return v[(i * s[1] + j) * s[2] + k];
}
}  // namespace

TEST_CASE("permute, transpose, unsqueeze, squeeze", "[views]") {
  Shape s{2, 3, 4};
  Tensor x = random_tensor(s, DType::Float32, 1);
  auto v = values(x);
  Tensor p = call1("permute", {x}, {{"dims", {2, 0, 1}}});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.shares_storage(x));
  auto vp = values(p);
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) CHECK(vp[(k * 2 + i) * 3 + j] == at3(v, s, i, j, k));
  Tensor t = call1("transpose", {x}, {{"dim0", -1}, {"dim1", 0}});
  CHECK(t.shape() == Shape{4, 3, 2});
  Tensor u = call1("unsqueeze", {x}, {{"dim", -1}});
  CHECK(u.shape() == Shape{2, 3, 4, 1});
  CHECK(values(u) == v);
  Tensor q = call1("squeeze", {call1("unsqueeze", {u}, {{"dim", 0}})});
  CHECK(q.shape() == s);
  CHECK(call1("squeeze", {u}, {{"dim", std::vector<int64_t>{0, 3}}}).shape() == s);  // dim 0 is not 1: kept
  require_error([&] { call1("permute", {x}, {{"dims", {0, 1}}}); }, ErrorKind::Runtime, {"permute", "float32[2, 3, 4]"});
  require_error([&] { call1("permute", {x}, {{"dims", {0, 1, 1}}}); }, ErrorKind::Runtime, {"permute", "repeated"});
  require_error([&] { call1("transpose", {x}, {{"dim0", 3}, {"dim1", 0}}); }, ErrorKind::Index,
                {"transpose", "Dimension out of range", "float32[2, 3, 4]"});
}

TEST_CASE("view and reshape", "[views]") {
  Tensor x = random_tensor({2, 3, 4}, DType::Float64, 2);
  auto v = values(x);
  Tensor a = call1("view", {x}, {{"size", {6, -1}}});
  CHECK(a.shape() == Shape{6, 4});
  CHECK(a.shares_storage(x));
  CHECK(values(a) == v);
  Tensor t = call1("transpose", {x}, {{"dim0", 1}, {"dim1", 2}});  // [2, 4, 3], not viewable as [8, 3]... 
  require_error([&] { call1("view", {t}, {{"size", {-1}}}); }, ErrorKind::Runtime, {"view", "reshape"});
  Tensor r = call1("reshape", {t}, {{"shape", {-1}}});
  CHECK_FALSE(r.shares_storage(x));
  CHECK(values(r) == values(t));
  Tensor r2 = call1("reshape", {x}, {{"shape", {4, 6}}});
  CHECK(r2.shares_storage(x));
  // A transpose can still be viewed where its dims split cleanly.
  Tensor tv = call1("view", {t}, {{"size", {2, 4, 3, 1}}});
  CHECK(values(tv) == values(t));
  require_error([&] { call1("view", {x}, {{"size", {5, -1}}}); }, ErrorKind::Runtime, {"view", "invalid for input of size 24"});
  require_error([&] { call1("reshape", {x}, {{"shape", {-1, -1}}}); }, ErrorKind::Runtime, {"reshape", "one dimension"});
}

TEST_CASE("expand, flatten, narrow, slice, select, as_strided", "[views]") {
  Tensor x = random_tensor({3, 1}, DType::Float32, 3);
  auto vx = values(x);
  CHECK(call1("expand", {x}, {{"size", {2, 3, -1}}}).shape() == Shape{2, 3, 1});
  Tensor e = call1("expand", {x}, {{"size", {2, 3, 4}}});
  CHECK(e.shape() == Shape{2, 3, 4});
  CHECK(e.strides()[0] == 0);
  auto ve = values(e);
  for (int i = 0; i < 24; ++i) CHECK(ve[i] == vx[(i / 4) % 3]);
  require_error([&] { call1("expand", {x}, {{"size", {2, 2}}}); }, ErrorKind::Runtime, {"expand", "float32[3, 1]"});

  Tensor y = random_tensor({4, 5, 6}, DType::Int64, 4, -50, 50);
  auto vy = values(y);
  CHECK(call1("flatten", {y}, {{"start_dim", 1}}).shape() == Shape{4, 30});
  Tensor ft = call1("flatten", {call1("transpose", {y}, {{"dim0", 0}, {"dim1", 2}})});
  CHECK(ft.shape() == Shape{120});
  CHECK(values(ft) == values(call1("transpose", {y}, {{"dim0", 0}, {"dim1", 2}})));

  Tensor n = call1("narrow", {y}, {{"dim", 1}, {"start", -3}, {"length", 2}});
  CHECK(n.shape() == Shape{4, 2, 6});
  auto vn = values(n);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 6; ++k) CHECK(vn[(i * 2 + j) * 6 + k] == vy[(i * 5 + j + 2) * 6 + k]);
  require_error([&] { call1("narrow", {y}, {{"dim", 1}, {"start", 4}, {"length", 2}}); }, ErrorKind::Runtime,
                {"narrow", "exceeds"});

  Tensor s = call1("slice", {y}, {{"dim", 2}, {"start", 1}, {"end", -1}, {"step", 2}});
  CHECK(s.shape() == Shape{4, 5, 2});
  auto vs = values(s);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 5; ++j)
      for (int k = 0; k < 2; ++k) CHECK(vs[(i * 5 + j) * 2 + k] == vy[(i * 5 + j) * 6 + 1 + 2 * k]);
  CHECK(call1("slice", {y}, {{"dim", 0}, {"start", 10}}).shape() == Shape{0, 5, 6});
  require_error([&] { call1("slice", {y}, {{"dim", 0}, {"step", 0}}); }, ErrorKind::Value, {"slice", "step"});

  Tensor sel = call1("select", {y}, {{"dim", 1}, {"index", -1}});
  CHECK(sel.shape() == Shape{4, 6});
  CHECK(values(sel)[7] == vy[(1 * 5 + 4) * 6 + 1]);
  require_error([&] { call1("select", {y}, {{"dim", 0}, {"index", 4}}); }, ErrorKind::Index,
                {"select", "out of bounds", "int64[4, 5, 6]"});

  Tensor as = call1("as_strided", {y}, {{"size", {2, 2}}, {"stride", {1, 30}}, {"storage_offset", 3}});
  CHECK(values(as) == std::vector<double>{vy[3], vy[33], vy[4], vy[34]});
  require_error([&] { call1("as_strided", {y}, {{"size", {2}}, {"stride", {200}}}); }, ErrorKind::Runtime, {"as_strided"});
}

TEST_CASE("views share the version counter", "[views]") {
  Tensor x = random_tensor({4}, DType::Float32, 5);
  Tensor v = call1("slice", {x}, {{"dim", 0}, {"start", 1}});
  uint32_t before = x.version();
  call_inplace("mul", {v, Tensor::wrap_scalar(2.0, DType::Float64)});
  CHECK(x.version() == before + 1);
}

TERRA_COVERS("as_strided_scatter");

TEST_CASE("as_strided_scatter replaces a strided window of a copy", "[views]") {
  for (DType dtype : {DType::Float32, DType::Int64}) {
    Tensor self = random_tensor({3, 4}, dtype, 1);
    Tensor src = random_tensor({2, 2}, dtype, 2);
    Tensor out = call1("as_strided_scatter", {self, src}, {{"size", {2, 2}}, {"stride", {4, 2}}, {"storage_offset", 1}});
    REQUIRE(out.shape() == Shape{3, 4});
    std::vector<double> expect = values(self);
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 2; ++j) expect[1 + 4 * i + 2 * j] = get(src, 2 * i + j);
    CHECK(values(out) == expect);
    CHECK(values(self) != expect);  // self untouched
  }
  Tensor self = random_tensor({2, 2}, DType::Float32, 3);
  require_error([&] { call1("as_strided_scatter", {self, random_tensor({3}, DType::Float32, 4)}, {{"size", {3}}, {"stride", {2}}}); },
                ErrorKind::Runtime, {"as_strided_scatter", "does not fit"});
  require_error([&] { call1("as_strided_scatter", {self, random_tensor({2}, DType::Float32, 4)}, {{"size", {3}}, {"stride", {1}}}); },
                ErrorKind::Runtime, {"src", "size"});
}
