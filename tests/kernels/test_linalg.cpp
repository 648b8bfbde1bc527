// Matrix products against naive float64 loops (exact integer math for int32/int64): every matmul
// case (dot, matrix-vector, vector-matrix, batched with broadcast batch dims, 1-D against N-D),
// transposed, strided and expanded operands (the BLAS transpose-flag, copy and stride-0 paths),
// empty and size-1 dims, out= into layouts BLAS cannot write, and the error messages.
#include <cmath>
#include <limits>

#include "helpers.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("mm", "bmm", "matmul", "addmm", "baddbmm", "linear", "outer");

namespace {

const DType kDTypes[] = {DType::Float32, DType::Float64, DType::Int32, DType::Int64};

Tensor random_operand(const Shape& shape, DType dt, uint64_t seed) {
  return is_floating(dt) ? random_tensor(shape, dt, seed) : random_tensor(shape, dt, seed, -5, 5);
}

// The layouts an operand is passed in: contiguous, transposed (BLAS's transpose flag) and every
// other element (no BLAS layout: a copy).
enum class Layout { Contiguous, Transposed, Strided };
const Layout kLayouts[] = {Layout::Contiguous, Layout::Transposed, Layout::Strided};

Tensor laid_out(const Tensor& t, Layout l) {
  switch (l) {
    case Layout::Contiguous:
      return t;
    case Layout::Transposed:
      return transposed_copy(t);
    case Layout::Strided:
      return strided_copy(t);
  }
  return t;
}

// A float64 result with, per element, the sum of the magnitudes of its terms (what rounding
// error scales with) and the length k of its dot products.
struct Expected {
  Shape shape;
  std::vector<double> value, magnitude;
  int64_t k = 0;
};

Shape broadcast_ref(const Shape& a, const Shape& b) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t x = i + a.size() < n ? 1 : a[i + a.size() - n];
    const int64_t y = i + b.size() < n ? 1 : b[i + b.size() - n];
    out[i] = x == 1 ? y : x;
  }
  return out;
}

// torch.matmul by definition: 1-D operands become a row (left) or a column (right), batch dims
// broadcast, and the added dims are dropped from the result.
Expected ref_matmul(const Tensor& a, const Tensor& b) {
  Shape sa = a.shape(), sb = b.shape();
  if (sa.size() == 1) sa.insert(sa.begin(), 1);
  if (sb.size() == 1) sb.push_back(1);
  const Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
  const Shape batch = broadcast_ref(ba, bb);
  const int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
  const auto va = values(a), vb = values(b);
  Expected e;
  e.k = k;
  e.shape = batch;
  if (a.dim() > 1) e.shape.push_back(m);
  if (b.dim() > 1) e.shape.push_back(n);
  const int64_t nb = shape_numel(batch);
  e.value.assign(nb * m * n, 0.0);
  e.magnitude.assign(nb * m * n, 0.0);
  for (int64_t bi = 0; bi < nb; ++bi) {
    const int64_t oa = broadcast_index(ba, batch, bi) * m * k, ob = broadcast_index(bb, batch, bi) * k * n;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0, mag = 0;
        for (int64_t p = 0; p < k; ++p) {
          const double t = va[oa + i * k + p] * vb[ob + p * n + j];
          s += t;
          mag += std::fabs(t);
        }
        e.value[(bi * m + i) * n + j] = s;
        e.magnitude[(bi * m + i) * n + j] = mag;
      }
  }
  return e;
}

// beta * self + alpha * product, self broadcast; integer tensors truncate beta and alpha.
Expected ref_add(const Tensor& self, Expected prod, double beta, double alpha, DType dt) {
  if (!is_floating(dt)) {
    beta = std::trunc(beta);
    alpha = std::trunc(alpha);
  }
  const auto vs = values(self);
  for (size_t i = 0; i < prod.value.size(); ++i) {
    const double s = beta == 0 ? 0.0 : beta * vs[broadcast_index(self.shape(), prod.shape, i)];
    prod.value[i] = s + (alpha == 0 ? 0.0 : alpha * prod.value[i]);
    prod.magnitude[i] = std::fabs(s) + std::fabs(alpha) * prod.magnitude[i];
  }
  return prod;
}

