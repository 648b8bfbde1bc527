// Indexing ops against references written here with plain coordinate loops: index_select,
// index_add, gather, scatter (tensor and scalar source), scatter_add, advanced indexing (index, index_put
// with int and bool-mask indices, adjacent and separated), masked_fill, masked_select, nonzero and
// one_hot. Every dtype, non-contiguous inputs, empty tensors, negative dims and indices, and
// errors (shape, dtype, dim and index-value) naming the op and the shapes.
#include <algorithm>

#include "ref_helpers.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("index_select", "index_add", "gather", "scatter", "scatter_value", "scatter_add", "index", "index_put", "masked_fill",
             "masked_select", "nonzero", "one_hot");

namespace {

// Index values in [lo, hi], zero included.
Tensor rand_index(const Shape& shape, int64_t lo, int64_t hi, uint64_t seed, DType dt = DType::Int64) {
  return random_tensor(shape, dt, seed, static_cast<double>(lo), static_cast<double>(hi), false);
}

// A value as element type dt stores it (what a fill value becomes in the tensor).
double as_dtype(double v, DType dt) {
  if (dt == DType::Bool) return v != 0;
  if (is_integral(dt, false)) return std::trunc(v);
  if (dt == DType::Float32) return static_cast<float>(v);
  return v;
}

// ---- reference advanced indexing ----

struct RefIndex {
  enum Kind { None, Int, Mask } kind = None;
  Tensor t;
};

// For self of `shape` and an index list, the result's shape and, for every result element in
// row-major order, the linear position in self it refers to. Written from numpy's rules: masks
// become the coordinates of their true elements; int indices broadcast; the broadcast dims stay in
// place when the indexed dims are adjacent and go first otherwise.
struct RefPositions {
  Shape shape;
  std::vector<int64_t> pos;
};
RefPositions ref_positions(const Shape& self, const std::vector<RefIndex>& list) {
  std::vector<std::pair<bool, std::pair<std::vector<double>, Shape>>> per_dim;  // (indexed, (values, shape))
  for (const RefIndex& r : list) {
    if (r.kind == RefIndex::None) {
      per_dim.push_back({false, {}});
    } else if (r.kind == RefIndex::Int) {
      per_dim.push_back({true, {values(r.t), r.t.shape()}});
    } else {
      auto mv = values(r.t);
      std::vector<std::vector<double>> coords(r.t.dim());
      for (int64_t i = 0; i < r.t.numel(); ++i) {
        if (mv[i] == 0) continue;
        auto c = unravel(i, r.t.shape());
        for (int64_t j = 0; j < r.t.dim(); ++j) coords[j].push_back(static_cast<double>(c[j]));
      }
      for (auto& c : coords) {
        const int64_t n = static_cast<int64_t>(c.size());
        per_dim.push_back({true, {c, Shape{n}}});
      }
    }
  }
  while (per_dim.size() < self.size()) per_dim.push_back({false, {}});
  std::vector<int64_t> indexed;
  Shape b;
  for (size_t d = 0; d < per_dim.size(); ++d) {
    if (!per_dim[d].first) continue;
    b = indexed.empty() ? per_dim[d].second.second : broadcast_shapes(b, per_dim[d].second.second);
    indexed.push_back(static_cast<int64_t>(d));
  }
  bool adjacent = true;
  for (size_t k = 1; k < indexed.size(); ++k) adjacent = adjacent && indexed[k] == indexed[k - 1] + 1;
  const int64_t first = indexed.empty() ? 0 : (adjacent ? indexed[0] : 0);
  // Result dims: (kind, which): kind 0 = self dim `which`, kind 1 = broadcast dim `which`.
  std::vector<std::pair<int, int64_t>> dims;
  for (int64_t d = 0; d < first; ++d) dims.push_back({0, d});
  for (size_t k = 0; k < b.size(); ++k) dims.push_back({1, static_cast<int64_t>(k)});
  for (int64_t d = first; d < static_cast<int64_t>(self.size()); ++d)
    if (std::find(indexed.begin(), indexed.end(), d) == indexed.end()) dims.push_back({0, d});
  RefPositions r;
  for (auto [kind, which] : dims) r.shape.push_back(kind == 0 ? self[which] : b[which]);
  for (int64_t i = 0; i < shape_numel(r.shape); ++i) {
    auto c = unravel(i, r.shape);
    std::vector<int64_t> bc, sc(self.size());
    for (size_t k = 0; k < dims.size(); ++k) {
      if (dims[k].first == 0) sc[dims[k].second] = c[k];
      else bc.push_back(c[k]);
    }
    for (int64_t d : indexed) {
      const auto& [v, s] = per_dim[d].second;
      int64_t x = static_cast<int64_t>(v[broadcast_linear(bc, s, b)]);
      sc[d] = x < 0 ? x + self[d] : x;
    }
    r.pos.push_back(ravel(sc, self));
  }
  return r;
}

std::vector<Tensor> index_inputs(const Tensor& self, const std::vector<RefIndex>& list, bool strided) {
  std::vector<Tensor> in{self};
  for (const RefIndex& r : list)
    in.push_back(r.kind == RefIndex::None ? Tensor() : (strided ? strided_copy(r.t) : r.t));
  return in;
}

// Index lists over a [4, 5, 6] tensor: int, adjacent, separated, masks, 0-d, empty, trailing.
std::vector<std::vector<RefIndex>> index_cases(uint64_t seed) {
  using K = RefIndex::Kind;
  return {
      {{K::Int, rand_index({2, 3}, -4, 3, seed)}},
      {{K::None, {}}, {K::Int, rand_index({2, 1}, -5, 4, seed + 1)}, {K::Int, rand_index({3}, -6, 5, seed + 2)}},
      {{K::Int, rand_index({2}, -4, 3, seed + 3)}, {K::None, {}}, {K::Int, rand_index({2}, 0, 5, seed + 4)}},
      {{K::Mask, random_tensor({4, 5}, DType::Bool, seed + 5)}},
      {{K::None, {}}, {K::Mask, random_tensor({5}, DType::Bool, seed + 6)}, {K::Int, rand_index({1}, -6, 5, seed + 7)}},
      {{K::Mask, random_tensor({4}, DType::Bool, seed + 8)}, {K::None, {}}, {K::Int, rand_index({1}, 0, 5, seed + 9)}},
      {{K::Int, rand_index({}, -4, 3, seed + 10)}},
      {{K::Int, Tensor::empty({0}, DType::Int64)}},
      {{K::None, {}}, {K::None, {}}, {K::Int, rand_index({3, 2}, -6, 5, seed + 11)}},
      {{K::Mask, random_tensor({4, 5, 6}, DType::Bool, seed + 12)}},
      {},
  };
}

}  // namespace

