// The random ops: the exact streams of Note [Philox element mapping] (recomputed here from
// philox4x32 alone, so a change of mapping or a device kernel that disagrees fails), determinism
// per seed and independence from the thread count, statistical sanity, and errors.
#include <algorithm>
#include <cmath>
#include <memory>

#include "helpers.hpp"
#include "kernels/cpu/parallel.hpp"
#include "tensor/philox.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("rand", "randn", "randint", "randperm", "bernoulli", "bernoulli_p", "dropout");

namespace {

using GenPtr = std::shared_ptr<Generator>;

GenPtr gen(uint64_t seed) { return std::make_shared<Generator>(seed); }

// The documented mapping, written out independently of kernels/common/random_math.hpp.
Philox4x32 counter(uint64_t seed, uint64_t first, int64_t i, int per) {
  return philox4x32(first + static_cast<uint64_t>(i / per), 0, seed);
}
double uniform32_at(uint64_t seed, uint64_t first, int64_t i) {
  return uniform_float(counter(seed, first, i, 4).v[i % 4]);
}
double uniform64_at(uint64_t seed, uint64_t first, int64_t i) {
  Philox4x32 r = counter(seed, first, i, 2);
  return uniform_double(r.v[2 * (i % 2)], r.v[2 * (i % 2) + 1]);
}
double normal_at(uint64_t seed, uint64_t first, int64_t i, DType dt) {
  double u1, u2;
  if (dt == DType::Float32) {
    Philox4x32 r = counter(seed, first, i, 4);
    int pair = static_cast<int>(i % 4) / 2;
    u1 = 1.0 - uniform_float(r.v[2 * pair]);
    u2 = uniform_float(r.v[2 * pair + 1]);
  } else {
    Philox4x32 r = counter(seed, first, i, 2);
    u1 = 1.0 - uniform_double(r.v[0], r.v[1]);
    u2 = uniform_double(r.v[2], r.v[3]);
  }
  double rad = std::sqrt(-2.0 * std::log(u1)), theta = 6.283185307179586 * u2;
  double z = i % 2 == 0 ? rad * std::cos(theta) : rad * std::sin(theta);
  return dt == DType::Float32 ? static_cast<float>(z) : z;
}
uint64_t bits64_at(uint64_t seed, uint64_t first, int64_t i) {
  Philox4x32 r = counter(seed, first, i, 2);
  return (static_cast<uint64_t>(r.v[2 * (i % 2)]) << 32) | r.v[2 * (i % 2) + 1];
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}
double variance(const std::vector<double>& v) {
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / static_cast<double>(v.size());
}

// Runs make() with 1, 2 and 3 pool threads and checks every run gives the same values.
template <class F>
void check_thread_independent(const F& make) {
  const int saved = cpu::num_threads();
  std::vector<std::vector<double>> runs;
  for (int n : {1, 2, 3}) {
    cpu::set_num_threads(n);
    runs.push_back(values(make()));
  }
  cpu::set_num_threads(saved);
  CHECK(runs[0] == runs[1]);
  CHECK(runs[0] == runs[2]);
}

// All random ops with a given generator: for the determinism checks below.
std::vector<Tensor> draw_all(const GenPtr& g, DType fdt) {
  Tensor probs = call1("rand", {}, {{"size", {40, 30}}, {"dtype", fdt}, {"generator", g}});
  return {
      probs,
      call1("randn", {}, {{"size", {999}}, {"dtype", fdt}, {"generator", g}}),
      call1("randint", {}, {{"low", -50}, {"high", 50}, {"size", {3, 77}}, {"generator", g}}),
      call1("randperm", {}, {{"n", 333}, {"generator", g}}),
      call1("bernoulli", {probs}, {{"generator", g}}),
      call1("bernoulli_p", {probs}, {{"p", 0.25}, {"generator", g}}),
      call1("dropout", {probs}, {{"p", 0.4}, {"generator", g}}),
  };
}

}  // namespace

