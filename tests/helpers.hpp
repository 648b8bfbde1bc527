// Test helpers shared by the C++ suites: seeded random tensors (never all zero), strided
// element access as float64 (the reference type), non-contiguous copies of a tensor, and an
// element-by-element comparison that reports the first mismatch.
#pragma once
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <set>
#include <sstream>
#include <vector>

#include "engine/dispatch/dispatcher.hpp"

namespace terra::test {

// Logical row-major index -> element offset for a strided tensor.
inline int64_t element_offset(const Tensor& t, int64_t linear) {
  int64_t off = t.offset();
  for (int64_t d = t.dim() - 1; d >= 0; --d) {
    int64_t s = t.shape()[d];
    off += (linear % s) * t.strides()[d];
    linear /= s;
  }
  return off;
}

inline double get(const Tensor& t, int64_t linear) {
  int64_t off = element_offset(t, linear);
  return dispatch_dtype(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return static_cast<double>(static_cast<const T*>(t.storage()->data())[off]);
  });
}

inline std::vector<double> values(const Tensor& t) {
  std::vector<double> v(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = get(t, i);
  return v;
}

inline Tensor from_values(const std::vector<double>& v, const Shape& shape, DType dtype = DType::Float64) {
  Tensor t = Tensor::empty(shape, dtype);
  REQUIRE(static_cast<int64_t>(v.size()) == t.numel());
  dispatch_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    for (size_t i = 0; i < v.size(); ++i) t.data<T>()[i] = static_cast<T>(v[i]);
  });
  return t;
}

// Uniform values in [lo, hi) (integers: in [lo, hi], zero skipped for ints when nonzero=true).
inline Tensor random_tensor(const Shape& shape, DType dtype, uint64_t seed, double lo = -2.0, double hi = 2.0,
                            bool nonzero = true) {
  std::mt19937_64 rng(seed);
  std::vector<double> v(shape_numel(shape));
  for (double& x : v) {
    if (dtype == DType::Bool) {
      x = static_cast<double>(rng() & 1);
    } else if (is_integral(dtype, false)) {
      std::uniform_int_distribution<int64_t> d(static_cast<int64_t>(lo), static_cast<int64_t>(hi));
      do x = static_cast<double>(d(rng)); while (nonzero && x == 0 && (lo != 0 || hi != 0));
    } else {
      std::uniform_real_distribution<double> d(lo, hi);
      do x = d(rng); while (nonzero && x == 0);
    }
  }
  return from_values(v, shape, dtype);
}

// The same values laid out with every other element skipped in the last dim (non-contiguous).
inline Tensor strided_copy(const Tensor& t) {
  if (t.dim() == 0) return t;
  Shape wide = t.shape();
  wide.back() *= 2;
  Tensor big = call1("zeros", {}, {{"size", std::vector<int64_t>(wide)}, {"dtype", t.dtype()}});
  Tensor view = call1("slice", {big}, {{"dim", -1}, {"step", 2}});
  call("copy_", {view, t});
  REQUIRE((!view.is_contiguous() || t.shape().back() <= 1));
  return view;
}

// The same values as the transpose of a contiguous tensor (swap of the last two dims).
inline Tensor transposed_copy(const Tensor& t) {
  if (t.dim() < 2) return strided_copy(t);
  Tensor tt = call1("contiguous", {call1("transpose", {t}, {{"dim0", -1}, {"dim1", -2}})});
  return call1("transpose", {tt}, {{"dim0", -1}, {"dim1", -2}});
}

// Row-major index into a tensor of shape `from` broadcast to `to`, for output linear index i.
inline int64_t broadcast_index(const Shape& from, const Shape& to, int64_t i) {
  int64_t off = 0, mul = 1;
  for (int64_t d = static_cast<int64_t>(to.size()) - 1; d >= 0; --d) {
    const int64_t idx = i % to[d];
    i /= to[d];
    const int64_t fd = d - static_cast<int64_t>(to.size() - from.size());
    if (fd >= 0) {
      if (from[fd] != 1) off += idx * mul;
      mul *= from[fd];
    }
  }
  return off;
}
inline double broadcast_at(const std::vector<double>& v, const Shape& from, const Shape& to, int64_t i) {
  return v[broadcast_index(from, to, i)];
}

inline void check_values(const Tensor& got, const std::vector<double>& expected, double rtol, double atol) {
  REQUIRE(got.numel() == static_cast<int64_t>(expected.size()));
  for (int64_t i = 0; i < got.numel(); ++i) {
    double g = get(got, i), e = expected[i];
    bool ok = (std::isnan(e) && std::isnan(g)) || (std::isinf(e) && g == e) || std::fabs(g - e) <= atol + rtol * std::fabs(e);
    if (!ok) {
      std::ostringstream os;
      os << "element " << i << " of " << got.describe() << ": got " << g << ", expected " << e;
      FAIL(os.str());
    }
  }
}

// Tolerances for comparing against a float64 reference.
inline double rtol_for(DType dt) { return dt == DType::Float32 ? 2e-6 : (dt == DType::Float64 ? 1e-12 : 0.0); }
inline double atol_for(DType dt) { return dt == DType::Float32 ? 1e-6 : (dt == DType::Float64 ? 1e-12 : 0.0); }

// Runs `body` and checks it throws terra::Error whose message contains every fragment.
template <class F>
void require_error(F&& body, ErrorKind kind, const std::vector<std::string>& fragments) {
  try {
    body();
  } catch (const Error& e) {
    INFO(e.what());
    CHECK(e.kind() == kind);
    for (const auto& f : fragments) CHECK(std::string(e.what()).find(f) != std::string::npos);
    return;
  }
  FAIL("expected a terra::Error");
}

}  // namespace terra::test

namespace terra::test {

// The op test table: each kernel test file declares the ops it covers; a test walks the registry
// and fails for any op without a row (tests/kernels/test_coverage.cpp).
inline std::set<std::string>& covered_ops() {
  static std::set<std::string> s;
  return s;
}
struct Covers {
  Covers(std::initializer_list<const char*> ops) {
    for (const char* op : ops) covered_ops().insert(op);
  }
};

}  // namespace terra::test

#define TERRA_COVERS(...) static ::terra::test::Covers TERRA_CONCAT(terra_covers_, __COUNTER__)({__VA_ARGS__})