// index_add is index_select's inverse: a source shaped like the selection is added back at the
// same positions (7 indices, more than any size: duplicates are certain).
TEST_CASE("index_select picks slices along a dim, index_add adds them", "[indexing]") {
  const Shape s{4, 5, 3};
  uint64_t seed = 1;
  for (DType dt : kAllDTypes) {
    Tensor x = sample(s, dt, seed++);
    auto vx = values(x);
    for (int64_t dim : {0, 1, 2, -1}) {
      const int64_t d = dim < 0 ? dim + 3 : dim;
      for (DType idt : {DType::Int64, DType::Int32}) {
        for (const Shape& is : {Shape{7}, Shape{}, Shape{0}}) {
          INFO(dtype_name(dt) << " dim " << dim << " index " << dtype_name(idt) << shape_str(is));
          Tensor index = rand_index(is, 0, s[d] - 1, seed++, idt);
          auto vi = values(index);
          Shape so = s;
          so[d] = index.numel();
          Tensor src = sample(so, dt, seed++);
          auto vs = values(src);
          const int64_t alpha = dt == DType::Bool ? 1 : -3;
          std::vector<double> expect(shape_numel(so)), added = vx;
          for (int64_t i = 0; i < shape_numel(so); ++i) {
            auto idx = unravel(i, so);
            idx[d] = static_cast<int64_t>(vi[idx[d]]);
            expect[i] = vx[ravel(idx, s)];
            double& e = added[ravel(idx, s)];
            e = dt == DType::Bool ? double(e != 0 || vs[i] != 0) : e + static_cast<double>(alpha) * vs[i];
          }
          for (const Tensor& in : layouts(x)) {
            Tensor out = call1("index_select", {in, strided_copy(index)}, {{"dim", dim}});
            CHECK(out.shape() == so);
            CHECK(out.dtype() == dt);
            check_values(out, expect, 0, 0);
            Tensor sum = call1("index_add", {in, strided_copy(index), transposed_copy(src)}, {{"dim", dim}, {"alpha", alpha}});
            CHECK(sum.shape() == s);
            CHECK(sum.dtype() == dt);
            check_values(sum, added, rtol_for(dt) * 4, atol_for(dt) * 4);
          }
          CHECK(values(x) == vx);  // index_add's functional form leaves self alone
        }
      }
    }
  }
  Tensor z = from_values({5}, {});
  CHECK(values(call1("index_select", {z, from_values({0, 0}, {2}, DType::Int64)}, {{"dim", 0}})) ==
        std::vector<double>{5});
  Tensor x = sample(s, DType::Float32, 1);
  require_error([&] { call1("index_select", {x, from_values({0}, {1}, DType::Float32)}, {{"dim", 0}}); },
                ErrorKind::Runtime, {"index_select", "int32 or int64", "float32[4, 5, 3]"});
  require_error([&] { call1("index_select", {x, from_values({0}, {1, 1}, DType::Int64)}, {{"dim", 0}}); },
                ErrorKind::Index, {"index_select", "vector", "int64[1, 1]"});
  require_error([&] { call1("index_select", {x, from_values({0, 5}, {2}, DType::Int64)}, {{"dim", 1}}); },
                ErrorKind::Index, {"index_select", "index 5 is out of bounds for dimension 1 with size 5", "int64[2]"});
  require_error([&] { call1("index_select", {x, from_values({-1}, {1}, DType::Int32)}, {{"dim", 0}}); },
                ErrorKind::Index, {"index_select", "index -1 is out of bounds", "float32[4, 5, 3]"});
  require_error([&] { call1("index_select", {x, from_values({0}, {1}, DType::Int64)}, {{"dim", 3}}); },
                ErrorKind::Index, {"index_select", "Dimension out of range"});
  require_error([&] { call1("index_select", {z, from_values({1}, {1}, DType::Int64)}, {{"dim", 0}}); },
                ErrorKind::Index, {"index_select", "out of bounds"});
}

