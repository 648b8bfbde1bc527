// The tracing session from C++ (no Python): input classification, and the invariant of
// DESIGN.md §10 for synchronous replay: a training step run eagerly and run under a session
// (traced, then replayed from compiled plans, with divergences) ends with the same parameters and
// reads the same values, bitwise with fusion off and within 1e-5 with fusion on.
#include "engine/trace/session_state.hpp"
#include "training_loop.hpp"

namespace terra::test {
namespace {

struct Model {
  Tensor w, b;
  static Model make(uint64_t seed) {
    Model m{random_tensor({8, 4}, DType::Float32, seed, -0.5, 0.5), random_tensor({4}, DType::Float32, seed + 1)};
    autograd::set_requires_grad(m.w, true);
    autograd::set_requires_grad(m.b, true);
    return m;
  }
};

// One training step: forward, a fetch of the loss, backward, an SGD update. `detour` takes a
// path the other iterations do not (a divergence when replaying).
double train_step(Model& m, int iteration, bool detour) {
  Tensor x = random_tensor({16, 8}, DType::Float32, 100 + iteration);  // a feed
  Tensor y = random_tensor({16, 4}, DType::Float32, 200 + iteration, -0.9, 0.9);
  at(1);
  Tensor h = call1("add", {call1("matmul", {x, m.w}), m.b});
  at(2);
  h = call1("tanh", {h});
  if (detour) {
    at(3);
    h = call1("mul", {h, h});
  }
  Tensor loss = mse(h, y, 4);
  const double read = get(loss, 0);  // Python reading loss.item(): a sync point
  at(6);
  autograd::backward({loss}, {}, false, false);
  sgd_step({m.w, m.b}, iteration, 7);
  return read;
}

struct Run {
  std::vector<double> reads;
  Model model;
};

// `divergences`: how many detours find a path the TraceGraph has not seen yet.
Run run_steps(int iterations, const std::vector<int>& detours, bool session, bool fusion, size_t divergences = 0) {
  Run r{{}, Model::make(7)};
  std::unique_ptr<Session> s;
  if (session) s = std::make_unique<Session>(fusion);
  for (int i = 0; i < iterations; ++i) {
    if (session) trace::begin_iteration();
    bool detour = std::find(detours.begin(), detours.end(), i) != detours.end();
    r.reads.push_back(train_step(r.model, i, detour));
    if (session) trace::end_iteration();
  }
  if (session) {
    trace::Stats st = trace::stats();
    CHECK(st.iterations_replayed > 0);
    INFO(trace::report());
    CHECK(st.divergences == divergences);
    // Spans are the forward up to the read of the loss and the rest, per path: the changing
    // learning rate does not make a plan per step.
    CHECK(st.plans_compiled <= 4 * (1 + divergences));
  }
  return r;
}

void require_same(const Run& eager, const Run& replayed, double rtol) {
  REQUIRE(eager.reads.size() == replayed.reads.size());
  for (size_t i = 0; i < eager.reads.size(); ++i) {
    INFO("read " << i);
    check_close(replayed.reads[i], eager.reads[i], rtol);
  }
  require_close(eager.model.w, replayed.model.w, rtol, "w");
  require_close(eager.model.b, replayed.model.b, rtol, "b");
}

const trace::Record* find_record(const trace::TraceGraph& g, const std::string& op) {
  for (size_t n = 1; n < g.num_nodes(); ++n)
    if (g.record(static_cast<int>(n)).op->name() == op) return &g.record(static_cast<int>(n));
  return nullptr;
}

}  // namespace

TEST_CASE("trace: inputs are classified as parameters, feeds, carried and internal values") {
  Tensor param = random_tensor({3}, DType::Float32, 1);  // made before tracing began
  Session session(false);
  trace::begin_iteration();
  at(1);
  Tensor carried = call1("mul", {param, param});
  trace::end_iteration();
  trace::begin_iteration();
  Tensor feed = random_tensor({3}, DType::Float32, 2);  // made from data in this iteration
  at(2);
  Tensor sum = call1("add", {param, feed});
  at(3);
  call1("sub", {sum, carried});
  trace::end_iteration();

  const trace::TraceGraph& g = trace::detail::state().graph;
  const trace::Record* add = find_record(g, "add");
  const trace::Record* sub = find_record(g, "sub");
  REQUIRE(add);
  REQUIRE(sub);
  CHECK(add->inputs[0].kind == trace::SourceKind::Parameter);
  CHECK(add->inputs[1].kind == trace::SourceKind::Feed);
  CHECK(sub->inputs[0].kind == trace::SourceKind::Internal);
  CHECK(sub->inputs[0].record == 0);
  CHECK(sub->inputs[1].kind == trace::SourceKind::Carried);
  CHECK(add->inputs[0].alias != add->inputs[1].alias);
}

TEST_CASE("trace: an alias of a parameter is wired to the parameter's storage") {
  Tensor param = random_tensor({3}, DType::Float32, 3);
  Session session(false);
  trace::begin_iteration();
  at(1);
  call1("add", {param, autograd::data(param)});
  trace::end_iteration();
  const trace::Record* add = find_record(trace::detail::state().graph, "add");
  REQUIRE(add);
  CHECK(add->inputs[1].kind == trace::SourceKind::Parameter);
  CHECK(add->inputs[0].alias == add->inputs[1].alias);
}

TEST_CASE("replay: a training step replayed equals eager execution bitwise with fusion off") {
  Run eager = run_steps(12, {}, false, false);
  Run replayed = run_steps(12, {}, true, false);
  require_same(eager, replayed, 0);
}

TEST_CASE("replay: divergent iterations fall back, are learned, and change nothing observable") {
  Run eager = run_steps(16, {5, 11}, false, false);
  // The detour at 5 is new and falls back; by 11 the TraceGraph knows it and it replays.
  Run replayed = run_steps(16, {5, 11}, true, false, 1);
  require_same(eager, replayed, 0);
}

TEST_CASE("replay: with fusion on results agree within 1e-5") {
  Run eager = run_steps(12, {6}, false, true);
  Run replayed = run_steps(12, {6}, true, true, 1);
  require_same(eager, replayed, 1e-5);
}

TEST_CASE("replay: deferred tensors are pending until read, and reading runs the span") {
  Tensor param = random_tensor({4}, DType::Float32, 4);
  Session session(false);
  std::vector<double> reads;
  for (int i = 0; i < 6; ++i) {
    trace::begin_iteration();
    at(1);
    Tensor y = call1("exp", {param});
    at(2);
    Tensor z = call1("add", {y, param});
    if (trace::detail::state().mode == trace::detail::IterationMode::Replaying) CHECK(z.storage()->pending());
    reads.push_back(get(z, 2));
    CHECK_FALSE(z.storage()->pending());
    trace::end_iteration();
  }
  CHECK(trace::stats().iterations_replayed >= 3);
  for (double r : reads) CHECK(r == reads[0]);
  CHECK(reads[0] == Approx(std::exp(get(param, 2)) + get(param, 2)).epsilon(1e-6));
}

}  // namespace terra::test