// Every element within the rounding bound of a length-k dot product (exact for integers).
void check_product(const Tensor& got, const Expected& e, DType dt) {
  REQUIRE(got.shape() == e.shape);
  REQUIRE(got.dtype() == dt);
  const double u = dt == DType::Float32 ? std::ldexp(1.0, -23) : dt == DType::Float64 ? std::ldexp(1.0, -52) : 0.0;
  const auto g = values(got);
  for (size_t i = 0; i < g.size(); ++i) {
    const double tol = (static_cast<double>(e.k) + 2) * u * e.magnitude[i];
    if (!(std::fabs(g[i] - e.value[i]) <= tol) && !(std::isnan(g[i]) && std::isnan(e.value[i]))) {
      std::ostringstream os;
      os << "element " << i << " of " << got.describe() << ": got " << g[i] << ", expected " << e.value[i];
      FAIL(os.str());
    }
  }
}

Tensor expand(const Tensor& t, const Shape& shape) {
  return call1("expand", {t}, {{"size", std::vector<int64_t>(shape)}});
}

Tensor full(const Shape& shape, double v, DType dt) {
  return call1("full", {}, {{"size", std::vector<int64_t>(shape)}, {"fill_value", v}, {"dtype", dt}});
}

}  // namespace

TEST_CASE("mm matches float64 loops for every dtype and operand layout", "[linalg]") {
  // {m, k, n}: general, a row, a column, 1x1, k = 0 (zeros), m = 0, n = 0, and sizes past BLAS's blocking.
  const std::vector<std::array<int64_t, 3>> sizes = {{5, 7, 3}, {1, 4, 6}, {6, 4, 1}, {1, 1, 1},
                                                     {3, 0, 4}, {0, 3, 4}, {4, 3, 0}, {33, 17, 65}};
  uint64_t seed = 1;
  for (DType dt : kDTypes)
    for (const auto& [m, k, n] : sizes) {
      const Tensor a = random_operand({m, k}, dt, seed++), b = random_operand({k, n}, dt, seed++);
      const Expected e = ref_matmul(a, b);
      for (Layout la : kLayouts)
        for (Layout lb : kLayouts) {
          INFO(dtype_name(dt) << " " << m << "x" << k << "x" << n << " layouts " << int(la) << int(lb));
          check_product(call1("mm", {laid_out(a, la), laid_out(b, lb)}), e, dt);
        }
    }
}

TEST_CASE("bmm over batches, including an expanded (stride-0) batch and an empty one", "[linalg]") {
  uint64_t seed = 100;
  for (DType dt : kDTypes) {
    for (const auto& [bs, m, k, n] :
         std::vector<std::array<int64_t, 4>>{{3, 4, 5, 2}, {1, 1, 3, 1}, {0, 2, 3, 4}, {2, 3, 0, 2}, {4, 1, 6, 5}}) {
      const Tensor a = random_operand({bs, m, k}, dt, seed++), b = random_operand({bs, k, n}, dt, seed++);
      const Expected e = ref_matmul(a, b);
      for (Layout la : kLayouts)
        for (Layout lb : kLayouts) {
          INFO(dtype_name(dt) << " " << shape_str(a.shape()) << " " << shape_str(b.shape()) << " " << int(la)
                              << int(lb));
          check_product(call1("bmm", {laid_out(a, la), laid_out(b, lb)}), e, dt);
        }
    }
    // One matrix shared by every batch, without being materialized.
    const Tensor a1 = random_operand({1, 4, 3}, dt, seed++), b = random_operand({6, 3, 5}, dt, seed++);
    const Tensor a = expand(a1, {6, 4, 3});
    check_product(call1("bmm", {a, b}), ref_matmul(a, b), dt);
    // The same for the right operand, read transposed: every batch then shares B, so the
    // batch folds into the rows of one product.
    const Tensor b1 = random_operand({1, 5, 2}, dt, seed++);
    const Tensor bt = expand(transposed_copy(b1), {6, 5, 2});
    check_product(call1("bmm", {b, bt}), ref_matmul(b, bt), dt);
  }
}