TEST_CASE("random streams follow the documented Philox mapping", "[random]") {
  const uint64_t seed = 0x1234abcd5678ull;
  GenPtr g = gen(seed);
  g->reserve(7);  // a generator already in use: draws start at its offset
  for (DType dt : {DType::Float32, DType::Float64}) {
    const int per = dt == DType::Float32 ? 4 : 2;
    uint64_t first = g->offset();
    Tensor u = call1("rand", {}, {{"size", {5, 7}}, {"dtype", dt}, {"generator", g}});
    CHECK(g->offset() == first + (35 + per - 1) / per);
    std::vector<double> e(35);
    for (int64_t i = 0; i < 35; ++i) e[i] = dt == DType::Float32 ? uniform32_at(seed, first, i) : uniform64_at(seed, first, i);
    check_values(u, e, 0, 0);

    first = g->offset();
    Tensor z = call1("randn", {}, {{"size", {33}}, {"dtype", dt}, {"generator", g}});
    CHECK(g->offset() == first + (33 + per - 1) / per);
    for (int64_t i = 0; i < 33; ++i) e[i] = normal_at(seed, first, i, dt);
    e.resize(33);
    check_values(z, e, dt == DType::Float32 ? 1e-7 : 1e-15, 0);
    e.resize(35);
  }

  uint64_t first = g->offset();
  Tensor ri = call1("randint", {}, {{"low", -1000}, {"high", 3000000000}, {"size", {21}}, {"generator", g}});
  CHECK(g->offset() == first + 11);
  std::vector<double> e(21);
  for (int64_t i = 0; i < 21; ++i) e[i] = static_cast<double>(-1000 + static_cast<int64_t>(bits64_at(seed, first, i) % 3000001000ull));
  check_values(ri, e, 0, 0);

  first = g->offset();
  Tensor rp = call1("randperm", {}, {{"n", 50}, {"generator", g}});
  std::vector<int64_t> idx(50);
  for (int64_t i = 0; i < 50; ++i) idx[i] = i;
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return bits64_at(seed, first, a) < bits64_at(seed, first, b); });
  check_values(rp, std::vector<double>(idx.begin(), idx.end()), 0, 0);

  first = g->offset();
  Tensor bp = call1("bernoulli_p", {random_tensor({19}, DType::Float64, 1)}, {{"p", 0.3}, {"generator", g}});
  for (int64_t i = 0; i < 19; ++i) e[i] = uniform32_at(seed, first, i) < 0.3;
  e.resize(19);
  check_values(bp, e, 0, 0);

  // bernoulli and dropout use the float uniform whatever the dtype.
  Tensor probs = random_tensor({4, 6}, DType::Float64, 2, 0, 1);
  auto pv = values(probs);
  first = g->offset();
  Tensor b = call1("bernoulli", {probs}, {{"generator", g}});
  CHECK(b.dtype() == DType::Float64);
  e.resize(24);
  for (int64_t i = 0; i < 24; ++i) e[i] = uniform32_at(seed, first, i) < pv[i];
  check_values(b, e, 0, 0);

  Tensor x = random_tensor({4, 6}, DType::Float64, 3);
  auto xv = values(x);
  first = g->offset();
  TensorList dm = call("dropout", {x}, {{"p", 0.35}, {"generator", g}});
  const Tensor& d = dm[0];
  CHECK(g->offset() == first + 6);
  std::vector<double> keep(24);
  for (int64_t i = 0; i < 24; ++i) keep[i] = uniform32_at(seed, first, i) >= 0.35;
  for (int64_t i = 0; i < 24; ++i) e[i] = keep[i] ? xv[i] * (1 / (1 - 0.35)) : 0.0;
  check_values(d, e, 1e-15, 0);
  // Output 1 is the mask of kept elements, which the gradient reads.
  CHECK(dm[1].dtype() == DType::Bool);
  CHECK(dm[1].shape() == x.shape());
  check_values(dm[1], keep, 0, 0);
}