TEST_CASE("index_add: 0-d and 1-d operands, in place, errors", "[indexing]") {
  const Shape s{4, 5, 3};
  // 0-d and 1-d count as the same rank: a 0-d self takes a 1-d source of any length (all index 0).
  Tensor z = from_values({5}, {});
  Tensor r = call1("index_add", {z, from_values({0, 0}, {2}, DType::Int64), from_values({2, 3}, {2})}, {{"dim", -1}});
  CHECK(r.shape() == Shape{});
  CHECK(values(r) == std::vector<double>{10});
  CHECK(values(call1("index_add", {from_values({1, 2, 3}, {3}), from_values({2}, {}, DType::Int32), from_values({4}, {})},
                     {{"dim", 0}, {"alpha", 0.5}})) == std::vector<double>{1, 2, 5});
  // In place, into a non-contiguous self.
  Tensor t = transposed_copy(from_values({1, 2, 3, 4, 5, 6}, {2, 3}));
  call_inplace("index_add", {t, from_values({2, 0, 2}, {3}, DType::Int64), from_values({10, 20, 30, 40, 50, 60}, {2, 3})},
               {{"dim", 1}, {"alpha", 2}});
  CHECK(values(t) == std::vector<double>{41, 2, 83, 104, 5, 206});

  Tensor x = sample(s, DType::Float32, 1);
  Tensor i2 = from_values({0, 3}, {2}, DType::Int64);
  Tensor src = sample({2, 5, 3}, DType::Float32, 2);
  require_error([&] { call1("index_add", {x, i2, src}, {{"dim", 3}}); }, ErrorKind::Index,
                {"index_add", "Dimension out of range"});
  require_error([&] { call1("index_add", {x, from_values({0, 4}, {2}, DType::Int64), src}, {{"dim", 0}}); },
                ErrorKind::Index, {"index_add", "index 4 is out of bounds for dimension 0 with size 4"});
  require_error([&] { call1("index_add", {x, from_values({-1, 0}, {2}, DType::Int32), src}, {{"dim", 0}}); },
                ErrorKind::Index, {"index_add", "index -1 is out of bounds", "int32[2]"});
  require_error([&] { call1("index_add", {x, from_values({0, 1}, {2}, DType::Float32), src}, {{"dim", 0}}); },
                ErrorKind::Runtime, {"index_add", "Expected dtype int32/int64 for index", "float32[2]"});
  require_error([&] { call1("index_add", {x, from_values({0, 1}, {1, 2}, DType::Int64), src}, {{"dim", 0}}); },
                ErrorKind::Index, {"index_add", "Index is supposed to be a vector", "int64[1, 2]"});
  require_error([&] { call1("index_add", {x, i2, sample({2, 5, 3}, DType::Float64, 3)}, {{"dim", 0}}); },
                ErrorKind::Runtime, {"index_add", "self (Float) and source (Double) must have the same scalar type"});
  require_error([&] { call1("index_add", {x, i2, sample({3, 5, 3}, DType::Float32, 3)}, {{"dim", 0}}); },
                ErrorKind::Runtime, {"index_add", "Number of indices (2) should be equal to source.size(dim) (3)"});
  require_error([&] { call1("index_add", {x, i2, sample({2, 4, 3}, DType::Float32, 3)}, {{"dim", 0}}); },
                ErrorKind::Runtime, {"index_add", "source [2, 4, 3] must match self [4, 5, 3] in every dim but dim 0"});
  require_error([&] { call1("index_add", {x, i2, sample({2, 5}, DType::Float32, 3)}, {{"dim", 0}}); },
                ErrorKind::Runtime, {"index_add", "source.dim() (2) must be self.dim() (3)"});
  require_error(
      [&] {
        call1("index_add", {Tensor::empty({3}, DType::Int64), from_values({0}, {1}, DType::Int64),
                            Tensor::empty({1}, DType::Int64)}, {{"dim", 0}, {"alpha", 1.5}});
      },
      ErrorKind::Runtime, {"index_add", "alpha must not be a floating point number"});
  require_error([&] { call1("index_add", {z, from_values({1}, {1}, DType::Int64), from_values({1}, {})}, {{"dim", 0}}); },
                ErrorKind::Index, {"index_add", "index 1 is out of bounds for dimension 0 with size 1"});
}

