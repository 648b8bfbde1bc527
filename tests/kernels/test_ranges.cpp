// The range creation ops (arange, linspace, eye) element by element against plain float64 loops
// and values PyTorch 1.13 prints (to the last bit, which PyTorch's FMAs may change), their dtype inference and errors; and Tensor::from_blob's
// release callback around an op on a strided external buffer.
#include <cmath>

#include "helpers.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("arange", "linspace", "eye");

namespace {

// PyTorch's length rule for float arguments, and value i = start + step * i in double.
std::vector<double> arange_ref(double start, double end, double step, DType dtype) {
  const int64_t n = static_cast<int64_t>(std::ceil((end - start) / step));
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) {
    double x = start + step * static_cast<double>(i);
    v[i] = dtype == DType::Float32 ? static_cast<float>(x) : x;
  }
  return v;
}

// PyTorch's symmetric linspace, in float64.
std::vector<double> linspace_ref(double start, double end, int64_t steps) {
  std::vector<double> v(steps);
  if (steps == 1) v[0] = start;
  const double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  for (int64_t i = 0; i < steps && steps > 1; ++i)
    v[i] = i < steps / 2 ? start + step * static_cast<double>(i) : end - step * static_cast<double>(steps - i - 1);
  return v;
}

// Writes an op's result into a strided out= target and returns the target.
Tensor into_strided(const char* op, const Shape& shape, DType dtype, const NamedAttrs& attrs) {
  Tensor target = strided_copy(call1("zeros", {}, {{"size", std::vector<int64_t>(shape)}, {"dtype", dtype}}));
  const OpDef& def = Registry::instance().get(op);
  dispatch_out(def, {}, make_attrs(def, attrs), {target});
  return target;
}

}  // namespace

TEST_CASE("arange matches plain loops for float steps", "[ranges]") {
  struct Case {
    double start, end, step;
  };
  const Case cases[] = {{0, 1, 0.1}, {0, 1, 1.0 / 3}, {1, 0, -0.3}, {-1.5, 2.25, 0.75}, {2.5, 1000, 3.7}, {-7, -7.5, -0.01}};
  for (DType dt : {DType::Float32, DType::Float64}) {
    for (const Case& k : cases) {
      INFO(k.start << " " << k.end << " " << k.step << " " << dtype_name(dt));
      Tensor r = call1("arange", {}, {{"start", k.start}, {"end", k.end}, {"step", k.step}, {"dtype", dt}});
      CHECK(r.dtype() == dt);
      check_values(r, arange_ref(k.start, k.end, k.step, dt), 0, 0);
    }
  }
  // Lengths as PyTorch 1.13 gives them.
  CHECK(call1("arange", {}, {{"start", 0}, {"end", 1.0}, {"step", 0.1}}).numel() == 10);
  check_values(call1("arange", {}, {{"start", 1}, {"end", 0}, {"step", -0.3}}), {1.0f, 0.7f, 0.4f, 0.1f}, 1e-7, 0);
}

TEST_CASE("arange with integer outputs", "[ranges]") {
  Tensor a = call1("arange", {}, {{"start", 10}, {"end", 0}, {"step", -3}});
  CHECK(a.dtype() == DType::Int64);
  check_values(a, {10, 7, 4, 1}, 0, 0);
  Tensor b = call1("arange", {}, {{"start", -5}, {"end", 40000}, {"step", 7}, {"dtype", DType::Int32}});
  CHECK(b.dtype() == DType::Int32);
  std::vector<double> e;
  for (int64_t x = -5; x < 40000; x += 7) e.push_back(static_cast<double>(x));
  check_values(b, e, 0, 0);
  // Float arguments with an integer dtype: int64 truncates before measuring, int32 after.
  check_values(call1("arange", {}, {{"start", 0}, {"end", 2.5}, {"step", 1.5}, {"dtype", DType::Int64}}), {0, 1}, 0, 0);
  check_values(call1("arange", {}, {{"start", 0.5}, {"end", 2.7}, {"step", 1}, {"dtype", DType::Int32}}), {0, 1, 2}, 0, 0);
  check_values(call1("arange", {}, {{"start", 0.5}, {"end", 2.7}, {"step", 1}, {"dtype", DType::Int64}}), {0, 1}, 0, 0);
  // Large int64 values stay exact.
  const int64_t big = int64_t{1} << 58;
  Tensor c = call1("arange", {}, {{"start", 0}, {"end", int64_t{1} << 60}, {"step", big}});
  REQUIRE(c.numel() == 4);
  for (int64_t i = 0; i < 4; ++i) CHECK(c.data<int64_t>()[i] == i * big);
}