TEST_CASE("a seed gives the same tensors, another seed different ones", "[random]") {
  for (DType fdt : {DType::Float32, DType::Float64}) {
    auto a = draw_all(gen(42), fdt), b = draw_all(gen(42), fdt), c = draw_all(gen(43), fdt);
    for (size_t k = 0; k < a.size(); ++k) {
      INFO("draw " << k << " " << dtype_name(fdt));
      CHECK(values(a[k]) == values(b[k]));
      CHECK(values(a[k]) != values(c[k]));
    }
  }
  // The default generator serves None, and manual_seed restarts its stream.
  default_generator().manual_seed(7);
  Tensor d1 = call1("rand", {}, {{"size", {100}}});
  Tensor d2 = call1("rand", {}, {{"size", {100}}});
  CHECK(values(d1) != values(d2));
  default_generator().manual_seed(7);
  CHECK(values(call1("rand", {}, {{"size", {100}}})) == values(d1));
  CHECK(values(call1("rand", {}, {{"size", {100}}, {"generator", gen(7)}})) == values(d1));
}

TEST_CASE("random results do not depend on the thread count", "[random]") {
  const int64_t n = 150001;  // several parallel chunks, and a partial last counter
  Tensor x = random_tensor({n}, DType::Float32, 5);
  for (DType dt : {DType::Float32, DType::Float64}) {
    check_thread_independent([&] { return call1("rand", {}, {{"size", {n}}, {"dtype", dt}, {"generator", gen(1)}}); });
    check_thread_independent([&] { return call1("randn", {}, {{"size", {n}}, {"dtype", dt}, {"generator", gen(2)}}); });
  }
  check_thread_independent([&] { return call1("randint", {}, {{"low", 0}, {"high", 1000}, {"size", {n}}, {"generator", gen(3)}}); });
  check_thread_independent([&] { return call1("randperm", {}, {{"n", n}, {"generator", gen(4)}}); });
  check_thread_independent([&] { return call1("bernoulli_p", {x}, {{"p", 0.5}, {"generator", gen(5)}}); });
  check_thread_independent([&] { return call1("dropout", {x}, {{"p", 0.5}, {"generator", gen(6)}}); });
}

TEST_CASE("rand and randn: ranges, moments, dtypes", "[random]") {
  const int64_t n = 200000;
  for (DType dt : {DType::Float32, DType::Float64}) {
    INFO(dtype_name(dt));
    Tensor u = call1("rand", {}, {{"size", {400, 500}}, {"dtype", dt}, {"generator", gen(11)}});
    CHECK(u.dtype() == dt);
    auto uv = values(u);
    CHECK(*std::min_element(uv.begin(), uv.end()) >= 0.0);
    CHECK(*std::max_element(uv.begin(), uv.end()) < 1.0);
    CHECK(std::fabs(mean(uv) - 0.5) < 0.004);             // sd of the mean: 0.00065
    CHECK(std::fabs(variance(uv) - 1.0 / 12) < 0.001);
    Tensor z = call1("randn", {}, {{"size", {n}}, {"dtype", dt}, {"generator", gen(12)}});
    auto zv = values(z);
    CHECK(std::fabs(mean(zv)) < 0.012);                    // sd of the mean: 0.0022
    CHECK(std::fabs(variance(zv) - 1.0) < 0.02);
    int64_t beyond3 = std::count_if(zv.begin(), zv.end(), [](double v) { return std::fabs(v) > 3; });
    CHECK(std::fabs(static_cast<double>(beyond3) / n - 0.0027) < 0.0008);
    for (double v : zv) REQUIRE(std::isfinite(v));
  }
  CHECK(call1("rand", {}, {{"size", {2}}}).dtype() == DType::Float32);
  CHECK(call1("rand", {}, {{"size", {0, 3}}}).numel() == 0);
  CHECK(call1("randn", {}, {{"size", std::vector<int64_t>{}}}).dim() == 0);
}