TEST_CASE("gather reads along a dim at the index's positions", "[indexing]") {
  const Shape s{3, 4, 5};
  uint64_t seed = 100;
  for (DType dt : kAllDTypes) {
    Tensor x = sample(s, dt, seed++);
    auto vx = values(x);
    for (int64_t dim : {0, 1, 2, -2}) {
      const int64_t d = dim < 0 ? dim + 3 : dim;
      for (Shape is : {Shape{2, 3, 4}, Shape{3, 4, 5}, Shape{1, 1, 1}, Shape{0, 2, 2}}) {
        is[d] = d == 1 ? 6 : is[d];  // the gathered dim may be longer than self's
        INFO(dtype_name(dt) << " dim " << dim << " index " << shape_str(is));
        Tensor index = rand_index(is, 0, s[d] - 1, seed++);
        auto vi = values(index);
        std::vector<double> expect(vi.size());
        for (size_t i = 0; i < vi.size(); ++i) {
          auto idx = unravel(static_cast<int64_t>(i), is);
          idx[d] = static_cast<int64_t>(vi[i]);
          expect[i] = vx[ravel(idx, s)];
        }
        for (const Tensor& in : layouts(x)) {
          for (const Tensor& ix : {index, transposed_copy(index)}) {
            Tensor out = call1("gather", {in, ix}, {{"dim", dim}});
            CHECK(out.shape() == is);
            check_values(out, expect, 0, 0);
          }
        }
      }
    }
  }
  // 0-d and 1-d count as the same rank.
  Tensor z = from_values({7}, {});
  CHECK(values(call1("gather", {z, from_values({0, 0}, {2}, DType::Int64)}, {{"dim", 0}})) ==
        std::vector<double>{7, 7});
  Tensor x = sample(s, DType::Float64, 1);
  Tensor good = rand_index({3, 4, 5}, 0, 3, 2);
  require_error([&] { call1("gather", {x, call1("to_dtype", {good}, {{"dtype", DType::Int32}})}, {{"dim", 1}}); },
                ErrorKind::Runtime, {"gather", "Expected dtype int64 for index", "int32[3, 4, 5]"});
  require_error([&] { call1("gather", {x, rand_index({3, 4}, 0, 3, 3)}, {{"dim", 1}}); }, ErrorKind::Runtime,
                {"gather", "same number of dimensions", "float64[3, 4, 5]", "int64[3, 4]"});
  require_error([&] { call1("gather", {x, rand_index({3, 4, 6}, 0, 3, 3)}, {{"dim", 1}}); }, ErrorKind::Runtime,
                {"gather", "Size does not match at dimension 2", "int64[3, 4, 6]"});
  require_error([&] { call1("gather", {x, from_values({0, 4}, {1, 2, 1}, DType::Int64)}, {{"dim", 1}}); },
                ErrorKind::Runtime, {"gather", "index 4 is out of bounds for dimension 1 with size 4", "int64[1, 2, 1]"});
  require_error([&] { call1("gather", {x, from_values({-1}, {1, 1, 1}, DType::Int64)}, {{"dim", -1}}); },
                ErrorKind::Runtime, {"gather", "index -1 is out of bounds for dimension 2 with size 5"});
  require_error(
      [&] {
        call1("gather", {x, good}, {{"dim", 3}});
      },
      ErrorKind::Index, {"gather", "Dimension out of range"});
}

