// Shape ops (cat, stack, split, chunk, tril, triu, repeat, flip, roll) against references written
// here with plain coordinate loops: every dtype, contiguous and non-contiguous inputs, empty and
// size-1 dims, negative dims, and errors that name the op and the shapes.
#include "ref_helpers.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("cat", "stack", "split", "chunk", "tril", "triu", "repeat", "flip", "roll");

namespace {


}  // namespace

TEST_CASE("cat concatenates along any dim with type promotion", "[shape]") {
  uint64_t seed = 1;
  for (DType dt : kAllDTypes) {
    for (int64_t dim : {1, -2, 0, 2}) {
      INFO(dtype_name(dt) << " dim " << dim);
      const int64_t d = dim < 0 ? dim + 3 : dim;
      Shape sa{2, 3, 4}, sb{2, 3, 4}, sc{2, 3, 4};
      sa[d] = 3;
      sb[d] = 0;  // empty along the cat dim: contributes nothing
      sc[d] = 2;
      Tensor a = sample(sa, dt, seed++), b = sample(sb, dt, seed++), c = sample(sc, dt, seed++);
      Tensor legacy = Tensor::empty({0}, dt);  // PyTorch's legacy empty tensor: skipped
      auto va = values(a), vc = values(c);
      Shape so = sa;
      so[d] = 5;
      std::vector<double> expect(shape_numel(so));
      for (int64_t i = 0; i < shape_numel(so); ++i) {
        auto idx = unravel(i, so);
        if (idx[d] < 3) {
          expect[i] = va[ravel(idx, sa)];
        } else {
          idx[d] -= 3;
          expect[i] = vc[ravel(idx, sc)];
        }
      }
      for (const Tensor& x : layouts(a)) {
        Tensor out = call1("cat", {x, legacy, b, transposed_copy(c)}, {{"dim", dim}});
        CHECK(out.shape() == so);
        CHECK(out.dtype() == dt);
        check_values(out, expect, 0, 0);
      }
    }
  }
  // Promotion across inputs: int32 with float64 gives float64; bool with int32 gives int32.
  Tensor i = from_values({1, 2, 3}, {3}, DType::Int32);
  Tensor f = from_values({0.5, 1.5}, {2}, DType::Float64);
  Tensor b = from_values({1, 0}, {2}, DType::Bool);
  Tensor r = call1("cat", {i, f});
  CHECK(r.dtype() == DType::Float64);
  CHECK(values(r) == std::vector<double>{1, 2, 3, 0.5, 1.5});
  Tensor r2 = call1("cat", {b, i});
  CHECK(r2.dtype() == DType::Int32);
  CHECK(values(r2) == std::vector<double>{1, 0, 1, 2, 3});
  // A skipped legacy empty tensor still takes part in promotion; only empties give [0].
  CHECK(call1("cat", {Tensor::empty({0}, DType::Float64), from_values({1}, {1, 1}, DType::Float32)}).dtype() ==
        DType::Float64);
  Tensor only_empty = call1("cat", {Tensor::empty({0}, DType::Int64), Tensor::empty({0}, DType::Int64)}, {{"dim", 3}});
  CHECK(only_empty.shape() == Shape{0});
}

TEST_CASE("cat errors name the op and the shapes", "[shape][errors]") {
  Tensor a = sample({2, 3}, DType::Float32, 1), b = sample({2, 4}, DType::Float32, 2),
         c = sample({2, 3, 1}, DType::Float32, 3);
  require_error([&] { call1("cat", {}); }, ErrorKind::Runtime, {"cat", "non-empty"});
  require_error([&] { call1("cat", {a, b}); }, ErrorKind::Runtime,
                {"cat", "Sizes of tensors must match except in dimension 0", "tensor number 1", "float32[2, 3]",
                 "float32[2, 4]"});
  CHECK(call1("cat", {a, b}, {{"dim", -1}}).shape() == Shape{2, 7});
  require_error([&] { call1("cat", {a, c}); }, ErrorKind::Runtime,
                {"cat", "same number of dimensions: got 2 and 3", "float32[2, 3, 1]"});
  require_error([&] { call1("cat", {a, a}, {{"dim", 2}}); }, ErrorKind::Index, {"cat", "Dimension out of range"});
  require_error([&] { call1("cat", {a, from_values({1}, {})}); }, ErrorKind::Runtime,
                {"cat", "zero-dimensional tensor (at position 1)", "float64[]"});
}