TEST_CASE("matmul covers every PyTorch case", "[linalg]") {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{3}, {3}},                    // dot -> 0-d
      {{4, 3}, {3}},                 // matrix-vector
      {{3}, {3, 5}},                 // vector-matrix
      {{4, 3}, {3, 5}},              // matrix-matrix
      {{2, 4, 3}, {3}},              // N-D times a vector (appended dim)
      {{3}, {2, 3, 5}},              // a vector times N-D (prepended dim)
      {{2, 4, 3}, {3, 5}},           // batched times a matrix: folded into one product
      {{4, 3}, {2, 3, 5}},           // a matrix times batched
      {{2, 1, 4, 3}, {5, 3, 2}},     // batch dims broadcast against each other
      {{3, 1, 4, 3}, {1, 2, 3, 5}},  // both sides broadcast
      {{1, 4, 3}, {6, 3, 5}},        // size-1 batch
      {{2, 3, 4, 3}, {3}},
      {{3}, {2, 2, 3, 5}},
      {{1, 1}, {1, 1}},
      {{1}, {1, 1}},
      {{0}, {0}},  // empty dot: 0
      {{0, 3}, {3}},
      {{2, 0, 3}, {3, 4}},
      {{2, 4, 0}, {0, 5}},  // k = 0 in a batch: zeros
      {{0, 4, 3}, {3, 5}},
      {{1, 2, 4}, {0, 4, 5}},  // a size-1 batch broadcast against an empty one
  };
  uint64_t seed = 200;
  for (DType dt : kDTypes)
    for (const auto& [sa, sb] : cases) {
      const Tensor a = random_operand(sa, dt, seed++), b = random_operand(sb, dt, seed++);
      const Expected e = ref_matmul(a, b);
      for (auto [la, lb] :
           {std::pair{Layout::Contiguous, Layout::Contiguous}, std::pair{Layout::Transposed, Layout::Strided},
            std::pair{Layout::Strided, Layout::Transposed}, std::pair{Layout::Transposed, Layout::Transposed}}) {
        INFO(dtype_name(dt) << " " << shape_str(sa) << " @ " << shape_str(sb) << " layouts " << int(la) << int(lb));
        check_product(call1("matmul", {laid_out(a, la), laid_out(b, lb)}), e, dt);
      }
    }
}

TEST_CASE("matmul with expanded (stride-0) operands", "[linalg]") {
  uint64_t seed = 300;
  for (DType dt : {DType::Float32, DType::Int64}) {
    // A vector expanded from one element (stride 0: no BLAS layout, so it is packed).
    const Tensor v = expand(random_operand({1}, dt, seed++), {4});
    const Tensor m = random_operand({4, 3}, dt, seed++);
    check_product(call1("matmul", {v, m}), ref_matmul(v, m), dt);
    const Tensor mt = transposed_copy(random_operand({3, 4}, dt, seed++));
    check_product(call1("matmul", {mt, v}), ref_matmul(mt, v), dt);
    // A matrix whose rows repeat (row stride 0), batched against a real batch.
    const Tensor rows = expand(random_operand({1, 5}, dt, seed++), {3, 5});
    const Tensor batch = random_operand({2, 5, 4}, dt, seed++);
    check_product(call1("matmul", {rows, batch}), ref_matmul(rows, batch), dt);
    // Expanded batch dims on both sides.
    const Tensor a = expand(random_operand({2, 1, 3, 4}, dt, seed++), {2, 3, 3, 4});
    const Tensor b = expand(random_operand({1, 3, 4, 2}, dt, seed++), {2, 3, 4, 2});
    check_product(call1("matmul", {a, b}), ref_matmul(a, b), dt);
  }
}