TEST_CASE("arange infers its dtype from its arguments", "[ranges]") {
  CHECK(call1("arange", {}, {{"start", 0}, {"end", 5}}).dtype() == DType::Int64);
  CHECK(call1("arange", {}, {{"start", 1}, {"end", 2.5}}).dtype() == DType::Float32);
  CHECK(call1("arange", {}, {{"start", 0}, {"end", 5}, {"step", 0.5}}).dtype() == DType::Float32);
  CHECK(call1("arange", {}, {{"start", true}, {"end", 5}}).dtype() == DType::Int64);
  set_default_float_dtype(DType::Float64);
  DType dt = call1("arange", {}, {{"start", 0.0}, {"end", 5}}).dtype();
  set_default_float_dtype(DType::Float32);
  CHECK(dt == DType::Float64);
}

TEST_CASE("arange: empty results, strided out= and errors", "[ranges]") {
  Tensor e = call1("arange", {}, {{"start", 0}, {"end", 0}});
  CHECK(e.shape() == Shape{0});
  CHECK(e.dtype() == DType::Int64);
  CHECK(call1("arange", {}, {{"start", 5}, {"end", 5}, {"step", -1}}).numel() == 0);
  CHECK(call1("arange", {}, {{"start", 1.5}, {"end", 1.5}, {"step", 0.1}, {"dtype", DType::Float64}}).numel() == 0);
  check_values(into_strided("arange", {4}, DType::Float64, {{"start", 1}, {"end", 3}, {"step", 0.5}}), {1, 1.5, 2, 2.5},
               0, 0);

  require_error([] { call1("arange", {}, {{"start", 0}, {"end", 1}, {"step", 0}}); }, ErrorKind::Runtime,
                {"arange", "step must be nonzero"});
  require_error([] { call1("arange", {}, {{"start", 0}, {"end", 2.5}, {"step", 0.5}, {"dtype", DType::Int64}}); },
                ErrorKind::Runtime, {"arange", "step must be nonzero"});
  require_error([] { call1("arange", {}, {{"start", 1}, {"end", 0}, {"step", 1}}); }, ErrorKind::Runtime,
                {"arange", "upper bound and larger bound inconsistent with step sign"});
  require_error([] { call1("arange", {}, {{"start", 0}, {"end", -5}}); }, ErrorKind::Runtime,
                {"arange", "upper bound and larger bound inconsistent with step sign"});
  require_error([] { call1("arange", {}, {{"start", 0}, {"end", 1.0}, {"step", -0.5}}); }, ErrorKind::Runtime,
                {"arange", "upper bound and larger bound inconsistent with step sign"});
  require_error([] { call1("arange", {}, {{"start", 0}, {"end", INFINITY}}); }, ErrorKind::Runtime,
                {"arange", "unsupported range: 0 -> inf"});
  require_error([] { call1("arange", {}, {{"start", 0}, {"end", 1e30}, {"step", 1e29}, {"dtype", DType::Int64}}); },
                ErrorKind::Runtime, {"arange", "value cannot be converted to type int64 without overflow"});
  require_error([] { call1("arange", {}, {{"start", 0}, {"end", 5}, {"dtype", DType::Bool}}); }, ErrorKind::Runtime,
                {"arange", "not implemented for 'bool'"});
}

TEST_CASE("linspace matches PyTorch's symmetric formula", "[ranges]") {
  struct Case {
    double start, end;
    int64_t steps;
  };
  const Case cases[] = {{0, 1, 5}, {2.5, -1, 7}, {-3, 11.25, 100}, {1e-3, 1e3, 1001}, {4, 4, 3}, {-2, 5, 2}};
  for (const Case& k : cases) {
    INFO(k.start << " " << k.end << " " << k.steps);
    auto ref = linspace_ref(k.start, k.end, k.steps);
    Tensor d = call1("linspace", {}, {{"start", k.start}, {"end", k.end}, {"steps", k.steps}, {"dtype", DType::Float64}});
    check_values(d, ref, 0, 0);
    Tensor f = call1("linspace", {}, {{"start", k.start}, {"end", k.end}, {"steps", k.steps}});
    CHECK(f.dtype() == DType::Float32);
    check_values(f, ref, 1e-6, 1e-6);
    // Both endpoints are exact, whichever half they are computed from.
    CHECK(f.data<float>()[0] == static_cast<float>(k.start));
    CHECK(f.data<float>()[k.steps - 1] == static_cast<float>(k.end));
  }
  // PyTorch 1.13: torch.linspace(2.5, -1, 7).tolist(), computed in float32 (its AVX2 build fuses
  // end - step * k into an FMA, hence 0.74999994 where plain float arithmetic gives 0.75).
  check_values(call1("linspace", {}, {{"start", 2.5}, {"end", -1}, {"steps", 7}}),
               {2.5, 1.9166667461395264, 1.3333333730697632, 0.7499999403953552, 0.16666662693023682,
                -0.4166666865348816, -1.0},
               1.2e-7, 0);
}