TEST_CASE("stack inserts a new dim", "[shape]") {
  uint64_t seed = 10;
  for (DType dt : kAllDTypes) {
    for (int64_t dim : {0, 1, 2, -1, -3}) {
      INFO(dtype_name(dt) << " dim " << dim);
      const Shape s{2, 3};
      std::vector<Tensor> ts;
      std::vector<std::vector<double>> vs;
      for (int k = 0; k < 3; ++k) {
        ts.push_back(sample(s, dt, seed++));
        vs.push_back(values(ts.back()));
      }
      const int64_t d = dim < 0 ? dim + 3 : dim;
      Shape so = s;
      so.insert(so.begin() + d, 3);
      Tensor out = call1("stack", {ts[0], strided_copy(ts[1]), transposed_copy(ts[2])}, {{"dim", dim}});
      CHECK(out.shape() == so);
      CHECK(out.dtype() == dt);
      std::vector<double> expect(shape_numel(so));
      for (int64_t i = 0; i < shape_numel(so); ++i) {
        auto idx = unravel(i, so);
        const int64_t k = idx[d];
        idx.erase(idx.begin() + d);
        expect[i] = vs[k][ravel(idx, s)];
      }
      check_values(out, expect, 0, 0);
    }
  }
  // 0-d and empty inputs, promotion through cat.
  Tensor s = call1("stack", {from_values({1}, {}, DType::Int64), from_values({2.5}, {}, DType::Float32)});
  CHECK(s.shape() == Shape{2});
  CHECK(s.dtype() == DType::Float32);
  CHECK(values(s) == std::vector<double>{1, 2.5});
  CHECK(call1("stack", {Tensor::empty({0}, DType::Int32), Tensor::empty({0}, DType::Int32)}).shape() == Shape{2, 0});
  Tensor a = sample({2, 3}, DType::Float32, 1), b = sample({2, 4}, DType::Float32, 2);
  require_error([&] { call1("stack", {}); }, ErrorKind::Runtime, {"stack", "non-empty"});
  require_error([&] { call1("stack", {a, b}); }, ErrorKind::Runtime,
                {"stack", "equal size, but got [2, 3] at entry 0 and [2, 4] at entry 1", "float32[2, 4]"});
  require_error([&] { call1("stack", {a, a}, {{"dim", 3}}); }, ErrorKind::Index, {"stack", "Dimension out of range"});
}