TEST_CASE("addmm: beta * self + alpha * mat1 @ mat2 with self broadcast", "[linalg]") {
  uint64_t seed = 400;
  const int64_t m = 4, k = 3, n = 5;
  for (DType dt : kDTypes)
    for (const Shape& ss : std::vector<Shape>{{m, n}, {n}, {1, n}, {m, 1}, {}})
      for (auto [beta, alpha] : {std::pair{1.0, 1.0}, std::pair{0.5, 2.0}, std::pair{-2.0, 1.5}, std::pair{3.0, 0.0}}) {
        INFO(dtype_name(dt) << " self " << shape_str(ss) << " beta " << beta << " alpha " << alpha);
        const Tensor self = random_operand(ss, dt, seed++);
        const Tensor a = random_operand({m, k}, dt, seed++), b = random_operand({k, n}, dt, seed++);
        const Expected e = ref_add(self, ref_matmul(a, b), beta, alpha, dt);
        check_product(call1("addmm", {self, a, b}, {{"beta", beta}, {"alpha", alpha}}), e, dt);
        check_product(call1("addmm", {strided_copy(self), transposed_copy(a), strided_copy(b)},
                            {{"beta", beta}, {"alpha", alpha}}),
                      e, dt);
      }
  // Integer scalars on a float tensor; defaults.
  const Tensor self = random_operand({2, 3}, DType::Float32, seed++),
               a = random_operand({2, 4}, DType::Float32, seed++), b = random_operand({4, 3}, DType::Float32, seed++);
  check_product(call1("addmm", {self, a, b}, {{"beta", 2}, {"alpha", -1}}),
                ref_add(self, ref_matmul(a, b), 2, -1, DType::Float32), DType::Float32);
  check_product(call1("addmm", {self, a, b}), ref_add(self, ref_matmul(a, b), 1, 1, DType::Float32), DType::Float32);
  // k = 0: beta * self.
  const Tensor e0 = random_operand({2, 0}, DType::Float64, seed++), e1 = random_operand({0, 3}, DType::Float64, seed++);
  const Tensor s64 = random_operand({3}, DType::Float64, seed++);
  check_product(call1("addmm", {s64, e0, e1}, {{"beta", 2.0}}), ref_add(s64, ref_matmul(e0, e1), 2, 1, DType::Float64),
                DType::Float64);
}

TEST_CASE("addmm and baddbmm ignore self when beta is 0 and the product when alpha is 0", "[linalg]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor a = random_tensor({3, 4}, dt, 1), b = random_tensor({4, 2}, dt, 2);
    Tensor out = call1("addmm", {full({3, 2}, nan, dt), a, b}, {{"beta", 0}});
    check_product(out, ref_matmul(a, b), dt);
    // With a NaN in mat2 and alpha 0 the product is not computed (as in BLAS and PyTorch).
    const Tensor bad = full({4, 2}, nan, dt), self = random_tensor({3, 2}, dt, 3);
    check_product(call1("addmm", {self, a, bad}, {{"beta", 2}, {"alpha", 0}}),
                  ref_add(self, ref_matmul(a, b), 2, 0, dt), dt);
    const Tensor ba = random_tensor({2, 3, 4}, dt, 4), bb = random_tensor({2, 4, 5}, dt, 5);
    check_product(call1("baddbmm", {full({5}, nan, dt), ba, bb}, {{"beta", 0.0}}), ref_matmul(ba, bb), dt);
    // NaN in self with beta != 0 propagates.
    const auto v = values(call1("addmm", {full({2}, nan, dt), a, b}, {{"beta", 1}}));
    for (double x : v) CHECK(std::isnan(x));
  }
}

TEST_CASE("baddbmm with self broadcast and converted to the batches' dtype", "[linalg]") {
  uint64_t seed = 500;
  for (DType dt : kDTypes)
    for (const Shape& ss : std::vector<Shape>{{3, 2, 4}, {2, 4}, {4}, {3, 1, 4}, {}}) {
      INFO(dtype_name(dt) << " self " << shape_str(ss));
      const Tensor self = random_operand(ss, dt, seed++);
      const Tensor a = random_operand({3, 2, 5}, dt, seed++), b = random_operand({3, 5, 4}, dt, seed++);
      const Expected e = ref_add(self, ref_matmul(a, b), 0.5, -3, dt);
      check_product(call1("baddbmm", {self, a, b}, {{"beta", 0.5}, {"alpha", -3}}), e, dt);
      check_product(call1("baddbmm", {transposed_copy(self), strided_copy(a), transposed_copy(b)},
                          {{"beta", 0.5}, {"alpha", -3}}),
                    e, dt);
    }
  // A float64 self is converted to float32 batches' dtype, as PyTorch 1.13 does.
  const Tensor self = random_tensor({2, 3}, DType::Float64, seed++);
  const Tensor a = random_tensor({1, 2, 4}, DType::Float32, seed++),
               b = random_tensor({1, 4, 3}, DType::Float32, seed++);
  const Tensor self32 = call1("to_dtype", {self}, {{"dtype", DType::Float32}});
  check_product(call1("baddbmm", {self, a, b}), ref_add(self32, ref_matmul(a, b), 1, 1, DType::Float32),
                DType::Float32);
  // Empty batch.
  const Tensor ea = random_tensor({0, 2, 3}, DType::Float32, 1), eb = random_tensor({0, 3, 4}, DType::Float32, 2);
  CHECK(call1("baddbmm", {random_tensor({4}, DType::Float32, 3), ea, eb}).shape() == Shape{0, 2, 4});
}