TEST_CASE("scatter, scatter_value and scatter_add write along a dim", "[indexing]") {
  const Shape s{3, 4, 5};
  uint64_t seed = 200;
  for (DType dt : kAllDTypes) {
    Tensor x = sample(s, dt, seed++);
    auto vx = values(x);
    for (int64_t dim : {0, 1, -1}) {
      const int64_t d = dim < 0 ? dim + 3 : dim;
      for (Shape is : {Shape{2, 3, 4}, Shape{3, 4, 5}, Shape{1, 0, 2}}) {
        is[d] = 7;  // longer than self's dim: duplicates are certain
        if (shape_numel(is) == 0) is[d] = 2;
        Shape ss = is;
        ss[(d + 1) % 3] += 1;  // src may be larger than index
        INFO(dtype_name(dt) << " dim " << dim << " index " << shape_str(is));
        Tensor index = rand_index(is, 0, s[d] - 1, seed++);
        Tensor src = sample(ss, dt, seed++);
        auto vi = values(index), vs = values(src);
        // In order along the index (later writes win), as the kernel documents.
        std::vector<double> set = vx, add = vx, fill = vx;
        for (size_t i = 0; i < vi.size(); ++i) {
          auto idx = unravel(static_cast<int64_t>(i), is);
          const double v = vs[ravel(idx, ss)];
          idx[d] = static_cast<int64_t>(vi[i]);
          const int64_t o = ravel(idx, s);
          set[o] = v;
          add[o] = dt == DType::Bool ? double(add[o] != 0 || v != 0) : add[o] + v;
          fill[o] = as_dtype(-2.5, dt);
        }
        for (const Tensor& in : layouts(x)) {
          for (const Tensor& ix : {index, strided_copy(index)}) {
            check_values(call1("scatter", {in, ix, transposed_copy(src)}, {{"dim", dim}}), set, 0, 0);
            check_values(call1("scatter_add", {in, ix, src}, {{"dim", dim}}), add, rtol_for(dt), atol_for(dt));
            check_values(call1("scatter_value", {in, ix}, {{"dim", dim}, {"value", -2.5}}), fill, 0, 0);
          }
        }
        CHECK(values(x) == vx);  // functional forms leave self alone
      }
    }
  }
  // In-place forms write into self (non-contiguous here).
  Tensor t = transposed_copy(from_values({1, 2, 3, 4, 5, 6}, {2, 3}));
  call_inplace("scatter_add", {t, from_values({0, 0, 2}, {1, 3}, DType::Int64), from_values({10, 20, 30}, {1, 3})},
               {{"dim", 1}});
  CHECK(values(t) == std::vector<double>{31, 2, 33, 4, 5, 6});
  call_inplace("scatter_value", {t, from_values({1}, {1, 1}, DType::Int64)}, {{"dim", 0}, {"value", 9}});
  CHECK(values(t) == std::vector<double>{31, 2, 33, 9, 5, 6});

  Tensor x = sample(s, DType::Float32, 1);
  Tensor index = rand_index({3, 4, 5}, 0, 2, 2);
  Tensor src = sample(s, DType::Float32, 3);
  require_error([&] { call1("scatter", {x, index, sample(s, DType::Float64, 4)}, {{"dim", 0}}); }, ErrorKind::Runtime,
                {"scatter", "self.dtype to be equal to src.dtype", "float64[3, 4, 5]"});
  require_error(
      [&] {
        call1("scatter_add", {x, call1("to_dtype", {index}, {{"dtype", DType::Int32}}), src}, {{"dim", 0}});
      },
      ErrorKind::Runtime, {"scatter_add", "Expected dtype int64 for index", "int32[3, 4, 5]"});
  require_error([&] { call1("scatter", {x, rand_index({3, 4}, 0, 2, 5), src}, {{"dim", 0}}); }, ErrorKind::Runtime,
                {"scatter", "same number of dimensions as self", "int64[3, 4]"});
  require_error(
      [&] {
        call1("scatter", {x, rand_index({3, 4, 5}, 0, 2, 5), sample({3, 4}, DType::Float32, 6)}, {{"dim", 0}});
      },
      ErrorKind::Runtime, {"scatter", "same number of dimensions as src"});
  require_error(
      [&] {
        call1("scatter", {x, rand_index({4, 4, 5}, 0, 2, 5), sample({4, 4, 5}, DType::Float32, 6)}, {{"dim", 1}});
      },
      ErrorKind::Runtime,
      {"scatter", "Expected index [4, 4, 5] to be smaller than self [3, 4, 5] apart from dimension 1",
       "smaller size than src [4, 4, 5]"});
  require_error([&] { call1("scatter_value", {x, rand_index({4, 4, 5}, 0, 2, 5)}, {{"dim", 1}, {"value", 1}}); },
                ErrorKind::Runtime, {"scatter_value", "apart from dimension 1", "int64[4, 4, 5]"});
  require_error(
      [&] {
        call1("scatter_add", {x, from_values({3}, {1, 1, 1}, DType::Int64), src}, {{"dim", 0}});
      },
      ErrorKind::Runtime, {"scatter_add", "index 3 is out of bounds for dimension 0 with size 3", "float32[3, 4, 5]"});
  require_error(
      [&] {
        call1("scatter", {x, index, src}, {{"dim", -4}});
      },
      ErrorKind::Index, {"scatter", "Dimension out of range"});
}