TEST_CASE("randint covers [low, high) uniformly", "[random]") {
  const int64_t n = 100000, low = -3, high = 7;
  Tensor r = call1("randint", {}, {{"low", low}, {"high", high}, {"size", {n}}, {"generator", gen(21)}});
  CHECK(r.dtype() == DType::Int64);
  std::vector<int64_t> counts(high - low);
  for (double v : values(r)) {
    REQUIRE(v >= low);
    REQUIRE(v < high);
    counts[static_cast<int64_t>(v) - low]++;
  }
  const double expected = static_cast<double>(n) / (high - low);
  double chi2 = 0;
  for (int64_t c : counts) chi2 += (c - expected) * (c - expected) / expected;
  CHECK(chi2 < 40);  // 9 degrees of freedom: P(chi2 > 40) < 1e-5
  // Other dtypes, and a range wider than 32 bits.
  for (DType dt : {DType::Int32, DType::Float32, DType::Float64, DType::Bool}) {
    Tensor t = call1("randint", {}, {{"low", 0}, {"high", 2}, {"size", {1000}}, {"dtype", dt}, {"generator", gen(22)}});
    CHECK(t.dtype() == dt);
    auto tv = values(t);
    CHECK(std::count(tv.begin(), tv.end(), 1.0) + std::count(tv.begin(), tv.end(), 0.0) == 1000);
    CHECK(std::fabs(mean(tv) - 0.5) < 0.08);
  }
  auto wide = values(call1("randint", {}, {{"low", 0}, {"high", int64_t{1} << 40}, {"size", {1000}}, {"generator", gen(23)}}));
  CHECK(*std::max_element(wide.begin(), wide.end()) > std::ldexp(1.0, 39));
  CHECK(*std::max_element(wide.begin(), wide.end()) < std::ldexp(1.0, 40));
}

TEST_CASE("randperm is a permutation", "[random]") {
  for (int64_t n : {0, 1, 2, 17, 1000}) {
    for (DType dt : {DType::Int64, DType::Int32, DType::Float32, DType::Float64}) {
      Tensor p = call1("randperm", {}, {{"n", n}, {"dtype", dt}, {"generator", gen(31)}});
      CHECK(p.dtype() == dt);
      auto v = values(p);
      std::sort(v.begin(), v.end());
      for (int64_t i = 0; i < n; ++i) REQUIRE(v[i] == static_cast<double>(i));
    }
  }
  CHECK(call1("randperm", {}, {{"n", 5}}).dtype() == DType::Int64);
  // Every position sees every value about equally often.
  const int64_t n = 5, trials = 5000;
  std::vector<std::vector<int64_t>> counts(n, std::vector<int64_t>(n));
  GenPtr g = gen(32);
  for (int64_t t = 0; t < trials; ++t) {
    auto v = values(call1("randperm", {}, {{"n", n}, {"generator", g}}));
    for (int64_t i = 0; i < n; ++i) counts[i][static_cast<int64_t>(v[i])]++;
  }
  for (const auto& row : counts)
    for (int64_t c : row) CHECK(std::fabs(static_cast<double>(c) / trials - 0.2) < 0.03);
}

TEST_CASE("bernoulli and bernoulli_p hit their rates", "[random]") {
  const int64_t n = 200000;
  for (DType dt : {DType::Float32, DType::Float64}) {
    // Probabilities 0, 0.25, 0.5, 0.75, 1 in turn, read through a transposed view.
    std::vector<double> pv(n);
    for (int64_t i = 0; i < n; ++i) pv[i] = static_cast<double>(i % 5) / 4;
    Tensor probs = transposed_copy(from_values(pv, {n / 500, 500}, dt));
    auto p_read = values(probs);
    Tensor b = call1("bernoulli", {probs}, {{"generator", gen(41)}});
    CHECK(b.dtype() == dt);
    auto bv = values(b);
    std::vector<double> hits(5), total(5);
    for (int64_t i = 0; i < n; ++i) {
      REQUIRE((bv[i] == 0 || bv[i] == 1));
      int cls = static_cast<int>(std::lround(p_read[i] * 4));
      hits[cls] += bv[i];
      total[cls] += 1;
    }
    CHECK(hits[0] == 0);
    CHECK(hits[4] == total[4]);
    for (int cls = 1; cls < 4; ++cls) CHECK(std::fabs(hits[cls] / total[cls] - cls / 4.0) < 0.01);
  }
  for (DType dt : {DType::Float32, DType::Float64, DType::Int64, DType::Bool}) {
    Tensor self = call1("zeros", {}, {{"size", {400, 500}}, {"dtype", dt}});
    Tensor b = call1("bernoulli_p", {self}, {{"p", 0.3}, {"generator", gen(42)}});
    CHECK(b.dtype() == dt);
    CHECK(b.shape() == self.shape());
    CHECK(std::fabs(mean(values(b)) - 0.3) < 0.005);  // sd: 0.001
  }
  Tensor x = random_tensor({100}, DType::Float32, 7);
  CHECK(mean(values(call1("bernoulli_p", {x}, {{"p", 0.0}}))) == 0);
  CHECK(mean(values(call1("bernoulli_p", {x}, {{"p", 1.0}}))) == 1);
}