TEST_CASE("linear: input of any leading dims times weight [out, in] transposed, plus bias", "[linalg]") {
  uint64_t seed = 600;
  const int64_t in = 4, out = 5;
  for (DType dt : kDTypes)
    for (const Shape& si : std::vector<Shape>{{in}, {3, in}, {2, 3, in}, {2, 1, 3, in}, {0, in}, {2, 0, in}})
      for (bool vector_weight : {false, true})
        for (int bias_kind = 0; bias_kind < 3; ++bias_kind) {  // none, [out] (or 0-d), 0-d
          INFO(dtype_name(dt) << " input " << shape_str(si) << " vector weight " << vector_weight << " bias "
                              << bias_kind);
          const Tensor x = random_operand(si, dt, seed++);
          const Tensor w = random_operand(vector_weight ? Shape{in} : Shape{out, in}, dt, seed++);
          const Tensor wt =
              vector_weight ? w : call1("contiguous", {call1("transpose", {w}, {{"dim0", 0}, {"dim1", 1}})});
          Expected e = ref_matmul(x, wt);
          Tensor bias;
          if (bias_kind == 1) bias = random_operand(vector_weight ? Shape{} : Shape{out}, dt, seed++);
          if (bias_kind == 2) bias = random_operand({}, dt, seed++);
          if (bias.defined()) e = ref_add(bias, e, 1, 1, dt);
          for (Layout lx : kLayouts)
            for (Layout lw : kLayouts) {
              INFO("layouts " << int(lx) << int(lw));
              check_product(call1("linear", {laid_out(x, lx), laid_out(w, lw), bias}), e, dt);
            }
        }
  // A bias of the full output shape, and k = 0 (bias alone).
  const Tensor x = random_tensor({3, in}, DType::Float32, seed++), w = random_tensor({out, in}, DType::Float32, seed++);
  const Tensor bias = random_tensor({3, out}, DType::Float32, seed++);
  const Tensor wt = call1("contiguous", {call1("transpose", {w}, {{"dim0", 0}, {"dim1", 1}})});
  check_product(call1("linear", {x, w, bias}), ref_add(bias, ref_matmul(x, wt), 1, 1, DType::Float32), DType::Float32);
  const Tensor x0 = random_tensor({2, 0}, DType::Float64, 1), w0 = random_tensor({3, 0}, DType::Float64, 2);
  const Tensor b0 = random_tensor({3}, DType::Float64, 3);
  check_product(call1("linear", {x0, w0, b0}),
                ref_add(b0, ref_matmul(x0, call1("transpose", {w0}, {{"dim0", 0}, {"dim1", 1}})), 1, 1, DType::Float64),
                DType::Float64);
}

TEST_CASE("outer promotes like mul and takes bool", "[linalg]") {
  uint64_t seed = 700;
  const std::vector<std::pair<DType, DType>> pairs = {
      {DType::Float32, DType::Float32}, {DType::Float32, DType::Float64}, {DType::Int32, DType::Int64},
      {DType::Int32, DType::Float32},   {DType::Bool, DType::Bool},       {DType::Int64, DType::Int64}};
  for (auto [da, db] : pairs)
    for (auto [n, m] : {std::pair<int64_t, int64_t>{4, 3}, {1, 5}, {0, 3}, {2, 0}}) {
      INFO(dtype_name(da) << " " << dtype_name(db) << " " << n << "x" << m);
      const Tensor a = random_operand({n}, da, seed++), b = random_operand({m}, db, seed++);
      const DType want = promote_types(da, db);
      const auto va = values(a), vb = values(b);
      std::vector<double> e;
      for (double x : va)
        for (double y : vb) e.push_back(want == DType::Bool ? double(x != 0 && y != 0) : x * y);
      for (auto [x, y] : {std::pair{a, b}, std::pair{strided_copy(a), strided_copy(b)}}) {
        const Tensor o = call1("outer", {x, y});
        CHECK(o.shape() == Shape{n, m});
        CHECK(o.dtype() == want);
        check_values(o, e, rtol_for(want), 0);
      }
    }
}