TEST_CASE("index follows numpy's advanced indexing", "[indexing]") {
  const Shape s{4, 5, 6};
  uint64_t seed = 300;
  for (DType dt : kAllDTypes) {
    Tensor x = sample(s, dt, seed++);
    auto vx = values(x);
    for (const auto& list : index_cases(seed)) {
      seed += 20;
      RefPositions ref = ref_positions(s, list);
      INFO(dtype_name(dt) << " case with " << list.size() << " entries, result " << shape_str(ref.shape));
      std::vector<double> expect;
      for (int64_t p : ref.pos) expect.push_back(vx[p]);
      for (const Tensor& in : layouts(x)) {
        for (bool strided : {false, true}) {
          Tensor out = call1("index", index_inputs(in, list, strided));
          CHECK(out.shape() == ref.shape);
          CHECK(out.dtype() == dt);
          check_values(out, expect, 0, 0);
        }
      }
    }
  }
  // The shape rule reports what it knows: a mask's count is -1 until the data is seen.
  const OpDef& op = Registry::instance().get("index");
  Tensor x = sample(s, DType::Float32, 1);
  Tensor mask = random_tensor({5}, DType::Bool, 2);
  auto inf = op.infer({x, Tensor(), mask, from_values({0}, {1}, DType::Int64)}, make_attrs(op, {}));
  CHECK(inf.outputs[0].shape == Shape{4, -1});

  require_error([&] { call1("index", {x, from_values({0}, {1}, DType::Int32)}); }, ErrorKind::Index,
                {"index", "must be long, byte or bool", "int32[1]"});
  require_error([&] { call1("index", {x, Tensor(), Tensor(), Tensor(), from_values({0}, {1}, DType::Int64)}); },
                ErrorKind::Index, {"index", "too many indices for tensor of dimension 3 (got 4)", "float32[4, 5, 6]"});
  require_error(
      [&] {
        call1("index", {x, random_tensor({5}, DType::Bool, 3)});
      },
      ErrorKind::Index,
      {"index",
       "The shape of the mask [5] at index 0 does not match the shape of the indexed tensor [4, 5, 6] at index 0"});
  require_error([&] { call1("index", {x, rand_index({2}, 0, 3, 4), rand_index({3}, 0, 3, 5)}); }, ErrorKind::Index,
                {"index", "could not be broadcast together with shapes [2], [3]", "int64[3]"});
  require_error([&] { call1("index", {x, from_values({1, 4}, {2}, DType::Int64)}); }, ErrorKind::Index,
                {"index", "index 4 is out of bounds for dimension 0 with size 4", "float32[4, 5, 6]", "int64[2]"});
  require_error([&] { call1("index", {x, Tensor(), from_values({-6}, {1}, DType::Int64)}); }, ErrorKind::Index,
                {"index", "index -6 is out of bounds for dimension 1 with size 5"});
  // A mask whose count does not broadcast with the other index is found when the data is read.
  Tensor three = from_values({1, 0, 1, 1, 0}, {5}, DType::Bool);
  require_error([&] { call1("index", {x, Tensor(), three, rand_index({2}, 0, 3, 6)}); }, ErrorKind::Index,
                {"index", "shapes [3], [2]", "bool[5]"});
  require_error(
      [&] {
        call1("index", {x, from_values({1}, {}, DType::Bool)});
      },
      ErrorKind::Index, {"index", "0-dim bool"});
}

TEST_CASE("index_put writes or accumulates through advanced indices", "[indexing]") {
  const Shape s{4, 5, 6};
  uint64_t seed = 400;
  for (DType dt : kAllDTypes) {
    Tensor x = sample(s, dt, seed++);
    auto vx = values(x);
    for (const auto& list : index_cases(seed)) {
      seed += 20;
      RefPositions ref = ref_positions(s, list);
      // Full-shape values, and values broadcast from the last dim.
      for (bool full : {true, false}) {
        Shape vs = full || ref.shape.empty() ? ref.shape : Shape{ref.shape.back()};
        Tensor vals = sample(vs, dt, seed++);
        auto vv = values(vals);
        std::vector<double> put = vx, acc = vx;
        for (size_t i = 0; i < ref.pos.size(); ++i) {
          const double v = vv[broadcast_linear(unravel(static_cast<int64_t>(i), ref.shape), vs, ref.shape)];
          put[ref.pos[i]] = v;
          acc[ref.pos[i]] = dt == DType::Bool ? double(acc[ref.pos[i]] != 0 || v != 0) : acc[ref.pos[i]] + v;
        }
        INFO(dtype_name(dt) << " result " << shape_str(ref.shape) << " values " << shape_str(vs));
        for (const Tensor& in : layouts(x)) {
          std::vector<Tensor> args = index_inputs(in, list, true);
          args.insert(args.begin() + 1, strided_copy(vals));
          // Duplicate positions make the plain write ambiguous, so it is checked where they cannot occur.
          std::vector<int64_t> sorted = ref.pos;
          std::sort(sorted.begin(), sorted.end());
          if (std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end())
            check_values(call1("index_put", args), put, 0, 0);
          check_values(call1("index_put", args, {{"accumulate", true}}), acc, rtol_for(dt) * 4, atol_for(dt) * 4);
        }
      }
    }
  }
  // Duplicates: accumulate sums them; a plain write keeps the last.
  Tensor z = from_values({0, 0, 0}, {3}, DType::Int64);
  Tensor ix = from_values({2, 0, 2, 2, -1}, {5}, DType::Int64);
  Tensor v = from_values({1, 2, 3, 4, 5}, {5}, DType::Int64);
  CHECK(values(call1("index_put", {z, v, ix}, {{"accumulate", true}})) == std::vector<double>{2, 0, 13});
  CHECK(values(call1("index_put", {z, v, ix})) == std::vector<double>{2, 0, 5});
  // In place, through a mask.
  Tensor t = from_values({1, 2, 3, 4}, {2, 2}, DType::Float32);
  call_inplace("index_put", {t, from_values({9}, {}, DType::Float32), from_values({1, 0, 0, 1}, {2, 2}, DType::Bool)});
  CHECK(values(t) == std::vector<double>{9, 2, 3, 9});

  Tensor x = sample(s, DType::Float32, 1);
  Tensor i2 = from_values({1, 1}, {2}, DType::Int64);
  require_error([&] { call1("index_put", {x, sample({5, 6}, DType::Float64, 2), i2}); }, ErrorKind::Runtime,
                {"index_put", "got Float for the destination and Double for the source", "float64[5, 6]"});
  require_error([&] { call1("index_put", {x, sample({2}, DType::Float32, 2), i2}); }, ErrorKind::Runtime,
                {"index_put", "value tensor of shape [2] cannot be broadcast to indexing result of shape [2, 5, 6]",
                 "float32[4, 5, 6]"});
  require_error(
      [&] {
        call1("index_put", {x, sample({3, 5, 6}, DType::Float32, 2), from_values({1, 0, 0, 1}, {4}, DType::Bool)});
      },
      ErrorKind::Runtime, {"index_put", "value tensor of shape [3, 5, 6]", "indexing result of shape [2, 5, 6]"});
  require_error([&] { call1("index_put", {x, sample({1}, DType::Float32, 2), from_values({4}, {1}, DType::Int64)}); },
                ErrorKind::Index, {"index_put", "index 4 is out of bounds for dimension 0 with size 4"});
  require_error([&] { call1("index_put", {x, sample({1}, DType::Float32, 2), from_values({0}, {1}, DType::Int32)}); },
                ErrorKind::Index, {"index_put", "long, byte or bool"});
}