TEST_CASE("dropout masks, scales and passes through", "[random]") {
  const int64_t n = 100000;
  const double p = 0.3;
  Tensor x32 = random_tensor({n / 100, 100}, DType::Float32, 51, 0.5, 2);
  Tensor x64 = call1("to_dtype", {x32}, {{"dtype", DType::Float64}});
  Tensor d32 = call1("dropout", {x32}, {{"p", p}, {"generator", gen(52)}});
  Tensor d64 = call1("dropout", {x64}, {{"p", p}, {"generator", gen(52)}});
  auto xv = values(x32), v32 = values(d32), v64 = values(d64);
  const float scale32 = 1.0f / static_cast<float>(1 - p);
  int64_t kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    REQUIRE((v32[i] == 0) == (v64[i] == 0));  // the mask does not depend on the dtype
    if (v32[i] != 0) {
      ++kept;
      REQUIRE(v32[i] == static_cast<double>(static_cast<float>(xv[i]) * scale32));
      REQUIRE(v64[i] == xv[i] * (1 / (1 - p)));
    }
  }
  CHECK(std::fabs(static_cast<double>(kept) / n - (1 - p)) < 0.006);  // sd: 0.0015
  // A strided input gets the mask of its row-major index.
  Tensor dt = call1("dropout", {transposed_copy(x32)}, {{"p", p}, {"generator", gen(52)}});
  CHECK(values(dt) == v32);

  // No draw when nothing is random: eval mode, p = 0, p = 1 (zeros).
  GenPtr g = gen(53);
  Tensor xi = random_tensor({3, 4}, DType::Int64, 54, -9, 9);
  for (const Tensor& in : {x32, strided_copy(x64), xi}) {
    CHECK(values(call1("dropout", {in}, {{"p", 0.5}, {"train", false}, {"generator", g}})) == values(in));
    Tensor same = call1("dropout", {in}, {{"p", 0.0}, {"generator", g}});
    CHECK(values(same) == values(in));
    CHECK_FALSE(same.shares_storage(in));
    auto zeros = values(call1("dropout", {in}, {{"p", 1.0}, {"generator", g}}));
    CHECK(std::all_of(zeros.begin(), zeros.end(), [](double v) { return v == 0; }));
    // Without a draw the mask is empty.
    CHECK(call("dropout", {in}, {{"p", 0.5}, {"train", false}})[1].shape() == Shape{0});
    CHECK(call("dropout", {in}, {{"p", 1.0}, {"generator", g}})[1].shape() == Shape{0});
  }
  CHECK(g->offset() == 0);
  CHECK(call1("dropout", {random_tensor({0, 3}, DType::Float32, 1)}).numel() == 0);
}

TEST_CASE("random ops write strided out= targets", "[random]") {
  const OpDef& rand = Registry::instance().get("rand");
  Tensor target = strided_copy(call1("zeros", {}, {{"size", {6, 5}}}));
  dispatch_out(rand, {}, make_attrs(rand, {{"size", {6, 5}}, {"generator", gen(61)}}), {target});
  CHECK(values(target) == values(call1("rand", {}, {{"size", {6, 5}}, {"generator", gen(61)}})));
}