TEST_CASE("matrix products write out= tensors of any layout", "[linalg][out]") {
  const OpDef& mm = Registry::instance().get("mm");
  const OpDef& baddbmm = Registry::instance().get("baddbmm");
  for (DType dt : kDTypes) {
    INFO(dtype_name(dt));
    const Tensor a = random_operand({4, 3}, dt, 1), b = random_operand({3, 5}, dt, 2);
    const Expected e = ref_matmul(a, b);
    // Column-major out (BLAS computes the transposed product) and every-other-element out (no
    // BLAS layout: computed in a packed copy).
    for (Layout lo : kLayouts) {
      const Tensor o = laid_out(call1("zeros", {}, {{"size", {4, 5}}, {"dtype", dt}}), lo);
      dispatch_out(mm, {a, b}, make_attrs(mm, {}), {o});
      check_product(o, e, dt);
    }
    const Tensor self = random_operand({2, 4, 5}, dt, 3);
    const Tensor ba = random_operand({2, 4, 3}, dt, 4), bb = random_operand({2, 3, 5}, dt, 5);
    const Expected eb = ref_add(self, ref_matmul(ba, bb), 2, 3, dt);
    for (Layout lo : kLayouts) {
      const Tensor o = laid_out(call1("zeros", {}, {{"size", {2, 4, 5}}, {"dtype", dt}}), lo);
      dispatch_out(baddbmm, {self, ba, bb}, make_attrs(baddbmm, {{"beta", 2}, {"alpha", 3}}), {o});
      check_product(o, eb, dt);
    }
    // In place: self is also an input, so the result is computed aside and copied in.
    Tensor s = random_operand({4, 5}, dt, 6);
    const Expected es = ref_add(s, e, 1, 2, dt);
    call_inplace("addmm", {s, a, b}, {{"alpha", 2}});
    check_product(s, es, dt);
  }
}

TEST_CASE("large products: OpenBLAS's threads and batches spread over the pool", "[linalg][parallel]") {
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor a = random_tensor({150, 120}, dt, 1), b = random_tensor({120, 130}, dt, 2);
    check_product(call1("mm", {a, b}), ref_matmul(a, b), dt);
    check_product(call1("mm", {transposed_copy(a), b}), ref_matmul(a, b), dt);
    const Tensor ba = random_tensor({64, 12, 10}, dt, 3), bb = random_tensor({64, 10, 11}, dt, 4);
    check_product(call1("bmm", {ba, bb}), ref_matmul(ba, bb), dt);
    check_product(call1("bmm", {strided_copy(ba), transposed_copy(bb)}), ref_matmul(ba, bb), dt);
  }
  const Tensor ia = random_operand({16, 20, 30}, DType::Int32, 5), ib = random_operand({16, 30, 9}, DType::Int32, 6);
  check_product(call1("bmm", {ia, ib}), ref_matmul(ia, ib), DType::Int32);
}

TEST_CASE("integer products wrap on overflow", "[linalg]") {
  const int64_t big = int64_t{1} << 62;
  const Tensor a = from_values({static_cast<double>(big), 4}, {1, 2}, DType::Int64);
  const Tensor b = from_values({4, 1}, {2, 1}, DType::Int64);
  CHECK(values(call1("mm", {a, b})) == std::vector<double>{4});  // 2^64 wraps to 0, plus 4
}