TEST_CASE("masked_fill and masked_select broadcast the mask", "[indexing]") {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{4, 5}, {4, 5}}, {{4, 5}, {5}}, {{4, 5}, {4, 1}}, {{4, 5}, {2, 1, 5}}, {{}, {3}}, {{0, 5}, {5}}, {{3}, {}}};
  uint64_t seed = 500;
  for (DType dt : kAllDTypes) {
    for (const auto& [ss, ms] : shapes) {
      Tensor x = sample(ss, dt, seed++);
      Tensor m = random_tensor(ms, DType::Bool, seed++);
      auto vx = values(x), vm = values(m);
      const Shape os = broadcast_shapes(ss, ms);
      for (double fill : {7.0, -2.5, 0.0}) {
        INFO(dtype_name(dt) << " " << shape_str(ss) << " mask " << shape_str(ms) << " value " << fill);
        std::vector<double> filled(shape_numel(os)), selected;
        for (int64_t i = 0; i < shape_numel(os); ++i) {
          auto idx = unravel(i, os);
          const double xv = vx[broadcast_linear(idx, ss, os)];
          const bool mv = vm[broadcast_linear(idx, ms, os)] != 0;
          filled[i] = mv ? as_dtype(fill, dt) : xv;
          if (mv) selected.push_back(xv);
        }
        for (const Tensor& in : layouts(x)) {
          Tensor f = call1("masked_fill", {in, strided_copy(m)}, {{"value", fill}});
          CHECK(f.shape() == os);
          CHECK(f.dtype() == dt);
          check_values(f, filled, 0, 0);
          Tensor sel = call1("masked_select", {in, transposed_copy(m)});
          CHECK(sel.shape() == Shape{static_cast<int64_t>(selected.size())});
          CHECK(sel.dtype() == dt);
          check_values(sel, selected, 0, 0);
        }
      }
    }
  }
  Tensor t = transposed_copy(from_values({1, 2, 3, 4}, {2, 2}, DType::Int32));
  call_inplace("masked_fill", {t, from_values({0, 1}, {2}, DType::Bool)}, {{"value", 8}});
  CHECK(values(t) == std::vector<double>{1, 8, 3, 8});

  Tensor x = sample({2, 3}, DType::Float32, 1);
  require_error([&] { call1("masked_fill", {x, from_values({1, 0, 1}, {3}, DType::Int64)}, {{"value", 1}}); },
                ErrorKind::Runtime, {"masked_fill", "boolean masks", "int64[3]"});
  require_error([&] { call1("masked_fill", {x, from_values({1, 0}, {2}, DType::Bool)}, {{"value", 1}}); },
                ErrorKind::Runtime, {"masked_fill", "float32[2, 3]", "bool[2]"});
  require_error([&] { call_inplace("masked_fill", {x, random_tensor({2, 2, 3}, DType::Bool, 2)}, {{"value", 1}}); },
                ErrorKind::Runtime, {"masked_fill", "[2, 3]", "[2, 2, 3]"});
  require_error([&] { call1("masked_select", {x, from_values({1, 0, 1}, {3}, DType::Int32)}); }, ErrorKind::Runtime,
                {"masked_select", "BoolTensor", "int32[3]"});
  require_error([&] { call1("masked_select", {x, from_values({1, 0}, {2}, DType::Bool)}); }, ErrorKind::Runtime,
                {"masked_select", "broadcast", "bool[2]"});
}