namespace terra::test {
namespace {

// Iteration i of a loop whose body does i + 1 multiplications before the same tail, or (settled)
// always `settle_at + 1` once i reaches settle_at: a new path every iteration until then.
void growing_iteration(const Tensor& param, int i, int settle_at, std::vector<double>& reads,
                       std::vector<int>* dormant_in = nullptr) {
  trace::begin_iteration();
  if (dormant_in && trace::dormant()) dormant_in->push_back(i);
  Tensor x = param;
  for (int k = 0; k <= std::min(i, settle_at); ++k) {
    at(1);
    x = call1("mul", {x, param});
  }
  at(2);
  reads.push_back(get(call1("sum", {x}), 0));
  trace::end_iteration();
}

std::vector<double> growing_loop(int iterations, int settle_at, bool session, trace::Stats* stats = nullptr,
                                 bool dormant_stretches = true, std::vector<int>* dormant_in = nullptr) {
  Tensor param = random_tensor({5}, DType::Float64, 9, 0.5, 1.5);
  std::unique_ptr<Session> s;
  trace::Options options = session_options(false);
  options.dormant_stretches = dormant_stretches;
  if (session) s = std::make_unique<Session>(options);
  std::vector<double> reads;
  for (int i = 0; i < iterations; ++i) growing_iteration(param, i, settle_at, reads, dormant_in);
  if (stats) *stats = trace::stats();
  return reads;
}

}  // namespace

TEST_CASE("replay: a loop that takes a new path every iteration backs off from tracing, and learns once it settles") {
  const trace::Options defaults;
  REQUIRE(defaults.backoff_after == 4);
  SECTION("never settles: 4 traced, 4 eager, 4 traced, 8 eager, 4 traced, 16 eager") {
    trace::Stats st;
    const std::vector<double> reads = growing_loop(40, 1000, true, &st);
    CHECK(reads == growing_loop(40, 1000, false));
    CHECK(st.iterations_traced == 12);
    CHECK(st.iterations_eager == 28);
    CHECK(st.iterations_replayed == 0);
    REQUIRE(st.fallbacks.size() == 3);
    CHECK(st.fallbacks[0].reason == "4 traced iterations in a row took new paths: the next 4 run eagerly, untraced");
    CHECK(st.fallbacks[2].reason == "4 traced iterations in a row took new paths: the next 16 run eagerly, untraced");
  }
  SECTION("settles while backing off: the next traced iterations add nothing and replay begins") {
    trace::Stats st;
    const std::vector<double> reads = growing_loop(30, 6, true, &st);
    CHECK(reads == growing_loop(30, 6, false));
    // 0-3 traced (new), 4-7 eager, 8 traced (a new path: 7 multiplications), 9-10 traced and quiet,
    // replayed from 11 on.
    CHECK(st.iterations_traced == 7);
    CHECK(st.iterations_eager == 4);
    CHECK(st.iterations_replayed == 19);
  }
}

TEST_CASE("replay: a long eager stretch goes dormant; its iterations count and compute as awake ones") {
  // Note [Dormant stretches]: iterations 12-19 and 24-39 back off (8 and 16 eager). Each stretch
  // sleeps from its first iteration to the boundary of its last, where it wakes; the stretch of
  // 4 (4-7) is too short to sleep.
  trace::Stats awake, dormant;
  std::vector<int> dormant_in, never;
  const std::vector<double> reads = growing_loop(40, 1000, true, &dormant, true, &dormant_in);
  CHECK(reads == growing_loop(40, 1000, true, &awake, false, &never));
  CHECK(never.empty());
  std::vector<int> expected;
  for (int i = 12; i <= 18; ++i) expected.push_back(i);
  for (int i = 24; i <= 38; ++i) expected.push_back(i);
  CHECK(dormant_in == expected);
  CHECK(dormant.iterations_traced == awake.iterations_traced);
  CHECK(dormant.iterations_eager == awake.iterations_eager);
  CHECK(dormant.iterations_dormant == expected.size());
  CHECK(awake.iterations_dormant == 0);
  CHECK(dormant.fallbacks.size() == awake.fallbacks.size());
  CHECK_FALSE(trace::dormant());  // stop() woke it
}

}  // namespace terra::test