TEST_CASE("split and chunk return views of the right pieces", "[shape]") {
  Tensor x = sample({5, 4}, DType::Float64, 20);
  auto vx = values(x);
  auto piece_check = [&](const std::vector<Tensor>& pieces, int64_t dim, const std::vector<int64_t>& sizes,
                         const Tensor& src) {
    REQUIRE(pieces.size() == sizes.size());
    auto vs = values(src);
    int64_t start = 0;
    for (size_t p = 0; p < pieces.size(); ++p) {
      Shape ps = src.shape();
      ps[dim] = sizes[p];
      CHECK(pieces[p].shape() == ps);
      CHECK(pieces[p].shares_storage(src));
      std::vector<double> expect(shape_numel(ps));
      for (int64_t i = 0; i < shape_numel(ps); ++i) {
        auto idx = unravel(i, ps);
        idx[dim] += start;
        expect[i] = vs[ravel(idx, src.shape())];
      }
      check_values(pieces[p], expect, 0, 0);
      start += sizes[p];
    }
  };
  for (const Tensor& src : layouts(x)) {
    piece_check(call("split", {src}, {{"split_size", 2}}), 0, {2, 2, 1}, src);
    piece_check(call("split", {src}, {{"split_size", 3}, {"dim", -1}}), 1, {3, 1}, src);
    piece_check(call("split", {src}, {{"split_size", 7}}), 0, {5}, src);
    piece_check(call("split", {src}, {{"split_size", {1, 0, 4}}}), 0, {1, 0, 4}, src);
    piece_check(call("chunk", {src}, {{"chunks", 3}}), 0, {2, 2, 1}, src);
    piece_check(call("chunk", {src}, {{"chunks", 6}}), 0, {1, 1, 1, 1, 1}, src);
    piece_check(call("chunk", {src}, {{"chunks", 2}, {"dim", 1}}), 1, {2, 2}, src);
  }
  for (DType dt : kAllDTypes) {
    Tensor t = transposed_copy(sample({3, 6}, dt, 21));
    piece_check(call("chunk", {t}, {{"chunks", 4}, {"dim", -1}}), 1, {2, 2, 2}, t);
  }
  // An empty dim: one empty piece from split, `chunks` empty pieces from chunk.
  Tensor e = Tensor::empty({0, 2}, DType::Float32);
  CHECK(call("split", {e}, {{"split_size", 0}}).size() == 1);
  CHECK(call("split", {e}, {{"split_size", 3}}).size() == 1);
  auto ec = call("chunk", {e}, {{"chunks", 3}});
  REQUIRE(ec.size() == 3);
  for (const Tensor& p : ec) CHECK(p.shape() == Shape{0, 2});

  require_error([&] { call("split", {x}, {{"split_size", 0}}); }, ErrorKind::Runtime,
                {"split", "split_size can only be 0 if dimension size is 0", "float64[5, 4]"});
  require_error([&] { call("split", {x}, {{"split_size", -1}}); }, ErrorKind::Runtime, {"split", "non-negative"});
  require_error([&] { call("split", {x}, {{"split_size", {1, 3}}}); }, ErrorKind::Runtime,
                {"split", "sum exactly to 5", "split_sizes=[1, 3]", "float64[5, 4]"});
  require_error([&] { call("split", {x}, {{"split_size", {-1, 6}}}); }, ErrorKind::Runtime,
                {"split", "only non-negative entries"});
  require_error([&] { call("split", {x}, {{"split_size", 2}, {"dim", 2}}); }, ErrorKind::Index,
                {"split", "Dimension out of range"});
  require_error([&] { call("split", {from_values({1}, {})}, {{"split_size", 1}}); }, ErrorKind::Runtime,
                {"split", "at least a 1-dimensional tensor"});
  require_error([&] { call("chunk", {x}, {{"chunks", 0}}); }, ErrorKind::Runtime,
                {"chunk", "greater than 0, got: 0", "float64[5, 4]"});
  require_error([&] { call("chunk", {from_values({1}, {})}, {{"chunks", 2}}); }, ErrorKind::Runtime,
                {"chunk", "at least a 1-dimensional tensor"});
}

TEST_CASE("tril and triu keep a triangle of every matrix", "[shape]") {
  const std::vector<Shape> shapes = {{4, 5}, {2, 3, 4}, {3, 1}, {1, 3}, {0, 3, 4}, {2, 2, 3, 0}};
  uint64_t seed = 30;
  for (const char* op : {"tril", "triu"}) {
    const bool lower = std::string(op) == "tril";
    for (DType dt : kAllDTypes) {
      for (const Shape& s : shapes) {
        Tensor x = sample(s, dt, seed++);
        auto vx = values(x);
        for (int64_t k : {0, 1, -1, 2, -3, 7, -7}) {
          INFO(op << " " << dtype_name(dt) << " " << shape_str(s) << " diagonal " << k);
          std::vector<double> expect(vx.size());
          for (size_t i = 0; i < vx.size(); ++i) {
            auto idx = unravel(static_cast<int64_t>(i), s);
            const int64_t r = idx[s.size() - 2], c = idx[s.size() - 1];
            const bool keep = lower ? c - r <= k : c - r >= k;
            expect[i] = keep ? vx[i] : 0;
          }
          for (const Tensor& in : layouts(x)) {
            Tensor out = call1(op, {in}, {{"diagonal", k}});
            CHECK(out.shape() == s);
            CHECK(out.dtype() == dt);
            check_values(out, expect, 0, 0);
          }
        }
      }
    }
    require_error([&] { call1(op, {sample({3}, DType::Float32, 1)}); }, ErrorKind::Index,
                  {op, "Dimension out of range", "float32[3]"});
  }
}