TEST_CASE("nonzero lists coordinates in row-major order", "[indexing]") {
  const std::vector<Shape> shapes = {{4, 5}, {3, 0}, {}, {7}, {2, 3, 4}};
  uint64_t seed = 600;
  for (DType dt : kAllDTypes) {
    for (const Shape& s : shapes) {
      // About half the elements zero.
      Tensor x = random_tensor(s, dt, seed++, -1, 1, false);
      auto vx = values(x);
      if (!is_integral(dt, true))
        for (double& v : vx) v = v < 0 ? 0 : v;
      x = from_values(vx, s, dt);
      std::vector<double> expect;
      for (size_t i = 0; i < vx.size(); ++i) {
        if (vx[i] == 0) continue;
        for (int64_t c : unravel(static_cast<int64_t>(i), s)) expect.push_back(static_cast<double>(c));
      }
      const int64_t n = static_cast<int64_t>(s.empty() ? expect.size() : expect.size() / s.size());
      INFO(dtype_name(dt) << " " << shape_str(s));
      for (const Tensor& in : layouts(x)) {
        Tensor out = call1("nonzero", {in});
        CHECK(out.dtype() == DType::Int64);
        CHECK(out.shape() == Shape{s.empty() ? static_cast<int64_t>(vx[0] != 0) : n, static_cast<int64_t>(s.size())});
        check_values(out, expect, 0, 0);
      }
    }
  }
  // NaN is nonzero, -0.0 is zero.
  Tensor special = from_values({std::nan(""), 0.0, -0.0, 1.0}, {4});
  CHECK(values(call1("nonzero", {special})) == std::vector<double>{0, 3});
}

TEST_CASE("one_hot encodes int64 class indices", "[indexing]") {
  Tensor x = rand_index({3, 4}, 0, 5, 700);
  auto vx = values(x);
  const int64_t inferred = static_cast<int64_t>(*std::max_element(vx.begin(), vx.end())) + 1;
  for (int64_t classes : {int64_t{-1}, int64_t{6}, int64_t{9}}) {
    const int64_t c = classes == -1 ? inferred : classes;
    std::vector<double> expect(vx.size() * c, 0);
    for (size_t i = 0; i < vx.size(); ++i) expect[i * c + static_cast<size_t>(vx[i])] = 1;
    for (const Tensor& in : layouts(x)) {
      Tensor out = call1("one_hot", {in}, {{"num_classes", classes}});
      CHECK(out.shape() == Shape{3, 4, c});
      CHECK(out.dtype() == DType::Int64);
      check_values(out, expect, 0, 0);
    }
  }
  CHECK(values(call1("one_hot", {from_values({2}, {}, DType::Int64)})) == std::vector<double>{0, 0, 1});
  CHECK(call1("one_hot", {Tensor::empty({0}, DType::Int64)}, {{"num_classes", 3}}).shape() == Shape{0, 3});
  require_error([&] { call1("one_hot", {from_values({0, 2}, {2}, DType::Int32)}); }, ErrorKind::Runtime,
                {"one_hot", "index tensor", "int32[2]"});
  require_error([&] { call1("one_hot", {from_values({0, 2}, {2}, DType::Int64)}, {{"num_classes", 2}}); },
                ErrorKind::Runtime, {"one_hot", "smaller than num_classes", "int64[2]"});
  require_error([&] { call1("one_hot", {from_values({0, -1}, {2}, DType::Int64)}); }, ErrorKind::Runtime,
                {"one_hot", "non-negative"});
  require_error([&] { call1("one_hot", {Tensor::empty({0}, DType::Int64)}); }, ErrorKind::Runtime,
                {"one_hot", "Can not infer total number of classes from empty tensor", "int64[0]"});
}

TEST_CASE("large indexing ops split over threads give the same answer", "[indexing][parallel]") {
  const int64_t n = 100000;
  Tensor x = sample({n}, DType::Float32, 800);
  auto vx = values(x);
  Tensor mask = random_tensor({n}, DType::Bool, 801);
  auto vm = values(mask);
  Tensor ix = rand_index({n}, -n, n - 1, 802);
  auto vi = values(ix);
  Tensor sel = call1("masked_select", {x, mask});
  Tensor nz = call1("nonzero", {mask});
  Tensor got = call1("index", {x, ix});
  auto vsel = values(sel), vnz = values(nz), vgot = values(got);
  int64_t k = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (vm[i] != 0) {
      REQUIRE(vsel[k] == vx[i]);
      REQUIRE(vnz[k] == static_cast<double>(i));
      k++;
    }
    const int64_t j = static_cast<int64_t>(vi[i]);
    REQUIRE(vgot[i] == vx[j < 0 ? j + n : j]);
  }
  REQUIRE(static_cast<int64_t>(vsel.size()) == k);
  // Accumulating with many duplicates (one thread, in order) and a permutation (threads).
  Tensor ones = call1("ones", {}, {{"size", {n}}, {"dtype", DType::Int64}});
  Tensor small = rand_index({n}, 0, 99, 803);
  Tensor counts = call1("index_put", {call1("zeros", {}, {{"size", {100}}, {"dtype", DType::Int64}}), ones, small},
                        {{"accumulate", true}});
  std::vector<double> expect(100, 0);
  for (double v : values(small)) expect[static_cast<size_t>(v)] += 1;
  check_values(counts, expect, 0, 0);
  std::vector<double> pv(n);
  for (int64_t i = 0; i < n; ++i) pv[i] = static_cast<double>((i * 7919) % n);
  Tensor p = from_values(pv, {n}, DType::Int64);
  Tensor scattered = call1("index_put", {call1("zeros", {}, {{"size", {n}}}), x, p});
  auto vs = values(scattered);
  for (int64_t i = 0; i < n; ++i) REQUIRE(vs[static_cast<int64_t>(pv[i])] == vx[i]);
}