TEST_CASE("matrix product errors name the op, the shapes and dtypes", "[linalg][errors]") {
  const Tensor a23 = random_tensor({2, 3}, DType::Float32, 1), b45 = random_tensor({4, 5}, DType::Float32, 2);
  const Tensor v3 = random_tensor({3}, DType::Float32, 3), v4 = random_tensor({4}, DType::Float32, 4);
  const Tensor d34 = random_tensor({3, 4}, DType::Float64, 5);
  require_error(
      [&] {
        call1("mm", {a23, b45});
      },
      ErrorKind::Runtime,
      {"mm", "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)", "float32[2, 3]", "float32[4, 5]"});
  require_error([&] { call1("mm", {v3, b45}); }, ErrorKind::Runtime, {"mm", "self must be a matrix", "float32[3]"});
  require_error([&] { call1("mm", {a23, v3}); }, ErrorKind::Runtime, {"mm", "mat2 must be a matrix"});
  require_error(
      [&] {
        call1("mm", {a23, d34});
      },
      ErrorKind::Runtime,
      {"mm", "expected m1 and m2 to have the same dtype, but got: float32 != float64", "float32[2, 3]",
       "float64[3, 4]"});
  const Tensor bools = from_values({1, 0, 1, 1}, {2, 2}, DType::Bool);
  require_error(
      [&] {
        call1("mm", {bools, bools});
      },
      ErrorKind::Runtime, {"mm", "not implemented for 'bool'", "bool[2, 2]"});
  require_error(
      [&] {
        call1("matmul", {from_values({1, 0}, {2}, DType::Bool), from_values({1, 0}, {2}, DType::Bool)});
      },
      ErrorKind::Runtime, {"matmul", "not implemented for 'bool'"});

  const Tensor b233 = random_tensor({2, 3, 3}, DType::Float32, 6), b334 = random_tensor({3, 3, 4}, DType::Float32, 7);
  require_error(
      [&] {
        call1("bmm", {a23, b334});
      },
      ErrorKind::Runtime, {"bmm", "batch1 must be a 3D tensor", "float32[2, 3]"});
  require_error([&] { call1("bmm", {b233, a23}); }, ErrorKind::Runtime, {"bmm", "batch2 must be a 3D tensor"});
  require_error(
      [&] {
        call1("bmm", {b233, b334});
      },
      ErrorKind::Runtime,
      {"bmm", "Expected size for first two dimensions of batch2 tensor to be: [2, 3] but got: [3, 3].",
       "float32[2, 3, 3]", "float32[3, 3, 4]"});

  const Tensor scalar = from_values({1}, {}, DType::Float32);
  require_error(
      [&] {
        call1("matmul", {scalar, a23});
      },
      ErrorKind::Runtime,
      {"matmul", "both arguments to matmul need to be at least 1D, but they are 0D and 2D", "float32[]"});
  require_error(
      [&] {
        call1("matmul", {v3, v4});
      },
      ErrorKind::Runtime,
      {"matmul", "inconsistent tensor size, expected tensor [3] and src [4]", "float32[3]", "float32[4]"});
  require_error([&] { call1("matmul", {a23, v4}); }, ErrorKind::Runtime, {"matmul", "size mismatch, got 2, 2x3,4"});
  require_error(
      [&] {
        call1("matmul", {v4, a23});
      },
      ErrorKind::Runtime, {"matmul", "mat1 and mat2 shapes cannot be multiplied (1x4 and 2x3)"});
  require_error(
      [&] {
        call1("matmul", {random_tensor({5, 2, 4}, DType::Float32, 8), random_tensor({3, 2}, DType::Float32, 9)});
      },
      ErrorKind::Runtime, {"matmul", "mat1 and mat2 shapes cannot be multiplied (10x4 and 3x2)", "float32[5, 2, 4]"});
  require_error(
      [&] {
        call1("matmul", {random_tensor({2, 4}, DType::Float32, 8), random_tensor({5, 3, 2}, DType::Float32, 9)});
      },
      ErrorKind::Runtime, {"matmul", "mat1 and mat2 shapes cannot be multiplied (10x3 and 4x2)"});
  require_error(
      [&] {
        call1("matmul", {random_tensor({4, 1, 2, 4}, DType::Float32, 8), random_tensor({5, 3, 2}, DType::Float32, 9)});
      },
      ErrorKind::Runtime,
      {"matmul", "Expected size for first two dimensions of batch2 tensor to be: [20, 4] but got: [20, 3]."});
  require_error(
      [&] {
        call1("matmul", {b233, b334});
      },
      ErrorKind::Runtime,
      {"matmul", "the size of tensor a (2) must match the size of tensor b (3)", "float32[2, 3, 3]"});
  require_error([&] { call1("matmul", {a23, d34}); }, ErrorKind::Runtime, {"matmul", "same dtype", "float64[3, 4]"});

  const Tensor m35 = random_tensor({3, 5}, DType::Float32, 10);
  require_error(
      [&] {
        call1("addmm", {m35, a23, m35});
      },
      ErrorKind::Runtime,
      {"addmm", "The expanded size of the tensor (2) must match the existing size (3) at non-singleton dimension 0",
       "float32[3, 5]"});
  require_error(
      [&] {
        call1("addmm", {random_tensor({1, 2, 5}, DType::Float32, 11), a23, m35});
      },
      ErrorKind::Runtime,
      {"addmm",
       "the number of sizes provided (2) must be greater or equal to the number of dimensions in the tensor (3)"});
  require_error(
      [&] {
        call1("addmm", {random_tensor({2, 5}, DType::Float64, 11), a23, m35});
      },
      ErrorKind::Runtime, {"addmm", "self and mat2 must have the same dtype", "float64[2, 5]"});
  require_error(
      [&] {
        call1("addmm", {m35, v3, m35});
      },
      ErrorKind::Runtime, {"addmm", "mat1 must be a matrix, got 1-D tensor"});
  require_error(
      [&] {
        call1("addmm", {m35, a23, b45});
      },
      ErrorKind::Runtime, {"addmm", "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"});

  require_error(
      [&] {
        call1("baddbmm", {random_tensor({2, 4}, DType::Float32, 12), random_tensor({3, 2, 3}, DType::Float32, 13),
                          random_tensor({3, 3, 5}, DType::Float32, 14)});
      },
      ErrorKind::Runtime,
      {"baddbmm", "The expanded size of the tensor (5) must match the existing size (4) at non-singleton dimension 2",
       "Target sizes: [3, 2, 5]"});
  require_error(
      [&] {
        call1("baddbmm", {m35, b233, b334});
      },
      ErrorKind::Runtime,
      {"baddbmm", "Expected size for first two dimensions of batch2 tensor to be: [2, 3] but got: [3, 3]."});

  const Tensor x234 = random_tensor({2, 3, 4}, DType::Float32, 15);
  require_error(
      [&] {
        call1("linear", {x234, random_tensor({5, 3}, DType::Float32, 16), Tensor()});
      },
      ErrorKind::Runtime,
      {"linear", "mat1 and mat2 shapes cannot be multiplied (6x4 and 3x5)", "float32[2, 3, 4]", "float32[5, 3]"});
  require_error(
      [&] {
        call1("linear", {x234, random_tensor({1, 5, 4}, DType::Float32, 16), Tensor()});
      },
      ErrorKind::Runtime, {"linear", "t() expects a tensor with <= 2 dimensions, but self is 3D"});
  require_error(
      [&] {
        call1("linear", {x234, random_tensor({5, 4}, DType::Float32, 16), v3});
      },
      ErrorKind::Runtime,
      {"linear", "The expanded size of the tensor (5) must match the existing size (3)", "float32[3]"});
  require_error(
      [&] {
        call1("linear", {x234, random_tensor({5, 4}, DType::Float64, 16), Tensor()});
      },
      ErrorKind::Runtime, {"linear", "same dtype", "float64[5, 4]"});
  require_error(
      [&] {
        call1("linear", {scalar, v4, Tensor()});
      },
      ErrorKind::Runtime, {"linear", "both arguments to matmul need to be at least 1D, but they are 0D and 1D"});

  require_error(
      [&] {
        call1("outer", {a23, v3});
      },
      ErrorKind::Runtime, {"outer", "Expected 1-D argument self, but got 2-D", "float32[2, 3]"});
  require_error(
      [&] {
        call1("outer", {v3, scalar});
      },
      ErrorKind::Runtime, {"outer", "Expected 1-D argument vec2, but got 0-D"});
}