TEST_CASE("repeat tiles the tensor, adding leading dims", "[shape]") {
  struct Case {
    Shape shape;
    std::vector<int64_t> repeats;
  };
  const std::vector<Case> cases = {{{2, 3}, {2, 1, 3}}, {{2, 3}, {1, 1}}, {{3}, {2, 2}}, {{2, 1, 3}, {1, 4, 2}},
                                   {{2, 3}, {0, 2}},    {{}, {}},       {{}, {3}},      {{0, 2}, {2, 2}}};
  uint64_t seed = 40;
  for (DType dt : kAllDTypes) {
    for (const Case& cs : cases) {
      INFO(dtype_name(dt) << " " << shape_str(cs.shape) << " x " << shape_str(cs.repeats));
      Tensor x = sample(cs.shape, dt, seed++);
      auto vx = values(x);
      const size_t pad = cs.repeats.size() - cs.shape.size();
      Shape so(cs.repeats.size());
      for (size_t d = 0; d < so.size(); ++d) so[d] = cs.repeats[d] * (d < pad ? 1 : cs.shape[d - pad]);
      std::vector<double> expect(shape_numel(so));
      for (int64_t i = 0; i < shape_numel(so); ++i) {
        auto idx = unravel(i, so);
        std::vector<int64_t> src(cs.shape.size());
        for (size_t d = 0; d < src.size(); ++d) src[d] = idx[d + pad] % cs.shape[d];
        expect[i] = vx[ravel(src, cs.shape)];
      }
      for (const Tensor& in : layouts(x)) {
        Tensor out = call1("repeat", {in}, {{"repeats", cs.repeats}});
        CHECK(out.shape() == so);
        check_values(out, expect, 0, 0);
      }
    }
  }
  Tensor x = sample({5, 2}, DType::Float32, 1);
  require_error([&] { call1("repeat", {x}, {{"repeats", {2}}}); }, ErrorKind::Runtime,
                {"repeat", "can not be smaller than number of dimensions", "float32[5, 2]"});
  require_error([&] { call1("repeat", {x}, {{"repeats", {-1, 1}}}); }, ErrorKind::Runtime,
                {"repeat", "negative dimension -5: [-5, 2]"});
}

TEST_CASE("flip reverses the listed dims", "[shape]") {
  const std::vector<std::vector<int64_t>> dim_lists = {{0}, {0, 2}, {-1}, {}, {2, 1, 0}, {1}};
  uint64_t seed = 50;
  for (DType dt : kAllDTypes) {
    for (const Shape& s : {Shape{2, 3, 4}, Shape{1, 5, 0}, Shape{3, 1, 2}}) {
      Tensor x = sample(s, dt, seed++);
      auto vx = values(x);
      for (const auto& dims : dim_lists) {
        INFO(dtype_name(dt) << " " << shape_str(s) << " dims " << shape_str(dims));
        std::vector<double> expect(vx.size());
        for (size_t i = 0; i < vx.size(); ++i) {
          auto idx = unravel(static_cast<int64_t>(i), s);
          for (int64_t d : dims) {
            const int64_t dd = d < 0 ? d + 3 : d;
            idx[dd] = s[dd] - 1 - idx[dd];
          }
          expect[i] = vx[ravel(idx, s)];
        }
        for (const Tensor& in : layouts(x)) check_values(call1("flip", {in}, {{"dims", dims}}), expect, 0, 0);
      }
    }
  }
  Tensor z = from_values({4}, {}, DType::Int64);
  CHECK(values(call1("flip", {z}, {{"dims", {0}}})) == std::vector<double>{4});
  Tensor x = sample({2, 3}, DType::Float32, 1);
  require_error([&] { call1("flip", {x}, {{"dims", {0, -2}}}); }, ErrorKind::Runtime,
                {"flip", "dim 0 appears multiple times", "float32[2, 3]"});
  require_error([&] { call1("flip", {x}, {{"dims", {2}}}); }, ErrorKind::Index, {"flip", "Dimension out of range"});
}

