// Conversion, copy_, clone, contiguous, fills and the basic factories.
#include "helpers.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("to_dtype", "copy_", "clone", "contiguous", "fill_", "empty", "zeros", "ones", "full");

TEST_CASE("to_dtype converts every pair of dtypes", "[copy]") {
  const DType all[] = {DType::Bool, DType::Int32, DType::Int64, DType::Float32, DType::Float64};
  uint64_t seed = 1;
  for (DType from : all) {
    for (DType to : all) {
      Tensor x = random_tensor({4, 6}, from, seed++, -9, 9);
      auto in = values(x);
      Tensor y = call1("to_dtype", {transposed_copy(x)}, {{"dtype", to}});
      CHECK(y.dtype() == to);
      std::vector<double> e(in.size());
      for (size_t i = 0; i < in.size(); ++i) {
        double v = in[i];
        if (to == DType::Bool) v = v != 0;
        else if (is_integral(to, false)) v = std::trunc(v);
        else if (to == DType::Float32) v = static_cast<float>(v);
        e[i] = v;
      }
      check_values(y, e, 0, 0);
    }
  }
}

TEST_CASE("copy_ broadcasts and converts into a strided target", "[copy]") {
  Tensor dst = transposed_copy(random_tensor({3, 4}, DType::Float64, 1));
  Tensor src = random_tensor({4}, DType::Int32, 2, -5, 5);
  auto vs = values(src);
  uint32_t v0 = dst.version();
  Tensor r = call1("copy_", {dst, src});
  CHECK(r.is_same(dst));
  CHECK(dst.version() == v0 + 1);
  auto vd = values(dst);
  for (int i = 0; i < 12; ++i) CHECK(vd[i] == vs[i % 4]);
  require_error([&] { call1("copy_", {src, dst}); }, ErrorKind::Runtime, {"copy_", "int32[4]", "float64[3, 4]"});
}

TEST_CASE("clone and contiguous", "[copy]") {
  Tensor x = random_tensor({5, 3}, DType::Float32, 3);
  Tensor t = call1("transpose", {x}, {{"dim0", 0}, {"dim1", 1}});
  Tensor c = call1("contiguous", {t});
  CHECK(c.is_contiguous());
  CHECK_FALSE(c.shares_storage(x));
  CHECK(values(c) == values(t));
  Tensor same = call1("contiguous", {x});
  CHECK(same.shares_storage(x));
  Tensor cl = call1("clone", {x});
  CHECK_FALSE(cl.shares_storage(x));
  CHECK(values(cl) == values(x));
}

TEST_CASE("factories and fill_", "[copy][factory]") {
  Tensor z = call1("zeros", {}, {{"size", {2, 3}}});
  CHECK(z.dtype() == DType::Float32);
  CHECK(values(z) == std::vector<double>(6, 0.0));
  Tensor o = call1("ones", {}, {{"size", {4}}, {"dtype", DType::Int64}});
  CHECK(values(o) == std::vector<double>(4, 1.0));
  CHECK(call1("full", {}, {{"size", {2}}, {"fill_value", 7}}).dtype() == DType::Int64);
  CHECK(call1("full", {}, {{"size", {2}}, {"fill_value", true}}).dtype() == DType::Bool);
  Tensor f = call1("full", {}, {{"size", {3, 1}}, {"fill_value", 2.5}});
  CHECK(f.dtype() == DType::Float32);
  CHECK(values(f) == std::vector<double>(3, 2.5));
  Tensor e = call1("empty", {}, {{"size", {0, 5}}});
  CHECK(e.numel() == 0);
  Tensor s = strided_copy(random_tensor({3, 4}, DType::Float32, 4));
  call1("fill_", {s}, {{"value", -1.5}});
  CHECK(values(s) == std::vector<double>(12, -1.5));
  require_error([&] { call1("zeros", {}, {{"size", {2, -3}}}); }, ErrorKind::Runtime, {"zeros", "negative"});
  require_error([&] { call1("zeros", {}, {{"sizes", {2}}}); }, ErrorKind::Type, {"zeros", "sizes"});
  require_error([&] { call1("fill_", {o}, {{"value", 1.5}}); }, ErrorKind::Runtime, {"fill_", "int64"});
}