TEST_CASE("random op errors name the op", "[random]") {
  require_error([] { call1("rand", {}, {{"size", {2, -1}}}); }, ErrorKind::Runtime,
                {"rand", "Trying to create tensor with negative dimension -1: [2, -1]"});
  require_error([] { call1("randn", {}, {{"size", {-3}}}); }, ErrorKind::Runtime, {"randn", "negative dimension"});
  require_error([] { call1("rand", {}, {{"size", {2}}, {"dtype", DType::Int64}}); }, ErrorKind::Runtime,
                {"rand", "not implemented for 'int64'"});
  require_error([] { call1("randn", {}, {{"size", {2}}, {"dtype", DType::Bool}}); }, ErrorKind::Runtime,
                {"randn", "not implemented for 'bool'"});
  require_error([] { call1("randint", {}, {{"low", 5}, {"high", 5}, {"size", {2}}}); }, ErrorKind::Runtime,
                {"randint", "random_ expects 'from' to be less than 'to', but got from=5 >= to=5"});
  require_error([] { call1("randint", {}, {{"low", 0}, {"high", int64_t{1} << 40}, {"size", {2}}, {"dtype", DType::Int32}}); },
                ErrorKind::Runtime, {"randint", "to - 1 is out of bounds for int32"});
  require_error([] { call1("randint", {}, {{"low", -1}, {"high", 2}, {"size", {2}}, {"dtype", DType::Bool}}); },
                ErrorKind::Runtime, {"randint", "from is out of bounds for bool"});
  require_error([] { call1("randint", {}, {{"low", 0}, {"high", 3}, {"size", {-2}}}); }, ErrorKind::Runtime,
                {"randint", "negative dimension"});
  require_error([] { call1("randperm", {}, {{"n", -1}}); }, ErrorKind::Runtime, {"randperm", "negative dimension -1"});
  require_error([] { call1("randperm", {}, {{"n", 4}, {"dtype", DType::Bool}}); }, ErrorKind::Runtime,
                {"randperm", "not implemented for 'bool'"});
  require_error([] { call1("randperm", {}, {{"n", (int64_t{1} << 24) + 2}, {"dtype", DType::Float32}}); },
                ErrorKind::Runtime, {"randperm", "n is too large for result tensor type: 'float32'"});
  require_error([] { call1("bernoulli_p", {random_tensor({3}, DType::Float32, 1)}, {{"p", 1.5}}); }, ErrorKind::Runtime,
                {"bernoulli_p", "bernoulli_ expects p to be in [0, 1], but got p=1.5", "float32[3]"});
  require_error([] { call1("bernoulli_p", {random_tensor({3}, DType::Float32, 1)}, {{"p", -0.1}}); }, ErrorKind::Runtime,
                {"bernoulli_p", "but got p=-0.1"});
  require_error([] { call1("bernoulli", {random_tensor({3}, DType::Int64, 1)}); }, ErrorKind::Runtime,
                {"bernoulli", "not implemented for 'int64'"});
  // Probabilities are checked before any counter is taken.
  GenPtr g = gen(71);
  require_error([&] { call1("bernoulli", {from_values({0.5, 1.5}, {2})}, {{"generator", g}}); }, ErrorKind::Runtime,
                {"bernoulli", "Expected p_in >= 0 && p_in <= 1"});
  require_error([&] { call1("bernoulli", {from_values({NAN, 0.5}, {2})}, {{"generator", g}}); }, ErrorKind::Runtime,
                {"bernoulli", "Expected p_in >= 0 && p_in <= 1"});
  CHECK(g->offset() == 0);
  for (double p : {1.5, -0.5}) {
    require_error([p] { call1("dropout", {random_tensor({3}, DType::Float32, 1)}, {{"p", p}}); }, ErrorKind::Value,
                  {"dropout", "dropout probability has to be between 0 and 1, but got"});
  }
  require_error([] { call1("dropout", {random_tensor({3}, DType::Int64, 1)}, {{"p", 0.5}}); }, ErrorKind::Runtime,
                {"dropout", "result type float32 can't be cast to the desired output type int64"});
}

TEST_CASE("random ops are marked random; only dropout is differentiable", "[random]") {
  for (const char* op : {"rand", "randn", "randint", "randperm", "bernoulli", "bernoulli_p", "dropout"}) {
    INFO(op);
    const OpDef& def = Registry::instance().get(op);
    CHECK(def.effect == Effect::Random);
    CHECK(def.grad_state == (std::string(op) == "dropout" ? GradState::Formula : GradState::NotDifferentiable));
  }
}