TEST_CASE("roll shifts along dims, or over the flattened tensor", "[shape]") {
  struct Case {
    std::vector<int64_t> shifts, dims;
  };
  const std::vector<Case> cases = {{{1}, {}},      {{-7}, {}},        {{-5}, {1}},    {{1, 2}, {0, 1}},
                                   {{1, 1}, {0, 0}}, {{3, -1}, {-1, 0}}, {{0}, {0}},     {{13}, {1}}};
  const Shape s{3, 4};
  uint64_t seed = 60;
  for (DType dt : kAllDTypes) {
    Tensor x = sample(s, dt, seed++);
    auto vx = values(x);
    for (const Case& cs : cases) {
      INFO(dtype_name(dt) << " shifts " << shape_str(cs.shifts) << " dims " << shape_str(cs.dims));
      std::vector<double> expect(vx.size());
      const int64_t n = static_cast<int64_t>(vx.size());
      for (int64_t i = 0; i < n; ++i) {
        if (cs.dims.empty()) {
          expect[i] = vx[(((i - cs.shifts[0]) % n) + n) % n];
          continue;
        }
        auto idx = unravel(i, s);
        for (size_t k = 0; k < cs.dims.size(); ++k) {
          const int64_t d = cs.dims[k] < 0 ? cs.dims[k] + 2 : cs.dims[k];
          idx[d] = (((idx[d] - cs.shifts[k]) % s[d]) + s[d]) % s[d];
        }
        expect[i] = vx[ravel(idx, s)];
      }
      for (const Tensor& in : layouts(x))
        check_values(call1("roll", {in}, {{"shifts", cs.shifts}, {"dims", cs.dims}}), expect, 0, 0);
    }
  }
  CHECK(call1("roll", {Tensor::empty({0, 3}, DType::Float32)}, {{"shifts", 1}, {"dims", 0}}).shape() == Shape{0, 3});
  CHECK(call1("roll", {Tensor::empty({0, 3}, DType::Float32)}, {{"shifts", 1}}).shape() == Shape{0, 3});
  CHECK(values(call1("roll", {from_values({2}, {})}, {{"shifts", 1}})) == std::vector<double>{2});
  Tensor x = sample({5, 2}, DType::Float32, 1);
  require_error([&] { call1("roll", {x}, {{"shifts", std::vector<int64_t>{}}}); }, ErrorKind::Runtime,
                {"roll", "`shifts` required"});
  require_error([&] { call1("roll", {x}, {{"shifts", {1, 2}}}); }, ErrorKind::Runtime,
                {"roll", "shifts and dimensions must align. shifts: 2, dims:0", "float32[5, 2]"});
  require_error([&] { call1("roll", {x}, {{"shifts", {1, 1}}, {"dims", {0}}}); }, ErrorKind::Runtime,
                {"roll", "must align"});
  require_error([&] { call1("roll", {x}, {{"shifts", 1}, {"dims", 2}}); }, ErrorKind::Index,
                {"roll", "Dimension out of range"});
  require_error([&] { call1("roll", {from_values({2}, {})}, {{"shifts", 1}, {"dims", 0}}); }, ErrorKind::Index,
                {"roll", "no dimensions"});
}

TEST_CASE("large shape ops split over threads give the same answer", "[shape][parallel]") {
  Tensor x = sample({300, 257}, DType::Float32, 70);
  auto vx = values(x);
  Tensor t = call1("tril", {transposed_copy(x)}, {{"diagonal", 3}});
  Tensor f = call1("flip", {x}, {{"dims", {0, 1}}});
  Tensor c = call1("cat", {x, strided_copy(x)}, {{"dim", 1}});
  auto vt = values(t), vf = values(f), vc = values(c);
  for (int64_t i = 0; i < 300; ++i) {
    for (int64_t j = 0; j < 257; ++j) {
      const double v = vx[i * 257 + j];
      REQUIRE(vt[i * 257 + j] == (j - i <= 3 ? v : 0));
      REQUIRE(vf[(299 - i) * 257 + (256 - j)] == v);
      REQUIRE(vc[i * 514 + j] == v);
      REQUIRE(vc[i * 514 + 257 + j] == v);
    }
  }
}