TEST_CASE("linspace with integer outputs, one step, no steps, errors", "[ranges]") {
  check_values(call1("linspace", {}, {{"start", 0}, {"end", 10}, {"steps", 5}, {"dtype", DType::Int64}}),
               {0, 2, 5, 7, 10}, 0, 0);
  check_values(call1("linspace", {}, {{"start", -3}, {"end", 7}, {"steps", 4}, {"dtype", DType::Int32}}),
               {-3, 0, 3, 7}, 0, 0);
  check_values(call1("linspace", {}, {{"start", 3.5}, {"end", 9}, {"steps", 1}, {"dtype", DType::Float64}}), {3.5}, 0,
               0);
  Tensor e = call1("linspace", {}, {{"start", 0}, {"end", 1}, {"steps", 0}});
  CHECK(e.shape() == Shape{0});
  CHECK(e.dtype() == DType::Float32);
  check_values(into_strided("linspace", {3}, DType::Float32, {{"start", -1}, {"end", 1}, {"steps", 3}}), {-1, 0, 1}, 0,
               0);
  require_error([] { call1("linspace", {}, {{"start", 0}, {"end", 1}, {"steps", -1}}); }, ErrorKind::Runtime,
                {"linspace", "number of steps must be non-negative"});
  require_error([] { call1("linspace", {}, {{"start", 0}, {"end", int64_t{1} << 40}, {"steps", 3}, {"dtype", DType::Int32}}); },
                ErrorKind::Runtime, {"linspace", "value cannot be converted to type int32 without overflow"});
  require_error([] { call1("linspace", {}, {{"start", 0}, {"end", 1}, {"steps", 3}, {"dtype", DType::Bool}}); },
                ErrorKind::Runtime, {"linspace", "not implemented for 'bool'"});
}

TEST_CASE("eye against a plain loop", "[ranges]") {
  struct Case {
    int64_t n, m;
  };
  const Case cases[] = {{3, -1}, {2, 3}, {4, 2}, {1, 1}, {0, -1}, {0, 3}, {3, 0}};
  for (DType dt : {DType::Float32, DType::Float64, DType::Int32, DType::Int64, DType::Bool}) {
    for (const Case& k : cases) {
      const int64_t m = k.m == -1 ? k.n : k.m;
      Tensor t = call1("eye", {}, {{"n", k.n}, {"m", k.m}, {"dtype", dt}});
      CHECK(t.dtype() == dt);
      CHECK(t.shape() == Shape{k.n, m});
      std::vector<double> e(k.n * m);
      for (int64_t i = 0; i < k.n; ++i)
        for (int64_t j = 0; j < m; ++j) e[i * m + j] = i == j;
      check_values(t, e, 0, 0);
    }
  }
  CHECK(call1("eye", {}, {{"n", 2}}).dtype() == DType::Float32);
  check_values(into_strided("eye", {2, 3}, DType::Int64, {{"n", 2}, {"m", 3}, {"dtype", DType::Int64}}), {1, 0, 0, 0, 1, 0}, 0, 0);
  require_error([] { call1("eye", {}, {{"n", -1}}); }, ErrorKind::Runtime, {"eye", "n must be greater or equal to 0, got -1"});
  require_error([] { call1("eye", {}, {{"n", 2}, {"m", -2}}); }, ErrorKind::Runtime,
                {"eye", "m must be greater or equal to 0, got -2"});
}

TEST_CASE("creation ops are not differentiable", "[ranges]") {
  for (const char* op : {"arange", "linspace", "eye"}) {
    const OpDef& def = Registry::instance().get(op);
    CHECK(def.grad_state == GradState::NotDifferentiable);
    CHECK(def.effect == Effect::Pure);
  }
}

TEST_CASE("from_blob wraps a strided external buffer and releases it once", "[ranges]") {
  // A 3x4 row-major buffer viewed as its even columns: shape [3, 2], strides [4, 2].
  std::vector<float> buffer(12);
  for (size_t i = 0; i < buffer.size(); ++i) buffer[i] = 0.5f * static_cast<float>(i) - 2;
  int released = 0;
  Tensor copy;
  {
    Tensor t = Tensor::from_blob(buffer.data(), {3, 2}, {4, 2}, DType::Float32, Device{}, [&] { ++released; });
    CHECK_FALSE(t.is_contiguous());
    copy = call1("clone", {t});
    Tensor sum = call1("add", {t, copy});
    CHECK(released == 0);
    std::vector<double> e;
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 2; ++j) e.push_back(buffer[i * 4 + j * 2]);
    check_values(copy, e, 0, 0);
    for (double& x : e) x *= 2;
    check_values(sum, e, 0, 0);
    buffer[0] = 100;  // the tensor reads the caller's memory, not a copy
    CHECK(values(t)[0] == 100);
  }
  CHECK(released == 1);
  copy = Tensor();
  CHECK(released == 1);
}
